"""Images end to end with real peers: a docker-registry on 127.0.0.1, skopeo,
umoci; berth import/pull/push/save/load/tag/rmi/prune/system check."""
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import tarfile
import tempfile
import time
import urllib.request

import pytest

import conftest
from conftest import binary, run
from image_helpers import StoreBerth, tmp  # noqa: F401

BUSYBOX = "/usr/bin/busybox"
ZERO = "sha256:" + "0" * 64


def need(tool):
    conftest.need(conftest.missing_tool(tool, tool))  # each tool's package has its name


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_registry(tmp, htpasswd=None):
    need("docker-registry")
    port = free_port()
    cfg = tmp / "config.yml"
    auth = ""
    if htpasswd:
        auth = f"auth:\n  htpasswd:\n    realm: berth-test\n    path: {htpasswd}\n"
    cfg.write_text(
        "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {tmp}/data\n  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n{auth}")
    log = open(tmp / "log", "w")
    p = subprocess.Popen(["docker-registry", "serve", str(cfg)], stdout=log, stderr=log)
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1)
            break
        except urllib.error.HTTPError:
            break  # 401 with auth: it is up
        except Exception:
            time.sleep(0.05)
    else:
        p.kill()
        pytest.fail("docker-registry did not start: " + (tmp / "log").read_text())
    return p, f"127.0.0.1:{port}"


def stop(p):
    p.terminate()
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


@pytest.fixture(scope="session")
def registry():
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="berth-reg-"))
    p, addr = start_registry(tmp)
    yield {"addr": addr, "dir": tmp}
    stop(p)
    shutil.rmtree(tmp, ignore_errors=True)


class Berth(StoreBerth):
    def inspect(self, ref):
        return json.loads(self("inspect", ref).stdout)[0]

    def lower(self, ref):
        return [pathlib.Path(p) for p in self.inspect(ref)["GraphDriver"]["Data"]["LowerDir"].split(":")]


@pytest.fixture
def berth(tmp):
    return Berth(tmp / "root")


def make_rootfs_tar(path, extra=None):
    """A busybox root filesystem as a tar (python's tarfile)."""
    with tarfile.open(path, "w") as t:
        def add_dir(name):
            ti = tarfile.TarInfo(name)
            ti.type = tarfile.DIRTYPE
            ti.mode = 0o755
            t.addfile(ti)
        for d in ("bin", "etc", "tmp"):
            add_dir(d)
        t.add(BUSYBOX, "bin/busybox")
        for app in ("sh", "ls", "cat", "echo"):
            ti = tarfile.TarInfo(f"bin/{app}")
            ti.type = tarfile.SYMTYPE
            ti.linkname = "busybox"
            t.addfile(ti)
        for name, data in (extra or {}).items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mode = 0o644
            import io
            t.addfile(ti, io.BytesIO(data))
    return path


@pytest.fixture(scope="session")
def busybox_image(registry):
    """busybox imported by berth and pushed to the registry as bb:1."""
    d = pathlib.Path(tempfile.mkdtemp(prefix="berth-bb-"))
    tar = make_rootfs_tar(d / "bb.tar", {"etc/hostname": b"berth\n"})
    b = Berth(d / "root")
    iid = b("import", tar, "busybox:1").stdout.strip()
    ref = f"{registry['addr']}/test/bb:1"
    digest = b("push", "busybox:1", ref).stdout.strip()
    yield {"ref": ref, "id": iid, "digest": digest, "tar": tar, "berth": b}
    shutil.rmtree(d, ignore_errors=True)


def store_empty(b):
    s = b.store()
    blobs = list((s / "blobs" / "sha256").iterdir()) if (s / "blobs/sha256").exists() else []
    layers = list((s / "layers").iterdir()) if (s / "layers").exists() else []
    tmpd = list((s / "tmp").iterdir()) if (s / "tmp").exists() else []
    return blobs == [] and layers == [] and tmpd == []


# ---------------------------------------------------------------------------


