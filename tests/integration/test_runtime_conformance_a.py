"""berth-runtime against configs it did not write (issue 16, section 1, part A): an old
seccomp profile without close_range and friends, no mount namespace, every
rootfsPropagation value, config.json edited after create, root.readonly without /proc."""
import json
import os
import subprocess

import pytest

from hardening_helpers import hardening_rtenv  # noqa: F401  (rtenv, seccomp cache not a leftover)
from runtime_helpers import mountinfo_line, one_error_line

# A classic allowlist, as Docker's default profile had it around 2019 (x86_64 names):
# nothing from after it (close_range, openat2, faccessat2, clone3, pidfd_*, statx,
# io_uring, rseq, epoll_pwait2, process_madvise, landlock, ...). Everything else is
# EPERM (defaultAction SCMP_ACT_ERRNO, no errnoRet).
CLASSIC = """accept accept4 access adjtimex alarm bind brk capget capset chdir chmod chown
clock_getres clock_gettime clock_nanosleep close connect copy_file_range creat dup dup2 dup3
epoll_create epoll_create1 epoll_ctl epoll_pwait epoll_wait eventfd eventfd2 execve execveat
exit exit_group faccessat fadvise64 fallocate fanotify_mark fchdir fchmod fchmodat fchown
fchownat fcntl fdatasync fgetxattr flistxattr flock fork fremovexattr fsetxattr fstat fstatfs
fsync ftruncate futex futimesat getcpu getcwd getdents getdents64 getegid geteuid getgid
getgroups getitimer getpeername getpgid getpgrp getpid getppid getpriority getrandom getresgid
getresuid getrlimit get_robust_list getrusage getsid getsockname getsockopt gettid
gettimeofday getuid getxattr inotify_add_watch inotify_init inotify_init1 inotify_rm_watch
io_cancel ioctl io_destroy io_getevents ioprio_get ioprio_set io_setup io_submit ipc kill
lchown lgetxattr link linkat listen listxattr llistxattr lremovexattr lseek lsetxattr lstat
madvise memfd_create mincore mkdir mkdirat mknod mknodat mlock mlock2 mlockall mmap mprotect
mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedsend mq_unlink mremap msgctl msgget
msgrcv msgsnd msync munlock munlockall munmap nanosleep newfstatat open openat pause pipe
pipe2 poll ppoll prctl pread64 preadv preadv2 prlimit64 pselect6 pwrite64 pwritev pwritev2
read readahead readlink readlinkat readv recvfrom recvmmsg recvmsg remap_file_pages
removexattr rename renameat renameat2 restart_syscall rmdir rt_sigaction rt_sigpending
rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait rt_tgsigqueueinfo
sched_getaffinity sched_getattr sched_getparam sched_get_priority_max sched_get_priority_min
sched_getscheduler sched_rr_get_interval sched_setaffinity sched_setattr sched_setparam
sched_setscheduler sched_yield seccomp select semctl semget semop semtimedop sendfile
sendmmsg sendmsg sendto setfsgid setfsuid setgid setgroups setitimer setpgid setpriority
setregid setresgid setresuid setreuid setrlimit set_robust_list setsid setsockopt
set_tid_address setuid setxattr shmat shmctl shmdt shmget shutdown sigaltstack signalfd
signalfd4 socket socketpair splice stat statfs symlink symlinkat sync sync_file_range syncfs
sysinfo tee tgkill time timer_create timer_delete timerfd_create timerfd_gettime
timerfd_settime timer_getoverrun timer_gettime timer_settime times tkill truncate umask
uname unlink unlinkat utime utimensat utimes vfork vmsplice wait4 waitid write writev
arch_prctl personality""".split()
NEWER = {"close_range", "openat2", "faccessat2", "clone3", "pidfd_open", "pidfd_send_signal",
         "pidfd_getfd", "statx", "rseq", "epoll_pwait2", "io_uring_setup"}
assert not NEWER & set(CLASSIC)


def classic_profile():
    return {
        "defaultAction": "SCMP_ACT_ERRNO",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [
            {"names": CLASSIC, "action": "SCMP_ACT_ALLOW"},
            # Docker's clone rule: no namespace flags (CLONE_NEW* mask 0x7E020000)
            {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 2114060288, "valueTwo": 0,
                       "op": "SCMP_CMP_MASKED_EQ"}]},
        ],
    }


