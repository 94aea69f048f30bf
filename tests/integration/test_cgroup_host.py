"""The cgroup library on this host's real cgroups, checked from outside.

Runs the live C test binary (it forks helpers into fresh cgroups and measures
limits) and then walks every hierarchy to prove it left no cgroup behind."""
import os
import subprocess

import pytest

from conftest import ASAN

CG = "/sys/fs/cgroup"
CGROUP2_SUPER_MAGIC = 0x63677270


def _mode():
    if not os.path.isdir(CG):
        return None
    # statfs is not in os; /proc/self/mountinfo tells the same story.
    with open("/proc/self/mountinfo") as f:
        mounts = [l.split(" - ") for l in f]
    types = {m[0].split()[4]: m[1].split()[0] for m in mounts if len(m) == 2}
    if types.get(CG) == "cgroup2":
        return "v2"
    if types.get(CG + "/unified") == "cgroup2":
        return "hybrid"
    return "v1"


def _leftovers(prefix):
    found = []
    for top, dirs, _ in os.walk(CG):
        for d in dirs:
            if d.startswith(prefix):
                found.append(os.path.join(top, d))
        # cgroup trees are shallow here; do not descend into thousands of dirs
        if top.count("/") > 8:
            dirs[:] = []
    return found


@pytest.fixture
def live_binary():
    if os.geteuid() != 0:
        pytest.skip("needs root to create cgroups")
    mode = _mode()
    if mode not in ("v1", "hybrid"):
        pytest.skip(f"cgroup mode {mode}: the live tests drive v1/hybrid hosts")
    exe = ASAN / "tests" / "unit" / "test_cgroup_live"
    if not exe.exists():
        pytest.fail(f"{exe} is not built: run make BUILD=asan")
    return exe


def test_live_cgroups_and_nothing_left(live_binary):
    p = subprocess.Popen([str(live_binary)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    out, err = p.communicate(timeout=300)
    assert p.returncode == 0, out + err
    assert "skipped" not in out, out
    assert " passed, 0 failed" in out
    assert _leftovers(f"berth-test-{p.pid}-") == []

