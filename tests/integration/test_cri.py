"""berth-runtime as a Kubernetes RuntimeClass handler: containerd's CRI plugin
(a private containerd, cri_helpers.py) with a runtime `berth`
(io.containerd.runc.v2, BinaryName = berth-runtime), driven over gRPC with the
CRI v1 calls the kubelet makes: a pod on a CNI bridge network, a container in
it, exec, stats (CPU nanoseconds and memory working set checked against
independent measures), resource updates seen in the cgroup, and everything
removed at the end with the host left clean."""
import json
import os
import pathlib
import re
import socket
import subprocess
import time
import urllib.parse

import grpc
import pytest

import conftest
import cri_helpers
from cri_helpers import cgroup_of


@pytest.fixture(scope="module")
def cri():
    conftest.need(cri_helpers.missing())
    env = cri_helpers.Cri(conftest.BUILD / "bin")
    problems = []
    try:
        env.start()
        conftest.need(env.cri_missing())
        env.import_images()
        yield env
    finally:
        try:
            left = env.remove_all()
        except Exception as ex:  # noqa: BLE001
            left = [f"listing sandboxes: {ex}"]
        problems = env.close()
        if left:
            problems.insert(0, f"sandboxes left by a test: {left}")
    if problems:
        pytest.fail("; ".join(problems))


def wait_for(fn, timeout=15, step=0.1):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(step)
    return fn()


