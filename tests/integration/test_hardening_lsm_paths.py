"""berth-runtime hardening settings: AppArmor/SELinux on a host without them (warning),
maskedPaths, readonlyPaths, noNewPrivileges, sysctl namespacing checks."""
import os

import pytest

from hardening_helpers import hardening_rtenv  # noqa: F401

HAS_APPARMOR = os.path.exists("/sys/kernel/security/apparmor")
HAS_SELINUX = os.path.exists("/sys/fs/selinux/enforce")


def test_apparmor_profile_without_apparmor_warns(rtenv):
    if HAS_APPARMOR:
        pytest.skip("this host has AppArmor: the warning path is not reachable")
    b = rtenv.bundle("echo", "ran")
    with rtenv.config(b) as c:
        c["process"]["apparmorProfile"] = "berth-hardening-test"
    r = rtenv.rt("run", "--bundle", b, rtenv.cid()).ok()
    assert r.stdout == "ran\n"
    warn = [ln for ln in r.stderr.splitlines() if "warning" in ln.lower()]
    assert len(warn) == 1 and "apparmor" in warn[0].lower(), repr(r)


def test_selinux_process_label_without_selinux_warns(rtenv):
    if HAS_SELINUX:
        pytest.skip("this host has SELinux: the warning path is not reachable")
    b = rtenv.bundle("echo", "ran")
    with rtenv.config(b) as c:
        c["process"]["selinuxLabel"] = "system_u:system_r:container_t:s0:c1,c2"
    r = rtenv.rt("run", "--bundle", b, rtenv.cid()).ok()
    assert r.stdout == "ran\n"
    warn = [ln for ln in r.stderr.splitlines() if "warning" in ln.lower()]
    assert len(warn) == 1 and "selinux" in warn[0].lower(), repr(r)


def test_selinux_label_without_selinux_warns(rtenv):
    """With mountLabel too (podman sets both): runc leaves context= out of the mount
    options when SELinux is off; the container must still run."""
    if HAS_SELINUX:
        pytest.skip("this host has SELinux: the warning path is not reachable")
    b = rtenv.bundle("echo", "ran")
    with rtenv.config(b) as c:
        c["process"]["selinuxLabel"] = "system_u:system_r:container_t:s0:c1,c2"
        c["linux"]["mountLabel"] = "system_u:object_r:container_file_t:s0:c1,c2"
    r = rtenv.rt("run", "--bundle", b, rtenv.cid()).ok()
    assert r.stdout == "ran\n"
    warn = [ln for ln in r.stderr.splitlines() if "warning" in ln.lower()]
    assert warn and all("selinux" in w.lower() for w in warn), repr(r)


def test_no_warning_without_lsm_settings(rtenv):
    b = rtenv.bundle("echo", "ran")
    r = rtenv.rt("run", "--bundle", b, rtenv.cid()).ok()
    assert r.stderr == "", repr(r)


def test_masked_paths(rtenv):
    b = rtenv.bundle("sh", "-c", "wc -c < /proc/timer_list; stat -c '%F %t:%T' "
                     "/proc/timer_list; ls -A /sys/firmware | wc -l; "
                     "grep ' /sys/firmware ' /proc/self/mountinfo | cut -d' ' -f6")
    r = rtenv.rt("run", "--bundle", b, rtenv.cid()).ok()
    lines = r.stdout.split("\n")
    assert lines[0].strip() == "0", repr(r)
    assert lines[1] == "character special file 1:3", repr(r)
    assert lines[2].strip() == "0", repr(r)  # masked directory: empty
    assert "ro" in lines[3].split(","), repr(r)
    assert os.listdir("/sys/firmware"), "host /sys/firmware must not be affected"


def test_masked_path_write_does_not_reach_kernel(rtenv):
    b = rtenv.bundle("sh", "-c", "echo x > /proc/timer_list; echo rc=$?; "
                     "touch /sys/firmware/f; echo rc2=$?")
    r = rtenv.rt("run", "--bundle", b, rtenv.cid()).ok()
    # /dev/null swallows the write; the masked dir is a read-only tmpfs
    assert "rc=0" in r.stdout and "rc2=1" in r.stdout, repr(r)
    assert "Read-only file system" in r.stderr or "Permission denied" in r.stderr, repr(r)


@pytest.mark.parametrize("path", ["/proc/sys", "/proc/sysrq-trigger", "/proc/irq",
                                  "/proc/bus", "/proc/fs"])
def test_readonly_paths(rtenv, path):
    b = rtenv.bundle("sh", "-c", f"grep ' {path} ' /proc/self/mountinfo | cut -d' ' -f6")
    r = rtenv.rt("run", "--bundle", b, rtenv.cid()).ok()
    with rtenv.config(b) as c:
        listed = path in c["linux"].get("readonlyPaths", [])
    assert listed, f"{path} is not in the default readonlyPaths"
    if not os.path.exists(path):
        pytest.skip(f"{path} does not exist on this host's kernel (nothing to make read-only)")
    opts = r.stdout.split()
    assert opts, f"{path} is not a mount point in the container: {r!r}"
    assert "ro" in opts[-1].split(","), repr(r)


def test_proc_sys_write_refused(rtenv):
    b = rtenv.bundle("sh", "-c", "echo 1 > /proc/sys/kernel/ns_last_pid; echo rc=$?")
    r = rtenv.rt("run", "--bundle", b, rtenv.cid()).ok()
    assert "rc=1" in r.stdout and "Read-only file system" in r.stderr, repr(r)


@pytest.mark.parametrize("nnp,want", [(True, "1"), (False, "0")])
def test_no_new_privileges(rtenv, nnp, want):
    b = rtenv.bundle("grep", "NoNewPrivs", "/proc/self/status")
    with rtenv.config(b) as c:
        c["process"]["noNewPrivileges"] = nnp
    r = rtenv.rt("run", "--bundle", b, rtenv.cid()).ok()
    assert r.stdout.split() == ["NoNewPrivs:", want]


def test_namespaced_sysctl_applies_inside_only(rtenv):
    host = open("/proc/sys/net/ipv4/ip_forward").read()
    b = rtenv.bundle("cat", "/proc/sys/net/ipv4/ip_forward")
    with rtenv.config(b) as c:
        c["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1" if host.strip() == "0" else "0"}
    r = rtenv.rt("run", "--bundle", b, rtenv.cid()).ok()
    assert r.stdout.strip() != host.strip()
    assert open("/proc/sys/net/ipv4/ip_forward").read() == host


@pytest.mark.parametrize("key", ["kernel.core_pattern", "vm.overcommit_memory",
                                 "net.ipv4.ip_forward@nonetns"])
def test_host_sysctl_refused(rtenv, key):
    """A sysctl outside the container's namespaces would change the host: refused
    with a clear error (runc: "sysctl ... is not in a separate kernel namespace")."""
    before = {k: open(f"/proc/sys/{k.split('@')[0].replace('.', '/')}").read()
              for k in [key]}
    b = rtenv.bundle("true")
    name = key.split("@")[0]
    with rtenv.config(b) as c:
        c["linux"]["sysctl"] = {name: "0" if "memory" in name or "forward" in name
                                else "|/bin/false"}
        if key.endswith("@nonetns"):
            c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"]
                                        if n["type"] != "network"]
    r = rtenv.rt("run", "--bundle", b, rtenv.cid())
    assert r.returncode != 0, repr(r)
    assert name in r.stderr, repr(r)
    for k, v in before.items():
        assert open(f"/proc/sys/{k.split('@')[0].replace('.', '/')}").read() == v
