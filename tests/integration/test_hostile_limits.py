"""Hostile images against the store: input sizes that must not cost
quadratic time (200,000 directories in a layer, 200,000 labels in a config),
a layer that expands far beyond its blob (--max-layer-size, max_layer_size in
storage.json), an unpack killed or out of disk half-way (the store stays
consistent), and an error about a very long name that keeps its cause."""
import gzip
import hashlib
import io
import json
import os
import re
import signal
import subprocess
import tarfile
import time

import pytest

import conftest
from conftest import binary, missing_root, need
from image_helpers import StoreBerth, tmp  # noqa: F401
from engine_helpers import Berth as EngineBerth
from engine_helpers import host_leftovers, oci_image_dir, rootfs_tar, wait_for

# Generous: the point is "not quadratic". The old code took minutes.
BOUND = 20.0


class Berth(StoreBerth):
    timeout = 600

    def layers(self):
        d = self.store() / "layers"
        return sorted(p.name for p in d.iterdir()) if d.exists() else []

    def unpacks(self):
        d = self.store() / "tmp"
        return sorted(p.name for p in d.iterdir() if ".unpack-" in p.name
                      and not p.name.endswith("lock")) if d.exists() else []

    def assert_consistent(self):
        c = self.check()
        assert c.returncode == 0, c.stdout + c.stderr
        assert "problem:" not in c.stdout, c.stdout


@pytest.fixture
def berth(tmp):
    return Berth(tmp / "root")


def timed(fn, *a, **kw):
    t0 = time.monotonic()
    r = fn(*a, **kw)
    return r, time.monotonic() - t0


