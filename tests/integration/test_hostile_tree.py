"""Hostile trees: directories nested thousands deep (paths far beyond
PATH_MAX, each level a short name) through every tree walk berth has:
`berth cp` both ways, a volume's copy-up of an image directory, `berth rm`
of a container whose upper layer holds such a tree, `rmi` of an image that
has one. Everything runs with RLIMIT_NOFILE at 1024: the walk must hold
neither a stack frame nor a descriptor per level."""
import io
import os
import pathlib
import resource
import subprocess
import tarfile
import tempfile

import pytest

from engine_helpers import (BUSYBOX, engine_store, host_leftovers, remove_networks, rootfs_tar,
                            wait_for)
from runtime_helpers import rtenv  # noqa: F401

NOFILE = 1024
DEEP = "localhost/deep"


def low_nofile():
    resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))


def make_deep(parent, depth, name="d", leaf=b"bottom\n"):
    """parent/name/name/... depth directories, a file f at the bottom."""
    fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(depth):
            os.mkdir(name, dir_fd=fd)
            nfd = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = nfd
        f = os.open("f", os.O_WRONLY | os.O_CREAT, 0o640, dir_fd=fd)
        os.write(f, leaf)
        os.close(f)
    finally:
        os.close(fd)


def deep_depth(top, name="d"):
    """(levels of `name` under top, the bottom's f content or None)."""
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    n = 0
    try:
        while True:
            try:
                nfd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            except FileNotFoundError:
                break
            os.close(fd)
            fd = nfd
            n += 1
        try:
            f = os.open("f", os.O_RDONLY, dir_fd=fd)
        except FileNotFoundError:
            return n, None
        data = os.read(f, 4096)
        os.close(f)
        return n, data
    finally:
        os.close(fd)


def rm_tree(p):
    """Python's shutil.rmtree recurses (RecursionError at ~1,000 levels)."""
    subprocess.run(["rm", "-rf", "--one-file-system", str(p)], check=False)


def deep_tar(depth, at="srv/deep"):
    """The busybox root plus at/d/d/.../d/f, depth levels (PAX long names;
    the directories are made implicitly by the file's path, as in a real
    layer that lists only the file)."""
    buf = io.BytesIO()
    src = tarfile.open(fileobj=io.BytesIO(rootfs_tar()))
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for m in src.getmembers():
            t.addfile(m, src.extractfile(m) if m.isfile() else None)
        path = at
        for _ in range(depth):
            path += "/d"
            # every level as an entry of its own, so its mode is known
            if depth <= 2000:
                ti = tarfile.TarInfo(path)
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                t.addfile(ti)
        data = b"bottom\n"
        ti = tarfile.TarInfo(path + "/f")
        ti.size, ti.mode = len(data), 0o640
        t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def fast_tmp():
    """tmpfs if the host has one at /dev/shm: deleting 20,000 directories
    on a disk mounted with `discard` takes a minute, on tmpfs a second."""
    if os.path.isdir("/dev/shm") and os.statvfs("/dev/shm").f_bavail * os.statvfs(
            "/dev/shm").f_frsize > 1 << 30:
        return "/dev/shm"
    return None


