"""containerd (a private daemon in a temp dir) running containers through berth-runtime
with `ctr run --runc-binary`, from an OCI archive of a busybox image."""
import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid

import pytest

import conftest
from hardening_helpers import V1
from runtime_helpers import MAKE_BUNDLE, mounts_under, need_root, pids_mentioning

IMG = "localhost/berth-hardening-busybox:1"
NS = "berth-hardening"


def oci_archive(tmp):
    """An OCI archive of a busybox image (podman import + save in a private store)."""
    if not shutil.which("podman"):
        pytest.skip("podman is needed to build the OCI archive")
    r = subprocess.run(["bash", str(MAKE_BUNDLE), f"{tmp}/b"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    subprocess.run(["tar", "-C", f"{tmp}/b/rootfs", "-cf", f"{tmp}/rootfs.tar", "."],
                   check=True)
    pm = ["podman", "--root", f"{tmp}/ps", "--runroot", f"{tmp}/pr"]
    try:
        for args in (["import", f"{tmp}/rootfs.tar", IMG],
                     ["save", "--format", "oci-archive", "-o", f"{tmp}/img.tar", IMG]):
            r = subprocess.run(pm + args, capture_output=True, text=True, timeout=120)
            assert r.returncode == 0, r.stderr
    finally:
        subprocess.run(pm + ["rmi", "-af"], capture_output=True, timeout=60)
    return f"{tmp}/img.tar"


@pytest.fixture(scope="module")
def ctr():
    need_root()
    for tool in ("containerd", "ctr", "containerd-shim-runc-v2"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} is not installed (apt-get install containerd)")
    runtime = (conftest.RELEASE / "bin" / "berth-runtime").resolve()
    if not runtime.exists():
        pytest.fail(f"{runtime} is not built")
    tmp = tempfile.mkdtemp(prefix="bctd-", dir="/tmp")  # short: socket path limit
    sock = f"{tmp}/c.sock"
    with open(f"{tmp}/config.toml", "w") as f:
        f.write(f'''version = 2
root = "{tmp}/root"
state = "{tmp}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "{sock}"
[ttrpc]
  address = "{sock}.ttrpc"
[debug]
  address = "{tmp}/debug.sock"
[metrics]
  address = ""
''')
    log = open(f"{tmp}/containerd.log", "w")
    daemon = subprocess.Popen(["containerd", "--config", f"{tmp}/config.toml"],
                              stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    base = ["ctr", "-a", sock, "-n", NS]

    def call(*args, check=True, timeout=60):
        r = subprocess.run(base + [str(a) for a in args], capture_output=True, text=True,
                           timeout=timeout, stdin=subprocess.DEVNULL)
        if check:
            assert r.returncode == 0, f"ctr {args}: exit {r.returncode}\n{r.stderr}"
        return r

    problems = []
    try:
        deadline = time.monotonic() + 20
        while call("version", check=False).returncode != 0:
            assert daemon.poll() is None, open(f"{tmp}/containerd.log").read()
            assert time.monotonic() < deadline, "containerd did not come up"
            time.sleep(0.2)
        call("images", "import", oci_archive(tmp), timeout=120)
        call.runtime = runtime
        yield call
    finally:
        left = call("tasks", "ls", "-q", check=False).stdout.split() if \
            daemon.poll() is None else []
        for t in left:
            call("tasks", "kill", "-s", "KILL", t, check=False)
            call("tasks", "delete", "-f", t, check=False)
        if daemon.poll() is None:
            for c in call("containers", "ls", "-q", check=False).stdout.split():
                call("containers", "delete", c, check=False)
            call("images", "rm", IMG, check=False)
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(20)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
        log.close()
        shims = pids_mentioning(tmp)
        for p in shims:
            os.kill(p, signal.SIGKILL)
        for mp in sorted(mounts_under(tmp), reverse=True):
            subprocess.run(["umount", "-l", mp], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
        # the per-namespace parent cgroup the runtime made for /<namespace>/<id>
        for d in sorted(glob.glob(f"/sys/fs/cgroup/*/{NS}"), reverse=True):
            try:
                os.rmdir(d)
            except OSError as ex:
                problems.append(f"cgroup {d}: {ex}")
        if left:
            problems.append(f"tasks left: {left}")
        if shims:
            problems.append(f"processes left: {shims}")
    if problems:
        pytest.fail("; ".join(problems))


def test_ctr_run_output_and_exit_code(ctr):
    cid = f"t-{uuid.uuid4().hex[:8]}"
    r = ctr("run", "--rm", "--runc-binary", ctr.runtime, IMG, cid, "sh", "-c",
            "echo hi; exit 5", check=False)
    assert r.returncode == 5, r
    assert r.stdout.replace("\r", "") == "hi\n"
    assert ctr("containers", "ls", "-q").stdout.split() == []


def test_ctr_run_detached_exec_kill(ctr):
    cid = f"t-{uuid.uuid4().hex[:8]}"
    ctr("run", "-d", "--runc-binary", ctr.runtime, IMG, cid, "sleep", "100")
    try:
        tasks = ctr("tasks", "ls").stdout
        assert cid in tasks and "RUNNING" in tasks, tasks
        r = ctr("tasks", "exec", "--exec-id", "e1", cid, "sh", "-c", "echo ex; exit 4",
                check=False)
        assert r.returncode == 4 and r.stdout.replace("\r", "") == "ex\n", r
        r = ctr("tasks", "ps", cid)
        assert len(r.stdout.strip().splitlines()) == 2, r.stdout  # header + sleep
        ctr("tasks", "kill", "-s", "KILL", cid)
        deadline = time.monotonic() + 10
        while "STOPPED" not in ctr("tasks", "ls").stdout and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "STOPPED" in ctr("tasks", "ls").stdout
    finally:
        ctr("tasks", "delete", "-f", cid, check=False)
        ctr("containers", "delete", cid, check=False)
    assert ctr("containers", "ls", "-q").stdout.split() == []


def test_ctr_pause_resume(ctr):
    cid = f"t-{uuid.uuid4().hex[:8]}"
    ctr("run", "-d", "--runc-binary", ctr.runtime, IMG, cid, "sleep", "100")
    try:
        ctr("tasks", "pause", cid)
        assert "PAUSED" in ctr("tasks", "ls").stdout
        ctr("tasks", "resume", cid)
        assert "RUNNING" in ctr("tasks", "ls").stdout
    finally:
        ctr("tasks", "kill", "-s", "KILL", cid, check=False)
        time.sleep(0.3)
        ctr("tasks", "delete", "-f", cid, check=False)
        ctr("containers", "delete", cid, check=False)


@V1
def test_ctr_memory_limit(ctr):
    """ctr's spec has no /sys/fs/cgroup mount: the limit is read on the host, in the
    cgroup containerd asks for (/<namespace>/<id>), and enforced."""
    cid = f"t-{uuid.uuid4().hex[:8]}"
    ctr("run", "-d", "--runc-binary", ctr.runtime, "--memory-limit", str(64 << 20), IMG,
        cid, "sleep", "100")
    try:
        f = f"/sys/fs/cgroup/memory/{NS}/{cid}/memory.limit_in_bytes"
        assert open(f).read().strip() == str(64 << 20)
        r = ctr("tasks", "exec", "--exec-id", "m1", cid, "sh", "-c",
                f"{conftest.OOM_ALLOC_100M}; echo rc=$?", check=False)
        swap = f"/sys/fs/cgroup/memory/{NS}/{cid}/memory.memsw.limit_in_bytes"
        if os.path.exists(swap) and int(open(swap).read()) == 64 << 20 or \
                "SwapTotal:             0 kB" in open("/proc/meminfo").read():
            assert "rc=137" in r.stdout, r
    finally:
        ctr("tasks", "kill", "-s", "KILL", cid, check=False)
        deadline = time.monotonic() + 10
        while "RUNNING" in ctr("tasks", "ls").stdout and time.monotonic() < deadline:
            time.sleep(0.1)
        ctr("tasks", "delete", "-f", cid, check=False)
        ctr("containers", "delete", cid, check=False)
    assert not os.path.exists(f"/sys/fs/cgroup/memory/{NS}/{cid}")
