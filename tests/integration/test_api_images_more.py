"""berth system service, the image and system endpoints beyond the basics: push to a
registry on 127.0.0.1 and pull back, save (get) and load with a docker save | docker
load round trip, a corrupt load refused with nothing stored, prune, the list's filters,
build from a tar context (the docker CLI's classic builder and docker-py), system df.
The real clients (docker CLI, docker-py) against a service the test starts."""
import base64
import io
import json
import os
import subprocess
import tarfile
import time

import pytest

from engine_helpers import BUSYBOX, engine_store, remove_networks
from test_api_service import Service, call, docker, docker_cli

if os.geteuid() != 0:
    pytest.skip("the engine tests need root", allow_module_level=True)


@pytest.fixture
def svc():
    with engine_store("berth-ai-") as b:
        s = Service(b, "--time", "0")
        try:
            yield s
        finally:
            s.stop()
            ids = b.ids()
            if ids:
                b("rm", "-f", *ids, check=False)
            left = remove_networks(b)
        assert not left, left


def lines(body):
    return [json.loads(x) for x in body.decode().split("\r\n") if x.strip()]


def store_files(b):
    """The store's blobs and layers: what a failed load must not add to."""
    out = set()
    for sub in ("blobs", "layers"):
        d = b.root / "image" / sub
        for dirpath, dirnames, files in os.walk(d):
            out.update(os.path.join(dirpath, n) for n in dirnames + files)
    return out


def test_push_to_registry_and_pull_back(svc, tmp_path):
    from test_image_registry import start_registry, stop
    b = svc.b
    p, addr = start_registry(tmp_path)
    try:
        docker(svc, "tag", BUSYBOX, f"{addr}/ai/bb:1")
        r = docker(svc, "push", f"{addr}/ai/bb:1")
        assert f"The push refers to repository [{addr}/ai/bb]" in r.stdout, r.stdout
        assert "1: digest: sha256:" in r.stdout, r.stdout
        # the raw stream: Docker's progress lines and the aux record
        auth = base64.urlsafe_b64encode(json.dumps({"username": "u", "password": "p"})
                                        .encode()).decode()
        c = __import__("test_api_service").UnixHTTP(svc.sock, timeout=60)
        c.request("POST", f"/v1.41/images/{addr}/ai/bb/push?tag=1",
                  headers={"X-Registry-Auth": auth})
        resp = c.getresponse()
        ls = lines(resp.read())
        c.close()
        assert resp.status == 200
        assert any(x.get("status") == "Layer already exists" for x in ls), ls
        assert ls[-1]["aux"]["Tag"] == "1" and ls[-1]["aux"]["Digest"].startswith("sha256:")
        # pulled back into a second store, it runs
        with engine_store("berth-ai-pull-") as b2:
            b2("pull", f"{addr}/ai/bb:1")
            assert b2("run", "--rm", "--network", "none", f"{addr}/ai/bb:1", "echo", "back").stdout == "back\n"
        # no tag (docker push -a): every tag of the repository
        docker(svc, "tag", BUSYBOX, f"{addr}/ai/multi:a")
        docker(svc, "tag", BUSYBOX, f"{addr}/ai/multi:b")
        r = docker(svc, "push", "-a", f"{addr}/ai/multi")
        assert "a: digest: sha256:" in r.stdout and "b: digest: sha256:" in r.stdout, r.stdout
        with engine_store("berth-ai-pull-") as b2:
            b2("pull", f"{addr}/ai/multi:b")
        # an error is a line with errorDetail, status 200 (Docker's), the CLI fails
        r = docker(svc, "push", f"{addr}/ai/nosuch:1", check=False)
        assert r.returncode != 0
        docker(svc, "tag", BUSYBOX, "127.0.0.1:1/ai/x:1")
        st, _, body = call(svc.sock, "POST", "/v1.41/images/127.0.0.1:1/ai/x/push?tag=1")
        ls = lines(body)
        assert st == 200 and "errorDetail" in ls[-1] and ls[-1]["error"], ls
        # a bad X-Registry-Auth is refused by name
        c = __import__("test_api_service").UnixHTTP(svc.sock)
        c.request("POST", f"/v1.41/images/{addr}/ai/bb/push?tag=1",
                  headers={"X-Registry-Auth": "!!!"})
        resp = c.getresponse()
        assert resp.status == 400 and "X-Registry-Auth" in json.loads(resp.read())["message"]
        c.close()
    finally:
        stop(p)
    assert b("images", "-q").stdout.strip()


