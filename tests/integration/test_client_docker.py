"""dockerd (Debian's docker.io, a private daemon in a temp dir) running containers through
berth-runtime as its "berth" runtime: run and its exit codes, -d, exec, logs, stop, kill,
pause/unpause, update, stats, -it, --memory (OOM), --pids-limit, restart.

The daemon gets its own data-root, exec-root, socket, pidfile and cgroup parent, no
bridge, no iptables, and starts its own containerd; the fixture stops it and removes
everything it made (shims, mounts under the temp dir, the cgroup parent)."""
import glob
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
import uuid

import pytest

import conftest
from conftest import OOM_ALLOC_100M, cgroup_mode, missing_root, need, run_in_script
from engine_helpers import rootfs_tar
from runtime_helpers import mounts_under, pids_mentioning

IMG = "berth-test/busybox:1"
CGROOT = "/sys/fs/cgroup"


def docker_archive(path):
    """A `docker save` archive of the busybox image (manifest.json, config, one layer)."""
    layer = rootfs_tar()
    diff = hashlib.sha256(layer).hexdigest()
    cfg = json.dumps({"architecture": "amd64", "os": "linux",
                      "config": {"Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": ["sh"]},
                      "rootfs": {"type": "layers", "diff_ids": ["sha256:" + diff]}}).encode()
    cfg_name = hashlib.sha256(cfg).hexdigest() + ".json"
    manifest = json.dumps([{"Config": cfg_name, "RepoTags": [IMG],
                            "Layers": [diff + "/layer.tar"]}]).encode()
    with tarfile.open(path, "w") as t:
        for name, data in ((cfg_name, cfg), (diff + "/layer.tar", layer),
                           ("manifest.json", manifest)):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))


class Docker:
    def __init__(self, cli, tmp, sock, runtime, parent):
        self.cli, self.tmp, self.runtime, self.parent = cli, tmp, runtime, parent
        self.env = dict(os.environ, DOCKER_HOST=f"unix://{sock}",
                        DOCKER_CONFIG=f"{tmp}/cli")

    def __call__(self, *args, check=True, timeout=120):
        r = subprocess.run([self.cli, *[str(a) for a in args]], capture_output=True, text=True,
                           timeout=timeout, stdin=subprocess.DEVNULL, env=self.env)
        if check:
            assert r.returncode == 0, f"docker {args}: exit {r.returncode}\n{r.stderr}"
        return r

    def run(self, *args, check=False, timeout=120):
        """`docker run --runtime berth --network none ...` (the image and command in args)."""
        return self("run", "--runtime", "berth", "--network", "none", *args, check=check,
                    timeout=timeout)

    def start_d(self, *args):
        r = self.run("-d", *args, check=True)
        return r.stdout.strip()

    def inspect(self, cid):
        return json.loads(self("inspect", cid).stdout)[0]

    def wait_for(self, cid, pred, what, timeout=30):
        deadline = time.monotonic() + timeout
        st = None
        while time.monotonic() < deadline:
            st = self.inspect(cid)
            if pred(st):
                return st
            time.sleep(0.1)
        raise AssertionError(f"{cid[:12]}: never {what}: {json.dumps(st['State'])}")

    def state_dir(self, cid):
        """berth-runtime's state directory of a container (under the --root the shim
        passes): cgroup.json there is berth's own file (runc keeps state.json only)."""
        found = glob.glob(f"{self.tmp}/exec/runtime-*/moby/{cid}")
        return found[0] if found else None

    def assert_berth(self, cid):
        st = self.inspect(cid)
        assert st["HostConfig"]["Runtime"] == "berth", st["HostConfig"]["Runtime"]
        d = self.state_dir(cid)
        assert d and os.path.exists(f"{d}/cgroup.json"), \
            f"no berth-runtime state for {cid[:12]}: {glob.glob(self.tmp + '/exec/runtime-*/*/*')}"
        # the container's process sits in the cgroup berth-runtime made for it
        with open(f"/proc/{st['State']['Pid']}/cgroup") as f:
            assert f"{self.parent}/{cid}" in f.read()
        return st


