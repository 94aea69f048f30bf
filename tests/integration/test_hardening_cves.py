"""berth-runtime against the setups of known runc CVEs: each test builds the attack's
preconditions and checks the attack does not work (refused with a clear error, or
harmless)."""
import hashlib
import os
import pathlib

import pytest

from hardening_helpers import hardening_rtenv  # noqa: F401
from hardening_helpers import V1, add_bind, runtime_binary, start_detached
from test_runtime_terminal import ConsoleServer, read_until_eof


def sha256(p):
    return hashlib.sha256(pathlib.Path(p).read_bytes()).hexdigest()


def no_dev_mounts(c):
    """Drops the /dev tmpfs (and what sits on it): rootfs/dev is used as it is."""
    c["mounts"] = [m for m in c["mounts"] if not m["destination"].startswith("/dev")]


def rootfs(b):
    return pathlib.Path(b) / "rootfs"


# ---- CVE-2019-5736: overwriting the runtime binary through /proc/<init>/exe ----

def test_cve_2019_5736_proc_exe_of_created_init(rtenv):
    binary = pathlib.Path(os.path.realpath(runtime_binary()))
    before = sha256(binary)
    b = rtenv.bundle("sleep", "100")
    cid = rtenv.cid()
    rtenv.rt("create", "--bundle", b, cid).ok()
    try:
        rtenv.track(rtenv.state(cid)["pid"])
        assert rtenv.status(cid) == "created"
        r = rtenv.rt("exec", cid, "sh", "-c",
                     "cat /proc/1/exe > /dev/null; echo read=$?; "
                     "echo pwned >> /proc/1/exe; echo write=$?; "
                     "exec 3<>/proc/1/exe; echo rw=$?")
        assert "read=1" in r.stdout and "write=1" in r.stdout, repr(r)
        assert "rw=0" not in r.stdout, repr(r)
        assert "Permission denied" in r.stderr, repr(r)
        # the exec'd process's own parent chain does not expose the runtime either
        r = rtenv.rt("exec", cid, "sh", "-c",
                     "for p in /proc/[0-9]*; do readlink $p/exe; done").ok()
        assert str(binary) not in r.stdout and "berth-runtime" not in r.stdout, repr(r)
    finally:
        rtenv.rt("delete", "--force", cid).ok()
    assert sha256(binary) == before


# ---- CVE-2021-30465: a mount destination that is a symlink pointing out ----

def test_cve_2021_30465_symlink_mount_destination_stays_in_rootfs(rtenv):
    src = rtenv.hostdir("src")
    (src / "payload").write_text("from-src\n")
    target = rtenv.path("host-target")  # absolute host path the symlink names
    target.mkdir()
    (target / "keep").write_text("host\n")
    b = rtenv.bundle("sh", "-c", f"cat /evil/payload; ls {target}; "
                     f"grep -c ' {target} ' /proc/self/mountinfo")
    os.symlink(str(target), rootfs(b) / "evil")
    (rootfs(b) / str(target).lstrip("/")).mkdir(parents=True)
    add_bind(rtenv, b, src, dest="/evil", opts=("rbind", "ro"))
    r = rtenv.rt("run", "--bundle", b, rtenv.cid())
    if r.returncode == 0:
        # resolved inside the rootfs: the mount sits on rootfs/<target>
        assert "from-src" in r.stdout, repr(r)
        assert "payload" in r.stdout.split(), repr(r)
        assert "keep" not in r.stdout, repr(r)
    else:
        assert "/evil" in r.stderr and "symlink" in r.stderr.lower(), repr(r)
    assert sorted(os.listdir(target)) == ["keep"]
    assert (target / "keep").read_text() == "host\n"
    assert not os.path.ismount(target)


def test_cve_2021_30465_dotdot_symlink_chain(rtenv):
    """rootfs/a -> ../../../../.. (climbs above the rootfs): still resolved in-root."""
    src = rtenv.hostdir("src")
    (src / "payload").write_text("p\n")
    b = rtenv.bundle("sh", "-c", "cat /a/tmp/payload; ls /tmp")
    os.symlink("../../../../../../..", rootfs(b) / "a")
    add_bind(rtenv, b, src, dest="/a/tmp", opts=("rbind", "ro"))
    r = rtenv.rt("run", "--bundle", b, rtenv.cid()).ok()
    # /a/tmp resolves to the container's /tmp, so the bind shows up there
    assert r.stdout.split() == ["p", "payload"], repr(r)
    assert not os.path.exists("/tmp/payload")


# ---- CVE-2024-21626: leaked fds and a cwd through them ----

def test_cve_2024_21626_no_fd_leak_into_container(rtenv):
    b = rtenv.bundle("ls", "/proc/self/fd")
    r = rtenv.rt("run", "--bundle", b, rtenv.cid()).ok()
    assert sorted(r.stdout.split(), key=int) == ["0", "1", "2", "3"], repr(r)


