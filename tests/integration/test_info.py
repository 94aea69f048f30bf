"""berth info (issue #14): `docker info`'s fields berth knows, as root and as a
rootless account (Rootless: true, its namespace's id maps, the user's store)."""
import json
import os
import shutil
import tempfile

import pytest

from engine_helpers import BUSYBOX, engine_store
from rootless_helpers import Account, busybox_tar, need_rootless


@pytest.fixture(scope="module")
def bb():
    with engine_store("berth-info-") as b:
        yield b


def test_info_as_root(bb):
    cid = bb("create", BUSYBOX, "true").stdout.strip()
    try:
        out = bb("info").stdout
        assert " Containers: 1\n" in out and "  Stopped: 1\n" in out and "  Running: 0\n" in out
        assert " Images: 1\n" in out
        assert " Storage Driver: overlay\n  Native Overlay Diff: true\n" in out
        assert f" Docker Root Dir: {bb.root}\n" in out
        assert f" Run Root: {bb.tmp / 'run'}\n" in out
        assert " Rootless: false\n" in out and "UID Map" not in out
        assert f" Kernel Version: {os.uname().release}\n" in out
        assert f" CPUs: {os.cpu_count()}\n" in out
        assert " Cgroup Driver: cgroupfs\n" in out
        j = json.loads(bb("info", "--format", "{{json .}}").stdout)
        assert j["Containers"] == 1 and j["ContainersStopped"] == 1 and j["Images"] == 1
        assert j["Rootless"] is False and "UIDMap" not in j
        assert j["CgroupVersion"] in ("1", "2", "hybrid")
        assert j["MemTotal"] > 0 and j["Architecture"] == os.uname().machine
        assert bb("info", "--format", "{{.Nope}}", check=False).returncode == 125
    finally:
        bb("rm", "-f", cid)


def test_info_fuse_forced(bb):
    env = dict(bb.env, BERTH_STORAGE_DRIVER="fuse-overlayfs")
    out = bb("info", env=env).stdout
    assert "  Mount Program: fuse-overlayfs\n" in out


def test_info_rootless():
    need_rootless()
    d = tempfile.mkdtemp(prefix="berth-info-img-", dir="/tmp")
    try:
        tar = busybox_tar(d)
        rootless_info(tar)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def rootless_info(tar):
    with Account() as a:
        u = a.user()
        u.berth("import", tar, BUSYBOX)
        out = u.berth("info").stdout
        assert " Rootless: true\n" in out, out
        assert " Images: 1\n" in out
        assert f" Docker Root Dir: {u.store}\n" in out
        assert f" Run Root: {a.run_dir}/berth\n" in out
        assert "  rootless\n" in out
        start, count = a.subid_range()
        assert f" UID Map:\n  0 {a.uid} 1\n  1 {start} {count}\n" in out, out
        assert " GID Map:\n" in out
        j = json.loads(u.berth("info", "-f", "json").stdout)
        assert j["Rootless"] is True
        assert j["UIDMap"][0] == {"ContainerID": 0, "HostID": a.uid, "Size": 1}
        assert "name=rootless" in j["SecurityOptions"]