def runtime_ids(cri):
    """Containers in berth-runtime's state dir (the shim's --root for handler berth)."""
    r = subprocess.run([str(cri.runtime), "--root", f"{cri.tmp}/rt/berth/{cri_helpers.NS}",
                        "list", "--format", "json"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return {c["id"]: c["status"] for c in json.loads(r.stdout or "[]") or []}


class Pod:
    """One sandbox (RunPodSandbox with handler berth) and the containers made in it."""

    def __init__(self, cri, name, handler="berth"):
        self.cri, self.pb = cri, cri.pb
        self.config = cri.sandbox_config(name)
        self.id = cri.rt.RunPodSandbox(self.pb.RunPodSandboxRequest(
            config=self.config, runtime_handler=handler), timeout=120).pod_sandbox_id
        self.ctrs = []

    def create(self, name, cmd, **kw):
        cid = self.cri.rt.CreateContainer(self.pb.CreateContainerRequest(
            pod_sandbox_id=self.id, config=self.cri.container_config(name, cmd, **kw),
            sandbox_config=self.config), timeout=60).container_id
        self.ctrs.append(cid)
        return cid

    def run(self, name, cmd, **kw):
        cid = self.create(name, cmd, **kw)
        self.cri.rt.StartContainer(self.pb.StartContainerRequest(container_id=cid), timeout=60)
        return cid

    def status(self, cid, verbose=False):
        return self.cri.rt.ContainerStatus(self.pb.ContainerStatusRequest(
            container_id=cid, verbose=verbose), timeout=30)

    def pid(self, cid):
        return json.loads(self.status(cid, verbose=True).info["info"])["pid"]

    def exec_sync(self, cid, cmd, timeout=30):
        return self.cri.rt.ExecSync(self.pb.ExecSyncRequest(container_id=cid, cmd=cmd,
                                                            timeout=timeout), timeout=timeout + 30)

    def log(self, name):
        p = pathlib.Path(self.config.log_directory) / f"{name}.log"
        return p.read_text() if p.exists() else ""

    def remove(self, check=True):
        """StopContainer, RemoveContainer of each, StopPodSandbox, RemovePodSandbox (as
        the kubelet does); check=False (after a failure): on through errors."""
        rt, pb = self.cri.rt, self.pb
        calls = [c for cid in self.ctrs for c in (
            (rt.StopContainer, pb.StopContainerRequest(container_id=cid, timeout=2)),
            (rt.RemoveContainer, pb.RemoveContainerRequest(container_id=cid)))]
        calls += [(rt.StopPodSandbox, pb.StopPodSandboxRequest(pod_sandbox_id=self.id)),
                  (rt.RemovePodSandbox, pb.RemovePodSandboxRequest(pod_sandbox_id=self.id))]
        for call, req in calls:
            try:
                call(req, timeout=60)
            except grpc.RpcError:
                if check:
                    raise


def test_cri_version(cri):
    v = cri.rt.Version(cri.pb.VersionRequest(version="v1"), timeout=30)
    assert v.runtime_name == "containerd" and v.runtime_api_version == "v1", v
    names = [t for i in cri.img.ListImages(cri.pb.ListImagesRequest(), timeout=30).images
             for t in i.repo_tags]
    assert cri_helpers.PAUSE_IMAGE in names and cri_helpers.BUSYBOX in names, names


def test_cri_pod_lifecycle(cri):
    """RunPodSandbox .. RemovePodSandbox through berth-runtime: the sandbox ready
    with an address on the CNI bridge, the pause and the container processes
    berth-runtime's, output in the kubelet's log file, exec exit codes and
    streams, stop with the exit code, and nothing left."""
    pb, rt = cri.pb, cri.rt
    pod = Pod(cri, "cr-life")
    try:
        st = rt.PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=pod.id),
                                 timeout=30).status
        assert st.state == pb.SANDBOX_READY and st.runtime_handler == "berth", st
        assert st.network.ip.startswith(cri.subnet + "."), st.network
        assert runtime_ids(cri).get(pod.id) == "running"

        cid = pod.run("app", ["sh", "-c", "echo first-output; trap 'exit 3' TERM; "
                                          "while :; do sleep 0.1; done"])
        s = pod.status(cid).status
        assert s.state == pb.CONTAINER_RUNNING and s.started_at > 0, s
        assert runtime_ids(cri).get(cid) == "running"
        assert wait_for(lambda: "first-output" in pod.log("app")), pod.log("app")
        # CRI's log format: time stream tag message
        assert re.search(r"^\S+ stdout F first-output$", pod.log("app"), re.M), pod.log("app")

        r = pod.exec_sync(cid, ["sh", "-c", "echo out; echo err >&2; exit 7"])
        assert (r.exit_code, r.stdout, r.stderr) == (7, b"out\n", b"err\n"), r
        r = pod.exec_sync(cid, ["hostname"])
        assert (r.exit_code, r.stdout) == (0, b"cr-life\n"), r
        # the pod's network namespace: the container sees the sandbox's address
        r = pod.exec_sync(cid, ["ip", "-4", "-o", "addr", "show", "eth0"])
        assert r.exit_code == 0 and st.network.ip in r.stdout.decode(), r
        with pytest.raises(grpc.RpcError) as ex:  # as with runc: an error, not an exit code
            pod.exec_sync(cid, ["nonexistent-cr-cmd"])
        assert "nonexistent-cr-cmd" in ex.value.details(), ex.value
        assert pod.status(cid).status.state == pb.CONTAINER_RUNNING

        url = rt.Exec(pb.ExecRequest(container_id=cid, cmd=["echo", "streamed"], stdout=True,
                                     stderr=True), timeout=30).url
        assert url.startswith("http://127.0.0.1:") and "/exec/" in url, url
        out = exec_stream(url)
        assert b"streamed\n" in out, out

        rt.StopContainer(pb.StopContainerRequest(container_id=cid, timeout=5), timeout=60)
        s = pod.status(cid).status
        assert s.state == pb.CONTAINER_EXITED and s.exit_code == 3, s
        rt.RemoveContainer(pb.RemoveContainerRequest(container_id=cid), timeout=60)
        pod.ctrs.remove(cid)
        assert cid not in runtime_ids(cri)
        rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=pod.id), timeout=60)
        st = rt.PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=pod.id),
                                 timeout=30).status
        assert st.state == pb.SANDBOX_NOTREADY, st
        rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=pod.id), timeout=60)
        pod = None
        assert list(rt.ListPodSandbox(pb.ListPodSandboxRequest(), timeout=30).items) == []
        assert runtime_ids(cri) == {}
    finally:
        if pod:
            pod.remove(check=False)


