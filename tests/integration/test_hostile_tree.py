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

import pytest

from engine_helpers import BUSYBOX, engine_store, host_leftovers, rootfs_tar

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


@pytest.fixture
def b():
    with engine_store("berth-deep-") as bb:
        try:
            yield bb
        finally:
            # the store fixture's rmtree gives up on what is too deep
            ids = bb.ids()
            if ids:
                bb("rm", "-f", *ids, check=False)
    rm_tree(bb.tmp)


def bl(b, *args, check=True):
    """berth with RLIMIT_NOFILE at 1024."""
    return b(*args, check=check, preexec_fn=low_nofile)


def import_deep(b, depth):
    tarp = b.tmp / f"deep{depth}.tar"
    tarp.write_bytes(deep_tar(depth))
    b("import", tarp, DEEP)
    tarp.unlink()