def test_import_push_inspect_pull(registry, busybox_image, berth):
    need("skopeo")
    bb = busybox_image
    assert bb["id"].startswith("sha256:") and len(bb["id"]) == 71
    info = bb["berth"].inspect("busybox:1")
    assert info["Id"] == bb["id"]
    assert info["RepoTags"] == ["busybox:1"]
    assert info["Os"] == "linux" and info["Architecture"] == "amd64"
    assert len(info["RootFS"]["Layers"]) == 1
    # the diffID is the sha256 of the tar that was imported
    import hashlib
    assert info["RootFS"]["Layers"][0] == "sha256:" + hashlib.sha256(bb["tar"].read_bytes()).hexdigest()
    # skopeo reads what berth pushed, with the same manifest digest
    sk = json.loads(run(["skopeo", "inspect", "--tls-verify=false", f"docker://{bb['ref']}"]).stdout)
    assert sk["Digest"] == bb["digest"] == info["Metadata"]["Manifest"]
    assert len(sk["Layers"]) == 1
    # pull into a fresh store
    out = berth("pull", bb["ref"])
    assert out.stdout.strip() == bb["id"]
    got = berth.inspect(bb["ref"])
    assert got["Id"] == bb["id"]
    assert got["RepoDigests"] == [f"{bb['ref'].rsplit(':', 1)[0]}@{bb['digest']}"]
    (layer,) = berth.lower(bb["ref"])
    assert (layer / "bin" / "busybox").read_bytes() == pathlib.Path(BUSYBOX).read_bytes()
    assert os.readlink(layer / "bin" / "sh") == "busybox"
    assert (layer / "etc" / "hostname").read_text() == "berth\n"
    # by digest and by ID prefix too
    assert berth.inspect(f"{bb['ref'].rsplit(':', 1)[0]}@{bb['digest']}")["Id"] == bb["id"]
    assert berth.inspect(bb["id"][7:19])["Id"] == bb["id"]
    # images lists it
    lst = json.loads(berth("images", "--format", "json").stdout)
    assert [i["Id"] for i in lst] == [bb["id"]]
    assert berth("images", "-q").stdout.split() == [bb["id"][7:19]]
    assert berth.check().returncode == 0
    # pushed to another repository of the same registry: blobs are mounted
    dst = f"{registry['addr']}/test/mounted:1"
    r = berth("push", bb["ref"], dst)
    assert r.stdout.strip() == bb["digest"]
    assert r.stderr.count("Mounted from test/bb") == 2, r.stderr  # layer + config
    sk = json.loads(run(["skopeo", "inspect", "--tls-verify=false", f"docker://{dst}"]).stdout)
    assert sk["Digest"] == bb["digest"]


def test_umoci_two_layers_with_whiteout(registry, berth, tmp):
    need("umoci")
    need("skopeo")
    rootfs = tmp / "rootfs"
    (rootfs / "a").mkdir(parents=True)
    (rootfs / "a" / "keep").write_text("keep")
    (rootfs / "a" / "gone").write_text("gone")
    (rootfs / "o").mkdir()
    (rootfs / "o" / "old").write_text("old")
    layout = tmp / "oci"
    run(["umoci", "init", "--layout", layout])
    run(["umoci", "new", "--image", f"{layout}:img"])
    run(["umoci", "insert", "--image", f"{layout}:img", rootfs, "/"])
    run(["umoci", "insert", "--image", f"{layout}:img", "--whiteout", "/a/gone"])
    newo = tmp / "newo"
    newo.mkdir()
    (newo / "new").write_text("new")
    run(["umoci", "insert", "--image", f"{layout}:img", "--opaque", newo, "/o"])
    ref = f"{registry['addr']}/test/umoci:1"
    run(["skopeo", "copy", "--dest-tls-verify=false", f"oci:{layout}:img", f"docker://{ref}"])
    berth("pull", ref)
    layers = berth.lower(ref)  # top first
    assert len(layers) == 3
    bottom, mid, top = layers[2], layers[1], layers[0]
    assert (bottom / "a" / "gone").read_text() == "gone"
    st = os.lstat(mid / "a" / "gone")
    import stat
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0, "whiteout must be a 0/0 char device"
    assert not (mid / "a" / ".wh.gone").exists()
    assert os.getxattr(top / "o", "trusted.overlay.opaque") == b"y"
    assert (top / "o" / "new").read_text() == "new"
    # the same layout loads straight from the directory
    other = Berth(tmp / "root2")
    out = other("load", "-i", layout)
    assert "Loaded image" in out.stdout
    assert len(other.lower(out.stdout.split()[-1])) == 3


