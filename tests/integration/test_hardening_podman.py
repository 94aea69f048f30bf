"""Podman driving berth-runtime (--runtime, release build), with a private podman store
(--root/--runroot in a temp dir) and an image imported from a busybox rootfs tar."""
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid

import pytest

from conftest import run_in_script, missing_tool, need

import conftest
from hardening_helpers import V1
from runtime_helpers import MAKE_BUNDLE, need_root

IMG = "localhost/berth-hardening-busybox:1"
ULIMITS = ["--network", "none", "--ulimit", "nofile=1024:1024",
           "--ulimit", "nproc=1024:1024"]


class Podman:
    def __init__(self, tmp, runtime):
        self.tmp, self.runtime = tmp, runtime
        self.base = ["podman", "--root", f"{tmp}/storage", "--runroot", f"{tmp}/run",
                     "--tmpdir", f"{tmp}/tmpdir", "--cgroup-manager", "cgroupfs",
                     "--events-backend", "file", "--runtime", str(runtime)]
        self.names = []

    def __call__(self, *args, check=True, timeout=90, **kw):
        # conmon writes files (e.g. "oom" after an OOM kill) into its cwd:
        # keep them in the test's temporary directory.
        kw.setdefault("cwd", self.tmp)
        r = subprocess.run(self.base + [str(a) for a in args], capture_output=True,
                           text=True, timeout=timeout, stdin=subprocess.DEVNULL, **kw)
        if check:
            assert r.returncode == 0, f"podman {args}: exit {r.returncode}\n{r.stderr}"
        return r

    def name(self):
        n = f"bh-{uuid.uuid4().hex[:8]}"
        self.names.append(n)
        return n

    def inspect(self, name):
        return json.loads(self("inspect", name).stdout)[0]

    def status(self, name):
        return self.inspect(name)["State"]["Status"]

    def wait_status(self, name, want, timeout=20):
        deadline = time.monotonic() + timeout
        st = None
        while time.monotonic() < deadline:
            st = self.status(name)
            if st == want:
                return
            time.sleep(0.1)
        raise AssertionError(f"{name}: status {st}, wanted {want}")


def mounts_under(path):
    with open("/proc/self/mountinfo") as f:
        return [ln.split()[4] for ln in f if str(path) in ln.split()[4]]