def test_cve_2024_21626_no_fd_leak_into_exec(rtenv):
    b = rtenv.bundle("sleep", "100")
    cid = start_detached(rtenv, b)
    try:
        r = rtenv.rt("exec", cid, "ls", "/proc/self/fd").ok()
        assert sorted(r.stdout.split(), key=int) == ["0", "1", "2", "3"], repr(r)
        # the container's init holds only its stdio (what run --detach was given)
        r = rtenv.rt("exec", cid, "ls", "/proc/1/fd").ok()
        assert sorted(r.stdout.split(), key=int) == ["0", "1", "2"], repr(r)
    finally:
        rtenv.rt("delete", "--force", cid).ok()


def test_cve_2024_21626_cwd_through_leaked_fd(rtenv):
    marker = rtenv.path("host-marker")
    marker.write_text("x")
    for fd in range(3, 10):
        b = rtenv.bundle("sh", "-c", f"pwd; ls ../../..; test -e {marker} && echo ESCAPED")
        with rtenv.config(b) as c:
            c["process"]["cwd"] = f"/proc/self/fd/{fd}"
        r = rtenv.rt("run", "--bundle", b, rtenv.cid())
        assert "ESCAPED" not in r.stdout, (fd, r)
        assert rtenv.path("host-marker").name not in r.stdout, (fd, r)
        if r.returncode == 0:
            # only acceptable if the cwd is inside the container
            assert str(rtenv.tmp) not in r.stdout, (fd, r)
        for cid in rtenv.leftover_state():
            rtenv.rt("delete", "--force", cid)


def test_cve_2024_21626_container_cannot_see_host_root(rtenv):
    marker = rtenv.path("host-marker")
    marker.write_text("x")
    b = rtenv.bundle("sh", "-c", f"test -e {marker} && echo VISIBLE; "
                     "test -e /proc/1/root/etc/os-release && echo HOSTROOT; "
                     "ls / ; cat /proc/1/cwd/etc/hostname 2>/dev/null; true")
    r = rtenv.rt("run", "--bundle", b, rtenv.cid()).ok()
    assert "VISIBLE" not in r.stdout and "HOSTROOT" not in r.stdout, repr(r)
    assert set(r.stdout.split()) >= {"bin", "proc", "dev"}
    assert "home" not in r.stdout.split() and "boot" not in r.stdout.split(), repr(r)


# ---- CVE-2025-31133: maskedPaths with rootfs/dev/null replaced by a symlink ----

def test_cve_2025_31133_masked_paths_dev_null_symlink(rtenv):
    secret = rtenv.path("secret")
    secret.write_text("HOSTSECRET\n")
    b = rtenv.bundle("sh", "-c", "cat /proc/timer_list | head -c 64; echo; "
                     "stat -c 'masked %F %t:%T' /proc/timer_list; "
                     "grep -c HOSTSECRET /proc/keys; true")
    with rtenv.config(b) as c:
        no_dev_mounts(c)
    (rootfs(b) / "dev" / "null").unlink(missing_ok=True)
    os.symlink(str(secret), rootfs(b) / "dev" / "null")
    r = rtenv.rt("run", "--bundle", b, rtenv.cid())
    assert "HOSTSECRET" not in r.stdout, repr(r)
    if r.returncode == 0:
        assert "masked character special file 1:3" in r.stdout, repr(r)
    else:
        assert "/dev/null" in r.stderr, repr(r)
    assert secret.read_text() == "HOSTSECRET\n"


def test_cve_2025_31133_dev_null_symlink_to_procfs(rtenv):
    """/dev/null -> /proc/sys/kernel/core_pattern: masking must not bind core_pattern
    over the masked paths (where it would be writable)."""
    assert os.path.exists("/proc/timer_list")
    core = open("/proc/sys/kernel/core_pattern").read()
    b = rtenv.bundle("sh", "-c", "cat /proc/timer_list | head -c 200; echo; "
                     "stat -c 'masked %F %t:%T' /proc/timer_list; true")
    with rtenv.config(b) as c:
        no_dev_mounts(c)
    (rootfs(b) / "dev" / "null").unlink(missing_ok=True)
    os.symlink("/proc/sys/kernel/core_pattern", rootfs(b) / "dev" / "null")
    r = rtenv.rt("run", "--bundle", b, rtenv.cid())
    if core.strip():
        assert core.strip() not in r.stdout, repr(r)
    if r.returncode == 0:
        assert "masked character special file 1:3" in r.stdout, repr(r)
    else:
        assert "/dev/null" in r.stderr, repr(r)
    assert open("/proc/sys/kernel/core_pattern").read() == core