def test_save_load_round_trip_and_corrupt_load(svc, tmp_path):
    b = svc.b
    docker(svc, "tag", BUSYBOX, "localhost/ai-save:1")
    tar = tmp_path / "img.tar"
    docker(svc, "save", "-o", str(tar), "localhost/ai-save:1")
    with tarfile.open(tar) as t:
        names = t.getnames()
        man = json.load(t.extractfile("manifest.json"))
    assert "manifest.json" in names and man[0]["RepoTags"] == ["localhost/ai-save:1"], man
    # GET /images/get?names=A&names=B: both in one archive
    st, h, body = call(svc.sock, "GET", f"/images/get?names={BUSYBOX}&names=localhost/ai-save:1")
    assert st == 200 and h["Content-Type"] == "application/x-tar"
    with tarfile.open(fileobj=io.BytesIO(body)) as t:
        tags = sorted(sum((m["RepoTags"] for m in json.load(t.extractfile("manifest.json"))), []))
    assert tags == sorted([BUSYBOX + ":latest", "localhost/ai-save:1"]), tags
    st, _, body = call(svc.sock, "GET", "/images/localhost/nosuch:1/get")
    assert st == 404 and "No such image: localhost/nosuch:1" in json.loads(body)["message"]
    # docker save | docker load through berth, into the same store after an rmi
    docker(svc, "rmi", "localhost/ai-save:1")
    r = docker(svc, "load", "-i", str(tar))
    assert "Loaded image: localhost/ai-save:1" in r.stdout, r.stdout
    assert b("run", "--rm", "--network", "none", "localhost/ai-save:1", "echo", "loaded").stdout == "loaded\n"
    env = dict(os.environ, DOCKER_HOST=f"unix://{svc.sock}", DOCKER_CONFIG=str(b.tmp / "dcli"))
    docker(svc, "rmi", "localhost/ai-save:1")
    r = subprocess.run(f"{docker_cli()} save localhost/busybox | {docker_cli()} load",
                       shell=True, capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0 and "Loaded image: localhost/busybox:latest" in r.stdout, r
    # a corrupt tar: one line, nothing half-stored
    before, images = store_files(b), b("images", "-a", "-q").stdout
    assert before
    data = tar.read_bytes()
    bad = tmp_path / "bad.tar"
    bad.write_bytes(data[: len(data) // 2])
    r = docker(svc, "load", "-i", str(bad), check=False)
    assert r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "load" in r.stderr, r.stderr
    assert store_files(b) == before and b("images", "-a", "-q").stdout == images
    assert not os.listdir(b.root / "image" / "tmp"), "the body's temp file is gone"
    st, _, body = call(svc.sock, "POST", "/images/load", b"")
    assert st == 400 and "empty" in json.loads(body)["message"]


def test_list_filters_and_prune(svc):
    b = svc.b
    (b.tmp / "ctx").mkdir()
    (b.tmp / "ctx" / "Dockerfile").write_text(
        f"FROM {BUSYBOX}\nLABEL ai.kind=one\nRUN echo one > /f\n")
    b("build", "-t", "localhost/ai-one:1", str(b.tmp / "ctx"))
    time.sleep(1.1)  # created times are in seconds: before/since need an order
    (b.tmp / "ctx" / "Dockerfile").write_text(
        f"FROM {BUSYBOX}\nLABEL ai.kind=two\nRUN echo two > /f\n")
    b("build", "-t", "localhost/ai-two:1", str(b.tmp / "ctx"))

    def listed(**filters):
        q = json.dumps({k: v if isinstance(v, list) else [v] for k, v in filters.items()})
        st, _, body = call(svc.sock, "GET", "/images/json?filters=" +
                           __import__("urllib.parse").parse.quote(q))
        assert st == 200, body
        return sorted(t for i in json.loads(body) for t in i["RepoTags"])
    assert listed(reference="localhost/ai-*") == ["localhost/ai-one:1", "localhost/ai-two:1"]
    assert listed(reference="localhost/ai-one") == ["localhost/ai-one:1"]
    assert listed(label="ai.kind=two") == ["localhost/ai-two:1"]
    assert listed(label="ai.kind") == ["localhost/ai-one:1", "localhost/ai-two:1"]
    assert listed(since="localhost/ai-one:1") == ["localhost/ai-two:1"]
    assert "localhost/ai-two:1" not in listed(before="localhost/ai-one:1")
    out = docker(svc, "images", "--filter", "reference=localhost/ai-two",
                 "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    assert out == ["localhost/ai-two:1"]
    st, _, body = call(svc.sock, "GET", "/images/json?filters=%7B%22nope%22%3A%5B%22x%22%5D%7D")
    assert st == 400 and "invalid filter 'nope'" in json.loads(body)["message"]
    st, _, body = call(svc.sock, "GET", "/images/json?digests=1")
    assert st == 200 and all("RepoDigests" in i for i in json.loads(body))
    # dangling: ai-one's name moved to ai-two's image leaves ai-one's untagged
    docker(svc, "tag", "localhost/ai-two:1", "localhost/ai-one:1")
    dang = json.loads(call(svc.sock, "GET", "/images/json?filters=" +
                           '%7B%22dangling%22%3A%5B%22true%22%5D%7D')[2])
    assert len(dang) >= 1 and all(i["RepoTags"] == ["<none>:<none>"] for i in dang)
    n_before = len(b("images", "-a", "-q").stdout.split())
    r = docker(svc, "image", "prune", "-f")
    assert "Total reclaimed space" in r.stdout and "deleted: sha256:" in r.stdout.lower(), r.stdout
    assert len(b("images", "-a", "-q").stdout.split()) < n_before
    # prune -a with a label: only that image goes; a used one stays
    b("create", "--name", "ai-user", "--network", "none", BUSYBOX, "true")
    r = docker(svc, "image", "prune", "-a", "-f", "--filter", "label=ai.kind=two")
    names = docker(svc, "images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    assert "localhost/ai-two:1" not in names and BUSYBOX + ":latest" in names, names
    r = docker(svc, "image", "prune", "-a", "-f", "--filter", "until=1h")
    assert BUSYBOX + ":latest" in docker(svc, "images", "--format", "{{.Repository}}:{{.Tag}}").stdout
    st, _, body = call(svc.sock, "POST", "/images/prune?filters=%7B%22until%22%3A%5B%22xyz%22%5D%7D")
    assert st == 400 and "until" in json.loads(body)["message"]


def test_system_df(svc):
    b = svc.b
    b("run", "-d", "--name", "ai-df", "--network", "none", "-v", "ai-vol:/data", BUSYBOX, "sh", "-c",
      "head -c 300000 /dev/zero > /big; head -c 5000 /dev/zero > /data/v; sleep 300")
    b("run", "--name", "ai-df2", "--network", "none", BUSYBOX, "true")
    st, _, body = call(svc.sock, "GET", "/system/df")
    d = json.loads(body)
    assert st == 200 and d["LayersSize"] > 0 and d["BuildCache"] == []
    for _ in range(50):
        d = json.loads(call(svc.sock, "GET", "/system/df")[2])
        c = {x["Names"][0].lstrip("/"): x for x in d["Containers"]}
        v = {x["Name"]: x for x in d["Volumes"]}
        if c["ai-df"]["SizeRw"] >= 300000 and v["ai-vol"]["UsageData"]["Size"] >= 5000:
            break
        time.sleep(0.1)
    assert c["ai-df"]["SizeRw"] >= 300000 and c["ai-df"]["State"] == "running", c
    assert v["ai-vol"]["UsageData"]["Size"] >= 5000 and v["ai-vol"]["UsageData"]["RefCount"] == 1
    img = [i for i in d["Images"] if BUSYBOX + ":latest" in i["RepoTags"]][0]
    assert img["Containers"] == 2 and img["Size"] > 0
    out = docker(svc, "system", "df").stdout
    assert "Images" in out and "Containers" in out and "Local Volumes" in out, out
    row = [l for l in out.splitlines() if l.startswith("Containers")][0].split()
    assert row[1:3] == ["2", "1"], out  # total, active
    b("rm", "-f", "ai-df", "ai-df2")
    b("volume", "rm", "ai-vol")


def build_env(svc):
    return dict(os.environ, DOCKER_HOST=f"unix://{svc.sock}", DOCKER_BUILDKIT="0",
                DOCKER_CONFIG=str(svc.b.tmp / "dcli"))


def test_docker_build_then_run(svc, tmp_path):
    b = svc.b
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "hello.txt").write_text("hello from the context\n")
    (ctx / "Dockerfile").write_text(
        f"FROM {BUSYBOX}\nARG WHO=nobody\nENV GREETING=hi\nRUN echo ran-$WHO > /ran\n"
        "COPY hello.txt /hello.txt\nLABEL ai.built=yes\n"
        'CMD ["sh", "-c", "cat /hello.txt /ran; echo $GREETING"]\n')
    r = subprocess.run([docker_cli(), "build", "-t", "localhost/ai-built:1", "--build-arg",
                        "WHO=api", "--label", "ai.l=v", "."], cwd=ctx, capture_output=True,
                       text=True, timeout=120, env=build_env(svc))
    assert r.returncode == 0, r.stderr + r.stdout
    assert "Step 1/7 : FROM" in r.stdout and "Successfully tagged localhost/ai-built:1" in r.stdout
    assert "Successfully built" in r.stdout, r.stdout
    out = docker(svc, "run", "--rm", "--network", "none", "localhost/ai-built:1").stdout
    assert out == "hello from the context\nran-api\nhi\n", out
    d = json.loads(docker(svc, "image", "inspect", "localhost/ai-built:1").stdout)[0]
    assert d["Config"]["Labels"] == {"ai.built": "yes", "ai.l": "v"}, d["Config"]["Labels"]
    # again: every step from the cache; -q prints the ID only
    r = subprocess.run([docker_cli(), "build", "-q", "-t", "localhost/ai-built:1",
                        "--build-arg", "WHO=api", "--label", "ai.l=v", "."], cwd=ctx,
                       capture_output=True, text=True, timeout=120, env=build_env(svc))
    assert r.returncode == 0 and r.stdout.strip() == d["Id"], (r.stdout, d["Id"])
    # -f: a Dockerfile elsewhere in the context; one outside it is refused
    (ctx / "sub").mkdir()
    (ctx / "sub" / "Other").write_text(f"FROM {BUSYBOX}\nRUN echo other\n")
    r = subprocess.run([docker_cli(), "build", "-f", "sub/Other", "-t", "localhost/ai-o:1", "."],
                       cwd=ctx, capture_output=True, text=True, timeout=120, env=build_env(svc))
    assert r.returncode == 0 and "other" in r.stdout, r.stderr
    st, _, body = call(svc.sock, "POST", "/build?dockerfile=../../../../etc/passwd",
                       tar_of(ctx))
    assert st == 200 and "errorDetail" in lines(body)[-1], body
    assert not (b.root / "build-tmp").exists()


def tar_of(d):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for p in sorted(d.rglob("*")):
            t.add(p, arcname=str(p.relative_to(d)), recursive=False)
    return buf.getvalue()


def test_build_failure_and_docker_py(svc, tmp_path):
    docker_mod = pytest.importorskip("docker", reason="python3-docker (docker-py) is missing")
    b = svc.b
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(f"FROM {BUSYBOX}\nRUN echo before-fail; exit 3\n")
    n_images = b("images", "-q").stdout
    r = subprocess.run([docker_cli(), "build", "-t", "localhost/ai-bad:1", "."], cwd=ctx,
                       capture_output=True, text=True, timeout=120, env=build_env(svc))
    assert r.returncode != 0 and "before-fail" in r.stdout, (r.stdout, r.stderr)
    assert "status 3" in r.stderr, r.stderr
    assert "localhost/ai-bad" not in docker(svc, "images").stdout
    assert b("images", "-q").stdout == n_images and not b.ids()
    assert not (b.root / "build-tmp").exists()
    # docker-py's images.build: the image and its log
    (ctx / "Dockerfile").write_text(f"FROM {BUSYBOX}\nRUN echo py-built | tee /p\nCMD cat /p\n")
    cl = docker_mod.DockerClient(base_url=f"unix://{svc.sock}", version="auto")
    try:
        img, log = cl.images.build(path=str(ctx), tag="localhost/ai-py:1", rm=True,
                                   buildargs={"X": "1"}, labels={"ai.py": "1"})
        log = list(log)
        assert "localhost/ai-py:1" in img.tags and img.labels["ai.py"] == "1"
        assert any("py-built" in x.get("stream", "") for x in log), log
        assert any("aux" in x and x["aux"]["ID"] == img.id for x in log), log
        assert cl.containers.run("localhost/ai-py:1", remove=True, network_mode="none") == b"py-built\n"
        (ctx / "Dockerfile").write_text(f"FROM {BUSYBOX}\nRUN exit 7\n")
        with pytest.raises(docker_mod.errors.BuildError) as ei:
            cl.images.build(path=str(ctx), tag="localhost/ai-py-bad:1")
        assert "status 7" in str(ei.value)
    finally:
        cl.close()
    st, _, body = call(svc.sock, "POST", "/build", b"")
    assert st == 400 and "empty" in json.loads(body)["message"]
    st, _, body = call(svc.sock, "POST", "/build?remote=http://x/y.tar", b"x")
    assert st == 400 and "remote: not supported" in json.loads(body)["message"]


def test_commit(svc):
    b = svc.b
    b("run", "-d", "--name", "ai-c", "--network", "none", BUSYBOX, "sh", "-c", "echo committed > /c; sleep 300")
    import time as _t
    for _ in range(50):
        if b("exec", "ai-c", "cat", "/c", check=False).stdout == "committed\n":
            break
        _t.sleep(0.1)
    r = docker(svc, "commit", "-c", "ENV AI=1", "-c", 'CMD ["cat", "/c"]', "-m", "ai msg",
               "ai-c", "localhost/ai-commit:1")
    iid = r.stdout.strip()
    assert iid.startswith("sha256:"), r.stdout
    assert b.inspect("ai-c")["State"]["Status"] == "running"  # unpaused again
    assert docker(svc, "run", "--rm", "--network", "none", "localhost/ai-commit:1").stdout == "committed\n"
    d = json.loads(docker(svc, "image", "inspect", "localhost/ai-commit:1").stdout)[0]
    assert d["Id"] == iid and "AI=1" in d["Config"]["Env"]
    st, _, body = call(svc.sock, "POST", "/commit?container=nosuch&repo=localhost/x")
    assert st == 404 and "nosuch" in json.loads(body)["message"]
    st, _, body = call(svc.sock, "POST", "/commit?container=ai-c", json.dumps(
        {"Cmd": ["x"]}).encode())
    assert st == 400 and "Cmd: not supported" in json.loads(body)["message"]
    st, _, body = call(svc.sock, "POST", "/commit?container=ai-c&changes=FROM%20x")
    assert st == 400, body
    b("rm", "-f", "ai-c")


def test_build_client_gone_stops_it(svc, tmp_path):
    import socket as _s
    b = svc.b
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(f"FROM {BUSYBOX}\nRUN echo started; sleep 60\n")
    body = tar_of(ctx)
    c = _s.socket(_s.AF_UNIX)
    c.connect(svc.sock)
    c.sendall(b"POST /v1.41/build?t=localhost/ai-gone:1 HTTP/1.1\r\nHost: x\r\n"
              b"Content-Type: application/x-tar\r\n" +
              f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
    got = b""
    c.settimeout(30)
    while b'{"stream":"started\\n"}' not in got:  # RUN's output, not the step's line
        chunk = c.recv(65536)
        assert chunk, got
        got += chunk
    assert b.ids() and (b.root / "build-tmp").exists()  # the step's container, the context
    c.close()  # the client goes away in the RUN step
    t0 = time.monotonic()
    while time.monotonic() - t0 < 20:
        if not b.ids() and not (b.root / "build-tmp").exists():
            break
        time.sleep(0.2)
    assert not b.ids() and not (b.root / "build-tmp").exists(), b.ids()
    assert time.monotonic() - t0 < 20
    assert "localhost/ai-gone" not in docker(svc, "images").stdout


def test_import_a_root_filesystem(svc, tmp_path):
    """docker import (POST /images/create?fromSrc=-): the body a root
    filesystem tar, a one-layer image that runs; a bad tar and a URL source
    refused in one line, nothing stored."""
    b = svc.b
    cid = docker(svc, "create", "--network", "none", BUSYBOX, "true").stdout.strip()
    tar = tmp_path / "rootfs.tar"
    docker(svc, "export", "-o", str(tar), cid)
    docker(svc, "rm", cid)
    r = docker(svc, "import", str(tar), "localhost/imported:1")
    iid = r.stdout.strip()
    assert iid.startswith("sha256:"), r.stdout
    out = docker(svc, "run", "--rm", "--network", "none", "localhost/imported:1",
                 "sh", "-c", "echo from-import").stdout
    assert out == "from-import\n"
    assert docker(svc, "image", "inspect", "-f", "{{.Id}}", "localhost/imported:1").stdout.strip() == iid
    before = store_files(b)
    bad = tmp_path / "bad.tar"
    bad.write_bytes(tar.read_bytes()[:3000] + b"\x00garbage" * 100)
    r = docker(svc, "import", str(bad), "localhost/bad:1", check=False)
    assert r.returncode != 0 and "import" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert docker(svc, "images", "-q", "localhost/bad:1").stdout == ""
    assert store_files(b) == before
    st, _, body = call(svc.sock, "POST", "/images/create?fromSrc=http://example.invalid/x.tar")
    assert st == 400 and b"only -" in body
