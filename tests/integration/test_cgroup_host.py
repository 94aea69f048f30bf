"""The cgroup library on this host's real cgroups, checked from outside.

Runs the live C test binary (it forks helpers into fresh cgroups and measures
limits) and then walks every hierarchy to prove it left no cgroup behind."""
import os
import subprocess

import pytest

from conftest import ASAN, cgroup_mode, missing_root, need, record_unit_skips

CG = "/sys/fs/cgroup"
# what the live binary may skip for want of a host feature the fixture could not give
HUGETLB_SKIP = "no v1 hugetlb controller with 2MB pages mounted"


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
    need(missing_root())
    mode = cgroup_mode()
    if mode not in ("v1", "hybrid"):
        pytest.skip(f"cgroup mode {mode}: the live tests drive v1/hybrid hosts")
    exe = ASAN / "tests" / "unit" / "test_cgroup_live"
    if not exe.exists():
        pytest.fail(f"{exe} is not built: run make BUILD=asan")
    return exe


def _mounted(path):
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == path for line in f)


@pytest.fixture
def v1_hugetlb():
    """A v1 hugetlb hierarchy for the hugetlb case. A hybrid host often has none
    (cgroup2 lists hugetlb instead): then this mounts one for the test and
    removes it afterwards, which gives the controller back to cgroup2. Yields
    None when the host has one or one was mounted, else why there is none."""
    d = os.path.join(CG, "hugetlb")
    if _mounted(d):
        yield None
        return
    if cgroup_mode() != "hybrid":
        yield f"no v1 hugetlb hierarchy on this {cgroup_mode()} host"
        return
    made = not os.path.exists(d)
    try:
        if made:
            os.mkdir(d)
        r = subprocess.run(["mount", "-t", "cgroup", "-o", "hugetlb", "cgroup", d],
                           capture_output=True, text=True, timeout=30)
    except OSError as e:
        yield f"cannot make {d}: {e.strerror}"
        return
    try:
        yield None if r.returncode == 0 else f"cannot mount a v1 hugetlb hierarchy: {r.stderr.strip()}"
    finally:
        if r.returncode == 0:
            subprocess.run(["umount", d], check=True, timeout=30)
        if made:
            os.rmdir(d)


def test_live_cgroups_and_nothing_left(live_binary, v1_hugetlb):
    p = subprocess.Popen([str(live_binary)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    out, err = p.communicate(timeout=300)
    assert p.returncode == 0, out + err
    assert " passed, 0 failed" in out
    assert _leftovers(f"berth-test-{p.pid}-") == []
    # every case ran, but the hugetlb one when the host can give no hierarchy for it
    skips = [ln for ln in out.splitlines() if ln.startswith("skip")]
    allowed = [] if v1_hugetlb is None else [f"skipped: {HUGETLB_SKIP}"]
    assert [s for s in skips if s not in allowed] == [], out
    record_unit_skips("test_cgroup_live", out)  # the hugetlb case's reason, if any