def cgroup_file(pid, v1_ctrl, v1_file, v2_file):
    """A limit file of the cgroup `pid` is in, read on the host (v1 or hybrid: the
    controller's hierarchy; v2: the unified tree)."""
    with open(f"/proc/{pid}/cgroup") as f:
        lines = [ln.rstrip("\n").split(":", 2) for ln in f]
    if cgroup_mode() == "v2":
        path = next(p for h, c, p in lines if h == "0")
        return open(f"{CGROOT}{path}/{v2_file}").read().strip()
    for _, ctrls, path in lines:
        if v1_ctrl in ctrls.split(","):
            return open(f"{CGROOT}/{ctrls}{path}/{v1_file}").read().strip()
    raise AssertionError(f"no v1 {v1_ctrl} hierarchy for pid {pid}")


# What dockerd makes outside its data-root and exec-root whatever its flags: a trust key
# and an empty plugin directory. The fixture removes those it found absent.
HOST_LEFTOVERS = ["/etc/docker/key.json", "/run/docker/plugins", "/run/docker"]


def _remove_new(absent):
    for p in absent:
        try:
            os.rmdir(p) if os.path.isdir(p) else os.unlink(p)
        except FileNotFoundError:
            pass
        except OSError:
            pass  # another daemon uses it now


def _stop_daemon(daemon):
    daemon.send_signal(signal.SIGTERM)
    try:
        daemon.wait(60)
    except subprocess.TimeoutExpired:
        daemon.kill()
        daemon.wait()


