"""`berth build`'s later features (issue #12): COPY/ADD here-documents,
--timestamp / SOURCE_DATE_EPOCH, RUN's flags, --secret, --pull, ADD of a
URL, builder prune and the kill -9 leftovers `system check` finds. The
fixture `b` (test_build.py) checks that nothing is left behind."""
import hashlib
import json
import os
import pathlib

import pytest

from engine_helpers import BUSYBOX
from test_build import b, build, context, image_id  # noqa: F401 (b is the fixture)

if os.geteuid() != 0:
    pytest.skip("the engine tests need root", allow_module_level=True)


def run(b, img, *cmd):
    return b("run", "--rm", "--network", "none", img, *cmd).stdout


def test_copy_add_heredocs(b):
    df = (f"FROM {BUSYBOX}\nARG WHO=world\n"
          "COPY <<EOF /greet\nhello $WHO 'q' \"d\" \\$WHO\nEOF\n"
          "COPY <<'RAW' <<-TABS /docs/\n$WHO stays\nRAW\n\tstripped $WHO\n\tTABS\n"
          "ADD --chmod=0755 <<EOF /bin/hd.sh\n#!/bin/sh\necho script-ran\nEOF\n"
          "COPY f <<EOF /mixed/\nfrom-heredoc\nEOF\n")
    ctx = context(b, df, {"f": "from-context\n"})
    build(b, "-t", "hd", ctx)
    assert run(b, "hd", "cat", "/greet") == "hello world 'q' \"d\" $WHO\n"
    assert run(b, "hd", "cat", "/docs/RAW", "/docs/TABS") == "$WHO stays\nstripped world\n"
    assert run(b, "hd", "hd.sh") == "script-ran\n"
    assert run(b, "hd", "stat", "-c", "%a", "/greet", "/bin/hd.sh") == "644\n755\n"
    assert run(b, "hd", "cat", "/mixed/f", "/mixed/EOF") == "from-context\nfrom-heredoc\n"
    # a changed body is a cache miss for that step only
    again = build(b, "-t", "hd", "--build-arg", "WHO=you", ctx).stdout
    assert run(b, "hd", "cat", "/greet") == "hello you 'q' \"d\" $WHO\n"
    assert "Using cache" not in again.split("COPY <<EOF /greet")[1].split("\n")[1]
    hist = b("history", "--no-trunc", "hd").stdout
    assert "COPY <<EOF /greet" in hist


@pytest.mark.parametrize("df,msg", [
    ("COPY <<EOF <<EOG /file\na\nEOF\nb\nEOG\n", "must be a directory"),
    ("COPY f <<EOF\nx\nEOF\n", "can not be the destination"),
])
def test_heredoc_errors(b, df, msg):
    ctx = context(b, f"FROM {BUSYBOX}\n" + df, {"f": "x\n"})
    r = build(b, ctx, check=False)
    assert r.returncode != 0 and msg in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


REPRO = f"FROM {BUSYBOX}\nRUN echo made > /made && mkdir -p /d/e\nCOPY f /f\nENV X=1\n"


def test_timestamp_reproducible_image_id(b):
    ctx = context(b, REPRO, {"f": "ctx\n"})
    one = image_id(build(b, "--timestamp", "1700000000", "-t", "r1", ctx).stdout)
    (ctx / "f").touch()  # a newer mtime in the context: clamped too
    two = image_id(build(b, "--no-cache", "--timestamp", "1700000000", "-t", "r2", ctx).stdout)
    assert one == two
    info = json.loads(b("image", "inspect", "r1").stdout)[0]
    assert info["Created"].startswith("2023-11-14T22:13:20")
    out = run(b, "r1", "stat", "-c", "%Y", "/made", "/d/e", "/f")
    assert out.split() == ["1700000000"] * 3
    # SOURCE_DATE_EPOCH as a build arg, and from the environment: the same image
    three = image_id(build(b, "--no-cache", "--build-arg", "SOURCE_DATE_EPOCH=1700000000",
                           ctx).stdout)
    assert three == one
    r = b("build", "--no-cache", ctx, env={**b.env, "SOURCE_DATE_EPOCH": "1700000000"})
    assert image_id(r.stdout) == one and "not consumed" not in r.stderr
    # another time: another image, and not the cached one of the first
    four = image_id(build(b, "--timestamp", "1600000000", ctx).stdout)
    assert four != one
    r = build(b, "--timestamp", "soon", ctx, check=False)
    assert r.returncode == 125 and "--timestamp=soon: not a number" in r.stderr