def dirs_tar(n):
    """A tar of n directories d000000/ ... (each with mtime 1000 + i), then
    d000001/ again with mtime 5."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for i in range(n):
            ti = tarfile.TarInfo(f"d{i:06d}")
            ti.type = tarfile.DIRTYPE
            ti.mode = 0o755
            ti.mtime = 1000 + i
            t.addfile(ti)
        ti = tarfile.TarInfo("d000001")  # listed again: its last times win
        ti.type = tarfile.DIRTYPE
        ti.mode = 0o700
        ti.mtime = 5
        t.addfile(ti)
    return buf.getvalue()


def zeros_tar(files, size):
    """A tar of `files` files of `size` zero bytes each (compresses ~1000:1)."""
    buf = io.BytesIO()
    chunk = b"\0" * size
    with tarfile.open(fileobj=buf, mode="w") as t:
        for i in range(files):
            ti = tarfile.TarInfo(f"z/{i:05d}")
            ti.size = size
            t.addfile(ti, io.BytesIO(chunk))
    return buf.getvalue()


def diff_hex(tar_bytes):
    return hashlib.sha256(tar_bytes).hexdigest()


# ---- 1. sizes that were quadratic ----

@pytest.fixture
def fast_tmp(tmp):
    """tmp, on a tmpfs of its own when we are root: creating and removing
    200,000 directories on a VM's ext4 is a minute of journal I/O that says
    nothing about our code (and the umount is the cleanup)."""
    if missing_root():
        yield tmp
        return
    d = tmp / "fs"
    d.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2g,mode=0700", "tmpfs", str(d)],
                   check=True)
    try:
        yield d
    finally:
        subprocess.run(["umount", str(d)], check=True)


def test_import_layer_with_200k_directories(fast_tmp):
    tmp, berth = fast_tmp, Berth(fast_tmp / "root")
    n = 200_000
    tarp = tmp / "dirs.tar"
    data = dirs_tar(n)
    tarp.write_bytes(data)
    _, t = timed(berth, "import", tarp, "localhost/dirs:1")
    assert t < BOUND, f"import of {n} directories took {t:.1f} s"
    layer = berth.store() / "layers" / diff_hex(data)
    assert len(os.listdir(layer)) == n
    # directory times are applied at the end, each from its own entry
    assert os.stat(layer / "d000000").st_mtime == 1000
    assert os.stat(layer / "d000001").st_mtime == 5
    assert os.stat(layer / "d000001").st_mode & 0o777 == 0o700
    assert os.stat(layer / f"d{n - 1:06d}").st_mtime == 1000 + n - 1
    berth.assert_consistent()


@pytest.mark.skipif(missing_root() is not None, reason="the engine's run needs root")
def test_image_with_200k_labels_inspect_and_run(tmp):
    n = 200_000
    config = {"Cmd": ["/bin/true"],
              "Labels": {f"label.{i}": f"value-{i}" for i in range(n)},
              "ExposedPorts": {f"{i % 65535 + 1}/tcp": {} for i in range(1000)}}
    oci = oci_image_dir(tmp / "oci", rootfs_tar(), config)
    b = EngineBerth(tmp / "eng")
    try:
        out = b("load", "-i", oci, timeout=600).stdout
        img = re.search(r"Loaded image(?: ID)?: (\S+)", out).group(1)
        r, t = timed(b, "inspect", img, timeout=600)
        assert t < BOUND, f"inspect of an image with {n} labels took {t:.1f} s"
        labels = json.loads(r.stdout)[0]["Config"]["Labels"]
        assert len(labels) == n and labels[f"label.{n - 1}"] == f"value-{n - 1}"
        _, t = timed(b, "run", "--rm", img, timeout=600)
        assert t < BOUND, f"run of an image with {n} labels took {t:.1f} s"
        _, t = timed(b, "save", "-o", tmp / "saved.tar", img, timeout=600)
        assert t < BOUND, f"save of an image with {n} labels took {t:.1f} s"
    finally:
        ids = b.ids()
        if ids:
            b("rm", "-f", *ids, check=False)
        left = host_leftovers(b, ids)
    assert not left, left


@pytest.mark.skipif(missing_root() is not None, reason="the engine's create needs root")
def test_image_with_200k_env_entries_create(tmp):
    """The environment is merged by name (a later NAME= replaces an earlier
    one): a scan per entry made 200,000 entries quadratic."""
    n = 200_000
    env = [f"E{i}={i}" for i in range(n)] + ["E5=replaced", "PATH=/bin"]
    oci = oci_image_dir(tmp / "oci", rootfs_tar(), {"Cmd": ["/bin/true"], "Env": env})
    b = EngineBerth(tmp / "eng")
    try:
        out = b("load", "-i", oci, timeout=600).stdout
        img = re.search(r"Loaded image(?: ID)?: (\S+)", out).group(1)
        _, t = timed(b, "create", "--name", "envy", img, timeout=600)
        assert t < BOUND, f"create from an image with {n} Env entries took {t:.1f} s"
        got = b.inspect("envy")["Config"]["Env"]
        assert got[0] == "PATH=/bin"  # the default, replaced where it stood
        assert got[1:n + 1] == [f"E{i}={i}" if i != 5 else "E5=replaced" for i in range(n)]
        assert "HOSTNAME=" + b.inspect("envy")["Id"][:12] in got
    finally:
        ids = b.ids()
        if ids:
            b("rm", "-f", *ids, check=False)
        left = host_leftovers(b, ids)
    assert not left, left


def test_check_and_gc_of_200k_unreferenced_blobs(fast_tmp):
    """system check lists garbage and gc removes it in O(n log n): a push
    per line that recounted, and a scan of the referenced set per blob, were
    quadratic in the store's size."""
    n = 200_000
    berth = Berth(fast_tmp / "root")
    tarp = fast_tmp / "x.tar"
    tarp.write_bytes(zeros_tar(1, 10))
    berth("import", tarp, "localhost/keep:1")  # something referenced stays
    blobs = berth.store() / "blobs/sha256"
    kept = sorted(os.listdir(blobs))
    for i in range(n):
        data = b"%d" % i
        (blobs / hashlib.sha256(data).hexdigest()).write_bytes(data)
    c, t = timed(berth.check)
    assert c.returncode == 0 and "problem:" not in c.stdout, c.stdout[-2000:]
    assert c.stdout.count("not referenced by any image") == n
    assert t < BOUND, f"system check of {n} unreferenced blobs took {t:.1f} s"
    _, t = timed(berth, "system", "check", "--repair")
    assert t < BOUND, f"system check --repair of {n} unreferenced blobs took {t:.1f} s"
    assert sorted(os.listdir(blobs)) == kept
    berth.assert_consistent()
    assert "localhost/keep" in berth("images").stdout


