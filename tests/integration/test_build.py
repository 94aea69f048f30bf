"""`berth build` (issue #12): a Dockerfile's stages run step by step on the
store's images (RUN as containers, COPY/ADD from the context less what
.dockerignore excludes), each step cached by its parent and inputs. Errors
are one line, non-zero, and leave no container, mount or temp dir behind
(the fixture checks the host; `berth system check` must stay clean)."""
import io
import json
import pathlib
import os
import tarfile

import pytest

from engine_helpers import BUSYBOX, engine_store

if os.geteuid() != 0:
    pytest.skip("the engine tests need root", allow_module_level=True)

MULTI = f"""ARG BASE={BUSYBOX}
FROM $BASE AS builder
ARG V=1
RUN echo built-$V > /out.txt
FROM {BUSYBOX}
ENV GREETING=hi
WORKDIR /app
COPY --from=builder /out.txt ./
COPY . .
USER 1000
CMD ["sh", "-c", "cat /app/out.txt /app/hello.txt; echo $GREETING; pwd; id -u; ls /app"]
"""


@pytest.fixture
def b():
    with engine_store("berth-build-") as bb:
        yield bb
        # nothing of the builds left: no container, no temp dir, a clean store
        assert not bb.ids()
        assert not (bb.root / "build-tmp").exists()
        bb("system", "check")


def context(b, dockerfile, files=None):
    ctx = b.tmp / "ctx"
    ctx.mkdir(exist_ok=True)
    (ctx / "Dockerfile").write_text(dockerfile)
    for name, text in (files or {}).items():
        (ctx / name).parent.mkdir(parents=True, exist_ok=True)
        (ctx / name).write_text(text)
    return ctx


def build(b, *args, check=True):
    return b("build", *args, check=check)


def image_id(out):
    return out.strip().splitlines()[-1]


def test_multi_stage_args_env_workdir_user_cmd(b):
    ctx = context(b, MULTI, {"hello.txt": "hello\n"})
    r = build(b, "-t", "app", "--build-arg", "V=7", ctx)
    assert "STEP 3/10: RUN echo built-$V > /out.txt" in r.stdout
    out = b("run", "--rm", "--network", "none", "app").stdout.split()
    assert out == ["built-7", "hello", "hi", "/app", "1000", "Dockerfile", "hello.txt", "out.txt"]
    cfg = json.loads(b("image", "inspect", "app").stdout)[0]["Config"]
    assert cfg["WorkingDir"] == "/app" and cfg["User"] == "1000"
    assert "GREETING=hi" in cfg["Env"]
    hist = b("history", "--no-trunc", "app").stdout
    assert "/bin/sh -c #(nop) WORKDIR /app" in hist


def test_cache_reuse_change_and_no_cache(b):
    ctx = context(b, MULTI, {"hello.txt": "hello\n"})
    first = image_id(build(b, "-t", "app", ctx).stdout)
    again = build(b, "-t", "app", ctx).stdout
    assert image_id(again) == first
    assert again.count(" --> Using cache") == 7  # every step but FROM and ARG
    (ctx / "hello.txt").write_text("changed\n")
    third = build(b, "-t", "app", ctx).stdout
    steps = third.split("STEP ")
    cached = [s.split(":")[0] for s in steps if " --> Using cache" in s]
    assert cached == ["3/10", "5/10", "6/10", "7/10"]  # from COPY . . on: run again
    assert image_id(third) != first
    assert b("run", "--rm", "--network", "none", "app").stdout.split()[1] == "changed"
    fresh = build(b, "--no-cache", "-t", "app", ctx).stdout
    assert " --> Using cache" not in fresh


def test_dockerignore_excludes(b):
    ctx = context(b, f"FROM {BUSYBOX}\nCOPY . /c/\nCMD [\"ls\", \"-a\", \"/c\"]\n",
                  {"keep": "1", "secret.key": "2", ".dockerignore": "*.key\n"})
    build(b, "-t", "ign", ctx)
    names = b("run", "--rm", "--network", "none", "ign").stdout.split()
    assert "keep" in names and "secret.key" not in names


def test_target_builds_only_that_stage(b):
    ctx = context(b, f"FROM {BUSYBOX} AS one\nRUN echo one > /one\n"
                     f"FROM {BUSYBOX} AS two\nRUN false\n")
    r = build(b, "--target", "one", "-t", "one", ctx)
    assert "RUN false" not in r.stdout
    assert b("run", "--rm", "--network", "none", "one", "cat", "/one").stdout == "one\n"