# The fds a process sees, without the one ls itself holds on /proc/self/fd.
LIST_FDS = ("for f in /proc/self/fd/*; do n=${f##*/}; "
            "t=$(readlink $f) || continue; echo \"fd $n $t\"; done; "
            "grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status")


def fds_of(out):
    return sorted(int(ln.split()[1]) for ln in out.splitlines() if ln.startswith("fd "))


@pytest.mark.parametrize("nnp", [False, True])
def test_classic_seccomp_profile_run_and_exec(rtenv, nnp):
    """Under a 2019-style allowlist (no close_range, ...), run and exec both work with
    noNewPrivileges false (filter before the identity change) and true, the filter is
    in, and no fd of the runtime or of its caller reaches the container."""
    b = rtenv.bundle("sh", "-c", LIST_FDS)
    with rtenv.config(b) as c:
        c["process"]["noNewPrivileges"] = nnp
        c["linux"]["seccomp"] = classic_profile()
    # an fd of the caller's, not preserved: must not reach the container
    rfd, wfd = os.pipe()
    try:
        r = rtenv.rt("run", "--bundle", b, rtenv.cid(), fd3=rfd)
    finally:
        os.close(rfd)
        os.close(wfd)
    r.ok()
    assert "Seccomp:\t2" in r.stdout, repr(r)
    assert f"NoNewPrivs:\t{int(nnp)}" in r.stdout, repr(r)
    # the shell's glob opened nothing that outlives it: 0, 1, 2 only
    assert fds_of(r.stdout) == [0, 1, 2], repr(r)

    b2 = rtenv.bundle("sleep", "60")
    with rtenv.config(b2) as c:
        c["process"]["noNewPrivileges"] = nnp
        c["linux"]["seccomp"] = classic_profile()
    cid = rtenv.cid()
    rtenv.rt("run", "--detach", "--bundle", b2, cid).ok()
    try:
        rfd, wfd = os.pipe()
        try:
            r = rtenv.rt("exec", cid, "sh", "-c", LIST_FDS, fd3=rfd)
        finally:
            os.close(rfd)
            os.close(wfd)
        r.ok()
        assert "Seccomp:\t2" in r.stdout, repr(r)
        assert fds_of(r.stdout) == [0, 1, 2], repr(r)
        # and the init's own fds (checked from outside)
        pid = rtenv.state(cid)["pid"]
        assert sorted(int(f) for f in os.listdir(f"/proc/{pid}/fd")) == [0, 1, 2]
    finally:
        rtenv.rt("delete", "--force", cid).ok()


def test_classic_seccomp_profile_with_preserved_fd(rtenv):
    """--preserve-fds 1 still hands fd 3 over under the old profile."""
    b = rtenv.bundle("sh", "-c", "cat <&3; " + LIST_FDS)
    with rtenv.config(b) as c:
        c["process"]["noNewPrivileges"] = False
        c["linux"]["seccomp"] = classic_profile()
    rfd, wfd = os.pipe()
    os.write(wfd, b"through-fd3\n")
    os.close(wfd)
    try:
        r = rtenv.rt("run", "--preserve-fds", "1", "--bundle", b, rtenv.cid(), fd3=rfd).ok()
    finally:
        os.close(rfd)
    assert "through-fd3" in r.stdout, repr(r)
    assert fds_of(r.stdout) == [0, 1, 2, 3], repr(r)


def test_readonly_root_without_proc_mount(rtenv):
    """root.readonly with no /proc in the container: the remount does not need
    /proc/self/fd (it failed with `root.readonly: statvfs: No such file or directory`);
    the root is read-only, the mounts on it (/dev) stay writable."""
    b = rtenv.bundle("sh", "-c", "test -e /proc/self && echo has-proc; "
                     "touch /x 2>&1; echo root=$?; touch /dev/y && echo dev-ok")
    with rtenv.config(b) as c:
        c["mounts"] = [m for m in c["mounts"] if m["destination"] != "/proc"]
        c["root"]["readonly"] = True
        # masking and read-only paths are all under /proc: nothing to do there
    r = rtenv.rt("run", "--bundle", b, rtenv.cid()).ok()
    assert "has-proc" not in r.stdout, repr(r)
    assert "Read-only file system" in r.stdout and "root=1" in r.stdout, repr(r)
    assert "dev-ok" in r.stdout, repr(r)