# ---- 2. a layer that expands beyond a limit ----

def test_max_layer_size_flag_on_import(tmp, berth):
    data = zeros_tar(1, 1 << 20)  # a 1 MiB layer
    tarp = tmp / "big.tar.gz"
    tarp.write_bytes(gzip.compress(data, 1))
    r = berth("import", "--max-layer-size", "64k", tarp, "localhost/big:1", check=False)
    assert r.returncode == 125, r.stderr
    err = r.stderr.strip()
    assert "\n" not in err
    assert "exceeds the limit of 65536 bytes" in err, err
    assert berth.layers() == [] and berth.unpacks() == []
    assert "localhost/big" not in berth("images").stdout
    assert list((berth.store() / "tmp").glob("import-*")) == []
    berth.assert_consistent()
    # without a limit (the default) it goes in
    berth("import", tarp, "localhost/big:1")
    assert berth.layers() == [diff_hex(data)]


def test_max_layer_size_setting_and_flag_on_load(tmp, berth):
    data = zeros_tar(1, 1 << 20)
    oci = oci_image_dir(tmp / "oci", data, {"Cmd": ["/bin/true"]})
    berth.root.mkdir(parents=True)
    (berth.root / "storage.json").write_text('{"max_layer_size": "64KiB"}')
    r = berth("load", "-i", oci, check=False)
    assert r.returncode == 125
    assert "exceeds the limit of 65536 bytes" in r.stderr, r.stderr
    assert berth.layers() == [] and berth.unpacks() == []
    berth.assert_consistent()
    # the flag wins over the setting
    r = berth("load", "--max-layer-size", "100000", "-i", oci, check=False)
    assert "exceeds the limit of 100000 bytes" in r.stderr, r.stderr
    berth("load", "--max-layer-size", "2m", "-i", oci)
    assert berth.layers() == [diff_hex(data)]
    berth.assert_consistent()


def test_max_layer_size_bad_values(tmp, berth):
    tarp = tmp / "x.tar"
    tarp.write_bytes(zeros_tar(1, 10))
    for bad in ("abc", "-1", "12q", "99999999999999999999t", ""):
        r = berth("import", "--max-layer-size", bad, tarp, check=False)
        assert r.returncode == 125
        assert r.stderr == f'berth: --max-layer-size: invalid size "{bad}" (bytes, or ' \
            "with a k/m/g/t suffix; 0 for no limit)\n", r.stderr
    assert berth.layers() == []
    berth.root.mkdir(parents=True, exist_ok=True)
    (berth.root / "storage.json").write_text('{"max_layer_size": "lots"}')
    r = berth("import", tarp, check=False)
    assert r.returncode == 125
    assert "storage.json: max_layer_size: invalid size \"lots\"" in r.stderr, r.stderr
    assert berth.layers() == []
    (berth.root / "storage.json").write_text('{"max_layer_size": 0}')
    berth("import", tarp)  # 0: no limit


