"""Cgroup limits for rootless berth (issue #14), as a real account: with a
cgroup subtree delegated to it (made here, as root: directories chowned to the
account in each v1 controller, or a v2 subtree, the account's commands moved
in) -m, --pids-limit and --cpus are written and enforced in <delegated>/berth-ID;
a controller not delegated is one warning line naming its limits while the
others apply; no delegation at all: one line naming exactly the asked limits,
and the container runs. The container's cgroup goes with rm; the test removes
the delegated directories."""
import os
import pathlib
import shutil
import tempfile
import uuid

import pytest

from conftest import OOM_ALLOC_100M
from rootless_helpers import Account, busybox_tar, need_rootless

IMG = "localhost/busybox"
CG = pathlib.Path("/sys/fs/cgroup")
V2 = (CG / "cgroup.controllers").exists()
HYBRID = (CG / "unified" / "cgroup.controllers").exists()


def own_cgroup(ctrl):
    """This process's cgroup path in the hierarchy of `ctrl` ("" = v2)."""
    for ln in pathlib.Path("/proc/self/cgroup").read_text().splitlines():
        n, ctrls, path = ln.split(":", 2)
        if (ctrl == "" and n == "0") or (ctrl and ctrl in ctrls.split(",")):
            return path
    return None


class Delegation:
    """Cgroup directories made by root and given to the account."""

    def __init__(self, acct, controllers):
        self.acct, self.dirs, self.procs = acct, {}, []
        self.name = f"berth-rlcg-{uuid.uuid4().hex[:10]}"
        self.controllers = controllers

    def _give(self, d, files):
        os.chown(d, self.acct.uid, self.acct.uid)
        for f in files:
            if (d / f).exists():
                os.chown(d / f, self.acct.uid, self.acct.uid)

    def __enter__(self):
        try:
            if V2:
                self._v2()
            else:
                self._v1()
        except BaseException:
            self.remove()
            raise
        return self

    def _v1(self):
        for c in self.controllers:
            base = CG / c
            own = own_cgroup("" if c == "unified" else c)  # hybrid's v2 tree
            if not base.is_dir() or own is None:
                pytest.skip(f"no v1 {c} hierarchy at {base}")
            d = base.resolve() / own.lstrip("/") / self.name
            d.mkdir()
            self.dirs[c] = d
            self._give(d, ["cgroup.procs", "tasks"])
            self.procs.append(d / "cgroup.procs")

    def _v2(self):
        own = own_cgroup("")
        d = CG / own.lstrip("/") / self.name
        d.mkdir()
        self.dirs.update({c: d for c in self.controllers})
        have = (d / "cgroup.controllers").read_text().split()
        for c in self.controllers:
            if c not in have:
                pytest.skip(f"cgroup v2 controller {c} not available below {d.parent}")
            (d / "cgroup.subtree_control").write_text(f"+{c}")
        # the account's processes in a leaf: the delegated root itself stays
        # free of processes (v2's no-internal-processes rule), as systemd does
        leaf = d / "leaf"
        leaf.mkdir()
        self._give(d, ["cgroup.procs", "cgroup.subtree_control", "cgroup.threads"])
        self._give(leaf, ["cgroup.procs", "cgroup.subtree_control", "cgroup.threads"])
        self.procs.append(leaf / "cgroup.procs")

    def container(self, ctrl, cid):
        return self.dirs[ctrl] / f"berth-{cid}"

    def remove(self):
        self.acct.kill_all()
        left = []
        for d in set(self.dirs.values()):
            for sub, _, _ in sorted(os.walk(d), key=lambda w: -len(w[0])):
                try:
                    os.rmdir(sub)
                except FileNotFoundError:
                    pass
                except OSError as e:
                    left.append(f"{sub}: {e}")
        assert not left, left

    def __exit__(self, *exc):
        self.remove()