MOUNTS = f"""FROM {BUSYBOX} AS other
RUN echo from-stage > /stagefile
FROM {BUSYBOX}
RUN mkdir -p /var/cache /mnt
RUN --mount=type=bind,target=/ctx cat /ctx/src/a.txt > /out-bind
RUN --mount=type=bind,source=src,target=/mnt/s,rw touch /mnt/s/new && cat /mnt/s/a.txt > /out-rw
RUN --mount=type=bind,from=other,source=/stagefile,target=/sf cat /sf > /out-from
RUN --mount=type=bind,source=src/a.txt,target=/a1,rw echo more >> /a1 && cat /a1 > /out-rwfile
RUN --mount=type=cache,target=/var/cache/b3,id=b3c echo run >> /var/cache/b3/log && \\
    wc -l < /var/cache/b3/log > /out-cache
RUN --mount=type=tmpfs,target=/tmpfs-b3 grep " /tmpfs-b3 tmpfs" /proc/mounts | wc -l > /out-tmpfs
RUN ls /sys/class/net > /nets-none
RUN --network=host ls /sys/class/net > /nets-host
"""


def test_run_mounts_and_network(b):
    ctx = context(b, MOUNTS, {"src/a.txt": "ctx-a\n"})
    build(b, "-t", "mnt", ctx)
    out = run(b, "mnt", "cat", "/out-bind", "/out-rw", "/out-from", "/out-cache", "/out-tmpfs")
    assert out.split() == ["ctx-a", "ctx-a", "from-stage", "1", "1"]
    assert not (ctx / "src" / "new").exists()  # rw: the writes are dropped
    assert run(b, "mnt", "cat", "/out-rwfile") == "ctx-a\nmore\n"
    assert (ctx / "src" / "a.txt").read_text() == "ctx-a\n"
    # no mount target, nor what was mounted there, is in the image
    ls = run(b, "mnt", "ls", "-a", "/", "/mnt", "/var/cache").split()
    for gone in ("ctx", "sf", "tmpfs-b3", "s", "b3", "stagefile", "a1"):
        assert gone not in ls, (gone, ls)
    assert run(b, "mnt", "cat", "/nets-none").split() == ["lo"]
    assert len(run(b, "mnt", "cat", "/nets-host").split()) > 1
    # the cache mount is kept between builds; a bind source's change reruns its step
    (ctx / "src" / "a.txt").write_text("ctx-b\n")
    r = build(b, "-t", "mnt", "--no-cache", ctx)
    assert run(b, "mnt", "cat", "/out-cache", "/out-bind").split() == ["2", "ctx-b"]
    (ctx / "src" / "a.txt").write_text("ctx-c\n")
    r = build(b, "-t", "mnt", ctx).stdout
    assert run(b, "mnt", "cat", "/out-bind").split() == ["ctx-c"]
    assert r.count("Using cache") == 2  # the other stage's RUN, the mkdir; the bind step reran