def test_quiet_iidfile_and_stdin_tar(b):
    ctx = context(b, f"FROM {BUSYBOX}\nCOPY f /f\nLABEL a=b\n", {"f": "from-tar\n"})
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name in ("Dockerfile", "f"):
            t.add(ctx / name, arcname=name)
    iid = b.tmp / "iid"
    tarp = b.tmp / "ctx.tar"
    tarp.write_bytes(buf.getvalue())
    with open(tarp, "rb") as f:
        r = b("build", "-q", "--iidfile", iid, "-t", "fromtar", "-", stdin=f)
    assert r.stdout.strip() == iid.read_text() and r.stdout.startswith("sha256:")
    assert b("run", "--rm", "--network", "none", "fromtar", "cat", "/f").stdout == "from-tar\n"


@pytest.mark.parametrize("dockerfile,files,msg", [
    (f"FROM {BUSYBOX}\nRUNN true\n", {}, "Dockerfile:2: unknown instruction"),
    ("FROM localhost/nope:1\nRUN true\n", {}, "FROM localhost/nope:1: image not found locally"),
    (f"FROM {BUSYBOX}\nRUN true\nRUN exit 3\n", {}, "step 3/3 RUN exit 3: exited with status 3"),
    (f"FROM {BUSYBOX}\nCOPY missing /x\n", {}, "missing: no such file or directory"),
    (f"FROM {BUSYBOX}\nCOPY ../x /x\n", {}, "forbidden path outside the build context"),
    (f"FROM {BUSYBOX}\nADD http://127.0.0.1:1/f /f\n", {}, "GET http://127.0.0.1:1/f: Couldn't connect"),
    (f"FROM {BUSYBOX}\nRUN echo to-std''err >&2; false\n", {}, "exited with status 1"),
])
def test_errors_one_line_nothing_left(b, dockerfile, files, msg):
    (b.tmp / "x").write_text("outside\n")
    ctx = context(b, dockerfile, files)
    before = sorted(p.name for p in (b.root / "containers").iterdir()) \
        if (b.root / "containers").exists() else []
    r = build(b, "-t", "bad", ctx, check=False)
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("berth: build: ") and msg in lines[0], r.stderr
    assert "to-stderr" not in r.stderr  # a RUN step's output goes to stdout
    if "to-std" in dockerfile:
        assert "to-stderr" in r.stdout
    assert b("image", "inspect", "bad", check=False).returncode != 0
    after = sorted(p.name for p in (b.root / "containers").iterdir()) \
        if (b.root / "containers").exists() else []
    assert [n for n in after if len(n) == 64] == [n for n in before if len(n) == 64]


def test_copy_flags_glob_add_tar_label_history(b):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        data = b"in-tar\n"
        ti = tarfile.TarInfo("sub/t.txt")
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
    ctx = context(b, f"FROM {BUSYBOX}\nARG MODE=640\nCOPY --chown=1:2 --chmod=$MODE *.txt /g/\n"
                     "ADD a.tgz /x/\nRUN echo r > /r\nENTRYPOINT [\"cat\"]\n",
                  {"a.txt": "a\n", "b.txt": "b\n", "c.md": "c\n"})
    (ctx / "a.tgz").write_bytes(buf.getvalue())
    build(b, "--label", "org.x=y", "-t", "flags", ctx)
    out = b("run", "--rm", "--network", "none", "--entrypoint", "sh", "flags", "-c",
            "stat -c '%n %u %g %a' /g/*; ls /g; cat /x/sub/t.txt").stdout.split("\n")
    assert out[:2] == ["/g/a.txt 1 2 640", "/g/b.txt 1 2 640"] and "c.md" not in out
    assert "in-tar" in out
    assert b("run", "--rm", "--network", "none", "flags", "/r").stdout == "r\n"  # the ENTRYPOINT
    info = json.loads(b("image", "inspect", "flags").stdout)[0]
    assert info["Config"]["Labels"]["org.x"] == "y"
    hist = b("history", "--no-trunc", "flags").stdout
    assert "/bin/sh -c echo r > /r" in hist


def test_symlinks_context_and_destination(b):
    # in the context: a link out of it is resolved inside it (here: to nothing)
    ctx = context(b, f"FROM {BUSYBOX}\nCOPY esc /x\n", {"f": "f\n"})
    os.symlink("/etc/hostname", ctx / "esc")
    r = build(b, ctx, check=False)
    assert r.returncode != 0 and "esc: no such file or directory" in r.stderr
    # in the image: COPY through a link of the destination writes where it points
    (ctx / "Dockerfile").write_text(f"FROM {BUSYBOX}\nRUN mkdir /real && ln -s /real /lnk\n"
                                    "COPY f /lnk/f\n")
    build(b, "-t", "lnk", ctx)
    out = b("run", "--rm", "--network", "none", "lnk", "sh", "-c", "cat /real/f; readlink /lnk").stdout
    assert out == "f\n/real\n"


