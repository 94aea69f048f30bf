"""berth-runtime: namespaces (user with id maps, network, joining by path, uts,
ipc, pid, time with offsets) and namespaced sysctls."""
import os
import subprocess
import time

import pytest

from conftest import missing_netns, missing_timens, missing_tool, requires
from runtime_helpers import rtenv  # noqa: F401

HOST_ID = 100000
SIZE = 65536


def ns_inode_text(pid, kind):
    return os.readlink(f"/proc/{pid}/ns/{kind}")


def userns_bundle(env, *args):
    b = env.bundle(*args)
    subprocess.run(["chown", "-hR", f"{HOST_ID}:{HOST_ID}", str(b / "rootfs")], check=True)
    with env.config(b) as c:
        c["linux"]["namespaces"].append({"type": "user"})
        c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": HOST_ID, "size": SIZE}]
        c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": HOST_ID, "size": SIZE}]
        # cgroup v1 hierarchies cannot be mounted from a user namespace; runc
        # users drop this mount (or bind it) in rootless/userns configs
        c["mounts"] = [m for m in c["mounts"] if m["destination"] != "/sys/fs/cgroup"]
    return b


def test_user_namespace_maps(rtenv):
    b = userns_bundle(rtenv, "sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u; "
                      "readlink /proc/self/ns/user")
    r = rtenv.rt("run", "--bundle", b, rtenv.cid()).ok()
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["0", str(HOST_ID), str(SIZE)]
    assert lines[1].split() == ["0", str(HOST_ID), str(SIZE)]
    assert lines[2] == "0"
    assert lines[3] != ns_inode_text("self", "user")


def test_user_namespace_file_ownership_on_host(rtenv):
    host = rtenv.hostdir("shared", 0o777)
    b = userns_bundle(rtenv, "sh", "-c", "touch /shared/by-root; chown 1000:1000 /shared/by-root; "
                      "touch /shared/plain; ls -ln /shared")
    with rtenv.config(b) as c:
        c["mounts"].append({"destination": "/shared", "type": "bind", "source": str(host),
                            "options": ["rbind", "rw"]})
        for k in ("bounding", "effective", "permitted"):
            c["process"]["capabilities"][k].append("CAP_CHOWN")
    rtenv.rt("run", "--bundle", b, rtenv.cid()).ok()
    st = os.stat(host / "plain")
    assert (st.st_uid, st.st_gid) == (HOST_ID, HOST_ID)
    st = os.stat(host / "by-root")
    assert (st.st_uid, st.st_gid) == (HOST_ID + 1000, HOST_ID + 1000)


def test_user_namespace_devices_and_host_files_unmapped(rtenv):
    """Host files owned by root appear as nobody (65534) inside; /dev/null works."""
    hostfile = rtenv.path("rootowned")
    hostfile.write_text("x")
    os.chmod(hostfile, 0o644)
    b = userns_bundle(rtenv, "sh", "-c", "stat -c '%u %g' /hostfile; echo hi > /dev/null && "
                      "echo devnull-ok; head -c 1 /dev/urandom | wc -c")
    with rtenv.config(b) as c:
        c["mounts"].append({"destination": "/hostfile", "type": "bind", "source": str(hostfile),
                            "options": ["bind", "ro"]})
    r = rtenv.rt("run", "--bundle", b, rtenv.cid()).ok()
    lines = r.stdout.splitlines()
    assert lines[0] == "65534 65534"
    assert lines[1] == "devnull-ok"
    assert lines[2].strip() == "1"