def test_save_load_roundtrip(busybox_image, tmp):
    src = busybox_image["berth"]
    for fmt in ("docker-archive", "oci-archive"):
        out = tmp / f"{fmt}.tar"
        src("save", "--format", fmt, "-o", out, "busybox:1")
        with tarfile.open(out) as t:
            names = t.getnames()
        if fmt == "docker-archive":
            assert "manifest.json" in names
        else:
            assert "oci-layout" in names and "index.json" in names
        dst = Berth(tmp / f"root-{fmt}")
        r = dst("load", "-i", out)
        assert r.stdout.strip() == "Loaded image: busybox:1" or "busybox:1" in r.stdout
        info = dst.inspect("busybox:1")
        assert info["Id"] == busybox_image["id"]
        (layer,) = dst.lower("busybox:1")
        assert (layer / "etc" / "hostname").read_text() == "berth\n"
    # load from stdin too
    dst = Berth(tmp / "root-stdin")
    with open(tmp / "docker-archive.tar", "rb") as f:
        dst("load", stdin=f)
    assert dst.inspect("busybox:1")["Id"] == busybox_image["id"]


def test_skopeo_docker_archive_loads(busybox_image, berth, tmp):
    need("skopeo")
    arch = tmp / "sk.tar"
    run(["skopeo", "copy", "--src-tls-verify=false", f"docker://{busybox_image['ref']}",
         f"docker-archive:{arch}:skopeo/bb:2"])
    r = berth("load", "-i", arch)
    assert "skopeo/bb:2" in r.stdout
    info = berth.inspect("skopeo/bb:2")
    assert info["RootFS"]["Layers"] == busybox_image["berth"].inspect("busybox:1")["RootFS"]["Layers"]
    (layer,) = berth.lower("skopeo/bb:2")
    assert (layer / "bin" / "busybox").exists()


def test_skopeo_oci_archive_loads(busybox_image, berth, tmp):
    need("skopeo")
    arch = tmp / "sk-oci.tar"
    run(["skopeo", "copy", "--src-tls-verify=false", f"docker://{busybox_image['ref']}",
         f"oci-archive:{arch}:quay.io/x/bb:3"])
    r = berth("load", "-i", arch)
    assert "quay.io/x/bb:3" in r.stdout, r.stdout
    assert berth.inspect("quay.io/x/bb:3")["Id"] == busybox_image["id"]


def test_pull_manifest_list_and_docker_schema2(registry, busybox_image, berth, tmp):
    """An OCI index with two platforms (berth picks linux/amd64) and a Docker
    schema2 manifest made by skopeo --format v2s2."""
    need("skopeo")
    src = busybox_image["berth"]
    arch = tmp / "bb-oci.tar"
    src("save", "--format", "oci-archive", "-o", arch, "busybox:1")
    lay = tmp / "layout"
    lay.mkdir()
    with tarfile.open(arch) as t:
        t.extractall(lay)
    idx = json.loads((lay / "index.json").read_text())
    man = dict(idx["manifests"][0])
    man.pop("annotations", None)
    # an arm64 entry that must not be chosen: a different (config-less) manifest
    fake = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                  "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
                                  "size": 2}, "layers": []}).encode()
    import hashlib
    def put(data):
        h = hashlib.sha256(data).hexdigest()
        (lay / "blobs" / "sha256" / h).write_bytes(data)
        return "sha256:" + h
    put(b"{}")
    fake_d = put(fake)
    nested = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                         "manifests": [
                             {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": fake_d,
                              "size": len(fake), "platform": {"architecture": "arm64", "os": "linux"}},
                             dict(man, platform={"architecture": "amd64", "os": "linux"})]}).encode()
    nd = put(nested)
    (lay / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": nd, "size": len(nested),
         "annotations": {"org.opencontainers.image.ref.name": "multi"}}]}))
    ref = f"{registry['addr']}/test/multi:1"
    run(["skopeo", "copy", "--all", "--dest-tls-verify=false", f"oci:{lay}:multi", f"docker://{ref}"])
    assert berth("pull", ref).stdout.strip() == busybox_image["id"]
    info = berth.inspect(ref)
    assert info["RepoDigests"] == [f"{ref.rsplit(':', 1)[0]}@{nd}"]
    assert info["Metadata"]["Manifest"] == man["digest"]
    # Docker schema2
    v2 = f"{registry['addr']}/test/v2s2:1"
    run(["skopeo", "copy", "--format", "v2s2", "--src-tls-verify=false", "--dest-tls-verify=false",
         f"docker://{busybox_image['ref']}", f"docker://{v2}"])
    other = Berth(tmp / "v2")
    assert other("pull", v2).stdout.strip() == busybox_image["id"]
    assert other.inspect(v2)["Metadata"]["ManifestMediaType"] == \
        "application/vnd.docker.distribution.manifest.v2+json"
    # and berth pushes it back as it is: same digest
    v2b = f"{registry['addr']}/test/v2s2:again"
    d = other("push", v2, v2b).stdout.strip()
    assert d == other.inspect(v2)["Metadata"]["Manifest"]