@pytest.fixture
def b(monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", fast_tmp())
    with engine_store("berth-deep-") as bb:
        try:
            yield bb
        finally:
            # the store fixture's shutil.rmtree recurses per level and
            # fails on these trees: rm -rf them first, once no container
            # (and so no mount) is left
            ids = bb.ids()
            if ids:
                bb("rm", "-f", *ids, check=False)
            wait_for(lambda: trash_empty(bb), timeout=30)
            left = remove_networks(bb)  # before their records go with the tree
            assert not left, left
            for p in bb.tmp.iterdir():
                rm_tree(p)


def bl(b, *args, check=True):
    """berth with RLIMIT_NOFILE at 1024."""
    return b(*args, check=check, preexec_fn=low_nofile)


def import_deep(b, depth):
    tarp = b.tmp / f"deep{depth}.tar"
    tarp.write_bytes(deep_tar(depth))
    b("import", tarp, DEEP)
    tarp.unlink()


def trash_empty(b):
    t = b.root / "containers" / ".trash"
    return not t.exists() or not any(t.iterdir())


@pytest.mark.parametrize("depth", [2000, 10000])
def test_cp_both_ways_and_rm_of_a_deep_tree(b, depth):
    src = b.tmp / "src"
    src.mkdir()
    make_deep(src, depth)
    os.utime(src / "d", ns=(1_000_000_000_000, 2_000_000_000_000))
    b("create", "--name", "c", BUSYBOX, "true")
    cid = b.ids()[0]
    # host -> container: into its upper layer, 10,000 levels down
    bl(b, "cp", src, "c:/srv/")
    assert deep_depth(b.root / "containers" / cid / "upper/srv/src") == (depth, b"bottom\n")
    # container -> host, modes and times kept
    bl(b, "cp", "c:/srv/src", b.tmp / "back")
    assert deep_depth(b.tmp / "back") == (depth, b"bottom\n")
    st = os.stat(b.tmp / "back" / "d")
    assert st.st_mtime_ns == 2_000_000_000_000 and st.st_mode & 0o7777 == 0o755
    # berth rm deletes that upper layer with it, nothing left in .trash
    bl(b, "rm", "c")
    assert not (b.root / "containers" / cid).exists()
    assert wait_for(lambda: trash_empty(b), timeout=30)
    assert not host_leftovers(b, [cid])


# The image store takes paths up to PATH_MAX (the layer's unpacker resolves
# each entry's directory as one path): 2,000 levels of "d/" are 4,000 bytes.
IMAGE_DEPTH = 2000


def test_volume_copies_up_a_deep_image_directory(b):
    import_deep(b, IMAGE_DEPTH)
    r = bl(b, "run", "--rm", "-v", "vol:/srv/deep", DEEP, "true", check=False)
    assert r.returncode == 0, r.stderr
    data = b.root / "volumes" / "vol" / "_data"
    assert deep_depth(data) == (IMAGE_DEPTH, b"bottom\n")
    # an anonymous volume (-v /path) the same way
    r = bl(b, "run", "--name", "a", "-v", "/srv/deep", DEEP, "true", check=False)
    assert r.returncode == 0, r.stderr
    (name,) = {m["Name"] for m in b.inspect("a")["Mounts"]}
    assert deep_depth(b.root / "volumes" / name / "_data") == (IMAGE_DEPTH, b"bottom\n")
    bl(b, "rm", "-v", "a")
    bl(b, "volume", "rm", "vol")
    assert not (b.root / "volumes" / name).exists() and not (b.root / "volumes" / "vol").exists()


def test_rmi_of_an_image_with_a_deep_path(b):
    layers = b.root / "image" / "layers"
    before = set(os.listdir(layers))
    import_deep(b, IMAGE_DEPTH)
    assert len(set(os.listdir(layers)) - before) == 1
    r = bl(b, "rmi", DEEP, check=False)
    assert r.returncode == 0, r.stderr
    assert set(os.listdir(layers)) == before
    assert os.listdir(b.root / "image" / "tmp") == []


def test_cp_still_refuses_symlink_escapes(b):
    b("run", "-d", "--name", "c", BUSYBOX, "sh", "-c",
      "mkdir -p /srv/t; ln -s ../../../../../../etc /srv/t/etc; ln -s / /srv/root; sleep 30")
    wait_for(lambda: b("exec", "c", "test", "-L", "/srv/root", check=False).returncode == 0)
    # a symlink inside a copied directory is copied as a link, not followed
    bl(b, "cp", "c:/srv/t", b.tmp / "t")
    assert os.readlink(b.tmp / "t" / "etc") == "../../../../../../etc"
    # copying into a path through a symlink stays in the container's root
    x = f"cp-{b.tmp.name}"
    (b.tmp / x).write_text("x\n")
    bl(b, "cp", b.tmp / x, "c:/srv/root/tmp/")
    assert b("exec", "c", "cat", f"/tmp/{x}").stdout == "x\n"
    assert not (pathlib.Path("/tmp") / x).exists()
    # a directory copied over a planted symlink replaces the link, never
    # writes through it
    b("exec", "c", "ln", "-s", "/etc", "/srv/src")
    src = b.tmp / "src"
    src.mkdir()
    (src / "passwd").write_text("evil\n")
    bl(b, "cp", src, "c:/srv/")
    assert b("exec", "c", "head", "-c", "5", "/etc/passwd").stdout == "root:"
    assert b("exec", "c", "cat", "/srv/src/passwd").stdout == "evil\n"
    assert b("exec", "c", "test", "!", "-L", "/srv/src", check=False).returncode == 0
    b("rm", "-f", "c")


def test_tmpcopyup_of_a_deep_directory(rtenv):
    """berth-runtime's tmpcopyup (Podman's --read-only tmpfs): the image's
    directory at the mount point, 10,000 levels deep, is copied into the new
    tmpfs, with RLIMIT_NOFILE at 1024 (read through /proc/PID/root: no tool
    in the container walks a path that long)."""
    depth = 10000
    bundle = rtenv.bundle("sleep", "60")
    try:
        (bundle / "rootfs/srv/deep").mkdir(parents=True)
        make_deep(bundle / "rootfs/srv/deep", depth)
        os.chmod(bundle / "rootfs/srv/deep", 0o751)

        def edit(c):
            c["mounts"].append({"destination": "/srv/deep", "type": "tmpfs",
                                "source": "tmpfs", "options": ["tmpcopyup"]})
        rtenv.edit(bundle, edit)
        cid = rtenv.cid()
        old = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, old[1]))
        try:
            r = rtenv.rt("create", "--bundle", bundle, cid)
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, old)
        assert r.returncode == 0, r
        try:
            pid = rtenv.state(cid)["pid"]
            top = f"/proc/{pid}/root/srv/deep"
            assert os.statvfs(top).f_fsid != os.statvfs(bundle / "rootfs/srv/deep").f_fsid
            assert os.stat(top).st_mode & 0o7777 == 0o751
            assert deep_depth(top) == (depth, b"bottom\n")
        finally:
            rtenv.rt("delete", "--force", cid).ok()
    finally:
        rm_tree(bundle)
