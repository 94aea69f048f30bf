"""berth-runtime seccomp through real containers: errno rules, an allowlist, kill_process,
notify with a listenerPath agent, argument conditions, the filter on exec'd processes."""
import json
import os
import socket
import threading

from hardening_helpers import hardening_rtenv  # noqa: F401
from hardening_helpers import start_detached

ARCHES = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]

# syscalls busybox sh/echo/touch/ls and the runtime's last steps before execve need
ALLOW = """read write open openat openat2 close stat fstat lstat newfstatat statx poll ppoll
lseek mmap mprotect munmap brk rt_sigaction rt_sigprocmask rt_sigreturn ioctl pread64
readv writev access pipe pipe2 dup dup2 dup3 getpid getppid gettid getuid geteuid getgid
getegid getresuid getresgid getgroups fcntl execve execveat exit exit_group wait4 waitid
clone clone3 fork vfork uname arch_prctl set_tid_address set_robust_list prlimit64 getrlimit
setrlimit getrandom rseq futex getcwd chdir fchdir capget capset setgroups setuid setgid
setresuid setresgid prctl close_range sched_getaffinity sched_yield getdents getdents64
readlink readlinkat faccessat faccessat2 sigaltstack kill tgkill tkill getpgrp getpgid
setpgid setsid sysinfo time gettimeofday clock_gettime clock_nanosleep nanosleep umask
utimensat utimes futimesat fchown fchownat fchmod fchmodat chmod chown lchown unlink unlinkat
rename renameat renameat2 creat madvise mremap membarrier select pselect6 epoll_create1
epoll_ctl epoll_wait epoll_pwait alarm setitimer getitimer""".split()


def seccomp(default="SCMP_ACT_ALLOW", syscalls=(), **kw):
    d = {"defaultAction": default, "architectures": ARCHES, "syscalls": list(syscalls)}
    d.update(kw)
    return d


def with_seccomp(env, b, profile):
    with env.config(b) as c:
        c["linux"]["seccomp"] = profile


def test_errno_rule_for_mkdir(rtenv):
    b = rtenv.bundle("sh", "-c", "mkdir /dev/shm/x; echo mkdir=$?; "
                     "touch /dev/shm/y && echo touch-ok; ls -d /dev/shm/x 2>&1; true")
    with_seccomp(rtenv, b, seccomp(syscalls=[
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]))
    r = rtenv.rt("run", "--bundle", b, rtenv.cid()).ok()
    assert "Function not implemented" in r.stderr, repr(r)
    assert "mkdir=1" in r.stdout and "touch-ok" in r.stdout, repr(r)
    assert "No such file" in r.stdout, repr(r)


def test_errno_rule_default_eperm(rtenv):
    """errnoRet absent: the errno is EPERM (runc and the spec's default)."""
    b = rtenv.bundle("sh", "-c", "mkdir /dev/shm/x")
    with_seccomp(rtenv, b, seccomp(syscalls=[
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]))
    r = rtenv.rt("run", "--bundle", b, rtenv.cid())
    assert r.returncode == 1 and "Operation not permitted" in r.stderr, repr(r)


def test_default_errno_with_allowlist(rtenv):
    b = rtenv.bundle("sh", "-c", "echo hello; touch /dev/shm/f && echo touch-ok; "
                     "mkdir /dev/shm/d; echo mkdir=$?; hostname x; echo hostname=$?")
    with_seccomp(rtenv, b, seccomp(default="SCMP_ACT_ERRNO", defaultErrnoRet=1, syscalls=[
        {"names": ALLOW, "action": "SCMP_ACT_ALLOW"}]))
    r = rtenv.rt("run", "--bundle", b, rtenv.cid()).ok()
    assert "hello" in r.stdout and "touch-ok" in r.stdout, repr(r)
    assert "mkdir=1" in r.stdout and "hostname=1" in r.stdout, repr(r)
    assert "Operation not permitted" in r.stderr, repr(r)