def test_registries_json_default_registry(busybox_image, berth, registry):
    root = pathlib.Path(berth.root)
    root.mkdir(parents=True, exist_ok=True)
    (root / "registries.json").write_text(json.dumps({"default_registry": registry["addr"]}))
    # a short name resolves against the configured registry
    assert berth("pull", "test/bb:1").stdout.strip() == busybox_image["id"]
    assert berth.inspect("test/bb:1")["RepoTags"] == [f"{registry['addr']}/test/bb:1"]
    # --tls-verify=true on a plain-HTTP registry fails (no fallback to HTTP)
    r = berth("pull", "--tls-verify=true", busybox_image["ref"], check=False)
    assert r.returncode == 125 and "berth: pull" in r.stderr


def test_pull_unknown_digest_fails_and_leaves_nothing(busybox_image, berth):
    name = busybox_image["ref"].rsplit(":", 1)[0]
    r = berth("pull", f"{name}@{ZERO}", check=False)
    assert r.returncode == 125
    assert r.stderr.startswith("berth: ") and r.stderr.count("\n") == 1
    assert "not found" in r.stderr or "manifest unknown" in r.stderr
    assert store_empty(berth)


def test_pull_corrupt_blob_fails_and_leaves_nothing(registry, tmp, berth):
    # a layer only this test uses, corrupted inside the registry's storage
    tar = make_rootfs_tar(tmp / "u.tar", {"unique": os.urandom(4096).hex().encode()})
    pusher = Berth(tmp / "pusher")
    pusher("import", tar, "corrupt:1")
    ref = f"{registry['addr']}/test/corrupt:1"
    pusher("push", "corrupt:1", ref)
    layer_digest = json.loads(run(["skopeo", "inspect", "--raw", "--tls-verify=false",
                                   f"docker://{ref}"]).stdout)["layers"][0]["digest"]
    hexd = layer_digest.split(":")[1]
    data = registry["dir"] / "data/docker/registry/v2/blobs/sha256" / hexd[:2] / hexd / "data"
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    data.write_bytes(bytes(raw))
    r = berth("pull", ref, check=False)
    assert r.returncode == 125
    assert "digest mismatch" in r.stderr, r.stderr
    assert store_empty(berth), list(berth.store().rglob("*"))
    assert berth("images", "-q").stdout == ""


def write_oci_layout(d, layers, diff_ids, tag="t"):
    """A minimal OCI layout: gzip'ed layer tars, a config naming diff_ids."""
    import gzip
    import hashlib
    blobs = d / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def put(data):
        h = hashlib.sha256(data).hexdigest()
        (blobs / h).write_bytes(data)
        return {"digest": "sha256:" + h, "size": len(data)}
    ls = [dict(put(gzip.compress(t, mtime=0)), mediaType="application/vnd.oci.image.layer.v1.tar+gzip")
          for t in layers]
    cfg = put(json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                          "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode())
    man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                      "config": dict(cfg, mediaType="application/vnd.oci.image.config.v1+json"),
                      "layers": ls}).encode()
    md = put(man)
    (d / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (d / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [
        dict(md, mediaType="application/vnd.oci.image.manifest.v1+json",
             annotations={"org.opencontainers.image.ref.name": tag})]}))


