"""Helpers for the engine tests: a per-test store root with a busybox image,
and a check that the host is clean afterwards."""
import gzip
import hashlib
import io
import json
import os
import pathlib
import shutil
import subprocess
import tarfile
import tempfile
import contextlib
import time

from conftest import binary, run

BUSYBOX = "localhost/busybox"


def busybox_rootfs(d):
    """A busybox root filesystem like scripts/make-bundle.sh makes."""
    r = pathlib.Path(d)
    for sub in ["bin", "sbin", "etc", "proc", "sys", "dev", "tmp", "root", "usr/bin", "usr/sbin"]:
        (r / sub).mkdir(parents=True, exist_ok=True)
    shutil.copy("/bin/busybox", r / "bin/busybox")
    applets = subprocess.run([str(r / "bin/busybox"), "--list"], capture_output=True,
                             text=True, check=True).stdout.split()
    for a in applets:
        p = r / "bin" / a
        if not p.exists():
            p.symlink_to("busybox")
    (r / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n"
                                  "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
                                  "app:x:1000:1000:app:/home/app:/bin/sh\n")
    (r / "etc/group").write_text("root:x:0:\nnogroup:x:65534:\napp:x:1000:\nextra:x:2000:app\n")
    (r / "home/app").mkdir(parents=True)
    os.chown(r / "home/app", 1000, 1000)
    (r / "srv").mkdir()
    return r


class Berth:
    def __init__(self, tmp):
        self.tmp = pathlib.Path(tmp)
        self.root = self.tmp / "root"
        self.env = dict(os.environ, BERTH_RUNROOT=str(self.tmp / "run"))
        # ASan: a forked monitor-to-be exits through _exit; leaks there are not ours to chase
        self.env.setdefault("ASAN_OPTIONS", "detect_leaks=0")

    def __call__(self, *args, check=True, **kw):
        kw.setdefault("env", self.env)
        return run([binary("berth"), "--root", self.root, *args], check=check, **kw)

    def popen(self, *args, **kw):
        return subprocess.Popen([str(binary("berth")), "--root", str(self.root), *args],
                                env=self.env, **kw)

    def inspect(self, ref):
        return json.loads(self("inspect", ref).stdout)[0]

    def ids(self):
        d = self.root / "containers"
        return [p.name for p in d.iterdir() if len(p.name) == 64] if d.exists() else []


def oci_image_dir(d, rootfs_tar_bytes, config):
    """An OCI image layout with one layer (or a list of layer tars, bottom first) and the
    given config section."""
    d = pathlib.Path(d)
    blobs = d / "blobs/sha256"
    blobs.mkdir(parents=True)

    def put(data):
        h = hashlib.sha256(data).hexdigest()
        (blobs / h).write_bytes(data)
        return "sha256:" + h, len(data)

    tars = rootfs_tar_bytes if isinstance(rootfs_tar_bytes, list) else [rootfs_tar_bytes]
    diff_ids = ["sha256:" + hashlib.sha256(t).hexdigest() for t in tars]
    layers = [put(gzip.compress(t, 1)) for t in tars]
    cfg = {"architecture": "amd64", "os": "linux", "config": config,
           "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    cdg, csize = put(json.dumps(cfg).encode())
    man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cdg,
                      "size": csize},
           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                       "digest": dg, "size": size} for dg, size in layers]}
    mdg, msize = put(json.dumps(man).encode())
    (d / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (d / "index.json").write_text(json.dumps({
        "schemaVersion": 2,
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "digest": mdg, "size": msize,
                       "annotations": {"org.opencontainers.image.ref.name": "cfg"}}]}))
    return d


def host_leftovers(b, ids):
    """The store's networks removed, then what is left on the host of them
    (bridges, nft rules) and the mounts, processes and cgroups that belong
    to this test's root (given 2 s: a removal's detached child may still be
    deleting files)."""
    nets = remove_networks(b)
    return nets + (wait_for(lambda: not _leftovers(b, ids), timeout=2.0) and [] or _leftovers(b, ids))


def _leftovers(b, ids):
    out = []
    root = str(b.root)
    with open("/proc/self/mountinfo") as f:
        for line in f:
            if root in line.split()[4]:
                out.append("mount " + line.split()[4])
    for p in pathlib.Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            cmd = (p / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if root in cmd:
            out.append(f"process {p.name}: {cmd}")
    for i in ids:
        for cg in pathlib.Path("/sys/fs/cgroup").glob(f"*/berth/{i}"):
            out.append(f"cgroup {cg}")
    return out


def wait_for(fn, timeout=10.0, step=0.05):
    end = time.time() + timeout
    while time.time() < end:
        v = fn()
        if v:
            return v
        time.sleep(step)
    return fn()


_CACHE = {}


def rootfs_tar():
    """The busybox root filesystem as tar bytes (made once per session)."""
    if "tar" not in _CACHE:
        with tempfile.TemporaryDirectory() as d:
            r = busybox_rootfs(pathlib.Path(d) / "r")
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w") as t:
                for p in sorted(r.rglob("*")):
                    t.add(p, arcname=str(p.relative_to(r)), recursive=False)
            _CACHE["tar"] = buf.getvalue()
    return _CACHE["tar"]


@contextlib.contextmanager
def engine_store(prefix):
    """A private store with the busybox image imported; at the end every
    container is removed and the host must be clean of this store's mounts,
    processes and cgroups."""
    tmp = tempfile.mkdtemp(prefix=prefix)
    bb = Berth(tmp)
    tarp = pathlib.Path(tmp) / "rootfs.tar"
    tarp.write_bytes(rootfs_tar())
    bb("import", tarp, BUSYBOX)
    try:
        yield bb
    finally:
        ids = bb.ids()
        if ids:
            bb("rm", "-f", *ids, check=False)
        left = host_leftovers(bb, ids)
        shutil.rmtree(tmp, ignore_errors=True)
    assert not left, left


def store_networks(b):
    """name -> (bridge, subnet) of every network record of the store."""
    d = b.root / "networks"
    out = {}
    for p in sorted(d.glob("*.json")) if d.exists() else []:
        rec = json.loads(p.read_text())
        out[rec["Name"]] = (rec["Options"]["com.docker.network.bridge.name"],
                            rec["IPAM"]["Config"][0]["Subnet"])
    return out


def remove_networks(b):
    """Remove the store's networks (the default one too: it is made on first
    use); what is left of them on the host afterwards: bridges, nft rules."""
    if b.ids():  # containers remain: their networks stay (checked at the end)
        return []
    nets = store_networks(b)
    failed = []
    for name in nets:
        r = b("network", "rm", name, check=False)
        if r.returncode:
            failed.append(f"network rm {name}: {r.stderr.strip()}")
    links = set(pathlib.Path("/sys/class/net").iterdir()) if nets else set()
    links = {p.name for p in links}
    r = run(["nft", "list", "table", "ip", "berth"], check=False) if nets and shutil.which("nft") else None
    rules = r.stdout if r is not None and r.returncode == 0 else ""
    left = []
    for name, (br, subnet) in nets.items():
        if br in links:
            left.append(f"bridge {br} of network {name}")
        if subnet.split("/")[0] + "/" in rules:
            left.append(f"nft rules for {subnet} of network {name}")
    left += [f"network record {p.name}" for p in (b.root / "networks").glob("*.json")]
    return failed + left