@pytest.mark.parametrize("flag,msg", [
    ("--mount=type=bind,target=/x,bogus=1", 'unknown key "bogus" for type=bind'),
    ("--mount=type=ssh", 'type "ssh" unknown'),
    ("--mount=type=cache,target=/c,sharing=maybe", "sharing must be"),
    ("--mount=type=bind,source=nope,target=/x", "nope: no such file"),
    ("--mount=type=bind,source=../..,target=/x", "outside the build context"),
    ("--network=bridge", "must be none, host or default"),
    ("--security=insecure", "only sandbox"),
    ("--frob", "unknown flag --frob for RUN"),
])
def test_run_flag_errors(b, flag, msg):
    ctx = context(b, f"FROM {BUSYBOX}\nRUN {flag} true\n")
    r = build(b, ctx, check=False)
    assert r.returncode != 0 and msg in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


SECRET = "s3cr3t-value-b4"
SECRET_SHA = hashlib.sha256(SECRET.encode()).hexdigest()  # the Dockerfile has only this
SECRETS = f"""FROM {BUSYBOX}
RUN --mount=type=secret,id=tok sha256sum /run/secrets/tok | grep -q {SECRET_SHA} && \\
    echo ok > /file-ok
RUN --mount=type=secret,id=tok,env=TOK,target=/etc/tok echo -n "$TOK" | sha256sum | \\
    grep -q {SECRET_SHA} && sha256sum /etc/tok | grep -q {SECRET_SHA} && echo ok > /env-ok
RUN --mount=type=secret,id=absent echo skipped > /skipped
"""


def store_has(root, needle):
    """Whether any file of the store, gzip layers uncompressed, holds needle."""
    import gzip
    for p in root.rglob("*"):
        if not p.is_file() or p.is_symlink():
            continue
        data = p.read_bytes()
        if data[:2] == b"\x1f\x8b":
            try:
                data = gzip.decompress(data)
            except OSError:
                pass
        if needle in data:
            return str(p)
    return None


def test_secrets_never_in_layers_history_or_key(b):
    ctx = context(b, SECRETS)
    sf = b.tmp / "tok.txt"
    sf.write_text(SECRET)
    build(b, "--secret", f"id=tok,src={sf}", "-t", "sec", ctx)
    assert run(b, "sec", "cat", "/file-ok", "/env-ok", "/skipped").split() == ["ok"] * 2 + [
        "skipped"]
    ls = run(b, "sec", "ls", "-a", "/", "/etc").split()
    assert "tok" not in ls and "secrets" not in ls and "run" not in ls  # busybox has no /run
    assert SECRET not in b("history", "--no-trunc", "sec").stdout
    assert store_has(b.root, SECRET.encode()) is None
    # the content is not in the cache key: another value, the same steps
    sf.write_text("other-value")
    r = build(b, "--secret", f"id=tok,src={sf}", "-t", "sec", ctx).stdout
    assert r.count("Using cache") == 3
    # env= of --secret, and a required one missing
    r = b("build", "--no-cache", "--secret", "id=tok,env=B4TOK", ctx,
          env={**b.env, "B4TOK": SECRET})
    assert r.returncode == 0
    (ctx / "Dockerfile").write_text(f"FROM {BUSYBOX}\nRUN --mount=type=secret,id=need,required true\n")
    r = build(b, ctx, check=False)
    assert r.returncode != 0 and "the secret is required but not given" in r.stderr
    r = build(b, "--secret", "id=x,bogus=1", ctx, check=False)
    assert r.returncode != 0 and 'unknown key "bogus"' in r.stderr


@pytest.fixture(scope="module")
def registry():
    import pathlib
    import shutil
    import tempfile
    from test_image_registry import start_registry, stop
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="berth-b5-reg-"))
    p, addr = start_registry(tmp)
    yield addr
    stop(p)
    shutil.rmtree(tmp, ignore_errors=True)