def test_user_namespace_caps_do_not_reach_host(rtenv):
    """Root in the user namespace cannot write a host root-owned 0644 file."""
    victim = rtenv.path("victim")
    victim.write_text("orig\n")
    os.chmod(victim, 0o644)
    b = userns_bundle(rtenv, "sh", "-c", "(echo pwned > /victim) 2>&1; echo rc=$?")
    with rtenv.config(b) as c:
        c["mounts"].append({"destination": "/victim", "type": "bind", "source": str(victim),
                            "options": ["bind", "rw"]})
        c["process"]["capabilities"]["bounding"].append("CAP_DAC_OVERRIDE")
        c["process"]["capabilities"]["effective"].append("CAP_DAC_OVERRIDE")
        c["process"]["capabilities"]["permitted"].append("CAP_DAC_OVERRIDE")
    r = rtenv.rt("run", "--bundle", b, rtenv.cid()).ok()
    assert "rc=1" in r.stdout
    assert victim.read_text() == "orig\n"


def test_network_namespace_only_lo(rtenv):
    r = rtenv.run_sh("cat /proc/net/dev; readlink /proc/self/ns/net")
    ifaces = [ln.split(":")[0].strip() for ln in r.stdout.splitlines()[2:-1]]
    assert ifaces == ["lo"]
    assert r.stdout.splitlines()[-1] != ns_inode_text("self", "net")


def test_no_network_namespace_shares_host(rtenv):
    def edit(c):
        c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"]
                                    if n["type"] != "network"]
        c["mounts"] = [m for m in c["mounts"] if m["destination"] not in ("/sys",
                                                                           "/sys/fs/cgroup")]
    r = rtenv.run_sh("readlink /proc/self/ns/net", edit)
    assert r.stdout.strip() == ns_inode_text("self", "net")


@requires(missing_tool("ip", "iproute2"), missing_netns())
def test_join_netns_by_path(rtenv):
    name = f"berth-{rtenv.mark}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    rtenv.cleanups.append(lambda: subprocess.run(["ip", "netns", "del", name], check=True))
    path = f"/var/run/netns/{name}"
    ino = os.stat(path).st_ino

    def edit(c):
        for n in c["linux"]["namespaces"]:
            if n["type"] == "network":
                n["path"] = path
    r = rtenv.run_sh("readlink /proc/self/ns/net", edit)
    assert r.stdout.strip() == f"net:[{ino}]"


def test_join_other_containers_namespaces(rtenv):
    b1 = rtenv.bundle("sh", "-c", "while :; do sleep 0.1; done")
    c1 = rtenv.cid()
    rtenv.rt("run", "--detach", "--bundle", b1, c1).ok()
    pid = rtenv.state(c1)["pid"]
    rtenv.track(pid)
    want = {k: ns_inode_text(pid, k) for k in ("net", "ipc", "uts")}

    def edit(c):
        for n in c["linux"]["namespaces"]:
            if n["type"] in ("network", "ipc", "uts"):
                n["path"] = f"/proc/{pid}/ns/" + ("net" if n["type"] == "network" else n["type"])
        c.pop("hostname", None)
    r = rtenv.run_sh("for n in net ipc uts pid; do readlink /proc/self/ns/$n; done; hostname",
                     edit)
    got = r.stdout.splitlines()
    assert got[:3] == [want["net"], want["ipc"], want["uts"]]
    assert got[3] != ns_inode_text(pid, "pid")
    assert got[4] == "runc"  # the first container's hostname
    rtenv.rt("delete", "--force", c1).ok()


def test_uts_ipc_pid_mount_are_new(rtenv):
    r = rtenv.run_sh("for n in uts ipc pid mnt; do readlink /proc/self/ns/$n; done")
    got = r.stdout.split()
    for n, v in zip(("uts", "ipc", "pid", "mnt"), got):
        assert v != ns_inode_text("self", n), n


def test_ipc_namespace_isolates_sysv(rtenv):
    r = rtenv.run_sh("cat /proc/sysvipc/shm | wc -l")
    assert r.stdout.strip() == "1"  # header only