@pytest.fixture(scope="module")
def podman():
    need_root()
    if not shutil.which("podman"):
        pytest.skip("podman is not installed")
    runtime = (conftest.RELEASE / "bin" / "berth-runtime").resolve()
    if not runtime.exists():
        pytest.fail(f"{runtime} is not built")
    tmp = tempfile.mkdtemp(prefix="berth-podman-", dir="/tmp")
    os.makedirs(f"{tmp}/tmpdir")
    p = Podman(tmp, runtime)
    try:
        r = subprocess.run(["bash", str(MAKE_BUNDLE), f"{tmp}/b"], capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        subprocess.run(["tar", "-C", f"{tmp}/b/rootfs", "-cf", f"{tmp}/rootfs.tar", "."],
                       check=True)
        r = p("import", f"{tmp}/rootfs.tar", IMG, check=False)
        if r.returncode != 0:
            pytest.skip(f"podman cannot import an image here: {r.stderr.strip()}")
        yield p
    finally:
        leftover = p("ps", "-a", "--format", "{{.Names}}", check=False).stdout.split()
        p("rm", "-af", "-t", "0", check=False)
        p("rmi", "-af", check=False)
        for mp in reversed(mounts_under(tmp)):
            subprocess.run(["umount", "-l", mp], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
        problems = []
        if leftover:
            problems.append(f"podman containers left: {leftover}")
        if mounts_under(tmp):
            problems.append(f"mounts left: {mounts_under(tmp)}")
        if problems:
            pytest.fail("; ".join(problems))


def test_podman_run_output_and_exit_status(podman):
    r = podman("run", "--rm", *ULIMITS, IMG, "sh", "-c", "echo hi; exit 7", check=False)
    assert r.returncode == 7, r.stderr
    assert r.stdout == "hi\n"


def test_podman_run_detached_logs_exec_stop_rm(podman):
    n = podman.name()
    podman("run", "-d", "--name", n, *ULIMITS, IMG, "sh", "-c",
           "echo logged; trap 'exit 0' TERM; while :; do sleep 0.1; done")
    try:
        info = podman.inspect(n)
        assert info["State"]["Status"] == "running"
        assert info["OCIRuntime"] == str(podman.runtime), info["OCIRuntime"]
        deadline = time.monotonic() + 10
        while "logged" not in podman("logs", n).stdout and time.monotonic() < deadline:
            time.sleep(0.1)
        assert podman("logs", n).stdout == "logged\n"
        r = podman("exec", n, "sh", "-c", "echo from-exec $$; exit 3", check=False)
        assert r.returncode == 3 and r.stdout.startswith("from-exec "), r
        r = podman("exec", n, "cat", "/proc/1/cmdline")
        assert r.stdout.startswith("sh\0-c"), r.stdout
        podman("stop", "-t", "5", n)
        assert podman.status(n) == "exited"
        assert podman.inspect(n)["State"]["ExitCode"] == 0
    finally:
        podman("rm", "-f", "-t", "0", n)
    assert podman("ps", "-a", "-q", "--filter", f"name={n}").stdout.strip() == ""


def test_podman_kill(podman):
    n = podman.name()
    podman("run", "-d", "--name", n, *ULIMITS, IMG, "sleep", "100")
    try:
        podman("kill", n)
        podman.wait_status(n, "exited")
        assert podman.inspect(n)["State"]["ExitCode"] == 137
    finally:
        podman("rm", "-f", "-t", "0", n)


def test_podman_pause_unpause(podman):
    n = podman.name()
    podman("run", "-d", "--name", n, *ULIMITS, IMG, "sleep", "100")
    try:
        podman("pause", n)
        assert podman.status(n) == "paused"
        r = podman("exec", n, "true", check=False)
        assert r.returncode != 0  # podman refuses exec into a paused container
        podman("unpause", n)
        assert podman.status(n) == "running"
        assert podman("exec", n, "echo", "alive").stdout == "alive\n"
    finally:
        podman("rm", "-f", "-t", "0", n)


def test_podman_tty(podman):
    need(missing_tool("script", "bsdutils"))
    cmd = " ".join(podman.base + ["run", "-it", "--rm", *ULIMITS, IMG, "sh", "-c",
                                  "'tty; stty size; echo tty-done'"])
    r = run_in_script(f"stty rows 33 cols 99; {cmd}", timeout=60, cwd=podman.tmp)
    assert r.returncode == 0, r
    out = r.stdout.replace("\r", "")
    assert "/dev/pts/0" in out, out
    assert "tty-done" in out, out
    assert "33 99" in out, out


@V1
def test_podman_memory_and_pids_limits(podman):
    r = podman("run", "--rm", *ULIMITS, "--memory", "64m", "--pids-limit", "30", IMG,
               "sh", "-c", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes "
               "/sys/fs/cgroup/pids/pids.max")
    assert r.stdout.split() == [str(64 << 20), "30"], r.stdout
    # enforced: 100 MiB of anonymous memory under a 64 MiB limit (no swap) is killed
    r = podman("run", "--rm", *ULIMITS, "--memory", "64m", "--memory-swap", "64m", IMG,
               "sh", "-c", f"{conftest.OOM_ALLOC_100M}; echo rc=$?")
    assert "rc=137" in r.stdout, r
    r = podman("run", "--rm", *ULIMITS, "--pids-limit", "30", IMG, "sh", "-c",
               "sh -c 'i=0; while [ $i -lt 60 ]; do sleep 10 & i=$((i+1)); done' "
               "2>/dev/null; read n < /sys/fs/cgroup/pids/pids.current; echo current=$n")
    # builtins only after the bomb (no fork left): 30 processes at most, and the bomb
    # did hit the limit (about 30, not 61)
    n = int(r.stdout.split("current=")[1])
    assert 20 <= n <= 30, r.stdout


@V1
def test_podman_update(podman):
    r = podman("update", "--help", check=False)
    if r.returncode != 0:
        pytest.skip(f"this podman has no `podman update`: {r.stderr.strip()}")
    n = podman.name()
    podman("run", "-d", "--name", n, *ULIMITS, "--memory", "64m", IMG, "sleep", "100")
    try:
        r = podman("update", "--memory", "96m", n, check=False)
        assert r.returncode == 0, r.stderr
        r = podman("exec", n, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes")
        assert r.stdout.strip() == str(96 << 20)
    finally:
        podman("rm", "-f", "-t", "0", n)


def test_podman_uidmap(podman):
    r = podman("run", "--rm", *ULIMITS, "--uidmap", "0:200000:65536", "--gidmap",
               "0:200000:65536", IMG, "sh", "-c", "id -u; cat /proc/self/uid_map")
    lines = r.stdout.splitlines()
    assert lines[0] == "0"
    assert lines[1].split() == ["0", "200000", "65536"]


def test_podman_security_options(podman):
    r = podman("run", "--rm", *ULIMITS, "--read-only", "--cap-drop", "all",
               "--security-opt", "no-new-privileges", "--user", "65534:65534", IMG,
               "sh", "-c", "id -u; grep -E '^(CapEff|NoNewPrivs|Seccomp):' "
               "/proc/self/status; touch /x 2>&1; true")
    out = r.stdout
    assert out.splitlines()[0] == "65534"
    assert "CapEff:\t0000000000000000" in out, out
    assert "NoNewPrivs:\t1" in out, out
    assert "Seccomp:\t2" in out, out  # podman's default seccomp profile
    assert "Read-only file system" in out or "Permission denied" in out, out


def test_podman_seccomp_profile_applied(podman):
    """Podman's default profile is loaded (Seccomp: 2); seccomp=unconfined gives none;
    a custom profile from podman denying mkdir works through berth-runtime."""
    cmd = ["grep", "Seccomp:", "/proc/self/status"]
    r = podman("run", "--rm", *ULIMITS, IMG, *cmd)
    assert r.stdout.split() == ["Seccomp:", "2"], r.stdout
    r = podman("run", "--rm", *ULIMITS, "--security-opt", "seccomp=unconfined", IMG, *cmd)
    assert r.stdout.split() == ["Seccomp:", "0"], r.stdout
    prof = f"{podman.tmp}/seccomp.json"
    with open(prof, "w") as f:
        json.dump({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]},
            f)
    r = podman("run", "--rm", *ULIMITS, "--security-opt", f"seccomp={prof}", IMG, "sh",
               "-c", "mkdir /tmp/x; echo rc=$?")
    assert "rc=1" in r.stdout and "Function not implemented" in r.stderr, r


@V1
def test_podman_cpus(podman):
    r = podman("run", "--rm", *ULIMITS, "--cpus", "0.5", IMG, "sh", "-c",
               "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us")
    assert r.stdout.split() == ["50000", "100000"], r.stdout


def test_podman_exec_tty(podman):
    need(missing_tool("script", "bsdutils"))
    n = podman.name()
    podman("run", "-d", "--name", n, *ULIMITS, IMG, "sleep", "100")
    try:
        cmd = " ".join(podman.base + ["exec", "-it", n, "sh", "-c", "'tty; echo exec-done'"])
        r = run_in_script(cmd, timeout=60, cwd=podman.tmp)
        out = r.stdout.replace("\r", "")
        assert r.returncode == 0, r
        assert "/dev/pts/" in out and "exec-done" in out, out
    finally:
        podman("rm", "-f", "-t", "0", n)