def test_pull_policies(b, registry):
    ref = f"{registry}/b5/pullbase:1"
    for v in ("v1", "v2"):
        build(b, "-t", f"b5-{v}", context(b, f"FROM {BUSYBOX}\nRUN echo {v} > /v\n"))
    b("push", "b5-v1", ref)
    ctx = context(b, f"FROM {ref}\nRUN cat /v > /seen\n")
    r = build(b, "--pull=never", ctx, check=False)
    assert r.returncode != 0 and "image not found locally (--pull=never" in r.stderr
    r = build(b, "-t", "b5-out", ctx)  # missing, the default: pulled
    assert f" --> Pulling {ref}" in r.stdout
    assert run(b, "b5-out", "cat", "/seen") == "v1\n"
    b("push", "b5-v2", ref)
    r = build(b, "-t", "b5-out", "--pull=missing", ctx)  # in the store: not pulled again
    assert "Pulling" not in r.stdout and run(b, "b5-out", "cat", "/seen") == "v1\n"
    r = build(b, "-t", "b5-out", "--pull", ctx)
    assert "Pulling" in r.stdout and run(b, "b5-out", "cat", "/seen") == "v2\n"
    for spelling in ("--pull=always", "--pull=true", "--pull-always"):
        assert "Pulling" in build(b, spelling, ctx).stdout
    assert "Pulling" not in build(b, "--pull=false", ctx).stdout
    r = build(b, "--pull=sometimes", ctx, check=False)
    assert r.returncode == 125 and "--pull=sometimes: must be" in r.stderr
    # COPY --from= and RUN --mount from= an image pull it too (missing)
    b("rmi", ref)
    ctx2 = context(b, f"FROM {BUSYBOX}\nCOPY --from={ref} /v /copied\n"
                      f"RUN --mount=type=bind,from={ref},target=/m cat /m/v > /mounted\n")
    r = build(b, "-t", "b5-from", ctx2)
    assert r.stdout.count(f" --> Pulling {ref}") == 1, r.stdout  # once per build
    assert run(b, "b5-from", "cat", "/copied", "/mounted") == "v2\nv2\n"
    b("rmi", ref)
    r = build(b, "--pull=never", "--no-cache", ctx2, check=False)
    assert r.returncode != 0 and f"--from={ref}" in r.stderr, r.stderr
    r = build(b, "--pull=always", context(b, f"FROM {registry}/b5/nope:1\n"), check=False)
    assert r.returncode != 0 and "not found locally, and the pull failed" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