def tar_bytes(files):
    import io
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def test_pull_diffid_mismatch_fails_and_leaves_nothing(registry, berth, tmp):
    """Three layers, the second one's diffID in the config is wrong: the
    unpacker (running while later layers download) catches it."""
    import hashlib
    layers = [tar_bytes({f"f{i}": os.urandom(1 << 16)}) for i in range(3)]
    ids = ["sha256:" + hashlib.sha256(t).hexdigest() for t in layers]
    ids[1] = ZERO
    write_oci_layout(tmp / "bad", layers, ids)
    ref = f"{registry['addr']}/test/baddiff:1"
    run(["skopeo", "copy", "--dest-tls-verify=false", f"oci:{tmp / 'bad'}:t", f"docker://{ref}"])
    r = berth("pull", ref, check=False)
    assert r.returncode == 125
    assert "diffID mismatch" in r.stderr, r.stderr
    assert store_empty(berth), list(berth.store().rglob("*"))
    # the same layers with the right diffIDs pull fine, three layers in order
    ids[1] = "sha256:" + hashlib.sha256(layers[1]).hexdigest()
    write_oci_layout(tmp / "good", layers, ids)
    ref = f"{registry['addr']}/test/gooddiff:1"
    run(["skopeo", "copy", "--dest-tls-verify=false", f"oci:{tmp / 'good'}:t", f"docker://{ref}"])
    berth("pull", ref)
    lower = berth.lower(ref)
    assert [sorted(p.name for p in d.iterdir()) for d in lower] == [["f2"], ["f1"], ["f0"]]


def test_pull_by_digest_is_not_dangling(busybox_image, berth):
    name = busybox_image["ref"].rsplit(":", 1)[0]
    byd = f"{name}@{busybox_image['digest']}"
    assert berth("pull", "-q", byd).stdout.strip() == busybox_image["id"]
    info = berth.inspect(byd)
    assert info["RepoTags"] == [] and info["RepoDigests"] == [byd]
    lines = berth("images").stdout.splitlines()
    assert lines[1].split()[:2] == [name, "<none>"]
    assert "Deleted" not in berth("image", "prune").stdout
    assert berth.inspect(byd)["Id"] == busybox_image["id"]
    assert "Deleted: " + busybox_image["id"] in berth("rmi", byd).stdout
    assert store_empty(berth)


def test_run_pulls_a_missing_image(busybox_image, berth):
    # (--network none: the store's default network would outlive the test)
    # Docker's --pull=missing: the first run pulls (progress on stderr, the
    # container's output alone on stdout), the second finds it in the store.
    ref = busybox_image["ref"]
    run_root = berth.root.parent / "run"
    env = dict(os.environ, BERTH_RUNROOT=str(run_root))
    r = berth("run", "--rm", "--network", "none", ref, "echo", "hi", env=env)
    assert r.stdout == "hi\n", r
    assert f"Unable to find image '{ref}' locally" in r.stderr
    assert berth.inspect(ref)["Id"] == busybox_image["id"]
    r = berth("run", "--rm", "--network", "none", ref, "echo", "hi", env=env)
    assert r.stdout == "hi\n" and "Unable to find" not in r.stderr, r
    # --pull=always asks the registry even though the image is here: with a
    # name whose registry is unreachable it fails, the default runs it
    port = free_port()
    berth("tag", ref, f"127.0.0.1:{port}/x:1")
    r = berth("run", "--rm", "--network", "none", "--pull", "always", f"127.0.0.1:{port}/x:1", "echo", env=env,
              check=False)
    assert r.returncode == 125 and "connect" in r.stderr.lower(), r
    assert berth("run", "--rm", "--network", "none", f"127.0.0.1:{port}/x:1", "echo", env=env).returncode == 0
    assert berth("ps", "-aq", env=env).stdout == ""


def test_unreachable_registry(berth):
    port = free_port()  # nothing listens there
    r = berth("pull", f"127.0.0.1:{port}/x/y:1", check=False)
    assert r.returncode == 125
    assert r.stderr.count("\n") == 1 and "berth: pull" in r.stderr
    assert "connect" in r.stderr.lower()
    assert store_empty(berth)