def test_masked_and_readonly_paths_without_proc_mount(rtenv):
    """No /proc in the container: a masked file (/dev/null over it), a masked directory
    (an empty read-only tmpfs) and a read-only path are still done, by fd."""
    b = rtenv.bundle("sh", "-c", "cat /secret; echo secret-read; ls /hidden; "
                     "touch /rodir/x 2>&1; touch /rwdir/x && echo rw-ok")
    root = b / "rootfs"
    (root / "secret").write_text("top-secret\n")
    for d in ("hidden", "rodir", "rwdir"):
        (root / d).mkdir()
    (root / "hidden" / "inside").write_text("x")
    with rtenv.config(b) as c:
        c["mounts"] = [m for m in c["mounts"] if m["destination"] != "/proc"]
        c["linux"]["maskedPaths"] = ["/secret", "/hidden"]
        c["linux"]["readonlyPaths"] = ["/rodir"]
        c["root"]["readonly"] = False
    r = rtenv.rt("run", "--bundle", b, rtenv.cid()).ok()
    assert "top-secret" not in r.stdout and "secret-read" in r.stdout, repr(r)
    assert "inside" not in r.stdout + r.stderr, repr(r)  # empty, mode 0
    assert "Read-only file system" in r.stdout and "rw-ok" in r.stdout, repr(r)