@pytest.fixture(scope="module")
def tar():
    need_rootless()
    d = tempfile.mkdtemp(prefix="berth-rlcg-img-", dir="/tmp")
    try:
        yield busybox_tar(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def warnings(r):
    return [ln for ln in r.stderr.splitlines() if "warning" in ln and "cgroup" in ln]


def read(d, f):
    return (d / f).read_text().strip()


def test_limits_enforced_in_delegated_cgroup(tar):
    with Account() as a, Delegation(a, ["memory", "pids", "cpu"]) as dg:
        u = a.user(cgroups=dg.procs)
        u.berth("import", tar, IMG)
        r = u.berth("run", "-d", "-m", "64m", "--pids-limit", "10", "--cpus", "0.5", IMG,
                    "sleep", "300")
        cid = r.stdout.strip()
        assert not warnings(r), r.stderr
        mem, pids, cpu = (dg.container(c, cid) for c in ("memory", "pids", "cpu"))
        if V2:
            assert read(mem, "memory.max") == str(64 << 20)
            assert read(cpu, "cpu.max") == "50000 100000"
        else:
            assert read(mem, "memory.limit_in_bytes") == str(64 << 20)
            assert read(cpu, "cpu.cfs_quota_us") == "50000"
            assert read(cpu, "cpu.cfs_period_us") == "100000"
        assert read(pids, "pids.max") == "10"
        assert read(mem, "cgroup.procs"), "the container's processes are not in its cgroup"
        u.berth("rm", "-f", cid)
        for d in (mem, pids, cpu):
            assert not d.exists(), f"{d} left after rm"


def test_memory_and_pids_limits_bite(tar):
    with Account() as a, Delegation(a, ["memory", "pids"]) as dg:
        u = a.user(cgroups=dg.procs)
        u.berth("import", tar, IMG)
        r = u.berth("run", "--rm", "-m", "64m", IMG, "sh", "-c", OOM_ALLOC_100M, check=False)
        assert r.returncode != 0, "a 100 MiB allocation survived -m 64m"
        assert not warnings(r), r.stderr
        # the same without a limit works: the failure above is the limit's
        r = u.berth("run", "--rm", IMG, "sh", "-c", OOM_ALLOC_100M)
        assert not warnings(r), r.stderr  # no limits asked: nothing to warn about
        spawn = "i=0; while [ $i -lt 30 ]; do sleep 30 & i=$((i+1)); done; kill $(jobs -p)"
        r = u.berth("run", "--rm", "--pids-limit", "10", IMG, "sh", "-c", spawn, check=False)
        assert "fork" in r.stderr.lower(), r.stderr
        r = u.berth("run", "--rm", IMG, "sh", "-c", spawn)  # 30 are fine without the limit
        assert "fork" not in r.stderr.lower(), r.stderr
        assert not list(pathlib.Path(dg.dirs["memory"]).glob("berth-*"))


def test_partial_delegation_warns_only_the_rest(tar):
    with Account() as a, Delegation(a, ["memory"]) as dg:
        u = a.user(cgroups=dg.procs)
        u.berth("import", tar, IMG)
        r = u.berth("run", "-d", "-m", "64m", "--pids-limit", "10", IMG, "sleep", "300")
        cid = r.stdout.strip()
        w = warnings(r)
        assert len(w) == 1 and w[0].endswith("these limits are NOT enforced: pids"), r.stderr
        mem = dg.container("memory", cid)
        f = "memory.max" if V2 else "memory.limit_in_bytes"
        assert read(mem, f) == str(64 << 20)
        u.berth("rm", "-f", cid)
        assert not mem.exists()


def test_no_delegation_warns_exactly_the_asked_limits(tar):
    with Account() as a:
        u = a.user()
        u.berth("import", tar, IMG)
        r = u.berth("run", "--rm", "-m", "64m", "--pids-limit", "10", "--cpus", "0.5", IMG,
                    "echo", "ran")
        assert r.stdout.strip() == "ran"
        w = [ln for ln in r.stderr.splitlines() if "NOT enforced" in ln]
        assert len(w) == 1 and w[0].endswith("these limits are NOT enforced: memory, cpu, pids"), \
            r.stderr
        r = u.berth("run", "--rm", "-m", "64m", IMG, "true")
        w = [ln for ln in r.stderr.splitlines() if "NOT enforced" in ln]
        assert len(w) == 1 and w[0].endswith("NOT enforced: memory"), r.stderr
        r = u.berth("run", "--rm", IMG, "true")
        assert "NOT enforced" not in r.stderr and "cgroup" not in r.stderr, r.stderr



def _cgroup_commands(u, cid):
    return {cmd[0]: u.berth(*cmd, check=False)
            for cmd in (["stats", "--no-stream", cid], ["top", cid], ["inspect", cid],
                        ["pause", cid])}


def test_stats_top_inspect_pause_without_cgroup(tar):
    """No cgroup: stats says so (not silent zeros), top and inspect work,
    pause fails with a clear message."""
    with Account() as a:
        u = a.user()
        u.berth("import", tar, IMG)
        cid = u.berth("run", "-d", IMG, "sleep", "300").stdout.strip()
        out = _cgroup_commands(u, cid)
        u.berth("rm", "-f", cid)
        st = out["stats"]
        assert st.returncode == 0 and cid[:12] in st.stdout, st.stdout + st.stderr
        assert f'container "{cid}" has no cgroup: no statistics' in st.stderr, st.stderr
        assert out["top"].returncode == 0 and "sleep 300" in out["top"].stdout
        assert out["inspect"].returncode == 0 and cid in out["inspect"].stdout
        assert out["pause"].returncode != 0
        assert "has no cgroup" in out["pause"].stderr, out["pause"].stderr


def test_stats_top_partial_cgroup(tar):
    """Only memory delegated: stats shows its limit, top works, pause (no
    freezer) fails saying why."""
    with Account() as a, Delegation(a, ["memory"]) as dg:
        u = a.user(cgroups=dg.procs)
        u.berth("import", tar, IMG)
        cid = u.berth("run", "-d", "-m", "64m", IMG, "sleep", "300").stdout.strip()
        out = _cgroup_commands(u, cid)
        u.berth("rm", "-f", cid)
        st = out["stats"]
        assert st.returncode == 0 and "/ 64MiB" in st.stdout, st.stdout + st.stderr
        assert "no statistics" not in st.stderr, st.stderr
        assert out["top"].returncode == 0 and "sleep 300" in out["top"].stdout
        if not V2:
            assert out["pause"].returncode != 0
            assert "freezer" in out["pause"].stderr, out["pause"].stderr


@pytest.mark.skipif(not HYBRID, reason="hybrid cgroups only: the unified tree next to v1")
def test_hybrid_unified_tree_delegated_too(tar):
    """Hybrid with the v2 tree delegated as well: the container is tracked
    there too (rm -f kills through it) and both directories go with rm."""
    with Account() as a, Delegation(a, ["memory", "pids", "unified"]) as dg:
        u = a.user(cgroups=dg.procs)
        u.berth("import", tar, IMG)
        r = u.berth("run", "-d", "-m", "64m", "--pids-limit", "10", IMG, "sleep", "300")
        cid = r.stdout.strip()
        assert not warnings(r), r.stderr
        uni, mem = dg.container("unified", cid), dg.container("memory", cid)
        assert read(uni, "cgroup.procs") and read(mem, "cgroup.procs")
        assert read(uni, "cgroup.procs").split() == read(mem, "cgroup.procs").split()
        u.berth("rm", "-f", cid)
        assert not uni.exists() and not mem.exists()
