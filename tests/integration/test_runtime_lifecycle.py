"""berth-runtime lifecycle: create/start/state/kill/delete, run, exit codes, list, ps."""
import json
import os
import time

import pytest

from runtime_helpers import rtenv  # noqa: F401


def wait_file(p, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if p.exists() and p.read_text():
            return p.read_text()
        time.sleep(0.05)
    raise AssertionError(f"{p} never written")


def add_bind(env, b, host, dest="/host", opts=("rbind", "rw")):
    with env.config(b) as c:
        c["mounts"].append({"destination": dest, "type": "bind", "source": str(host),
                            "options": list(opts)})


def test_run_pid1_and_output(rtenv):
    b = rtenv.bundle("sh", "-c", "echo pid=$$")
    r = rtenv.rt("run", "--bundle", b, rtenv.cid()).ok()
    assert r.stdout == "pid=1\n"
    assert rtenv.leftover_state() == []


@pytest.mark.parametrize("code", [0, 3, 255])
def test_run_exit_code(rtenv, code):
    b = rtenv.bundle("sh", "-c", f"exit {code}")
    r = rtenv.rt("run", "--bundle", b, rtenv.cid())
    assert r.returncode == code, repr(r)


def test_pid1_ignores_sigkill_from_inside(rtenv):
    """pid 1 of a pid namespace does not die of a SIGKILL sent from inside it."""
    b = rtenv.bundle("sh", "-c", "kill -9 $$; sleep 0.3; exit 7")
    r = rtenv.rt("run", "--bundle", b, rtenv.cid())
    assert r.returncode == 7, repr(r)


def test_killed_by_sigkill_137(rtenv):
    host = rtenv.hostdir()
    b = rtenv.bundle("sh", "-c", "echo up > /host/up; while :; do sleep 0.1; done")
    add_bind(rtenv, b, host)
    cid = rtenv.cid()
    import subprocess
    p = subprocess.Popen(rtenv.rt_cmd("run", "--bundle", b, cid),
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                         env=dict(os.environ, BERTH_RT_TEST_MARK=rtenv.mark))
    try:
        wait_file(host / "up")
        rtenv.rt("kill", cid, "KILL").ok()
        _, err = p.communicate(timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 137, err
    assert rtenv.leftover_state() == []


TRAP = 'trap "exit 42" TERM; echo ready > /host/ready; while :; do sleep 0.1; done'


def test_create_start_state_delete(rtenv):
    host = rtenv.hostdir()
    b = rtenv.bundle("sh", "-c", "echo ran > /host/side; " + TRAP)
    add_bind(rtenv, b, host)
    cid = rtenv.cid()
    rtenv.rt("create", "--bundle", b, cid).ok()
    st = rtenv.state(cid)
    assert st["status"] == "created"
    assert st["id"] == cid
    assert st["pid"] > 0
    assert os.path.realpath(st["bundle"]) == os.path.realpath(b)
    assert os.path.exists(f"/proc/{st['pid']}")
    rtenv.track(st["pid"])
    assert (rtenv.root / cid).is_dir()
    time.sleep(0.3)
    assert not (host / "side").exists(), "user process ran before start"
    rtenv.rt("start", cid).ok()
    assert wait_file(host / "side") == "ran\n"
    wait_file(host / "ready")
    st = rtenv.state(cid)
    assert st["status"] == "running"
    r = rtenv.rt("start", cid)
    assert r.returncode != 0, "start of a running container succeeded"
    r = rtenv.rt("delete", cid)
    assert r.returncode != 0, "delete of a running container without --force succeeded"
    assert rtenv.status(cid) == "running"
    rtenv.rt("kill", cid, "TERM").ok()
    rtenv.wait_status(cid, "stopped")
    assert not os.path.exists(f"/proc/{st['pid']}") or \
        open(f"/proc/{st['pid']}/stat").read().split(")")[1].split()[0] == "Z"
    rtenv.rt("delete", cid).ok()
    assert not (rtenv.root / cid).exists()
    r = rtenv.rt("state", cid)
    assert r.returncode != 0


def test_delete_force_running(rtenv):
    b = rtenv.bundle("sh", "-c", "while :; do sleep 0.1; done")
    cid = rtenv.cid()
    rtenv.rt("run", "--detach", "--bundle", b, cid).ok()
    pid = rtenv.state(cid)["pid"]
    rtenv.track(pid)
    assert rtenv.status(cid) == "running"
    rtenv.rt("delete", "--force", cid).ok()
    assert not (rtenv.root / cid).exists()
    time.sleep(0.2)
    assert rtenv.leftover_pids() == []


def test_delete_force_created(rtenv):
    b = rtenv.bundle("true")
    cid = rtenv.cid()
    rtenv.rt("create", "--bundle", b, cid).ok()
    rtenv.track(rtenv.state(cid)["pid"])
    rtenv.rt("delete", "--force", cid).ok()
    assert not (rtenv.root / cid).exists()


def test_start_twice_after_exit(rtenv):
    b = rtenv.bundle("true")
    cid = rtenv.cid()
    rtenv.rt("create", "--bundle", b, cid).ok()
    rtenv.rt("start", cid).ok()
    rtenv.wait_status(cid, "stopped")
    r = rtenv.rt("start", cid)
    assert r.returncode != 0
    rtenv.rt("delete", cid).ok()


def test_kill_term_trap_exit_42_run_detach(rtenv):
    host = rtenv.hostdir()
    b = rtenv.bundle("sh", "-c", TRAP)
    add_bind(rtenv, b, host)
    cid = rtenv.cid()
    pidfile = rtenv.path("pid")
    rtenv.rt("run", "--detach", "--pid-file", pidfile, "--bundle", b, cid).ok()
    pid = int(pidfile.read_text().strip())
    rtenv.track(pid)
    assert rtenv.state(cid)["pid"] == pid
    wait_file(host / "ready")
    rtenv.rt("kill", cid, "TERM").ok()
    rtenv.wait_status(cid, "stopped")
    rtenv.rt("delete", cid).ok()


def test_run_exit_42_on_term(rtenv):
    """run (attached) reports the trap's exit status 42 after kill TERM."""
    import subprocess
    host = rtenv.hostdir()
    b = rtenv.bundle("sh", "-c", TRAP)
    add_bind(rtenv, b, host)
    cid = rtenv.cid()
    p = subprocess.Popen(rtenv.rt_cmd("run", "--bundle", b, cid), stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True,
                         env=dict(os.environ, BERTH_RT_TEST_MARK=rtenv.mark))
    try:
        wait_file(host / "ready")
        rtenv.rt("kill", cid, "15").ok()
        _, err = p.communicate(timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 42, err


@pytest.mark.parametrize("sig", ["KILL", "SIGKILL", "9"])
def test_kill_signal_forms(rtenv, sig):
    b = rtenv.bundle("sh", "-c", "while :; do sleep 0.1; done")
    cid = rtenv.cid()
    rtenv.rt("run", "--detach", "--bundle", b, cid).ok()
    rtenv.track(rtenv.state(cid)["pid"])
    rtenv.rt("kill", cid, sig).ok()
    rtenv.wait_status(cid, "stopped")
    rtenv.rt("delete", cid).ok()


def test_kill_all(rtenv):
    b = rtenv.bundle("sh", "-c", "sleep 100 & sleep 100 & trap '' TERM; while :; do sleep 0.1; done")
    cid = rtenv.cid()
    rtenv.rt("run", "--detach", "--bundle", b, cid).ok()
    pid = rtenv.state(cid)["pid"]
    rtenv.track(pid)
    deadline = time.monotonic() + 10
    pids = []
    while time.monotonic() < deadline:
        r = rtenv.rt("ps", "--format", "json", cid).ok()
        pids = json.loads(r.stdout)
        if len(pids) >= 4:  # sh, 2 x sleep 100, sleep 0.1
            break
        time.sleep(0.05)
    assert pid in pids
    for p in pids:
        rtenv.track(p)
    assert len(pids) >= 3, pids
    rtenv.rt("kill", "--all", cid, "KILL").ok()
    rtenv.wait_status(cid, "stopped")
    time.sleep(0.2)
    for p in pids:
        alive = os.path.exists(f"/proc/{p}") and \
            open(f"/proc/{p}/stat").read().split(")")[1].split()[0] != "Z"
        assert not alive, f"pid {p} survived kill --all"
    rtenv.rt("delete", cid).ok()


def test_list_and_ps(rtenv):
    b = rtenv.bundle("sh", "-c", "sleep 100 & while :; do sleep 0.1; done")
    c1, c2 = rtenv.cid(), rtenv.cid()
    rtenv.rt("run", "--detach", "--bundle", b, c1).ok()
    rtenv.rt("create", "--bundle", b, c2).ok()
    p1, p2 = rtenv.state(c1)["pid"], rtenv.state(c2)["pid"]
    rtenv.track(p1)
    rtenv.track(p2)
    r = rtenv.rt("list", "--format", "json").ok()
    items = {i["id"]: i for i in json.loads(r.stdout)}
    assert set(items) == {c1, c2}
    assert items[c1]["status"] == "running" and items[c1]["pid"] == p1
    assert items[c2]["status"] == "created" and items[c2]["pid"] == p2
    r = rtenv.rt("list").ok()
    lines = r.stdout.splitlines()
    assert lines[0].split()[:3] == ["ID", "PID", "STATUS"]
    rows = {ln.split()[0]: ln.split() for ln in lines[1:]}
    assert rows[c1][1:3] == [str(p1), "running"]
    assert rows[c2][1:3] == [str(p2), "created"]
    r = rtenv.rt("list", "--format", "json", root=False)  # default root: must not see ours
    r2 = rtenv.rt("ps", "--format", "json", c1).ok()
    pids = json.loads(r2.stdout)
    assert p1 in pids and len(pids) >= 2
    r3 = rtenv.rt("ps", c1).ok()
    assert "PID" in r3.stdout.splitlines()[0]
    assert str(p1) in r3.stdout
    rtenv.rt("delete", "--force", c1).ok()
    rtenv.rt("delete", "--force", c2).ok()
    r = rtenv.rt("list", "--format", "json").ok()
    assert json.loads(r.stdout) in ([], None)


def test_list_empty_root(rtenv):
    r = rtenv.rt("list", "--format", "json").ok()
    assert json.loads(r.stdout) in ([], None)


def test_create_existing_id(rtenv):
    b = rtenv.bundle("sh", "-c", "while :; do sleep 0.1; done")
    cid = rtenv.cid()
    rtenv.rt("run", "--detach", "--bundle", b, cid).ok()
    st = rtenv.state(cid)
    rtenv.track(st["pid"])
    r = rtenv.rt("create", "--bundle", b, cid)
    assert r.returncode != 0
    assert cid in r.stderr
    assert len(r.err_lines()) == 1, repr(r)
    st2 = rtenv.state(cid)
    assert st2["status"] == "running" and st2["pid"] == st["pid"]
    rtenv.rt("delete", "--force", cid).ok()


def test_pid_file_create(rtenv):
    b = rtenv.bundle("true")
    cid = rtenv.cid()
    pf = rtenv.path("sub/pidfile")
    pf.parent.mkdir()
    rtenv.rt("create", "--pid-file", pf, "--bundle", b, cid).ok()
    pid = int(pf.read_text())
    rtenv.track(pid)
    assert pid == rtenv.state(cid)["pid"]
    rtenv.rt("delete", "--force", cid).ok()


def test_relative_bundle_and_default_bundle(rtenv):
    import subprocess
    b = rtenv.bundle("sh", "-c", "echo rel")
    cid = rtenv.cid()
    r = subprocess.run(rtenv.rt_cmd("run", cid), cwd=b, capture_output=True, text=True,
                       timeout=60, env=dict(os.environ, BERTH_RT_TEST_MARK=rtenv.mark))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "rel\n"


def test_state_json_fields(rtenv):
    b = rtenv.bundle("true")
    cid = rtenv.cid()
    with rtenv.config(b) as c:
        c["annotations"] = {"org.example.k": "v"}
    rtenv.rt("create", "--bundle", b, cid).ok()
    st = rtenv.state(cid)
    rtenv.track(st["pid"])
    assert st["ociVersion"]
    assert st["annotations"] == {"org.example.k": "v"}
    rtenv.rt("delete", "--force", cid).ok()


def test_version_and_features(rtenv):
    r = rtenv.rt("--version", root=False).ok()
    assert "berth-runtime" in r.stdout and "spec" in r.stdout
    r = rtenv.rt("features", root=False).ok()
    f = json.loads(r.stdout)
    assert "ociVersionMin" in f and "ociVersionMax" in f
    assert "pid" in f["linux"]["namespaces"]


def test_kill_created_container(rtenv):
    """runc: a created container can be killed; it is then stopped."""
    host = rtenv.hostdir()
    b = rtenv.bundle("sh", "-c", "echo ran > /host/side")
    add_bind(rtenv, b, host)
    cid = rtenv.cid()
    rtenv.rt("create", "--bundle", b, cid).ok()
    rtenv.track(rtenv.state(cid)["pid"])
    rtenv.rt("kill", cid, "KILL").ok()
    rtenv.wait_status(cid, "stopped")
    assert not (host / "side").exists()
    rtenv.rt("delete", cid).ok()
    assert not (rtenv.root / cid).exists()


def test_delete_created_without_force(rtenv):
    """runc deletes a created (never started) container without --force."""
    host = rtenv.hostdir()
    b = rtenv.bundle("sh", "-c", "echo ran > /host/side")
    add_bind(rtenv, b, host)
    cid = rtenv.cid()
    rtenv.rt("create", "--bundle", b, cid).ok()
    pid = rtenv.state(cid)["pid"]
    rtenv.track(pid)
    rtenv.rt("delete", cid).ok()
    assert not (rtenv.root / cid).exists()
    time.sleep(0.2)
    assert not (host / "side").exists(), "the user process ran at delete"


def test_no_pivot(rtenv):
    b = rtenv.bundle("sh", "-c", "echo $$; cat /proc/self/mountinfo | head -1")
    r = rtenv.rt("run", "--no-pivot", "--bundle", b, rtenv.cid()).ok()
    lines = r.stdout.splitlines()
    assert lines[0] == "1"


def test_state_after_runtime_gone_and_process_exit(rtenv):
    """Status is derived from the process: a detached container whose process
    exits on its own is reported stopped, and pid is kept or 0 as runc does."""
    b = rtenv.bundle("sh", "-c", "sleep 0.3")
    cid = rtenv.cid()
    rtenv.rt("run", "--detach", "--bundle", b, cid).ok()
    rtenv.track(rtenv.state(cid)["pid"])
    rtenv.wait_status(cid, "stopped")
    r = rtenv.rt("list", "--format", "json").ok()
    assert json.loads(r.stdout)[0]["status"] == "stopped"
    rtenv.rt("delete", cid).ok()


def test_many_containers_one_root(rtenv):
    b = rtenv.bundle("sh", "-c", "while :; do sleep 0.1; done")
    ids = [rtenv.cid() for _ in range(5)]
    for cid in ids:
        rtenv.rt("run", "--detach", "--bundle", b, cid).ok()
        rtenv.track(rtenv.state(cid)["pid"])
    listed = {i["id"] for i in json.loads(rtenv.rt("list", "--format", "json").ok().stdout)}
    assert listed == set(ids)
    for cid in ids:
        rtenv.rt("delete", "--force", cid).ok()
    assert rtenv.leftover_state() == []


def test_run_forwards_signals(rtenv):
    """runc's run forwards the signals it gets to the container's process."""
    import signal
    import subprocess
    host = rtenv.hostdir()
    b = rtenv.bundle("sh", "-c", TRAP)
    add_bind(rtenv, b, host)
    p = subprocess.Popen(rtenv.rt_cmd("run", "--bundle", b, rtenv.cid()),
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                         env=dict(os.environ, BERTH_RT_TEST_MARK=rtenv.mark))
    try:
        wait_file(host / "ready")
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 42, err


def test_kill_default_signal_is_term(rtenv):
    host = rtenv.hostdir()
    b = rtenv.bundle("sh", "-c", 'trap "echo got-term > /host/term; exit 42" TERM; '
                     'echo ready > /host/ready; while :; do sleep 0.1; done')
    add_bind(rtenv, b, host)
    cid = rtenv.cid()
    rtenv.rt("run", "--detach", "--bundle", b, cid).ok()
    rtenv.track(rtenv.state(cid)["pid"])
    wait_file(host / "ready")
    rtenv.rt("kill", cid).ok()
    assert wait_file(host / "term") == "got-term\n"
    rtenv.wait_status(cid, "stopped")
    rtenv.rt("delete", cid).ok()


def test_ps_of_stopped_container_is_empty(rtenv):
    b = rtenv.bundle("true")
    cid = rtenv.cid()
    rtenv.rt("create", "--bundle", b, cid).ok()
    rtenv.rt("start", cid).ok()
    rtenv.wait_status(cid, "stopped")
    r = rtenv.rt("ps", "--format", "json", cid).ok()
    assert json.loads(r.stdout) in ([], None)
    rtenv.rt("delete", cid).ok()


def test_minimal_rootfs_mountpoints_created(rtenv):
    """A rootfs without /proc, /sys, /dev: the runtime makes the mount points."""
    import shutil
    b = rtenv.bundle("sh", "-c", "echo /proc/[0-9]*; ls /dev/null")
    for d in ("proc", "sys", "dev", "tmp"):
        shutil.rmtree(b / "rootfs" / d)
    r = rtenv.rt("run", "--bundle", b, rtenv.cid()).ok()
    assert r.stdout.split() == ["/proc/1", "/dev/null"]


def test_init_killed_from_host(rtenv):
    """The container's process killed behind the runtime's back: state says
    stopped, delete cleans up (state dir, cgroups)."""
    import signal
    b = rtenv.bundle("sh", "-c", "while :; do sleep 0.1; done")
    cid = rtenv.cid()
    rtenv.rt("run", "--detach", "--bundle", b, cid).ok()
    pid = rtenv.state(cid)["pid"]
    rtenv.track(pid)
    os.kill(pid, signal.SIGKILL)
    rtenv.wait_status(cid, "stopped")
    rtenv.rt("delete", cid).ok()
    assert not (rtenv.root / cid).exists()


def test_id_reusable_after_delete(rtenv):
    b = rtenv.bundle("sh", "-c", "echo again")
    cid = rtenv.cid()
    for _ in range(3):
        assert rtenv.rt("run", "--bundle", b, cid).ok().stdout == "again\n"


def test_large_output(rtenv):
    b = rtenv.bundle("sh", "-c", "head -c 3000000 /dev/zero | tr '\\0' a")
    r = rtenv.rt("run", "--bundle", b, rtenv.cid()).ok()
    assert len(r.stdout) == 3000000 and set(r.stdout) == {"a"}


def test_run_pid_file_attached(rtenv):
    host = rtenv.hostdir()
    b = rtenv.bundle("sh", "-c", "echo $$ > /host/inner")
    add_bind(rtenv, b, host)
    pf = rtenv.path("run.pid")
    rtenv.rt("run", "--pid-file", pf, "--bundle", b, rtenv.cid()).ok()
    assert int(pf.read_text()) > 1
    assert (host / "inner").read_text() == "1\n"


def test_list_quiet(rtenv):
    b = rtenv.bundle("true")
    cid = rtenv.cid()
    rtenv.rt("create", "--bundle", b, cid).ok()
    rtenv.track(rtenv.state(cid)["pid"])
    assert rtenv.rt("list", "-q").ok().stdout.split() == [cid]
    rtenv.rt("delete", "--force", cid).ok()


def test_spec_command(rtenv):
    d = rtenv.path("specdir")
    d.mkdir()
    rtenv.rt("spec", "--bundle", d, root=False).ok()
    c = json.loads((d / "config.json").read_text())
    assert c["process"]["args"] == ["sh"] and c["root"]["path"] == "rootfs"
    assert {n["type"] for n in c["linux"]["namespaces"]} >= {"pid", "mount", "network"}
    r = rtenv.rt("spec", "--bundle", d, root=False)
    assert r.returncode != 0 and "config.json" in r.stderr
    d2 = rtenv.path("specdir2")
    d2.mkdir()
    rtenv.rt("spec", "--rootless", "--bundle", d2, root=False).ok()
    c = json.loads((d2 / "config.json").read_text())
    assert "user" in {n["type"] for n in c["linux"]["namespaces"]}
    assert c["linux"]["uidMappings"][0]["hostID"] == os.getuid()


def no_pidns(c):
    c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "pid"]


def test_kill_all_without_pid_namespace(rtenv):
    """Without its own pid namespace the container's processes are found by
    its cgroup (runc): ps lists them all and kill --all kills them all."""
    b = rtenv.bundle("sh", "-c", "sleep 100 & sleep 100 & trap '' TERM; "
                     "while :; do sleep 0.1; done")
    rtenv.edit(b, no_pidns)
    cid = rtenv.cid()
    rtenv.rt("run", "--detach", "--bundle", b, cid).ok()
    pid = rtenv.state(cid)["pid"]
    rtenv.track(pid)
    deadline = time.monotonic() + 10
    pids = []
    while time.monotonic() < deadline:
        pids = json.loads(rtenv.rt("ps", "--format", "json", cid).ok().stdout)
        if len(pids) >= 3:
            break
        time.sleep(0.05)
    for p in pids:
        rtenv.track(p)
    assert pid in pids and len(pids) >= 3, pids
    rtenv.rt("kill", "--all", cid, "KILL").ok()
    rtenv.wait_status(cid, "stopped")
    time.sleep(0.3)
    alive = [p for p in pids if os.path.exists(f"/proc/{p}") and
             open(f"/proc/{p}/stat").read().split(")")[1].split()[0] != "Z"]
    assert alive == [], f"survived kill --all: {alive}"
    rtenv.rt("delete", cid).ok()


def test_delete_force_without_pid_namespace_kills_everything(rtenv):
    b = rtenv.bundle("sh", "-c", "sleep 100 & sleep 100 & while :; do sleep 0.1; done")
    rtenv.edit(b, no_pidns)
    cid = rtenv.cid()
    rtenv.rt("run", "--detach", "--bundle", b, cid).ok()
    rtenv.track(rtenv.state(cid)["pid"])
    time.sleep(0.3)
    for p in json.loads(rtenv.rt("ps", "--format", "json", cid).ok().stdout):
        rtenv.track(p)
    rtenv.rt("delete", "--force", cid).ok()
    time.sleep(0.3)
    assert rtenv.leftover_pids() == [], [
        (p, open(f"/proc/{p}/cmdline").read()) for p in rtenv.leftover_pids()]