def test_max_layer_size_on_pull(tmp, berth):
    need(conftest.missing_tool("docker-registry", "docker-registry"))
    from test_image_registry import start_registry, stop
    (tmp / "reg").mkdir()
    p, addr = start_registry(tmp / "reg")
    try:
        data = zeros_tar(1, 1 << 20)
        tarp = tmp / "big.tar"
        tarp.write_bytes(data)
        pusher = Berth(tmp / "pusher")
        pusher("import", tarp, "big:1")
        ref = f"{addr}/hostile/big:1"
        pusher("push", "-q", "big:1", ref)
        r = berth("pull", "-q", "--max-layer-size", "64k", ref, check=False)
        assert r.returncode == 125
        assert "exceeds the limit of 65536 bytes" in r.stderr, r.stderr
        assert berth.layers() == [] and berth.unpacks() == []
        assert ref not in berth("images").stdout
        berth.assert_consistent()
        berth("pull", "-q", ref)
        assert berth.layers() == [diff_hex(data)]
    finally:
        stop(p)


# ---- 2b. killed or out of disk mid-unpack: no half layer ----

def big_oci(tmp):
    """An OCI image with a 256 MiB layer that gzips to about 256 KiB."""
    data = zeros_tar(256, 1 << 20)
    return oci_image_dir(tmp / "oci", data, {"Cmd": ["/bin/true"]}), diff_hex(data)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_signal_mid_unpack_leaves_no_half_layer(tmp, berth, sig):
    oci, diff = big_oci(tmp)
    tmpdir = berth.store() / "tmp"
    # SIGINT as a ^C on a terminal finds it: at its default action (a test
    # run started as a background job of a shell without job control has it
    # ignored, and berth keeps what it was started with, as programs do)
    p = subprocess.Popen([str(binary("berth")), "--root", str(berth.root), "load", "-i", str(oci)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        # wait until the unpack directory holds some files, then interrupt
        def started():
            for u in (tmpdir.glob("*.unpack-*") if tmpdir.exists() else []):
                z = u / "z"
                if u.is_dir() and z.is_dir() and len(os.listdir(z)) >= 2:
                    return True
            return p.poll() is not None
        assert wait_for(started, timeout=120, step=0.005)
        assert p.poll() is None, "the load ended before it could be interrupted"
        p.send_signal(sig)
        p.wait(60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode != 0
    assert diff not in berth.layers()
    assert "cfg" not in berth("images").stdout
    berth.assert_consistent()  # the half unpack is garbage in tmp/, not a layer
    # the next load cleans it up and unpacks the whole layer
    berth("load", "-i", oci)
    assert berth.layers() == [diff]
    assert berth.unpacks() == []
    assert len(os.listdir(berth.store() / "layers" / diff / "z")) == 256
    berth.assert_consistent()


@pytest.mark.skipif(missing_root() is not None, reason="mounting a small tmpfs needs root")
def test_full_disk_mid_unpack_leaves_no_half_layer(tmp):
    data = zeros_tar(16, 1 << 20)  # 16 MiB into an 8 MiB file system
    oci = oci_image_dir(tmp / "oci", data, {"Cmd": ["/bin/true"]})
    mnt = tmp / "small"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", str(mnt)],
                   check=True)
    try:
        b = Berth(mnt / "root")
        r = b("load", "-i", oci, check=False)
        assert r.returncode == 125
        err = r.stderr.strip()
        assert "\n" not in err and "No space left on device" in err, err
        assert b.layers() == [] and b.unpacks() == []
        b.assert_consistent()
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


# ---- 3. a long name keeps its error's cause ----

def test_long_name_error_keeps_cause(tmp, berth):
    name = "a" * 4100
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        ti = tarfile.TarInfo(f"dir/{name}")
        ti.size = 2
        t.addfile(ti, io.BytesIO(b"hi"))
    tarp = tmp / "long.tar"
    tarp.write_bytes(buf.getvalue())
    r = berth("import", tarp, check=False)
    assert r.returncode == 125
    err = r.stderr.strip()
    assert "\n" not in err
    assert err.endswith(": File name too long"), err[-200:]
    assert "..." in err and len(err) < 1100
    assert berth.layers() == [] and berth.unpacks() == []
    berth.assert_consistent()