# ---- CVE-2025-52565: /dev/console replaced by a symlink ----

def test_cve_2025_52565_dev_console_symlink(rtenv):
    victim = rtenv.path("victim")
    victim.write_text("original\n")
    b = rtenv.bundle("sh", "-c", "echo written-to-console > /dev/console; "
                     "stat -c 'console %F' /dev/console; "
                     f"grep -c '{victim}' /proc/self/mountinfo; true")
    with rtenv.config(b) as c:
        pts = [m for m in c["mounts"] if m["destination"] == "/dev/pts"]
        no_dev_mounts(c)
        c["mounts"] += pts
        c["process"]["terminal"] = True
    (rootfs(b) / "dev" / "pts").mkdir(exist_ok=True)
    os.symlink("pts/ptmx", rootfs(b) / "dev" / "ptmx")
    (rootfs(b) / "dev" / "console").unlink(missing_ok=True)
    os.symlink(str(victim), rootfs(b) / "dev" / "console")
    sockp = rtenv.path("console.sock")
    srv = ConsoleServer(sockp)
    cid = rtenv.cid()
    try:
        r = rtenv.rt("create", "--console-socket", sockp, "--bundle", b, cid)
        if r.returncode == 0:
            rtenv.track(rtenv.state(cid)["pid"])
            master = srv.master()
            rtenv.rt("start", cid).ok()
            out = read_until_eof(master)
            rtenv.wait_status(cid, "stopped")
            # safe and still what terminal=true promises: /dev/console is the pty
            assert "console character special file" in out, out
            assert "written-to-console" in out, out
        else:
            assert "console" in r.stderr.lower(), repr(r)
    finally:
        srv.close()
        if rtenv.leftover_state():
            rtenv.rt("delete", "--force", cid)
    assert victim.read_text() == "original\n"
    assert not os.path.islink(rootfs(b) / "dev" / "console") or \
        os.readlink(rootfs(b) / "dev" / "console") == str(victim)


# ---- CVE-2025-52881: writes to procfs redirected by mounts ----

def test_cve_2025_52881_mount_over_proc_sys_refused(rtenv):
    fake = rtenv.path("fake_core_pattern")
    fake.write_text("fake\n")
    b = rtenv.bundle("cat", "/proc/sys/kernel/core_pattern")
    with rtenv.config(b) as c:
        c["mounts"].append({"destination": "/proc/sys/kernel/core_pattern", "type": "bind",
                            "source": str(fake), "options": ["bind", "rw"]})
    r = rtenv.rt("run", "--bundle", b, rtenv.cid())
    assert r.returncode != 0, repr(r)
    assert "/proc/sys/kernel/core_pattern" in r.stderr, repr(r)
    assert "fake" not in r.stdout


def test_cve_2025_52881_mount_over_proc_self_attr_refused(rtenv):
    fake = rtenv.path("fake_attr")
    fake.write_text("unconfined\n")
    b = rtenv.bundle("true")
    with rtenv.config(b) as c:
        c["mounts"].append({"destination": "/proc/self/attr/exec", "type": "bind",
                            "source": str(fake), "options": ["bind", "rw"]})
    r = rtenv.rt("run", "--bundle", b, rtenv.cid())
    assert r.returncode != 0, repr(r)
    assert "/proc/self/attr" in r.stderr, repr(r)


def test_cve_2025_52881_lxcfs_style_proc_mount_allowed(rtenv):
    """runc allows bind mounts over a few /proc files (lxcfs): /proc/uptime."""
    fake = rtenv.path("uptime")
    fake.write_text("12345.67 1.00\n")
    b = rtenv.bundle("cat", "/proc/uptime")
    with rtenv.config(b) as c:
        c["mounts"].append({"destination": "/proc/uptime", "type": "bind",
                            "source": str(fake), "options": ["bind", "ro"]})
    r = rtenv.rt("run", "--bundle", b, rtenv.cid()).ok()
    assert r.stdout == "12345.67 1.00\n"


def test_cve_2025_52881_oom_score_adj_applies_to_container(rtenv):
    b = rtenv.bundle("cat", "/proc/self/oom_score_adj")
    with rtenv.config(b) as c:
        c["process"]["oomScoreAdj"] = 123
    r = rtenv.rt("run", "--bundle", b, rtenv.cid()).ok()
    assert r.stdout.strip() == "123"
    assert open("/proc/self/oom_score_adj").read().strip() != "123"


# ---- CVE-2023-25809: writable /sys/fs/cgroup without a cgroup namespace ----

