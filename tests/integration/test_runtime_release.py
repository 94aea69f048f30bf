"""berth-runtime run reports the exit before the container's mount namespace
is torn down: a detached holder keeps it (one nsfs fd) until the init is gone
and then lets it go. These tests check that the holder exists while the
container runs, that it is outside the container, and that nothing of it is
left afterwards (no process, no fd on the namespace), with the exit code
right, also when the container is killed. No timing is asserted."""
import os
import pathlib
import subprocess
import time

from runtime_helpers import rtenv  # noqa: F401


def wait_for(fn, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    return fn()


def wait_file(p, timeout=10):
    if not wait_for(lambda: p.exists() and p.read_text(), timeout):
        raise AssertionError(f"{p} never written")


def add_bind(env, b, host):
    with env.config(b) as c:
        c["mounts"].append({"destination": "/host", "type": "bind", "source": str(host),
                            "options": ["rbind", "rw"]})


def ns_holders(link):
    """Pids with an open fd on the namespace `link` (e.g. 'mnt:[4026...]')."""
    out = []
    for p in pathlib.Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            for fd in (p / "fd").iterdir():
                try:
                    if os.readlink(fd) == link:
                        out.append(int(p.name))
                        break
                except OSError:
                    pass
        except OSError:
            pass
    return out


def ns_users(link):
    """Pids whose own mount namespace is `link`."""
    out = []
    for p in pathlib.Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if os.readlink(p / "ns" / "mnt") == link:
                    out.append(int(p.name))
            except OSError:
                pass
    return out


def start_held(rtenv, script):
    """Runs a container that writes its mount namespace to /host/ns, then
    `script`; returns (Popen of berth-runtime run, cid, host dir, ns link)."""
    host = rtenv.hostdir()
    b = rtenv.bundle("sh", "-c", f"readlink /proc/self/ns/mnt > /host/ns.tmp; "
                     f"mv /host/ns.tmp /host/ns; {script}")
    add_bind(rtenv, b, host)
    cid = rtenv.cid()
    p = subprocess.Popen(rtenv.rt_cmd("run", "--bundle", b, cid), stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                         env=dict(os.environ, BERTH_RT_TEST_MARK=rtenv.mark))
    try:
        wait_file(host / "ns")
    except BaseException:
        p.kill()
        p.wait()
        raise
    return p, cid, host, (host / "ns").read_text().strip()


def finish(p, timeout=30):
    try:
        _, err = p.communicate(timeout=timeout)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    return err


def assert_released(rtenv, link):
    # the holder ends right after the init: poll briefly for it
    assert wait_for(lambda: not ns_holders(link) and not ns_users(link), timeout=5), \
        (ns_holders(link), ns_users(link))
    assert rtenv.leftover_state() == []
    assert rtenv.leftover_cgroups() == []


def test_run_holds_mount_ns_outside_container_then_releases_it(rtenv):
    p, cid, host, link = start_held(
        rtenv, "while [ ! -e /host/go ]; do sleep 0.05; done; exit 5")
    try:
        holders = wait_for(lambda: ns_holders(link), timeout=5)
        assert holders, "no process holds the container's mount namespace"
        (h,) = holders
        assert h != p.pid
        # outside the container: not in its mount namespace, not in its cgroup
        assert os.readlink(f"/proc/{h}/ns/mnt") != link
        assert cid not in pathlib.Path(f"/proc/{h}/cgroup").read_text()
        # nothing of the caller's: stdio on /dev/null, no pipe; the ns fd, a
        # pidfd, the state root (it deletes the renamed state directory) and
        # one socket, the runtime's order to do so
        fdir = pathlib.Path(f"/proc/{h}/fd")
        fds = sorted(os.readlink(f) for f in fdir.iterdir())
        assert [os.readlink(fdir / str(i)) for i in range(3)] == ["/dev/null"] * 3, fds
        assert [f for f in fds if f.startswith("pipe:")] == [], fds
        assert len([f for f in fds if f.startswith("socket:")]) == 1, fds
        assert str(rtenv.root) in fds, fds
        assert link in fds and "anon_inode:[pidfd]" in fds and len(fds) == 7, fds
    finally:
        (host / "go").write_text("")
    err = finish(p)
    assert p.returncode == 5, err
    assert_released(rtenv, link)


def test_run_killed_container_exit_137_nothing_left(rtenv):
    p, cid, host, link = start_held(rtenv, "while :; do sleep 0.1; done")
    try:
        rtenv.rt("kill", cid, "KILL").ok()
    finally:
        err = finish(p)
    assert p.returncode == 137, err
    assert_released(rtenv, link)


def test_run_quick_exit_codes_nothing_left(rtenv):
    for code in (0, 3):
        p, cid, host, link = start_held(rtenv, f"exit {code}")
        err = finish(p)
        assert p.returncode == code, err
        assert_released(rtenv, link)


def test_state_dir_deleted_by_holder_or_swept(rtenv):
    """run renames the finished container's state directory to .gone.HOLDER
    (the id is free at once) and tells the holder to delete it. A holder
    killed before: run deletes it itself (and is not killed by SIGPIPE). A
    .gone.PID whose process is gone (a holder killed after the order) is
    deleted by the next `list`; one whose process lives is not."""
    p, cid, host, link = start_held(rtenv, "while [ ! -e /host/go ]; do sleep 0.05; done")
    try:
        (h,) = wait_for(lambda: ns_holders(link), timeout=5)
        os.kill(h, 9)
    finally:
        (host / "go").write_text("")
    err = finish(p)
    assert p.returncode == 0, err
    assert sorted(os.listdir(rtenv.root)) == []
    r = rtenv.rt("state", cid)
    assert r.returncode != 0 and "does not exist" in r.stderr, repr(r)

    dead = subprocess.Popen(["true"])
    dead.wait()
    stale, live = rtenv.root / f".gone.{dead.pid}", rtenv.root / f".gone.{os.getpid()}"
    for d in (stale, live):
        d.mkdir()
        (d / "state.json").write_text("{}")
    rtenv.rt("list").ok()
    assert not stale.exists() and live.exists()
    (live / "state.json").unlink()
    live.rmdir()

    p, cid, host, link = start_held(rtenv, "exit 0")
    finish(p)
    assert p.returncode == 0
    assert rtenv.leftover_state() == [] and rtenv.leftover_cgroups() == []
