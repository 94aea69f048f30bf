"""berth run --ipc, --pid, --uts and --cgroup-parent: namespaces shared with
the host or with another container, a shareable /dev/shm, a cgroup parent."""
import os
import pathlib
import socket

import pytest

from engine_helpers import BUSYBOX, engine_store, wait_for

if os.geteuid() != 0:
    pytest.skip("the engine tests need root", allow_module_level=True)


@pytest.fixture
def b():
    with engine_store("berth-ns-") as bb:
        yield bb


def ns_of(b, ref, kind):
    """The inode of a running container's namespace, read on the host."""
    pid = b.inspect(ref)["State"]["Pid"]
    assert pid > 0
    return os.readlink(f"/proc/{pid}/ns/{kind}")


def sh(b, *flags, cmd):
    return b("run", "--rm", *flags, BUSYBOX, "sh", "-c", cmd).stdout


def test_pid_host_and_container(b):
    # host: the host's PID 1 is visible, and so is this test's process
    out = sh(b, "--pid", "host", cmd=f"test -d /proc/{os.getpid()} && echo seen; cat /proc/1/comm")
    assert "seen" in out
    assert out.split()[-1] == pathlib.Path("/proc/1/comm").read_text().strip()
    # private (the default): PID 1 is the container's own command
    assert sh(b, cmd="cat /proc/1/cmdline | tr '\\0' ' '").startswith("sh -c")
    # container: the target's sleep is PID 1 of the shared namespace
    b("run", "-d", "--name", "p1", BUSYBOX, "sleep", "300")
    out = sh(b, "--pid", "container:p1", cmd="cat /proc/1/cmdline | tr '\\0' ' '; echo; ps")
    assert out.startswith("sleep 300"), out
    r = b("run", "-d", "--name", "p2", "--pid", "container:p1", BUSYBOX, "sleep", "300")
    assert r.returncode == 0
    assert ns_of(b, "p2", "pid") == ns_of(b, "p1", "pid")
    assert ns_of(b, "p2", "pid") != os.readlink("/proc/self/ns/pid")
    hc = b.inspect("p2")["HostConfig"]
    assert hc["PidMode"] == "container:" + b.inspect("p1")["Id"]
    assert b.inspect("p1")["HostConfig"]["PidMode"] == ""


def test_uts_host_and_container(b):
    assert sh(b, "--uts", "host", cmd="hostname").strip() == socket.gethostname()
    assert sh(b, "--uts", "host", cmd="cat /etc/hostname").strip() == socket.gethostname()
    b("run", "-d", "--name", "u1", "--hostname", "donor", BUSYBOX, "sleep", "300")
    assert sh(b, "--uts", "container:u1", cmd="hostname").strip() == "donor"
    b("run", "-d", "--name", "u2", "--uts", "container:u1", BUSYBOX, "sleep", "300")
    assert ns_of(b, "u2", "uts") == ns_of(b, "u1", "uts")
    assert b.inspect("u2")["Config"]["Hostname"] == "donor"
    # a host name cannot be set in a namespace that is not the container's own
    r = b("run", "--rm", "--uts", "host", "--hostname", "x", BUSYBOX, "true", check=False)
    assert r.returncode == 125 and "--hostname conflicts with --uts host" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_ipc_shareable_container_host_none(b, tmp_path):
    b("run", "-d", "--name", "i1", "--ipc", "shareable", BUSYBOX, "sh", "-c",
      "echo from-donor > /dev/shm/f; sleep 300")
    donor = b.inspect("i1")
    assert donor["HostConfig"]["IpcMode"] == "shareable"
    shm = b.root / "containers" / donor["Id"] / "shm"
    assert wait_for(lambda: (shm / "f").exists()), "the donor's /dev/shm is the host-side tmpfs"
    # a joiner sees the same /dev/shm and the same IPC namespace
    out = sh(b, "--ipc", "container:i1",
             cmd="cat /dev/shm/f; echo joiner > /dev/shm/g; readlink /proc/self/ns/ipc")
    assert out.split() == ["from-donor", ns_of(b, "i1", "ipc")], out
    assert (shm / "g").read_text() == "joiner\n"
    b("run", "-d", "--name", "i2", "--ipc", "container:i1", BUSYBOX, "sleep", "300")
    assert ns_of(b, "i2", "ipc") == ns_of(b, "i1", "ipc")
    assert b.inspect("i2")["HostConfig"]["IpcMode"] == "container:" + donor["Id"]
    # the default (private) is not joinable, as Docker's rule
    b("run", "-d", "--name", "i3", BUSYBOX, "sleep", "300")
    assert b.inspect("i3")["HostConfig"]["IpcMode"] == "private"
    r = b("run", "--rm", "--ipc", "container:i3", BUSYBOX, "true", check=False)
    assert r.returncode == 125 and "not shareable" in r.stderr, r.stderr
    # host: the host's /dev/shm and IPC namespace
    name = f"berth-ns-test-{os.getpid()}"
    pathlib.Path("/dev/shm", name).write_text("host-side\n")
    try:
        out = sh(b, "--ipc", "host", cmd=f"cat /dev/shm/{name}; readlink /proc/self/ns/ipc")
    finally:
        os.unlink(f"/dev/shm/{name}")
    assert out.split() == ["host-side", os.readlink("/proc/self/ns/ipc")], out
    # none: no /dev/shm mount at all
    assert "/dev/shm" not in sh(b, "--ipc", "none", cmd="cat /proc/mounts")
    assert "/dev/shm" in sh(b, cmd="cat /proc/mounts")
    # the donor's shm goes with its exit: a joiner then cannot start
    b("stop", "-t", "1", "i1")
    assert not os.path.ismount(shm)
    b("stop", "-t", "1", "i2")
    r = b("start", "i2", check=False)
    assert r.returncode != 0 and "not running" in r.stderr, r.stderr
    # and is there again when the donor starts again
    b("start", "i1")
    assert wait_for(lambda: os.path.ismount(shm))
    b("start", "i2")
    assert ns_of(b, "i2", "ipc") == ns_of(b, "i1", "ipc")
    b("rm", "-f", "i2", "i1")
    assert not os.path.exists(shm)