@V1
def test_cve_2023_25809_cgroupfs_read_only(rtenv):
    b = rtenv.bundle("sh", "-c", "touch /sys/fs/cgroup/memory/x; echo touch=$?; "
                     "mkdir /sys/fs/cgroup/memory/y; echo mkdir=$?; "
                     "echo 1 > /sys/fs/cgroup/memory/memory.limit_in_bytes; echo w=$?; "
                     "grep ' /sys/fs/cgroup' /proc/self/mountinfo")
    r = rtenv.rt("run", "--bundle", b, rtenv.cid())
    assert "touch=1" in r.stdout and "mkdir=1" in r.stdout and "w=1" in r.stdout, repr(r)
    assert "Read-only file system" in r.stderr, repr(r)
    lines = [ln for ln in r.stdout.splitlines() if "/sys/fs/cgroup" in ln]
    assert lines, repr(r)
    for ln in lines:
        f = ln.split()
        assert "ro" in f[5].split(","), ln
    assert not os.path.exists("/sys/fs/cgroup/memory/x")


@V1
def test_cve_2023_25809_only_own_cgroup_visible(rtenv):
    """Without a cgroup namespace the container sees its own cgroup at the root of
    each hierarchy, not the host's tree (no berth/ sibling directories)."""
    b = rtenv.bundle("sh", "-c", "ls /sys/fs/cgroup/memory/ | grep -c '^berth$'; "
                     "cat /sys/fs/cgroup/memory/cgroup.procs | wc -l; true")
    r = rtenv.rt("run", "--bundle", b, rtenv.cid()).ok()
    first = r.stdout.split()
    assert first[0] == "0", repr(r)


# ---- CVE-2022-29162: inheritable capabilities on exec ----

def test_cve_2022_29162_exec_empty_inheritable(rtenv):
    b = rtenv.bundle("sleep", "100")
    with rtenv.config(b) as c:
        assert "inheritable" not in c["process"]["capabilities"]
    cid = start_detached(rtenv, b)
    try:
        for flags in ([], ["--cap", "CAP_SYS_ADMIN"]):
            r = rtenv.rt("exec", *flags, cid, "grep", "CapInh", "/proc/self/status").ok()
            assert r.stdout.split() == ["CapInh:", "0000000000000000"], (flags, r)
        r = rtenv.rt("exec", cid, "grep", "CapInh", "/proc/1/status").ok()
        assert r.stdout.split() == ["CapInh:", "0000000000000000"], repr(r)
    finally:
        rtenv.rt("delete", "--force", cid).ok()


# ---- CVE-2024-45310: mountpoint creation through a symlink creates host paths ----

def test_cve_2024_45310_no_host_paths_created(rtenv):
    src = rtenv.hostdir("src")
    (src / "payload").write_text("p\n")
    outside = rtenv.path("must-not-exist")  # absolute host path, does not exist
    b = rtenv.bundle("sh", "-c", f"ls {outside}/sub/mnt")
    os.symlink(f"{outside}/sub", rootfs(b) / "evil")
    add_bind(rtenv, b, src, dest="/evil/mnt", opts=("rbind", "ro"))
    r = rtenv.rt("run", "--bundle", b, rtenv.cid())
    assert not os.path.exists(outside), f"runtime created {outside} on the host: {r!r}"
    if r.returncode == 0:
        assert r.stdout.split() == ["payload"], repr(r)  # made inside the rootfs
        assert (rootfs(b) / str(outside).lstrip("/") / "sub" / "mnt").is_dir()


# ---- CVE-2019-19921: /proc in the rootfs is a symlink ----

@pytest.mark.parametrize("fs", ["proc", "sys"])
def test_cve_2019_19921_proc_symlink_refused(rtenv, fs):
    """runc (rootfs_linux.go): "filesystem "proc" must be mounted on ordinary
    directory" when the destination is a symlink (or not a directory)."""
    b = rtenv.bundle("true")
    os.rmdir(rootfs(b) / fs)
    (rootfs(b) / f"fake{fs}").mkdir()
    os.symlink(f"fake{fs}", rootfs(b) / fs)
    r = rtenv.rt("run", "--bundle", b, rtenv.cid())
    assert r.returncode != 0, f"{fs} mounted through a symlink: {r!r}"
    assert f"/{fs}" in r.stderr, repr(r)


# ---- CVE-2022-24769: the default spec grants no inheritable capabilities ----

def test_cve_2022_24769_default_spec_no_inheritable(rtenv):
    b = rtenv.bundle("grep", "-E", "^Cap(Inh|Amb):", "/proc/self/status")
    c = rtenv.load(b)["process"]["capabilities"]
    assert not c.get("inheritable"), c
    # runc's spec keeps an "ambient" list; without inheritable the kernel cannot raise
    # them, so both sets are empty in the process
    r = rtenv.rt("run", "--bundle", b, rtenv.cid()).ok()
    assert r.stdout.split() == ["CapInh:", "0000000000000000", "CapAmb:",
                                "0000000000000000"], repr(r)