def test_arg_env_scoping(b):
    ctx = context(b, f"ARG G=global\nFROM {BUSYBOX} AS one\nARG L=one\n"
                     f"FROM {BUSYBOX}\nARG G\nARG L=local\nENV L=env\n"
                     "RUN echo \"$G $L [$HTTP_PROXY]\" > /o\n")
    r = build(b, "-t", "scope", "--build-arg", "HTTP_PROXY=http://p:1",
              "--build-arg", "UNUSED=1", ctx)
    assert "UNUSED" in r.stderr and "not consumed" in r.stderr
    assert b("run", "--rm", "--network", "none", "scope", "cat", "/o").stdout == "global env [http://p:1]\n"
    hist = b("history", "--no-trunc", "scope").stdout
    assert "|2 G=global L=local /bin/sh -c" in hist and "p:1" not in hist
    cfg = json.loads(b("image", "inspect", "scope").stdout)[0]["Config"]
    assert "L=env" in cfg["Env"] and not any(e.startswith("G=") for e in cfg["Env"])


def test_stdin_tar_escape_refused(b):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        data = f"FROM {BUSYBOX}\n".encode()
        ti = tarfile.TarInfo("Dockerfile")
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
        ti = tarfile.TarInfo("../../../../../../tmp/berth-build-evil")
        ti.size = 1
        t.addfile(ti, io.BytesIO(b"x"))
    tarp = b.tmp / "evil.tar"
    tarp.write_bytes(buf.getvalue())
    with open(tarp, "rb") as f:
        r = b("build", "-", stdin=f, check=False)
    assert r.returncode != 0 and "a path outside the directory" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not pathlib.Path("/tmp/berth-build-evil").exists()


def test_onbuild_triggers_and_heredocs(b):
    ctx = context(b, f"FROM {BUSYBOX}\nONBUILD RUN echo trig > /trig\nONBUILD COPY f /f\n",
                  {"f": "f-from-child\n"})
    build(b, "-t", "base", ctx)
    cfg = json.loads(b("image", "inspect", "base").stdout)[0]["Config"]
    assert cfg["OnBuild"] == ["RUN echo trig > /trig", "COPY f /f"]
    (ctx / "Dockerfile").write_text("FROM base\nRUN <<EOF\necho hd > /hd\nEOF\n"
                                    "RUN cat <<EOF > /hd2\nline\nEOF\n")
    r = build(b, "-t", "child", ctx)
    assert "Executing 2 build triggers" in r.stdout
    out = b("run", "--rm", "--network", "none", "child", "cat", "/trig", "/f", "/hd", "/hd2").stdout
    assert out == "trig\nf-from-child\nhd\nline\n"
    cfg = json.loads(b("image", "inspect", "child").stdout)[0]["Config"]
    assert not cfg.get("OnBuild")