@requires(missing_timens())
def test_time_namespace_boottime_offset(rtenv):
    offset = 10 * 86400

    def edit(c):
        c["linux"]["namespaces"].append({"type": "time"})
        c["linux"]["timeOffsets"] = {"boottime": {"secs": offset, "nanosecs": 0},
                                     "monotonic": {"secs": 1000, "nanosecs": 0}}
    before = float(open("/proc/uptime").read().split()[0])
    r = rtenv.run_sh("cat /proc/uptime; cat /proc/self/timens_offsets; "
                     "readlink /proc/self/ns/time", edit)
    after = float(open("/proc/uptime").read().split()[0])
    lines = r.stdout.splitlines()
    inside = float(lines[0].split()[0])
    assert before + offset - 1 <= inside <= after + offset + 1
    offs = {ln.split()[0]: ln.split()[1:] for ln in lines[1:3]}
    assert offs["boottime"] == [str(offset), "0"]
    assert offs["monotonic"] == ["1000", "0"]
    assert lines[3] != ns_inode_text("self", "time")


def test_sysctl_namespaced(rtenv):
    host_fwd = open("/proc/sys/net/ipv4/ip_forward").read()

    def edit(c):
        c["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1", "kernel.msgmax": "4321"}
    r = rtenv.run_sh("cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/msgmax", edit)
    assert r.stdout.split() == ["1", "4321"]
    assert open("/proc/sys/net/ipv4/ip_forward").read() == host_fwd
    assert open("/proc/sys/kernel/msgmax").read().strip() != "4321"


def test_pid_namespace_host_sees_container_pid(rtenv):
    b = rtenv.bundle("sh", "-c", "while :; do sleep 0.1; done")
    cid = rtenv.cid()
    rtenv.rt("run", "--detach", "--bundle", b, cid).ok()
    pid = rtenv.state(cid)["pid"]
    rtenv.track(pid)
    with open(f"/proc/{pid}/status") as f:
        nspid = [ln.split()[1:] for ln in f if ln.startswith("NSpid:")][0]
    assert nspid == [str(pid), "1"]
    rtenv.rt("delete", "--force", cid).ok()
    time.sleep(0.1)


def test_join_other_containers_pid_namespace(rtenv):
    b1 = rtenv.bundle("sh", "-c", "while :; do sleep 0.1; done")
    c1 = rtenv.cid()
    rtenv.rt("run", "--detach", "--bundle", b1, c1).ok()
    pid = rtenv.state(c1)["pid"]
    rtenv.track(pid)

    def edit(c):
        for n in c["linux"]["namespaces"]:
            if n["type"] == "pid":
                n["path"] = f"/proc/{pid}/ns/pid"
    r = rtenv.run_sh("echo $$; cat /proc/1/cmdline | tr '\\0' ' '; echo; "
                     "readlink /proc/self/ns/pid", edit)
    lines = r.stdout.splitlines()
    assert lines[0] != "1"
    assert lines[1].strip() == "sh -c while :; do sleep 0.1; done"
    assert lines[2] == os.readlink(f"/proc/{pid}/ns/pid")
    rtenv.rt("delete", "--force", c1).ok()


def test_user_namespace_with_hooks_and_create_start(rtenv):
    log = rtenv.hostdir("ulog", 0o777)
    b = userns_bundle(rtenv, "sh", "-c", "id -u > /ulog/user")
    with rtenv.config(b) as c:
        c["mounts"].append({"destination": "/ulog", "type": "bind", "source": str(log),
                            "options": ["rbind", "rw"]})
        c["hooks"] = {
            "createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c", f"echo cr > {log}/cr"]}],
            "createContainer": [{"path": "/bin/sh", "args": [
                "sh", "-c", f"cat /proc/self/uid_map > {log}/cc"]}],
        }
    cid = rtenv.cid()
    rtenv.rt("create", "--bundle", b, cid).ok()
    pid = rtenv.state(cid)["pid"]
    rtenv.track(pid)
    assert (log / "cr").read_text() == "cr\n"
    assert (log / "cc").read_text().split() == ["0", str(HOST_ID), str(SIZE)]
    rtenv.rt("start", cid).ok()
    rtenv.wait_status(cid, "stopped")
    assert (log / "user").read_text() == "0\n"
    assert os.stat(log / "user").st_uid == HOST_ID
    rtenv.rt("delete", cid).ok()