def test_unknown_image_errors(berth):
    for cmd in (["inspect", "nope"], ["rmi", "nope"], ["tag", "nope", "x:1"],
                ["save", "-o", "/dev/null", "nope"], ["push", "nope", "127.0.0.1:1/x:1"]):
        r = berth(*cmd, check=False)
        assert r.returncode == 125, cmd
        assert 'berth: image "nope" not found' in r.stderr, (cmd, r.stderr)
    r = berth("pull", "Foo:bar", check=False)
    assert r.returncode == 125
    assert 'invalid reference "Foo:bar": repository name must be lowercase' in r.stderr


def test_tag_rmi_prune_gc(busybox_image, berth, tmp):
    aid = berth("import", busybox_image["tar"], "a:1").stdout.strip()
    berth("tag", "a:1", "b:2")
    assert sorted(berth.inspect("a:1")["RepoTags"]) == ["a:1", "b:2"]
    r = berth("rmi", aid, check=False)  # two names: needs -f
    assert r.returncode == 125 and "must be forced" in r.stderr
    assert berth("rmi", "a:1").stdout.strip() == "Untagged: a:1"
    assert berth.inspect("b:2")["RepoTags"] == ["b:2"]
    out = berth("rmi", "b:2").stdout
    assert "Untagged: b:2" in out and "Deleted: sha256:" in out
    assert store_empty(berth)  # blobs and layers collected
    # an unnamed import is dangling: prune removes it
    iid = berth("import", busybox_image["tar"]).stdout.strip()
    assert berth("images", "--format", "json").stdout.count(iid) == 1
    out = berth("image", "prune").stdout
    assert iid in out
    assert store_empty(berth)
    # aliases
    with open(busybox_image["tar"], "rb") as f:  # from stdin
        cid = berth("image", "import", "-", "c:1", stdin=f).stdout.strip()
    assert berth("image", "ls", "-q").stdout.strip() == cid[7:19]
    assert berth("image", "inspect", "c:1").stdout.count(cid) == 1
    berth("image", "rm", "c:1")
    assert berth("images", "-q").stdout == ""