@pytest.fixture
def http_dir(tmp_path):
    """python3 -m http.server on 127.0.0.1 serving a temp dir: (dir, base URL)."""
    import socket
    import subprocess
    import time
    import urllib.request
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    d = tmp_path / "www"
    d.mkdir()
    p = subprocess.Popen(["/usr/bin/python3", "-m", "http.server", "-b", "127.0.0.1", str(port),
                          "-d", str(d)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(url + "/", timeout=1)
                break
            except Exception:
                time.sleep(0.05)
        yield d, url
    finally:
        p.terminate()
        p.wait(10)


def test_add_url(b, http_dir):
    import io
    import tarfile
    d, url = http_dir
    (d / "hello.txt").write_text("hello over http\n")
    os.utime(d / "hello.txt", (1600000000, 1600000000))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        ti = tarfile.TarInfo("inside")
        t.addfile(ti, io.BytesIO(b""))
    (d / "a.tar").write_bytes(buf.getvalue())
    sha = hashlib.sha256(buf.getvalue()).hexdigest()
    ctx = context(b, f"FROM {BUSYBOX}\nADD {url}/hello.txt /dl/\n"
                     f"ADD {url}/hello.txt /named.txt\n"
                     f"ADD --checksum=sha256:{sha} {url}/a.tar /t/\n"
                     f"ADD --chmod=0644 {url}/hello.txt?x=1#f /q/\n")
    build(b, "-t", "url", ctx)
    assert run(b, "url", "cat", "/dl/hello.txt", "/named.txt") == "hello over http\n" * 2
    st = run(b, "url", "stat", "-c", "%n %a %Y", "/dl/hello.txt", "/t/a.tar", "/q/hello.txt")
    lines = st.splitlines()
    assert lines[0] == "/dl/hello.txt 600 1600000000"
    assert lines[1].startswith("/t/a.tar 600 ")  # a file: not extracted
    assert lines[2].startswith("/q/hello.txt 644 ")
    # the content is the cache key: a change is seen
    (d / "hello.txt").write_text("changed\n")
    r = build(b, "-t", "url", ctx)
    assert run(b, "url", "cat", "/dl/hello.txt") == "changed\n"
    for df, msg in [(f"ADD --checksum=sha256:{'0' * 64} {url}/a.tar /t/", "checksum mismatch"),
                    (f"ADD {url}/missing.txt /m/", "HTTP status 404"),
                    (f"ADD {url}/ /m/", "no file name: give a destination file path"),
                    (f"ADD --checksum=md5:abc {url}/a.tar /t/", "not sha256:"),
                    (f"COPY {url}/hello.txt /c/", "no such file or directory")]:
        (ctx / "Dockerfile").write_text(f"FROM {BUSYBOX}\n{df}\n")
        r = build(b, ctx, check=False)
        assert r.returncode != 0 and msg in r.stderr, (df, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1


def image_ids(b):
    """The store's image IDs (sha256:...), from its index."""
    idx = json.loads((b.root / "image" / "index.json").read_text())
    return {r["id"] for r in (idx["images"] if isinstance(idx, dict) else idx)}


def test_builder_prune(b):
    before = image_ids(b)
    ctx = context(b, f"FROM {BUSYBOX}\nRUN echo a > /a\n"
                     "RUN --mount=type=cache,target=/c,id=b7 echo x > /c/x\nLABEL l=1\n")
    final = image_id(build(b, "-t", "pr7", ctx).stdout)
    made = image_ids(b) - before
    assert final in made and len(made) == 3  # the RUNs' and LABEL's (the tagged one)
    mounts = b.root / "build-mounts"
    assert len(list(mounts.iterdir())) == 1
    # a container on a step image keeps that image
    step = sorted(made - {final})[0]
    b("create", "--name", "b7-keep", step, "true")
    out = b("builder", "prune", "-f").stdout
    assert "Deleted 1 step image, " in out and "1 cache mount" in out, out
    assert image_ids(b) - before == {final, step}
    assert not mounts.exists()
    assert run(b, "pr7", "cat", "/a") == "a\n"  # the tagged image is whole
    b("rm", "b7-keep")
    entries = [p for p in (b.root / "build-cache").iterdir() if p.name != "made"]
    assert entries  # the tagged image's entry stays without -a
    out = b("builder", "prune", "-a").stdout
    assert [p for p in (b.root / "build-cache").iterdir() if p.name != "made"] == []
    assert image_ids(b) - before == {final}
    r = build(b, "-t", "pr7", ctx).stdout
    assert "Using cache" not in r
    b("system", "check")


def test_kill9_leftovers_system_check(b):
    import signal
    import subprocess
    ctx = context(b, f"FROM {BUSYBOX} AS two\nRUN echo 2 > /two\n"
                     f"FROM {BUSYBOX}\nRUN --mount=type=bind,from=two,target=/v "
                     "echo started; sleep 60\n")
    p = b.popen("build", ctx, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in p.stdout:
            if line.strip() == "started":
                break
        # a build that runs: nothing of it is garbage
        out = b("system", "check").stdout
        assert "garbage" not in out, out
        p.send_signal(signal.SIGKILL)
        p.wait(30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    out = b("system", "check").stdout
    garbage = [ln for ln in out.splitlines() if ln.startswith("garbage:")]
    assert any("the temp dir of a build that is not running" in ln for ln in garbage), out
    assert any("a RUN step of a build that is not running" in ln for ln in garbage), out
    out = b("system", "check", "--repair").stdout
    assert len([ln for ln in out.splitlines() if ln.startswith("repaired:")]) >= 2, out
    assert "garbage" not in b("system", "check").stdout
    assert not b.ids() and not (b.root / "build-tmp").exists()
    assert str(b.root) not in pathlib.Path("/proc/self/mountinfo").read_text()
