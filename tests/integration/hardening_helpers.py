"""Small helpers for the hardening tests (tests/integration/test_hardening_*.py), on top
of runtime_helpers' `rtenv` fixture (private --root, bundles, host-cleanliness check)."""
import json
import os
import pathlib
import shutil
import subprocess
import time

import pytest

from conftest import missing_cgroup_v1, requires
from runtime_helpers import MARK_VAR, Env, need_root, runtime_binary  # noqa: F401

CGROUP = pathlib.Path("/sys/fs/cgroup")
# for tests that read cgroup v1 files (this project's hosts are hybrid)
V1 = requires(missing_cgroup_v1("memory"))


def wait_for(fn, timeout=10, what="condition", interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def wait_file(p, timeout=10):
    p = pathlib.Path(p)
    return wait_for(lambda: p.exists() and p.read_text(), timeout, f"{p} to be written")


def add_bind(env, b, host, dest="/host", opts=("rbind", "rw")):
    with env.config(b) as c:
        c["mounts"].append({"destination": dest, "type": "bind", "source": str(host),
                            "options": list(opts)})


def set_resources(env, b, **res):
    with env.config(b) as c:
        c["linux"].setdefault("resources", {}).update(res)


def add_caps(env, b, *caps):
    with env.config(b) as c:
        for kind in ("bounding", "effective", "permitted"):
            lst = c["process"]["capabilities"].setdefault(kind, [])
            for cap in caps:
                if cap not in lst:
                    lst.append(cap)


def start_detached(env, b, cid=None):
    """run --detach; returns the id."""
    cid = cid or env.cid()
    env.rt("run", "--detach", "--bundle", b, cid).ok()
    return cid


def popen_rt(env, *args, stdout=subprocess.PIPE):
    """A long-running runtime call (events) carrying the test's marker, tracked."""
    e = dict(os.environ, **{MARK_VAR: env.mark})
    p = subprocess.Popen(env.rt_cmd(*args), stdout=stdout, stderr=subprocess.PIPE, env=e,
                         stdin=subprocess.DEVNULL, text=True)
    env.track(p.pid)
    return p


def cgroup_dirs(cid):
    """Every cgroup directory (v1 controllers and v2) named after the container."""
    out = []
    for depth in ("*", "*/*", "*/*/*"):
        out += CGROUP.glob(f"{depth}/{cid}")
    return sorted(set(out))


def v1_file(ctrl, cid, name):
    """The container's cgroup v1 file (default cgroup path /berth/<id>), or None."""
    f = CGROUP / ctrl / "berth" / cid / name
    return f if f.exists() else None


def stats(env, cid):
    r = env.rt("events", "--stats", cid).ok()
    line = [ln for ln in r.stdout.splitlines() if ln.strip()][-1]
    return json.loads(line)


def ps_pids(env, cid):
    r = env.rt("ps", "--format", "json", cid).ok()
    return json.loads(r.stdout)


@pytest.fixture(name="rtenv")
def hardening_rtenv():
    """runtime_helpers' rtenv, but the runtime's seccomp filter cache in --root
    (.seccomp-cache, a cache, not container state) is not counted as a leftover."""
    need_root()
    env = Env()
    yield env
    shutil.rmtree(env.root / ".seccomp-cache", ignore_errors=True)
    problems = env.teardown()
    if problems:
        pytest.fail("host not clean after test:\n" + "\n".join(problems))