def test_kill9_during_pull_then_check_and_resume(registry, tmp, berth):
    # ~48 MB of incompressible data so that the kill lands mid-pull
    rootfs = tmp / "big.tar"
    with tarfile.open(rootfs, "w") as t:
        for i in range(3):
            p = tmp / f"blob{i}"
            p.write_bytes(os.urandom(16 << 20))
            t.add(p, f"data/blob{i}")
            p.unlink()
    pusher = Berth(tmp / "pusher")
    pusher("import", rootfs, "big:1")
    rootfs.unlink()
    ref = f"{registry['addr']}/test/big:1"
    pusher("push", "-q", "big:1", ref)
    for delay in (0.05, 0.3, 0.8):
        p = subprocess.Popen([binary("berth"), "--root", berth.root, "pull", "-q", ref],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait()
        c = berth.check()
        assert c.returncode == 0, c.stdout
        assert "problem:" not in c.stdout
    berth("pull", "-q", ref)
    (layer,) = berth.lower(ref)
    assert sum(f.stat().st_size for f in (layer / "data").iterdir()) == 48 << 20
    c = berth.check()
    assert c.returncode == 0 and "problem:" not in c.stdout and "garbage:" not in c.stdout, c.stdout
    # a corrupted blob is found and repaired away
    blob = next((berth.store() / "blobs/sha256").iterdir())
    blob.write_bytes(b"garbage")
    c = berth.check()
    assert c.returncode == 1 and "problem:" in c.stdout
    c = berth.check("--repair")
    assert c.returncode == 0 and "repaired:" in c.stdout
    assert "problem:" not in berth.check().stdout


def test_resume_from_partial_download(busybox_image, tmp):
    """A partial file left in tmp/ is resumed with a Range request: a correct
    prefix completes; a corrupted prefix is caught by the digest check,
    dropped, and the blob is downloaded once more from byte 0."""
    a = Berth(tmp / "a")
    a("pull", "-q", busybox_image["ref"])
    layer = a.inspect(busybox_image["ref"])
    blobs = a.store() / "blobs" / "sha256"
    big = max(blobs.iterdir(), key=lambda p: p.stat().st_size)
    data = big.read_bytes()
    for corrupt in (False, True):
        b = Berth(tmp / f"b{corrupt}")
        (b.store() / "tmp").mkdir(parents=True)
        prefix = bytearray(data[: len(data) // 2])
        if corrupt:
            prefix[10] ^= 0xFF
        (b.store() / "tmp" / f"{big.name}.partial").write_bytes(bytes(prefix))
        r = b("pull", "-q", busybox_image["ref"], check=False)
        assert r.returncode == 0, r.stderr
        assert b.inspect(busybox_image["ref"])["Id"] == layer["Id"]
        assert not (b.store() / "tmp" / f"{big.name}.partial").exists()
        assert (b.store() / "blobs" / "sha256" / big.name).read_bytes() == data


def test_parallel_pulls(busybox_image, berth):
    procs = [subprocess.Popen([binary("berth"), "--root", berth.root, "pull", "-q",
                               busybox_image["ref"]], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (o, e) in zip(procs, outs):
        assert p.returncode == 0, e
        assert o.strip() == busybox_image["id"]
    assert berth("images", "-q").stdout.split() == [busybox_image["id"][7:19]]
    c = berth.check()
    assert c.returncode == 0 and "problem:" not in c.stdout and "garbage:" not in c.stdout, c.stdout


def test_login_basic_auth(busybox_image, tmp):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt  # deprecated, present in Debian 12's python: makes the bcrypt htpasswd
    d = tmp / "authreg"
    d.mkdir()
    (d / "htpasswd").write_text("alice:" + crypt.crypt("s3cret", crypt.mksalt(crypt.METHOD_BLOWFISH)) + "\n")
    p, addr = start_registry(d, htpasswd=d / "htpasswd")
    try:
        env = dict(os.environ, DOCKER_CONFIG=str(tmp / "dockercfg"))
        env.pop("REGISTRY_AUTH_FILE", None)
        b = busybox_image["berth"]
        ref = f"{addr}/private/bb:1"
        r = b("push", "busybox:1", ref, check=False, env=env)
        assert r.returncode == 125 and "authentication required" in r.stderr, r.stderr
        r = b("login", "-u", "alice", "-p", "wrong", addr, check=False, env=env)
        assert r.returncode == 125 and "unauthorized" in r.stderr
        assert not (tmp / "dockercfg" / "config.json").exists()
        b("login", "-u", "alice", "--password-stdin", addr, input="s3cret\n", env=env)
        cfg = json.loads((tmp / "dockercfg" / "config.json").read_text())
        import base64
        assert base64.b64decode(cfg["auths"][addr]["auth"]) == b"alice:s3cret"
        b("push", "busybox:1", ref, env=env)
        other = Berth(tmp / "other")
        assert other("pull", ref, env=env).stdout.strip() == busybox_image["id"]
        b("logout", addr, env=env)
        assert addr not in json.loads((tmp / "dockercfg" / "config.json").read_text())["auths"]
        r = Berth(tmp / "third")("pull", ref, check=False, env=env)
        assert r.returncode == 125 and "authentication required" in r.stderr
    finally:
        stop(p)


def test_bearer_token_auth(busybox_image, registry, tmp):
    """Docker Hub's scheme: 401 + WWW-Authenticate: Bearer realm/service/scope,
    a token from the realm (basic auth with the stored credentials), retry.
    A small proxy in front of the real registry plays the token server."""
    import base64
    import http.server
    import threading
    import urllib.parse
    upstream = f"http://{registry['addr']}"
    seen = {"token_requests": [], "scopes": []}

    class H(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def _proxy(self, method):
            u = urllib.parse.urlparse(self.path)
            if u.path == "/token":
                q = urllib.parse.parse_qs(u.query)
                seen["token_requests"].append(q)
                if self.headers.get("Authorization") != "Basic " + base64.b64encode(b"alice:pw").decode():
                    self.send_response(401)
                    self.end_headers()
                    return
                # a token68 token (RFC 7235): the scope, hex-encoded
                body = json.dumps({"token": "T" + q.get("scope", [""])[0].encode().hex()}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            repo = u.path.split("/")[2:4] if u.path.startswith("/v2/") and u.path != "/v2/" else None
            scope = f"repository:{'/'.join(repo)}:pull" if repo else ""
            if self.headers.get("Authorization") != "Bearer T" + scope.encode().hex():
                self.send_response(401)
                self.send_header("WWW-Authenticate",
                                 f'Bearer realm="http://{self.server.addr}/token",service="fake"'
                                 + (f',scope="{scope}"' if scope else ""))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            seen["scopes"].append(scope)
            req = urllib.request.Request(upstream + self.path, method=method,
                                         headers={"Accept": self.headers.get("Accept", "*/*")})
            try:
                r = urllib.request.urlopen(req)
                status, hdrs, body = r.status, r.headers, r.read()
            except urllib.error.HTTPError as err:
                status, hdrs, body = err.code, err.headers, err.read()
            self.send_response(status)
            for k in ("Content-Type", "Docker-Content-Digest"):
                if hdrs.get(k):
                    self.send_header(k, hdrs[k])
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if method != "HEAD":
                self.wfile.write(body)

        def do_GET(self):
            self._proxy("GET")

        def do_HEAD(self):
            self._proxy("HEAD")

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    srv.addr = f"127.0.0.1:{srv.server_address[1]}"
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        env = dict(os.environ, DOCKER_CONFIG=str(tmp / "cfg"))
        env.pop("REGISTRY_AUTH_FILE", None)
        ref = f"{srv.addr}/test/bb:1"
        b = Berth(tmp / "root")
        r = b("pull", ref, check=False, env=env)
        assert r.returncode == 125 and "authentication failed" in r.stderr, r.stderr
        r = b("login", "-u", "alice", "-p", "nope", srv.addr, check=False, env=env)
        assert r.returncode == 125
        b("login", "-u", "alice", "-p", "pw", srv.addr, env=env)
        assert b("pull", ref, env=env).stdout.strip() == busybox_image["id"]
        assert "repository:test/bb:pull" in seen["scopes"]
        assert any(q.get("service") == ["fake"] and q.get("scope") == ["repository:test/bb:pull"]
                   for q in seen["token_requests"])
    finally:
        srv.shutdown()
        srv.server_close()


DEBIAN = pathlib.Path("/var/cache/berth-test/bookworm")


@pytest.fixture(scope="session")
def debian_rootfs():
    if os.environ.get("BERTH_SKIP_SLOW") == "1":
        pytest.skip("BERTH_SKIP_SLOW=1")
    if not (DEBIAN / "etc" / "debian_version").exists():
        need("debootstrap")
        tmpdir = DEBIAN.with_name("bookworm.tmp")
        shutil.rmtree(tmpdir, ignore_errors=True)
        DEBIAN.parent.mkdir(parents=True, exist_ok=True)
        r = subprocess.run(["debootstrap", "--variant=minbase", "bookworm", tmpdir],
                           capture_output=True, text=True, timeout=1800)
        if r.returncode != 0:
            shutil.rmtree(tmpdir, ignore_errors=True)
            pytest.skip("debootstrap cannot reach a Debian mirror: " + r.stderr[-300:])
        tmpdir.rename(DEBIAN)
    return DEBIAN


def test_debian_image_push_pull(registry, debian_rootfs, tmp):
    tar = tmp / "debian.tar"
    run(["tar", "-C", debian_rootfs, "--numeric-owner", "--xattrs", "-cf", tar, "."], timeout=600)
    a = Berth(tmp / "a")
    a("import", tar, "debian:bookworm", timeout=900)
    tar.unlink()
    ref = f"{registry['addr']}/test/debian:bookworm"
    digest = a("push", "-q", "debian:bookworm", ref, timeout=900).stdout.strip()
    b = Berth(tmp / "b")
    b("pull", "-q", ref, timeout=900)
    info = b.inspect(ref)
    assert info["Metadata"]["Manifest"] == digest
    (layer,) = b.lower(ref)
    assert (layer / "etc" / "debian_version").read_text().startswith("12")
    st = os.stat(layer / "usr" / "bin" / "passwd")
    assert st.st_mode & 0o4000, "setuid bit kept"
    assert os.readlink(layer / "bin") == "usr/bin"
    assert b.check().returncode == 0