def exec_stream(url, timeout=20):
    """Drive the Exec streaming URL as kubectl exec does over WebSocket
    (channel.k8s.io: each frame's first byte the stream, 1 stdout, 2 stderr,
    3 the status), returning stdout. A minimal RFC 6455 client: the server's
    frames are unmasked, ours (none sent here but the close) masked."""
    u = urllib.parse.urlparse(url)
    s = socket.create_connection((u.hostname, u.port), timeout=timeout)
    try:
        key = "Y3Itd2Vic29ja2V0LWtleQ=="
        s.sendall((f"GET {u.path}?{u.query} HTTP/1.1\r\nHost: {u.netloc}\r\n"
                   "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                   f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                   "Sec-WebSocket-Protocol: channel.k8s.io\r\n\r\n").encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(4096)
            assert chunk, f"exec stream: connection closed in the handshake: {buf!r}"
            buf += chunk
        head, buf = buf.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101"), head
        out = b""
        while True:
            while len(buf) < 2:
                chunk = s.recv(4096)
                if not chunk:
                    return out
                buf += chunk
            op, ln = buf[0] & 0x0F, buf[1] & 0x7F
            hdr = 2
            if ln == 126:
                hdr = 4
            elif ln == 127:
                hdr = 10
            while len(buf) < hdr:
                buf += s.recv(4096)
            if ln == 126:
                ln = int.from_bytes(buf[2:4], "big")
            elif ln == 127:
                ln = int.from_bytes(buf[2:10], "big")
            while len(buf) < hdr + ln:
                chunk = s.recv(65536)
                if not chunk:
                    return out
                buf += chunk
            payload, buf = buf[hdr:hdr + ln], buf[hdr + ln:]
            if op == 8:
                return out
            if op in (1, 2) and payload and payload[0] == 1:
                out += payload[1:]
    finally:
        s.close()


def burn_truth(pod, cid):
    """A child shell in the container burns a CPU for ~1 s; the CPU time it got
    (its parent's cutime + cstime from /proc/PID/stat, after the wait) in ns,
    independent of the cgroup that stats read."""
    r = pod.exec_sync(cid, ["sh", "-c", "sh -c 'while :; do :; done' & p=$!; sleep 1; "
                                        "kill $p; wait $p; cat /proc/$$/stat"])
    assert r.exit_code == 0, r
    f = r.stdout.decode().rsplit(")", 1)[1].split()
    ticks = int(f[13]) + int(f[14])  # fields 16 and 17: cutime, cstime
    return ticks * 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def test_cri_stats_and_update(cri):
    """ContainerStats and ListContainerStats: CPU usage of a 1-CPU-second burn
    within 10% of the CPU time the burning process got, the memory working set
    as the cgroup's usage less its inactive file pages (what cadvisor and the
    kubelet compute), with 40 MiB of tmpfs in it; UpdateContainerResources
    written to the container's cgroup."""
    pb, rt = cri.pb, cri.rt
    pod = Pod(cri, "cr-stats")
    try:
        cid = pod.run("burn", ["sh", "-c", "echo up; while :; do sleep 0.1; done"])
        assert wait_for(lambda: "up" in pod.log("burn"))

        def usage():
            return rt.ContainerStats(pb.ContainerStatsRequest(container_id=cid),
                                     timeout=30).stats.cpu.usage_core_nano_seconds.value

        before = usage()
        truth = burn_truth(pod, cid)
        got = usage() - before
        print(f"cr-stats: CRI {got / 1e9:.3f} s, burn {truth / 1e9:.3f} s")
        assert truth > 0.3e9, f"the burn got {truth / 1e9:.2f} CPU s only: host too loaded"
        assert abs(got - truth) <= 0.1 * truth, f"CRI says {got / 1e9:.3f} s, the burn used " \
                                                f"{truth / 1e9:.3f} s"

        r = pod.exec_sync(cid, ["dd", "if=/dev/zero", "of=/dev/shm/cr-fill", "bs=1M",
                                "count=40"])
        assert r.exit_code == 0, r
        pid = pod.pid(cid)
        ls = rt.ListContainerStats(pb.ListContainerStatsRequest(
            filter=pb.ContainerStatsFilter(pod_sandbox_id=pod.id)), timeout=30).stats
        assert [s.attributes.id for s in ls] == [cid], ls
        ws = ls[0].memory.working_set_bytes.value
        assert ls[0].cpu.usage_core_nano_seconds.value >= before + got
        mem = cgroup_of(pid, "memory")
        if (mem / "memory.usage_in_bytes").exists():
            used = int((mem / "memory.usage_in_bytes").read_text())
            inactive = int(re.search(r"^total_inactive_file (\d+)$",
                                     (mem / "memory.stat").read_text(), re.M).group(1))
        else:
            used = int((mem / "memory.current").read_text())
            inactive = int(re.search(r"^inactive_file (\d+)$",
                                     (mem / "memory.stat").read_text(), re.M).group(1))
        print(f"cr-stats: working set {ws}, cgroup usage - inactive_file {used - inactive}")
        assert ws >= 40 << 20, f"working set {ws} with 40 MiB in /dev/shm"
        assert abs(ws - (used - inactive)) <= max(0.1 * ws, 4 << 20), (ws, used, inactive)

        rt.UpdateContainerResources(pb.UpdateContainerResourcesRequest(
            container_id=cid, linux=pb.LinuxContainerResources(
                cpu_period=100000, cpu_quota=50000, cpu_shares=512,
                memory_limit_in_bytes=256 << 20)), timeout=60)
        cpu = cgroup_of(pid, "cpu")
        if (cpu / "cpu.cfs_quota_us").exists():
            assert (cpu / "cpu.cfs_quota_us").read_text().strip() == "50000"
            assert (cpu / "cpu.shares").read_text().strip() == "512"
            assert (mem / "memory.limit_in_bytes").read_text().strip() == str(256 << 20)
        else:
            assert (cpu / "cpu.max").read_text().split() == ["50000", "100000"]
            assert (mem / "memory.max").read_text().strip() == str(256 << 20)
        s = pod.status(cid).status
        assert s.resources.linux.memory_limit_in_bytes == 256 << 20, s.resources
        assert str(cgroup_of(pid, "cpu")).find(cri.cgparent) >= 0
    except BaseException:
        pod.remove(check=False)
        raise
    pod.remove()
    assert runtime_ids(cri) == {}


def test_cri_runc_handler_same_containerd(cri):
    """The same containerd's runc handler still works beside berth (the benchmark's peer),
    and ExecSync answers the same from both."""
    outs = {}
    for handler in ("runc", "berth"):
        pod = Pod(cri, f"cr-{handler}", handler=handler)
        try:
            cid = pod.run("c", ["sleep", "100"])
            r = pod.exec_sync(cid, ["sh", "-c", "id -u; echo e >&2; exit 4"])
            outs[handler] = (r.exit_code, r.stdout, r.stderr)
        except BaseException:
            pod.remove(check=False)
            raise
        pod.remove()
    assert outs["berth"] == outs["runc"] == (4, b"0\n", b"e\n"), outs


def test_readme_kubernetes_snippet_is_the_tested_config(cri):
    """The README's containerd lines (BinaryName's path aside) are in the config this
    test runs, and its RuntimeClass names the handler the test asks for."""
    readme = (cri_helpers.ROOT / "README.md").read_text()
    sec = readme.split("\n## Kubernetes\n", 1)[1].split("\n## ", 1)[0]
    block = [ln.strip() for ln in sec.splitlines() if ln.startswith("    ")]
    toml = [ln for ln in block if ln.startswith("[plugins") or " = " in ln]
    assert len(toml) == 4, toml
    conf = {ln.strip() for ln in open(f"{cri.tmp}/config.toml")}
    for ln in toml:
        ln = ln.replace("/usr/local/bin/berth-runtime", str(cri.runtime))
        assert ln in conf, ln
    assert "handler: berth" in block and "kind: RuntimeClass" in block, block