def my_mounts(env):
    """The host's mounts that name the test's directory, and the host's / (other tests
    mount meanwhile): mount point and optional (propagation) fields of each."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for ln in f:
            fl = ln.split()
            if fl[4] == "/" or str(env.tmp) in ln:
                out.append(fl[4] + " " + " ".join(fl[6:fl.index("-")]))
    return sorted(out)


def shared_host_dir(env):
    """A directory of the test's that is a shared mount on the host (so a leak of the
    container's mounts to the host, or a slave root's master, can be seen)."""
    d = env.hostdir("shared")
    subprocess.run(["mount", "--bind", str(d), str(d)], check=True)
    env.cleanups.append(lambda: subprocess.run(["umount", "-l", str(d)], check=True))
    subprocess.run(["mount", "--make-shared", str(d)], check=True)
    return d


def opt_fields(line):
    return {o.split(":")[0] for o in line[6:line.index("-")]}


# value: (what "/" shows, what the /dev tmpfs on it shows) in the container's mountinfo.
# Compared on this host: runc 1.1.5 gives the same for (r)slave and private but leaves
# / bindable under "unbindable", shows nothing under rshared and fails runbindable (its
# rootfs bind comes after); crun 1.8.1 gives the same for unbindable, shared on / and
# /dev (no master: its root is private first) for rshared, nothing for rslave, and
# fails runbindable too. The master under (r)shared is berth's: the host's mounts
# still reach the container, the container's never reach the host.
PROPAGATION = {
    "shared": ({"shared", "master"}, set()),
    "rshared": ({"shared", "master"}, {"shared"}),
    "slave": ({"master"}, set()),
    "rslave": ({"master"}, set()),
    "private": (set(), set()),
    "rprivate": (set(), set()),
    "unbindable": ({"unbindable"}, set()),
    "runbindable": ({"unbindable"}, {"unbindable"}),
}


@pytest.mark.parametrize("value", sorted(PROPAGATION))
def test_rootfs_propagation_values(rtenv, value):
    """Each rootfsPropagation value is on the container's / after pivot_root (and, in
    its r* form, on the mounts below it); the root of a slave stays the slave of the
    host's mount; and whatever the value, nothing the container mounts reaches the
    host (its root is on a shared host mount here)."""
    d = shared_host_dir(rtenv)
    b = rtenv.bundle("cat", "/proc/self/mountinfo", name=f"shared/b-{value}")
    with rtenv.config(b) as c:
        c["linux"]["rootfsPropagation"] = value
    before = my_mounts(rtenv)
    r = rtenv.rt("run", "--bundle", b, rtenv.cid()).ok()
    assert my_mounts(rtenv) == before, "the host's mount table changed"
    root, dev = mountinfo_line(r.stdout, "/"), mountinfo_line(r.stdout, "/dev")
    want_root, want_dev = PROPAGATION[value]
    assert root and dev, repr(r)
    assert opt_fields(root) == want_root, (value, root)
    assert opt_fields(dev) == want_dev, (value, dev)
    assert str(d)  # the shared dir stays mounted until the test's cleanup


@pytest.mark.parametrize("edit", ["other-args-env", "broken-json", "deleted"])
def test_config_fixed_at_create(rtenv, edit):
    """What start runs (and exec's defaults, and delete's poststop hooks) is what the
    config said at create: a later edit of the bundle's config.json, a broken one or
    none at all changes nothing."""
    hookout = rtenv.path("poststop.out")
    b = rtenv.bundle("sh", "-c", "echo ran-original FOO=$FOO; sleep 60")
    with rtenv.config(b) as c:
        c["process"]["env"].append("FOO=create-time")
        c["hooks"] = {"poststop": [{"path": "/bin/sh",
                                    "args": ["sh", "-c", f"echo original-hook >> {hookout}"]}]}
    cid = rtenv.cid()
    out = rtenv.path(f"ctr-{edit}.out")
    rtenv.rt("create", "--bundle", b, cid, stdout_path=out).ok()
    cfg = b / "config.json"
    if edit == "other-args-env":
        with rtenv.config(b) as c:
            c["process"]["args"] = ["sh", "-c", "echo ran-edited FOO=$FOO"]
            c["process"]["env"] = [e for e in c["process"]["env"] if not e.startswith("FOO=")]
            c["process"]["env"].append("FOO=edited")
            c["hooks"] = {"poststop": [{"path": "/bin/sh", "args": [
                "sh", "-c", f"echo edited-hook >> {hookout}"]}]}
    elif edit == "broken-json":
        cfg.write_text('{"ociVersion": "1.0.2", "process": {')
    else:
        cfg.unlink()
    try:
        rtenv.rt("start", cid).ok()
        r = rtenv.rt("exec", cid, "sh", "-c", "echo exec-FOO=$FOO").ok()
        assert "exec-FOO=create-time" in r.stdout, repr(r)
        rtenv.wait_status(cid, "running")
    finally:
        rtenv.rt("delete", "--force", cid).ok()
    text = out.read_text()
    assert "ran-original FOO=create-time" in text and "ran-edited" not in text, text
    assert hookout.read_text() == "original-hook\n"


def without_mntns(c):
    """The config minus its mount namespace and everything that would mount."""
    c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "mount"]
    c["mounts"] = []
    for k in ("maskedPaths", "readonlyPaths", "devices", "rootfsPropagation"):
        c["linux"].pop(k, None)
    c["root"]["readonly"] = False


def test_no_mount_namespace_is_a_chroot(rtenv):
    """No mount namespace (the spec allows it): the container shares the runtime's
    mount namespace, its root is root.path as a chroot (as runc and crun do), exec gets
    the same root, and the host's mount table is untouched (nothing mounted, no
    propagation changed)."""
    b = rtenv.bundle("sh", "-c", "cat /marker; test -e /proc/self || echo no-proc; "
                     "test -e /bin/busybox && echo has-busybox; sleep 60")
    (b / "rootfs" / "marker").write_text("in-the-rootfs\n")
    rtenv.edit(b, without_mntns)
    before = my_mounts(rtenv)
    cid = rtenv.cid()
    out = rtenv.path("ctr.out")
    rtenv.rt("run", "--detach", "--bundle", b, cid, stdout_path=out).ok()
    try:
        pid = rtenv.state(cid)["pid"]
        assert os.readlink(f"/proc/{pid}/ns/mnt") == os.readlink("/proc/self/ns/mnt")
        assert os.readlink(f"/proc/{pid}/root") == str(b / "rootfs")
        r = rtenv.rt("exec", cid, "sh", "-c", "cat /marker; pwd").ok()
        assert r.stdout.splitlines() == ["in-the-rootfs", "/"], repr(r)
        assert my_mounts(rtenv) == before
    finally:
        rtenv.rt("delete", "--force", cid).ok()
    text = out.read_text()
    assert "in-the-rootfs" in text and "no-proc" in text and "has-busybox" in text, text


@pytest.mark.parametrize("field", ["mounts", "linux.maskedPaths", "root.readonly",
                                   "linux.rootfsPropagation"])
def test_no_mount_namespace_refuses_what_would_mount_on_the_host(rtenv, field):
    b = rtenv.bundle("true")

    def edit(c):
        keep = {"mounts": c["mounts"], "linux.maskedPaths": c["linux"].get("maskedPaths")}
        without_mntns(c)
        if field == "mounts":
            c["mounts"] = keep["mounts"]
        elif field == "linux.maskedPaths":
            c["linux"]["maskedPaths"] = keep["linux.maskedPaths"]
        elif field == "root.readonly":
            c["root"]["readonly"] = True
        else:
            c["linux"]["rootfsPropagation"] = "rprivate"
    rtenv.edit(b, edit)
    one_error_line(rtenv.rt("run", "--bundle", b, rtenv.cid()), field, "mount namespace")