def test_kill_process_action(rtenv):
    b = rtenv.bundle("sh", "-c", "echo before; exec mkdir /dev/shm/x")
    with_seccomp(rtenv, b, seccomp(syscalls=[
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_KILL_PROCESS"}]))
    r = rtenv.rt("run", "--bundle", b, rtenv.cid())
    assert r.returncode == 128 + 31, repr(r)  # SIGSYS
    assert "before" in r.stdout


def test_trap_and_kill_thread_actions(rtenv):
    for action in ("SCMP_ACT_TRAP", "SCMP_ACT_KILL"):
        b = rtenv.bundle("sh", "-c", "exec mkdir /dev/shm/x")
        with_seccomp(rtenv, b, seccomp(syscalls=[
            {"names": ["mkdir", "mkdirat"], "action": action}]))
        r = rtenv.rt("run", "--bundle", b, rtenv.cid())
        assert r.returncode == 128 + 31, (action, r)


def test_argument_condition_personality(rtenv):
    """personality(PER_LINUX32 = 8) denied, personality(PER_LINUX = 0) allowed."""
    b = rtenv.bundle("sh", "-c", "linux64 true; echo l64=$?; linux32 true; echo l32=$?")
    with_seccomp(rtenv, b, seccomp(syscalls=[
        {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
         "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}]))
    r = rtenv.rt("run", "--bundle", b, rtenv.cid()).ok()
    assert "l64=0" in r.stdout, repr(r)
    assert "l32=1" in r.stdout and "Operation not permitted" in r.stderr, repr(r)


def test_masked_eq_condition(rtenv):
    """SCMP_CMP_MASKED_EQ: deny clone with CLONE_NEWUSER (0x10000000) in its flags:
    unshare -U fails, a plain fork works."""
    b = rtenv.bundle("sh", "-c", "unshare -U true; echo userns=$?; (true); echo fork=$?")
    with_seccomp(rtenv, b, seccomp(syscalls=[
        {"names": ["unshare"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
         "args": [{"index": 0, "value": 0x10000000, "valueTwo": 0x10000000,
                   "op": "SCMP_CMP_MASKED_EQ"}]}]))
    with rtenv.config(b) as c:
        c["process"]["capabilities"]["bounding"].append("CAP_SYS_ADMIN")
        c["process"]["capabilities"]["effective"].append("CAP_SYS_ADMIN")
        c["process"]["capabilities"]["permitted"].append("CAP_SYS_ADMIN")
    r = rtenv.rt("run", "--bundle", b, rtenv.cid()).ok()
    assert "userns=1" in r.stdout and "fork=0" in r.stdout, repr(r)


def test_exec_gets_the_same_filter(rtenv):
    b = rtenv.bundle("sleep", "100")
    with_seccomp(rtenv, b, seccomp(syscalls=[
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]))
    cid = start_detached(rtenv, b)
    try:
        r = rtenv.rt("exec", cid, "grep", "Seccomp:", "/proc/self/status").ok()
        assert r.stdout.split() == ["Seccomp:", "2"], repr(r)
        r = rtenv.rt("exec", cid, "mkdir", "/dev/shm/x")
        assert r.returncode == 1 and "Function not implemented" in r.stderr, repr(r)
        r = rtenv.rt("exec", cid, "grep", "Seccomp:", "/proc/1/status").ok()
        assert r.stdout.split() == ["Seccomp:", "2"], repr(r)
    finally:
        rtenv.rt("delete", "--force", cid).ok()


def test_no_seccomp_section_means_no_filter(rtenv):
    b = rtenv.bundle("grep", "Seccomp:", "/proc/self/status")
    with rtenv.config(b) as c:
        c["linux"].pop("seccomp", None)
    r = rtenv.rt("run", "--bundle", b, rtenv.cid()).ok()
    assert r.stdout.split() == ["Seccomp:", "0"]


def test_notify_listener_gets_state_and_fd(rtenv):
    sock_path = str(rtenv.path("agent.sock"))
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sock_path)
    srv.listen(1)
    srv.settimeout(30)
    got = {}

    def agent():
        try:
            conn, _ = srv.accept()
            with conn:
                msg, fds, _flags, _addr = socket.recv_fds(conn, 65536, 4)
                got["msg"], got["fds"] = msg, fds
                got["fd_is_seccomp"] = [os.readlink(f"/proc/self/fd/{fd}") for fd in fds]
                for fd in fds:  # not answering: the notified syscall returns ENOSYS
                    os.close(fd)
        except Exception as ex:  # noqa: BLE001
            got["error"] = repr(ex)

    t = threading.Thread(target=agent, daemon=True)
    t.start()
    b = rtenv.bundle("sh", "-c", "mkdir /dev/shm/x; echo mkdir=$?; echo after")
    with_seccomp(rtenv, b, seccomp(listenerPath=sock_path, listenerMetadata="hello-agent",
                                   syscalls=[{"names": ["mkdir", "mkdirat"],
                                              "action": "SCMP_ACT_NOTIFY"}]))
    cid = rtenv.cid()
    try:
        r = rtenv.rt("run", "--bundle", b, cid, timeout=40)
        t.join(10)
    finally:
        srv.close()
    assert "error" not in got, got
    assert got.get("fds"), f"agent got no fd: {got} {r!r}"
    assert len(got["fds"]) == 1
    assert "seccomp" in got["fd_is_seccomp"][0], got
    st = json.loads(got["msg"])
    assert st["fds"] == ["seccompFd"], st
    assert isinstance(st["pid"], int) and st["pid"] > 0, st
    assert st["metadata"] == "hello-agent", st
    assert st["state"]["id"] == cid, st
    assert r.returncode == 0, repr(r)
    assert "mkdir=1" in r.stdout and "after" in r.stdout, repr(r)
    assert "Function not implemented" in r.stderr, repr(r)


def test_notify_without_listener_path_is_refused(rtenv):
    b = rtenv.bundle("true")
    with_seccomp(rtenv, b, seccomp(syscalls=[
        {"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]))
    r = rtenv.rt("run", "--bundle", b, rtenv.cid())
    assert r.returncode != 0 and "listenerPath" in r.stderr, repr(r)


def test_unknown_syscall_name_is_skipped_unknown_action_refused(rtenv):
    b = rtenv.bundle("sh", "-c", "echo ok")
    with_seccomp(rtenv, b, seccomp(syscalls=[
        {"names": ["no_such_syscall_xyz", "mkdir"], "action": "SCMP_ACT_ERRNO"}]))
    r = rtenv.rt("run", "--bundle", b, rtenv.cid())
    assert r.returncode == 0 and r.stdout == "ok\n", repr(r)
    b = rtenv.bundle("true")
    with_seccomp(rtenv, b, seccomp(syscalls=[
        {"names": ["mkdir"], "action": "SCMP_ACT_BOGUS"}]))
    r = rtenv.rt("run", "--bundle", b, rtenv.cid())
    assert r.returncode != 0 and "SCMP_ACT_BOGUS" in r.stderr, repr(r)


# struct seccomp_notif (80 bytes) / seccomp_notif_resp (24 bytes), <linux/seccomp.h>
SECCOMP_IOCTL_NOTIF_RECV = 0xC0502100
SECCOMP_IOCTL_NOTIF_SEND = 0xC0182101


def test_notify_agent_answers_syscall(rtenv):
    """The agent reads the notification (syscall nr, pid) and answers with its own
    errno (EXDEV): the container's mkdir fails with exactly that."""
    import fcntl
    import struct
    sock_path = str(rtenv.path("agent.sock"))
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sock_path)
    srv.listen(1)
    srv.settimeout(30)
    got = {"nrs": []}

    def agent():
        try:
            conn, _ = srv.accept()
            with conn:
                _msg, fds, _f, _a = socket.recv_fds(conn, 65536, 4)
            fd = fds[0]
            try:
                while True:
                    buf = bytearray(80)
                    try:
                        fcntl.ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, buf, True)
                    except OSError:
                        break  # the filter's last user is gone
                    nid, pid, _flags, nr = struct.unpack_from("<QIIi", buf)
                    got["nrs"].append(nr)
                    got["pid"] = pid
                    resp = bytearray(struct.pack("<QqiI", nid, 0, -18, 0))  # -EXDEV
                    fcntl.ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, resp, True)
            finally:
                os.close(fd)
        except Exception as ex:  # noqa: BLE001
            got["error"] = repr(ex)

    t = threading.Thread(target=agent, daemon=True)
    t.start()
    b = rtenv.bundle("sh", "-c", "mkdir /dev/shm/x; echo mkdir=$?; ls /dev/shm")
    with_seccomp(rtenv, b, seccomp(listenerPath=sock_path, syscalls=[
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]))
    try:
        r = rtenv.rt("run", "--bundle", b, rtenv.cid(), timeout=40)
        t.join(10)
    finally:
        srv.close()
    assert "error" not in got, got
    assert r.returncode == 0, repr(r)
    assert "Invalid cross-device link" in r.stderr, repr(r)
    assert "mkdir=1" in r.stdout and "x" not in r.stdout.split(), repr(r)
    assert got["nrs"] and set(got["nrs"]) <= {83, 258}, got  # x86_64 mkdir, mkdirat


def test_log_action_allows(rtenv):
    b = rtenv.bundle("sh", "-c", "mkdir /dev/shm/x && echo made")
    with_seccomp(rtenv, b, seccomp(syscalls=[
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_LOG"}]))
    r = rtenv.rt("run", "--bundle", b, rtenv.cid()).ok()
    assert r.stdout == "made\n"


def test_trace_without_tracer_is_enosys(rtenv):
    b = rtenv.bundle("sh", "-c", "mkdir /dev/shm/x; echo rc=$?")
    with_seccomp(rtenv, b, seccomp(syscalls=[
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_TRACE", "errnoRet": 1}]))
    r = rtenv.rt("run", "--bundle", b, rtenv.cid()).ok()
    assert "rc=1" in r.stdout and "Function not implemented" in r.stderr, repr(r)


def test_seccomp_with_no_new_privileges_false_as_root(rtenv):
    """noNewPrivileges false: the filter still loads (root has CAP_SYS_ADMIN while the
    runtime sets it up) and NoNewPrivs stays 0 in the container."""
    b = rtenv.bundle("sh", "-c", "grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status; "
                     "mkdir /dev/shm/x 2>&1; true")
    with rtenv.config(b) as c:
        c["process"]["noNewPrivileges"] = False
    with_seccomp(rtenv, b, seccomp(syscalls=[
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]))
    r = rtenv.rt("run", "--bundle", b, rtenv.cid()).ok()
    assert "NoNewPrivs:\t0" in r.stdout and "Seccomp:\t2" in r.stdout, repr(r)
    assert "Function not implemented" in r.stdout, repr(r)