def test_interrupted_run_step_cleans_up(b):
    import signal
    import subprocess
    ctx = context(b, f"FROM {BUSYBOX}\nRUN echo started; sleep 60\n")
    p = b.popen("build", ctx, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in p.stdout:
            if line.strip() == "started":
                break
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode != 0
    assert "exited with status 130" in err, err


def test_config_instructions(b):
    ctx = context(b, f"FROM {BUSYBOX}\nMAINTAINER A Name <a@example.com>\nCMD [\"inherited\"]\n"
                     "FROM 0\nENTRYPOINT [\"/bin/echo\"]\nEXPOSE 80 53/UDP\nVOLUME /data\n"
                     "STOPSIGNAL SIGINT\nLABEL \"a.b\"=\"x y\" c=d\n"
                     "HEALTHCHECK --interval=30s --retries=2 CMD wget -q localhost\n"
                     "SHELL [\"/bin/sh\", \"-ec\"]\nRUN echo $0 $- > /shell\n"
                     "ONBUILD RUN echo later\n")
    build(b, "-t", "cfg", ctx)
    info = json.loads(b("image", "inspect", "cfg").stdout)[0]
    cfg = info["Config"]
    assert info["Author"] == "A Name <a@example.com>"
    assert cfg["Entrypoint"] == ["/bin/echo"] and not cfg.get("Cmd")  # ENTRYPOINT drops it
    assert set(cfg["ExposedPorts"]) == {"80/tcp", "53/udp"} and set(cfg["Volumes"]) == {"/data"}
    assert cfg["StopSignal"] == "SIGINT" and cfg["Labels"] == {"a.b": "x y", "c": "d"}
    assert cfg["Healthcheck"]["Test"] == ["CMD-SHELL", "wget -q localhost"]
    assert cfg["Healthcheck"]["Interval"] == 30 * 10**9 and cfg["Healthcheck"]["Retries"] == 2
    assert cfg["Shell"] == ["/bin/sh", "-ec"] and cfg["OnBuild"] == ["RUN echo later"]
    out = b("run", "--rm", "--network", "none", "--entrypoint", "cat", "cfg", "/shell").stdout
    assert out.split()[0] == "/bin/sh" and "e" in out.split()[1]


def test_from_scratch(b):
    ctx = context(b, f"FROM {BUSYBOX} AS tools\nFROM scratch\nCOPY --from=tools /bin/busybox /busybox\n"
                     "COPY f /data/f\nENTRYPOINT [\"/busybox\"]\n", {"f": "in-scratch\n"})
    build(b, "-t", "scr", ctx)
    info = json.loads(b("image", "inspect", "scr").stdout)[0]
    assert len(info["RootFS"]["Layers"]) == 2
    assert b("run", "--rm", "--network", "none", "scr", "cat", "/data/f").stdout == "in-scratch\n"
    (ctx / "Dockerfile").write_text("FROM scratch\nLABEL only=config\n")
    build(b, "-t", "empty", ctx)
    info = json.loads(b("image", "inspect", "empty").stdout)[0]
    assert info["Config"]["Labels"] == {"only": "config"} and not info["RootFS"].get("Layers")


def test_dockerfile_fifo_and_containerfile_first(b):
    ctx = context(b, "FROM localhost/not-this-one\n")
    (ctx / "Containerfile").write_text(f"FROM {BUSYBOX}\nLABEL from=containerfile\n")
    build(b, "-t", "cf", ctx)
    assert json.loads(b("image", "inspect", "cf").stdout)[0]["Config"]["Labels"] == \
        {"from": "containerfile"}
    os.unlink(ctx / "Containerfile")
    os.mkfifo(ctx / ".dockerignore")  # never read (it would block)
    r = build(b, ctx, check=False)
    assert r.returncode != 0 and ".dockerignore: not a regular file" in r.stderr


def test_cache_after_image_prune(b):
    ctx = context(b, f"FROM {BUSYBOX}\nRUN echo one > /one\nLABEL x=y\n")
    build(b, "-t", "pr", ctx)
    b("rmi", "pr")
    b("image", "prune", "-f")
    r = build(b, "-t", "pr", ctx)
    assert " --> Using cache" not in r.stdout  # the images went, so did the cache
    assert b("run", "--rm", "--network", "none", "pr", "cat", "/one").stdout == "one\n"


def test_dockerfile_on_stdin(b):
    ctx = context(b, "FROM localhost/not-this-one\n", {"f": "ctx-file\n"})
    r = b("build", "-f", "-", "-t", "sin", ctx, input=f"FROM {BUSYBOX}\nCOPY f /f\n")
    assert r.returncode == 0
    assert b("run", "--rm", "--network", "none", "sin", "cat", "/f").stdout == "ctx-file\n"
    r = b("build", "-f", "-", "-", input="", check=False)
    assert r.returncode == 125 and "only one can be read" in r.stderr


def test_run_without_changes_is_an_empty_layer(b):
    ctx = context(b, f"FROM {BUSYBOX}\nRUN true\nRUN mkdir /made\n")
    build(b, "-t", "lay", ctx)
    info = json.loads(b("image", "inspect", "lay").stdout)[0]
    base = json.loads(b("image", "inspect", BUSYBOX).stdout)[0]
    assert len(info["RootFS"]["Layers"]) == len(base["RootFS"]["Layers"]) + 1  # mkdir's only
    hist = b("history", "--no-trunc", "lay").stdout.splitlines()
    assert "0B" in next(h for h in hist if "/bin/sh -c true" in h)


def test_cached_rebuild_writes_no_index(b):
    # a fully cached build tags the image it already tagged: index.json is not rewritten
    ctx = context(b, f"FROM {BUSYBOX}\nRUN echo x > /x\n")
    first = image_id(build(b, "-t", "same", ctx).stdout)
    idx = b.root / "image" / "index.json"
    before = idx.stat()
    again = build(b, "-t", "same", ctx).stdout
    assert image_id(again) == first and " --> Using cache" in again
    after = idx.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    build(b, "-t", "other", ctx)  # a new name is written
    assert idx.stat().st_ino != before.st_ino
    assert json.loads(b("image", "inspect", "other").stdout)[0]["Id"] == first