@pytest.fixture(scope="module")
def docker():
    need(missing_root())
    for tool, pkg in (("dockerd", "docker.io"), ("containerd", "containerd"),
                      ("containerd-shim-runc-v2", "containerd")):
        if not shutil.which(tool):
            pytest.skip(f"needs {tool} (apt-get install {pkg})")
    # the client that comes with dockerd (another docker may come first in PATH)
    cli = "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else shutil.which("docker")
    if not cli:
        pytest.skip("needs the docker client (apt-get install docker.io)")
    if cgroup_mode() is None:
        pytest.skip("dockerd needs cgroups: none are mounted")
    runtime = conftest.binary("berth-runtime").resolve()
    absent = [p for p in HOST_LEFTOVERS if not os.path.exists(p)]
    tmp = tempfile.mkdtemp(prefix="bdk-", dir="/tmp")  # short: socket paths
    sock = f"{tmp}/d.sock"
    parent = f"/berth-docker-{uuid.uuid4().hex[:8]}"
    with open(f"{tmp}/daemon.json", "w") as f:
        json.dump({"runtimes": {"berth": {"path": str(runtime)}}}, f)
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=0")  # the ASan runtime under the shim
    log = open(f"{tmp}/dockerd.log", "w")
    daemon = subprocess.Popen(
        ["dockerd", "--config-file", f"{tmp}/daemon.json", "--data-root", f"{tmp}/data",
         "--exec-root", f"{tmp}/exec", "-H", f"unix://{sock}", "--pidfile", f"{tmp}/d.pid",
         "--bridge=none", "--iptables=false", "--ip6tables=false", "--ip-masq=false",
         "--userland-proxy=false", "--cgroup-parent", parent, "--exec-opt",
         "native.cgroupdriver=cgroupfs"],
        stdout=log, stderr=log, stdin=subprocess.DEVNULL, env=env, start_new_session=True)
    d = Docker(cli, tmp, sock, runtime, parent)
    problems = []
    try:
        deadline = time.monotonic() + 60
        while d("version", check=False, timeout=30).returncode != 0:
            if daemon.poll() is not None:
                pytest.skip("dockerd cannot start here: " +
                            open(f"{tmp}/dockerd.log").read()[-600:])
            assert time.monotonic() < deadline, open(f"{tmp}/dockerd.log").read()[-2000:]
            time.sleep(0.2)
        docker_archive(f"{tmp}/img.tar")
        d("load", "-i", f"{tmp}/img.tar")
        yield d
    finally:
        if daemon.poll() is None:
            left = d("ps", "-aq", check=False).stdout.split()
            if left:
                d("rm", "-f", *left, check=False)
            d("rmi", "-f", IMG, check=False)
            _stop_daemon(daemon)
        log.close()
        # containerd's shims outlive it by design: ours name the temp dir in their argv
        strays = pids_mentioning(tmp)
        for p in strays:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for mp in sorted(mounts_under(tmp), reverse=True):
            subprocess.run(["umount", "-l", mp], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
        _remove_new(absent)
        for cg in sorted(glob.glob(f"{CGROOT}/*{parent}") + glob.glob(f"{CGROOT}{parent}"),
                         reverse=True):
            for sub in glob.glob(f"{cg}/*/"):
                problems.append(f"cgroup left: {sub}")
            try:
                os.rmdir(cg)
            except OSError as ex:
                problems.append(f"cgroup {cg}: {ex}")
        if strays:
            problems.append(f"processes left after dockerd stopped: {strays}")
    if problems:
        pytest.fail("; ".join(problems))


def test_info_lists_berth(docker):
    info = json.loads(docker("info", "--format", "{{json .}}").stdout)
    assert "berth" in info["Runtimes"], info["Runtimes"]
    assert info["Runtimes"]["berth"]["path"] == str(docker.runtime)


def test_run_output_and_exit_codes(docker):
    r = docker.run("--rm", IMG, "sh", "-c", "echo hi; echo err >&2; exit 0")
    assert (r.returncode, r.stdout, r.stderr) == (0, "hi\n", "err\n"), r
    assert docker.run("--rm", IMG, "sh", "-c", "exit 1").returncode == 1
    # a process killed by SIGKILL: 128 + 9 (pid 1 itself cannot be killed from inside)
    r = docker.run("--rm", IMG, "sh", "-c", "sh -c 'kill -9 $$'; exit $?")
    assert r.returncode == 137, r
    r = docker.run("--rm", IMG, "nosuch-command")
    assert r.returncode == 127 and "executable file not found" in r.stderr, r
    r = docker.run("--rm", IMG, "/etc/passwd")
    assert r.returncode == 126 and "permission denied" in r.stderr, r
    # berth-runtime refuses the config (a sysctl this kernel lacks): docker's 125
    r = docker.run("--rm", "--sysctl", "net.ipv4.nosuch=1", IMG, "true")
    assert r.returncode == 125 and "linux.sysctl: net.ipv4.nosuch" in r.stderr, r
    assert docker("ps", "-aq").stdout.split() == []


def test_detached_exec_logs_stop(docker):
    cid = docker.start_d(IMG, "sh", "-c",
                         "trap 'echo got TERM; exit 0' TERM; echo started; "
                         "while true; do sleep 0.1; done")
    try:
        docker.assert_berth(cid)
        r = docker("exec", cid, "sh", "-c", "echo from exec; exit 7", check=False)
        assert (r.returncode, r.stdout) == (7, "from exec\n"), r
        # docker 20.10 answers a failed exec with 126 (runc's too), the cause in the text
        r = docker("exec", cid, "nosuch-command", check=False)
        assert r.returncode == 126 and "executable file not found" in r.stdout + r.stderr, r
        assert docker("exec", cid, "cat", "/proc/1/cmdline").stdout.startswith("sh")
        deadline = time.monotonic() + 10
        while "started" not in docker("logs", cid).stdout:
            assert time.monotonic() < deadline, "no log line"
            time.sleep(0.1)
        docker("stop", "-t", "10", cid)
        st = docker.inspect(cid)["State"]
        assert (st["Running"], st["ExitCode"]) == (False, 0), st
        assert docker("logs", cid).stdout == "started\ngot TERM\n"
        # delete ran: berth-runtime's state is gone
        assert docker.state_dir(cid) is None
    finally:
        docker("rm", "-f", cid, check=False)


def test_kill(docker):
    cid = docker.start_d(IMG, "sleep", "1000")
    try:
        docker.assert_berth(cid)
        docker("kill", cid)
        st = docker.wait_for(cid, lambda s: not s["State"]["Running"], "stopped")["State"]
        assert st["ExitCode"] == 137 and not st["OOMKilled"], st
    finally:
        docker("rm", "-f", cid, check=False)
    cid = docker.start_d(IMG, "sh", "-c", "trap 'exit 42' USR1; sleep 1000 & wait")
    try:
        docker.assert_berth(cid)
        docker("kill", "-s", "USR1", cid)
        st = docker.wait_for(cid, lambda s: not s["State"]["Running"], "stopped")["State"]
        assert st["ExitCode"] == 42, st
    finally:
        docker("rm", "-f", cid, check=False)


def test_pause_unpause(docker):
    cid = docker.start_d(IMG, "sleep", "1000")
    try:
        st = docker.assert_berth(cid)
        docker("pause", cid)
        assert docker.inspect(cid)["State"]["Status"] == "paused"
        if cgroup_mode() != "v2":
            assert cgroup_file(st["State"]["Pid"], "freezer", "freezer.state",
                               None) == "FROZEN"
        r = docker("exec", cid, "true", check=False, timeout=30)
        assert r.returncode != 0 and "paused" in r.stderr, r
        docker("unpause", cid)
        assert docker.inspect(cid)["State"]["Status"] == "running"
        assert docker("exec", cid, "echo", "back").stdout == "back\n"
    finally:
        docker("rm", "-f", cid, check=False)


def test_update_takes_effect(docker):
    cid = docker.start_d("--memory", "128m", IMG, "sleep", "1000")
    try:
        pid = docker.assert_berth(cid)["State"]["Pid"]
        docker("update", "--memory", "64m", "--memory-swap", "128m", "--pids-limit", "50",
               "--cpus", "0.5", cid)
        assert cgroup_file(pid, "memory", "memory.limit_in_bytes", "memory.max") == \
            str(64 << 20)
        assert cgroup_file(pid, "pids", "pids.max", "pids.max") == "50"
        if cgroup_mode() == "v2":
            assert cgroup_file(pid, "cpu", None, "cpu.max") == "50000 100000"
        else:
            assert cgroup_file(pid, "cpu", "cpu.cfs_quota_us", None) == "50000"
            assert cgroup_file(pid, "cpu", "cpu.cfs_period_us", None) == "100000"
            # shares 0 in the update is "unset": the default stays
            assert cgroup_file(pid, "cpu", "cpu.shares", None) == "1024"
        # a second update that changes only pids leaves memory and cpu as they are
        docker("update", "--pids-limit", "20", cid)
        assert cgroup_file(pid, "pids", "pids.max", "pids.max") == "20"
        assert cgroup_file(pid, "memory", "memory.limit_in_bytes", "memory.max") == \
            str(64 << 20)
        # and the limit holds inside: fork fails past 20 tasks
        r = docker("exec", cid, "sh", "-c",
                   "for i in $(seq 30); do sleep 30 >/dev/null 2>&1 & done", check=False)
        assert r.returncode != 0 and "can't fork" in r.stderr, r
    finally:
        docker("rm", "-f", cid, check=False)


def hybrid_hugetlb_unmounted():
    """dockerd 20.10 on a hybrid host without a v1 hugetlb hierarchy mounted
    read no memory stats and saw no OOM event here (passing with one mounted):
    the reason to skip, or None."""
    if not os.path.exists("/sys/fs/cgroup/unified/cgroup.controllers"):
        return None
    with open("/proc/self/mountinfo") as f:
        if any(" - cgroup " in ln and "hugetlb" in ln.split()[-1] for ln in f):
            return None
    return ("dockerd: hybrid cgroups without a v1 hugetlb hierarchy mounted: dockerd reads "
            "no memory stats or OOM events there")


def test_stats_no_stream(docker):
    need(hybrid_hugetlb_unmounted())
    cid = docker.start_d("--memory", "64m", IMG, "sleep", "1000")
    try:
        docker.assert_berth(cid)
        r = docker("stats", "--no-stream", "--format", "{{.MemUsage}}|{{.PIDs}}", cid)
        usage, pids = r.stdout.strip().split("|")
        assert usage.endswith("/ 64MiB") and pids == "1", r.stdout
    finally:
        docker("rm", "-f", cid, check=False)


def test_interactive_tty(docker):
    name = f"tty-{uuid.uuid4().hex[:6]}"
    line = (f"{docker.cli} run --name {name} -it --runtime berth --network none {IMG} "
            "sh -c 'tty; stty size; echo done; exit 3'")
    try:
        r = run_in_script(line, timeout=120, env=docker.env)
        out = r.stdout.replace("\r", "")
        assert "/dev/pts/0\n" in out and "\ndone\n" in out, (r.stdout, r.stderr)
        assert r.returncode == 3, (r.returncode, r.stdout)
        st = docker.inspect(name)
        assert st["HostConfig"]["Runtime"] == "berth" and st["Config"]["Tty"], st["Config"]
    finally:
        docker("rm", "-f", name, check=False)


def test_memory_oom_kill(docker):
    need(hybrid_hugetlb_unmounted())
    r = docker.run("--name", f"oom-{uuid.uuid4().hex[:6]}", "--memory", "32m",
                   "--memory-swap", "32m", IMG, "sh", "-c", f"{OOM_ALLOC_100M}; exit $?")
    name = next(n for n in docker("ps", "-a", "--format", "{{.Names}}").stdout.split()
                if n.startswith("oom-"))
    try:
        assert r.returncode == 137, r
        st = docker.inspect(name)
        assert st["HostConfig"]["Runtime"] == "berth"
        assert st["State"]["OOMKilled"] is True, st["State"]
        assert st["HostConfig"]["Memory"] == 32 << 20
    finally:
        docker("rm", "-f", name, check=False)


def test_pids_limit(docker):
    loop = "for i in $(seq 20); do sleep 30 & done; echo forked"
    r = docker.run("--rm", "--pids-limit", "10", IMG, "sh", "-c", loop)
    assert r.returncode != 0 and "can't fork" in r.stderr and "forked" not in r.stdout, r
    r = docker.run("--rm", "--pids-limit", "40", IMG, "sh", "-c", loop + "; kill $(jobs -p)")
    assert r.returncode == 0 and r.stdout == "forked\n", r
    cid = docker.start_d("--pids-limit", "10", IMG, "sleep", "1000")
    try:
        pid = docker.assert_berth(cid)["State"]["Pid"]
        assert cgroup_file(pid, "pids", "pids.max", "pids.max") == "10"
    finally:
        docker("rm", "-f", cid, check=False)


def test_restart_on_failure(docker):
    cid = docker.start_d("--restart", "on-failure:2", IMG, "sh", "-c", "echo run; exit 3")
    try:
        st = docker.wait_for(cid, lambda s: s["RestartCount"] == 2 and
                             s["State"]["Status"] == "exited", "restarted twice")
        assert st["State"]["ExitCode"] == 3 and st["HostConfig"]["Runtime"] == "berth"
        assert docker("logs", cid).stdout == "run\n" * 3
    finally:
        docker("rm", "-f", cid, check=False)


def test_docker_restart(docker):
    cid = docker.start_d(IMG, "sh", "-c", "echo up; exec sleep 1000")
    try:
        before = docker.assert_berth(cid)["State"]
        docker("restart", "-t", "1", cid)
        after = docker.wait_for(cid, lambda s: s["State"]["Running"], "running")["State"]
        assert after["Pid"] != before["Pid"] and after["StartedAt"] != before["StartedAt"]
        docker.assert_berth(cid)
        assert docker("logs", cid).stdout == "up\nup\n"
    finally:
        docker("rm", "-f", cid, check=False)


@pytest.mark.skipif(cgroup_mode() == "v2", reason="memory.swappiness is cgroup v1 only")
def test_memory_swappiness(docker):
    cid = docker.start_d("--memory-swappiness", "10", IMG, "sleep", "1000")
    try:
        pid = docker.assert_berth(cid)["State"]["Pid"]
        assert cgroup_file(pid, "memory", "memory.swappiness", None) == "10"
    finally:
        docker("rm", "-f", cid, check=False)
    # -1 is docker's "unset"
    r = docker.run("--rm", "--memory-swappiness", "-1", IMG, "true")
    assert r.returncode == 0, r


@pytest.mark.skipif(cgroup_mode() == "v2", reason="reads cgroup v1 files")
def test_create_limits(docker):
    cid = docker.start_d("--cpu-shares", "512", "--cpuset-cpus", "0", "--memory", "64m",
                         "--memory-reservation", "32m", "--oom-kill-disable", IMG,
                         "sleep", "1000")
    try:
        pid = docker.assert_berth(cid)["State"]["Pid"]
        assert cgroup_file(pid, "cpu", "cpu.shares", None) == "512"
        assert cgroup_file(pid, "cpuset", "cpuset.cpus", None) == "0"
        assert cgroup_file(pid, "memory", "memory.soft_limit_in_bytes", None) == str(32 << 20)
        assert "oom_kill_disable 1" in cgroup_file(pid, "memory", "memory.oom_control", None)
    finally:
        docker("rm", "-f", cid, check=False)
