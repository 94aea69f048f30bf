"""Removal off the caller's path: `berth rm` and `run --rm` move a container
to .trash/ and one detached child per berth process deletes its runtime state
and cgroups, unmounts its rootfs and deletes its files. The container is gone
for every command at once; these tests check that, that the exit codes are
right, and that after a brief poll nothing is left (store dir, .trash,
runtime state, cgroups, mounts, processes), also for a killed container and
for many containers in one `rm -f`. No timing is asserted."""
import os
import pathlib
import signal
import subprocess

import pytest

from engine_helpers import BUSYBOX, engine_store, wait_for

if os.geteuid() != 0:
    pytest.skip("the engine tests need root", allow_module_level=True)


@pytest.fixture
def b():
    with engine_store("berth-remove-") as bb:
        yield bb


def trash(b):
    t = b.root / "containers" / ".trash"
    return sorted(p.name for p in t.iterdir()) if t.exists() else []


def runtime_state(b):
    d = b.tmp / "run" / "runtime"
    return sorted(p.name for p in d.iterdir() if not p.name.startswith(".")) if d.exists() else []


def cgroups_of(ids):
    return [str(c) for i in ids for c in pathlib.Path("/sys/fs/cgroup").glob(f"*/berth/{i}")]


def mounts_of(b):
    with open("/proc/self/mountinfo") as f:
        return [ln.split()[4] for ln in f if str(b.root) in ln.split()[4]]


def assert_all_gone(b, ids):
    assert b.ids() == []
    assert b("ps", "-aq").stdout == ""
    # the detached sweeper finishes the rest: poll briefly
    assert wait_for(lambda: not trash(b) and not runtime_state(b) and not cgroups_of(ids)
                    and not mounts_of(b), timeout=10), \
        (trash(b), runtime_state(b), cgroups_of(ids), mounts_of(b))


def test_run_rm_exit_code_and_nothing_left(b):
    r = b("run", "--rm", BUSYBOX, "sh", "-c", "echo out; exit 3", check=False)
    assert r.returncode == 3, r
    assert r.stdout == "out\n"
    assert_all_gone(b, [])


def test_run_rm_killed_container_137_nothing_left(b):
    p = b.popen("run", "--rm", "--name", "victim", BUSYBOX, "sh", "-c",
                "echo up; while :; do sleep 0.1; done",
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline() == "up\n"
        cid = b.inspect("victim")["Id"]
        pid = b.inspect("victim")["State"]["Pid"]
        os.kill(pid, signal.SIGKILL)
        p.wait(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 137
    assert_all_gone(b, [cid])
    # the name is free at once
    cid2 = b("create", "--name", "victim", BUSYBOX, "true").stdout.strip()
    b("rm", cid2)
    assert_all_gone(b, [cid, cid2])


def test_rm_f_many_stopped_and_running_by_prefix(b):
    ids = [b("run", "-d", BUSYBOX, "true").stdout.strip() for _ in range(6)]
    ids.append(b("run", "-d", BUSYBOX, "sleep", "600").stdout.strip())
    for i in ids[:6]:
        assert wait_for(lambda: b.inspect(i)["State"]["Status"] == "exited", timeout=20)
    # short ids as `ps -q` prints them, all in one command
    r = b("rm", "-f", *[i[:12] for i in ids])
    assert r.stdout.split() == [i[:12] for i in ids]
    assert_all_gone(b, ids)


def test_rm_list_with_a_missing_and_a_repeated_ref(b):
    a = b("create", BUSYBOX, "true").stdout.strip()
    c = b("create", BUSYBOX, "true").stdout.strip()
    r = b("rm", a[:12], "nosuchcontainer", a[:12], c, check=False)
    assert r.returncode == 125
    assert r.stdout.split() == [a[:12], c]
    assert r.stderr.count("no such container") == 2, r.stderr
    assert_all_gone(b, [a, c])


def test_rm_ambiguous_prefix_in_a_list(b):
    ids = [b("create", BUSYBOX, "true").stdout.strip() for _ in range(20)]
    firsts = {}
    for i in ids:
        firsts.setdefault(i[0], []).append(i)
    pair = next((v for v in firsts.values() if len(v) > 1), None)
    if pair is None:
        pytest.skip("no two ids share a first digit this time")
    r = b("rm", pair[0][0], ids[0], check=False)
    assert r.returncode == 125
    assert "ambiguous" in r.stderr
    assert ids[0] not in b.ids()
    b("rm", *b.ids())
    assert_all_gone(b, ids)