def cgroup_dirs(parent):
    return [p for p in pathlib.Path("/sys/fs/cgroup").glob(f"*/{parent}") if p.is_dir()]


def test_cgroup_parent(b):
    parent = f"berth-test-parent-{os.getpid()}"
    try:
        b("run", "-d", "--name", "c1", "--cgroup-parent", f"/{parent}//./", "--memory", "32m",
          BUSYBOX, "sleep", "300")
        d = b.inspect("c1")
        assert d["HostConfig"]["CgroupParent"] == f"/{parent}"
        pid = d["State"]["Pid"]
        mem = [ln.split(":", 2)[2] for ln in open(f"/proc/{pid}/cgroup")
               if "memory" in ln.split(":")[1].split(",")] or \
              [ln.split(":", 2)[2] for ln in open(f"/proc/{pid}/cgroup") if ln.startswith("0::")]
        assert mem[0].strip() == f"/{parent}/{d['Id']}", mem
        limit = [p for p in (pathlib.Path(f"/sys/fs/cgroup/memory/{parent}/{d['Id']}/"
                                          "memory.limit_in_bytes"),
                             pathlib.Path(f"/sys/fs/cgroup/{parent}/{d['Id']}/memory.max"))
                 if p.exists()]
        assert limit and limit[0].read_text().strip() == str(32 << 20)
        b("rm", "-f", "c1")
        assert wait_for(lambda: not any((p / d["Id"]).exists() for p in cgroup_dirs(parent)))
    finally:
        for p in cgroup_dirs(parent):
            for sub in p.iterdir():
                if sub.is_dir():
                    sub.rmdir()
            p.rmdir()


@pytest.mark.parametrize("args,msg", [
    (["--pid", "vm"], 'invalid --pid "vm"'),
    (["--ipc", "container:"], 'invalid --ipc "container:"'),
    (["--uts", "shareable"], 'invalid --uts "shareable"'),
    (["--pid", "container:nosuch"], "--pid container:nosuch"),
    (["--cgroup-parent", "a/../../b"], 'invalid --cgroup-parent "a/../../b"'),
    (["--cgroup-parent", "/"], "the root cgroup"),
    (["--cgroup-parent", "a b"], "a space or control character"),
])
def test_bad_modes_leave_nothing(b, args, msg):
    r = b("run", "--rm", *args, BUSYBOX, "true", check=False)
    assert r.returncode == 125 and msg in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert b.ids() == []
