"""The rootless rootfs mount (issue #14, engine/overlay.c) as a real account: the
kernel's overlayfs with userxattr in the user's namespace, and fuse-overlayfs (forced
with BERTH_STORAGE_DRIVER=fuse-overlayfs, the fallback where the kernel refuses).
Writes land in the container's upper dir; rm, run --rm and a container that exits by
itself leave no mount and no fuse-overlayfs process."""
import os
import shutil
import stat
import tempfile
import time

import pytest

from conftest import missing_tool, need
from rootless_helpers import Account, busybox_tar, need_rootless

IMG = "localhost/busybox"
FUSE = "/dev/fuse"


@pytest.fixture(scope="module")
def tar():
    need_rootless()
    d = tempfile.mkdtemp(prefix="berth-rls-img-", dir="/tmp")
    try:
        yield busybox_tar(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def fuse():
    """/dev/fuse is 0600 root here: open it to the account for this module."""
    need(missing_tool("fuse-overlayfs", "fuse-overlayfs"))
    if not os.path.exists(FUSE):
        pytest.skip(f"needs {FUSE} (the fuse module)")
    mode = stat.S_IMODE(os.stat(FUSE).st_mode)
    if mode & 0o006 != 0o006:
        os.chmod(FUSE, 0o666)
    yield
    if mode & 0o006 != 0o006:
        os.chmod(FUSE, mode)


def mounts_of(pid, needle):
    """mountinfo lines of the namespace of pid whose mount point contains needle."""
    with open(f"/proc/{pid}/mountinfo") as f:
        return [ln for ln in f if needle in ln.split()[4]]


def fuse_procs(uid):
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/comm") as f:
                comm = f.read().strip()
            if comm == "fuse-overlayfs" and os.stat(f"/proc/{p}").st_uid == uid:
                out.append(int(p))
        except OSError:
            pass
    return out


def no_fuse_procs(uid):
    """The daemon ends when its mount is gone: wait for it (bounded), then look."""
    for _ in range(100):
        if not fuse_procs(uid):
            return True
        time.sleep(0.05)
    return not fuse_procs(uid)


def check_run_write_rm(a, u, fstype):
    cid = u.berth("run", "-d", IMG, "sh", "-c",
                  "echo hi > /written; mkdir -p /www/new; while :; do sleep 0.1; done").stdout.strip()
    assert len(cid) == 64
    upper = u.store / "containers" / cid / "upper"
    for _ in range(100):
        if (upper / "written").exists():
            break
        time.sleep(0.05)
    assert (upper / "written").read_text() == "hi\n"
    assert (upper / "www" / "new").is_dir()
    ms = mounts_of(u.pause_pid(), f"/containers/{cid}/rootfs")
    assert len(ms) == 1, ms
    fields = ms[0].split()
    sep = fields.index("-")
    assert fields[sep + 1] == fstype, ms[0]
    if fstype == "overlay":
        assert "userxattr" in fields[sep + 3], ms[0]
    else:
        assert fuse_procs(a.uid), "no fuse-overlayfs daemon for the mount"
    u.berth("rm", "-f", cid)
    pid = u.pause_pid()
    for _ in range(100):  # the purge runs in a detached child
        if not mounts_of(pid, cid):
            break
        time.sleep(0.05)
    assert mounts_of(pid, cid) == []
    return cid


def test_kernel_overlay_userxattr(tar):
    with Account() as a:
        u = a.user()
        u.berth("import", tar, IMG)
        check_run_write_rm(a, u, "overlay")
        assert u.berth("run", "--rm", IMG, "cat", "/www/index.html").returncode == 0


def test_fuse_overlayfs_forced(tar, fuse):
    with Account() as a:
        u = a.user(BERTH_STORAGE_DRIVER="fuse-overlayfs")
        u.berth("import", tar, IMG)
        check_run_write_rm(a, u, "fuse.fuse-overlayfs")
        assert no_fuse_procs(a.uid), fuse_procs(a.uid)
        # run --rm
        r = u.berth("run", "--rm", IMG, "sh", "-c", "echo x > /y; cat /y; stat -c %u /www/index.html")
        assert r.stdout.split() == ["x", "33"], r.stdout
        assert no_fuse_procs(a.uid), fuse_procs(a.uid)
        # a container that exits by itself
        cid = u.berth("run", "-d", IMG, "true").stdout.strip()
        assert u.berth("wait", cid).stdout.strip() == "0"
        pid = u.pause_pid()
        for _ in range(100):
            if not mounts_of(pid, cid):
                break
            time.sleep(0.05)
        assert mounts_of(pid, cid) == []
        assert no_fuse_procs(a.uid), fuse_procs(a.uid)
        u.berth("rm", cid)
        assert no_fuse_procs(a.uid), fuse_procs(a.uid)
