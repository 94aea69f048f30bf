"""A private containerd with its CRI plugin, driven over gRPC the way the kubelet
drives it: the CRI v1 messages of tests/cri/api.proto compiled into a temp dir,
runtimes `berth` (io.containerd.runc.v2, BinaryName = berth-runtime) and `runc`,
the sandbox image the project's own pause image (berth-xfer pause-image, saved
as an OCI archive and imported with ctr), a busybox image, and a CNI bridge
network from containernetworking-plugins with test-made names. Used by
tests/integration/test_cri.py and bench/cri.sh (tests/cri/bench_cri.py)."""
import importlib
import os
import pathlib
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

from runtime_helpers import mounts_under, pids_mentioning

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
PROTO = ROOT / "tests" / "cri" / "api.proto"
CNI_BIN = "/usr/lib/cni"
PAUSE_IMAGE = "localhost/berth-pause:0.1.0"
BUSYBOX = "localhost/cr-busybox:1"
NS = "k8s.io"  # the namespace containerd's CRI plugin keeps its objects in


def missing():
    """None when this host can run the CRI tests, else the reason (for a skip)."""
    if os.geteuid() != 0:
        return "needs root"
    for tool, pkg in (("containerd", "containerd"), ("ctr", "containerd"),
                      ("containerd-shim-runc-v2", "containerd"), ("runc", "runc"),
                      ("busybox", "busybox-static")):
        if not shutil.which(tool):
            return f"needs {tool} (apt-get install {pkg})"
    if not os.path.exists(f"{CNI_BIN}/bridge"):
        return f"needs {CNI_BIN}/bridge (apt-get install containernetworking-plugins)"
    try:
        import grpc  # noqa: F401
        import grpc_tools  # noqa: F401
    except ImportError as e:
        return f"needs {e.name} (apt-get install python3-grpcio python3-grpc-tools python3-protobuf)"
    return None


def compile_proto(out):
    """api_pb2 and api_pb2_grpc of tests/cri/api.proto, generated into out."""
    from grpc_tools import protoc
    out = str(out)
    os.makedirs(out, exist_ok=True)
    rc = protoc.main(["protoc", f"-I{PROTO.parent}", f"--python_out={out}",
                      f"--grpc_python_out={out}", str(PROTO)])
    if rc != 0:
        raise RuntimeError(f"protoc {PROTO}: exit {rc}")
    sys.path.insert(0, out)
    try:
        importlib.invalidate_caches()
        return importlib.import_module("api_pb2"), importlib.import_module("api_pb2_grpc")
    finally:
        sys.path.remove(out)


def _run(cmd, timeout=120, **kw):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL, **kw)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))}: exit {r.returncode}: {r.stderr.strip()}")
    return r


def _lacks_sys_resource():
    with open("/proc/self/status") as f:
        eff = next(int(ln.split()[1], 16) for ln in f if ln.startswith("CapEff:"))
    return not eff & (1 << 24)  # CAP_SYS_RESOURCE


def free_subnet():
    """A /24 in 10.213.0.0/16 that no route of this host uses."""
    routes = subprocess.run(["ip", "-4", "route", "show", "table", "all"], capture_output=True,
                            text=True).stdout
    for _ in range(64):
        n = random.randrange(256)
        if f"10.213.{n}." not in routes:
            return f"10.213.{n}"
    raise RuntimeError("no free 10.213.N.0/24 subnet for the CNI bridge")


class Cri:
    """containerd with CRI in a temp dir (short path: the socket's length limit).
    rt and img are the RuntimeService and ImageService stubs; pb the messages."""

    def __init__(self, bindir):
        self.bindir = pathlib.Path(bindir)
        self.runtime = (self.bindir / "berth-runtime").resolve()
        self.tag = uuid.uuid4().hex[:6]
        self.tmp = tempfile.mkdtemp(prefix=f"cr-{self.tag}-", dir="/tmp")
        self.sock = f"{self.tmp}/c.sock"
        self.bridge = f"cr-br{self.tag}"
        self.cgparent = f"/cr-{self.tag}"
        self.daemon = None
        self.log = None
        self.channel = None
        self.pb, self.grpc_mod = compile_proto(f"{self.tmp}/gen")

    # ---- setup ---------------------------------------------------------------
    def start(self):
        self._write_config()
        self.log = open(f"{self.tmp}/containerd.log", "w")
        self.daemon = subprocess.Popen(["containerd", "--config", f"{self.tmp}/config.toml"],
                                       stdout=self.log, stderr=self.log,
                                       stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while self.ctr("version", check=False).returncode != 0:
            if self.daemon.poll() is not None:
                raise RuntimeError("containerd exited: " + self.log_tail())
            if time.monotonic() > deadline:
                raise RuntimeError("containerd did not come up: " + self.log_tail())
            time.sleep(0.2)
        import grpc
        self.channel = grpc.insecure_channel(f"unix://{self.sock}")
        self.rt = self.grpc_mod.RuntimeServiceStub(self.channel)
        self.img = self.grpc_mod.ImageServiceStub(self.channel)

    def cri_missing(self):
        """None when the CRI plugin is loaded, else why not (containerd's own words)."""
        r = self.ctr("plugins", "ls", check=False)
        for line in r.stdout.splitlines():
            if "io.containerd.grpc.v1" in line and " cri " in f" {line} ":
                return None if line.split()[-1] == "ok" else \
                    f"containerd's CRI plugin is not loaded ({line.split()[-1]}): " + \
                    self.log_tail()
        return "containerd has no CRI plugin (io.containerd.grpc.v1.cri)"

    def _write_config(self):
        t = self.tmp
        for d in ("cni", "cni-data", "rt", "logs"):
            os.makedirs(f"{t}/{d}")
        self.subnet = free_subnet()
        with open(f"{t}/cni/10-cr-{self.tag}.conflist", "w") as f:
            f.write(f'''{{
  "cniVersion": "1.0.0",
  "name": "cr-{self.tag}",
  "plugins": [{{
    "type": "bridge", "bridge": "{self.bridge}", "isGateway": true, "ipMasq": false,
    "ipam": {{"type": "host-local", "dataDir": "{t}/cni-data",
              "ranges": [[{{"subnet": "{self.subnet}.0/24"}}]],
              "routes": [{{"dst": "0.0.0.0/0"}}]}}
  }}]
}}
''')
        cri = 'plugins."io.containerd.grpc.v1.cri"'
        with open(f"{t}/config.toml", "w") as f:
            f.write(f'''version = 2
root = "{t}/root"
state = "{t}/state"
[grpc]
  address = "{self.sock}"
[ttrpc]
  address = "{self.sock}.ttrpc"
[debug]
  address = "{t}/debug.sock"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "{t}/opt"
[{cri}]
  sandbox_image = "{PAUSE_IMAGE}"
  netns_mounts_under_state_dir = true
  # the pause container asks for oom_score_adj -998, which needs CAP_SYS_RESOURCE
  # (a container host, such as CI's, may lack it: runc fails there too); no lower
  # than containerd's own, as containerd in a container runs
  restrict_oom_score_adj = {"true" if _lacks_sys_resource() else "false"}
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [{cri}.cni]
    bin_dir = "{CNI_BIN}"
    conf_dir = "{t}/cni"
  [{cri}.containerd]
    default_runtime_name = "runc"
    [{cri}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [{cri}.containerd.runtimes.runc.options]
        Root = "{t}/rt/runc"
    [{cri}.containerd.runtimes.berth]
      runtime_type = "io.containerd.runc.v2"
      [{cri}.containerd.runtimes.berth.options]
        BinaryName = "{self.runtime}"
        Root = "{t}/rt/berth"
''')

    def import_images(self):
        """The pause image and a busybox one, made in a private berth store,
        saved as one OCI archive and imported into containerd's k8s.io namespace."""
        t = self.tmp
        berth = [self.bindir / "berth", "--root", f"{t}/bs"]
        env = dict(os.environ, BERTH_RUNROOT=f"{t}/brun", ASAN_OPTIONS="detect_leaks=0")
        _run([self.bindir / "berth-xfer", "--root", f"{t}/bs", "pause-image",
              self.bindir / "berth-pause"], env=env)
        _run(["bash", ROOT / "scripts" / "make-bundle.sh", f"{t}/bundle"], env=env)
        _run(["tar", "-C", f"{t}/bundle/rootfs", "-cf", f"{t}/rootfs.tar", "."])
        _run(berth + ["import", f"{t}/rootfs.tar", BUSYBOX], env=env)
        _run(berth + ["save", "--format", "oci-archive", "-o", f"{t}/images.tar", PAUSE_IMAGE,
                      BUSYBOX], env=env)
        shutil.rmtree(f"{t}/bs", ignore_errors=True)
        shutil.rmtree(f"{t}/bundle", ignore_errors=True)
        self.ctr("images", "import", f"{t}/images.tar", timeout=120)

    def ctr(self, *args, check=True, timeout=60):
        r = subprocess.run(["ctr", "-a", self.sock, "-n", NS, *map(str, args)],
                           capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
        if check and r.returncode != 0:
            raise RuntimeError(f"ctr {' '.join(map(str, args))}: exit {r.returncode}: "
                               f"{r.stderr.strip()}")
        return r

    def log_tail(self, n=15):
        try:
            return "".join(open(f"{self.tmp}/containerd.log").readlines()[-n:])
        except OSError:
            return ""

    # ---- the kubelet's side ----------------------------------------------------
    def sandbox_config(self, name, host_network=False):
        pb = self.pb
        ns = pb.NamespaceOption(network=pb.NODE if host_network else pb.POD,
                                pid=pb.CONTAINER, ipc=pb.POD)
        return pb.PodSandboxConfig(
            metadata=pb.PodSandboxMetadata(name=name, uid=uuid.uuid4().hex, namespace="cr-test",
                                           attempt=0),
            hostname=name, log_directory=f"{self.tmp}/logs/{name}",
            labels={"cr-test": self.tag},
            linux=pb.LinuxPodSandboxConfig(
                cgroup_parent=self.cgparent,
                security_context=pb.LinuxSandboxSecurityContext(namespace_options=ns)))

    def container_config(self, name, cmd, **kw):
        pb = self.pb
        return pb.ContainerConfig(metadata=pb.ContainerMetadata(name=name, attempt=0),
                                  image=pb.ImageSpec(image=BUSYBOX), command=cmd,
                                  log_path=f"{name}.log", labels={"cr-test": self.tag}, **kw)

    def remove_all(self):
        """Every sandbox this CRI knows stopped and removed (with its containers)."""
        if not self.channel or not self.daemon or self.daemon.poll() is not None:
            return []
        left = []
        for s in self.rt.ListPodSandbox(self.pb.ListPodSandboxRequest(), timeout=30).items:
            left.append(s.id)
            try:
                self.rt.StopPodSandbox(self.pb.StopPodSandboxRequest(pod_sandbox_id=s.id),
                                       timeout=60)
                self.rt.RemovePodSandbox(self.pb.RemovePodSandboxRequest(pod_sandbox_id=s.id),
                                         timeout=60)
            except Exception:  # noqa: BLE001  (the clean-up goes on; what is left is reported)
                pass
        return left

    # ---- teardown --------------------------------------------------------------
    def close(self):
        """containerd stopped, and the host as it was: returns what had to be
        cleaned by force (processes, mounts, cgroups, links), for the caller to report."""
        problems = []
        if self.channel:
            self.channel.close()
        if self.daemon and self.daemon.poll() is None:
            self.ctr("images", "rm", PAUSE_IMAGE, BUSYBOX, check=False)
            self.daemon.send_signal(signal.SIGTERM)
            try:
                self.daemon.wait(20)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                self.daemon.wait()
        if self.log:
            self.log.close()
        procs = pids_mentioning(self.tmp) + self._pids_in_cgroups()
        for p in procs:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if procs:
            problems.append(f"processes left: {procs}")
            end = time.monotonic() + 10
            while (pids_mentioning(self.tmp) or self._pids_in_cgroups()) and \
                    time.monotonic() < end:
                time.sleep(0.1)
        mounts = mounts_under(self.tmp)
        for mp in sorted(mounts, reverse=True):
            subprocess.run(["umount", "-l", mp], capture_output=True)
        if mounts:
            problems.append(f"mounts left: {mounts}")
        cg = pathlib.Path("/sys/fs/cgroup")
        for d in [p for p in [*cg.glob(f"*/{self.cgparent[1:]}"), cg / self.cgparent[1:]]
                  if p.is_dir()]:
            try:
                for sub in sorted(d.glob("**/"), key=lambda p: -len(str(p))):
                    if sub != d:
                        sub.rmdir()
                        problems.append(f"cgroup left: {sub}")
                d.rmdir()
            except OSError as ex:
                problems.append(f"cgroup {d}: {ex}")
        if subprocess.run(["ip", "link", "show", self.bridge], capture_output=True).returncode == 0:
            subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)
        veths = [ln for ln in subprocess.run(["ip", "-o", "link"], capture_output=True,
                                             text=True).stdout.splitlines()
                 if f"master {self.bridge}" in ln]
        if veths:
            problems.append(f"veths left: {veths}")
        shutil.rmtree(self.tmp, ignore_errors=True)
        return problems

    def _pids_in_cgroups(self):
        """Processes in the pods' cgroup parent (the pause has no path of ours in argv)."""
        cg = pathlib.Path("/sys/fs/cgroup")
        pids = set()
        for top in [*cg.glob(f"*/{self.cgparent[1:]}"), cg / self.cgparent[1:]]:
            for f in top.glob("**/cgroup.procs"):
                try:
                    pids.update(int(x) for x in f.read_text().split())
                except OSError:
                    pass
        return sorted(pids)


def cgroup_of(pid, controller):
    """The host path of pid's cgroup for a v1 controller, or its v2 cgroup."""
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            if controller in ctrls.split(","):
                return pathlib.Path("/sys/fs/cgroup") / controller / path.lstrip("/")
            if ctrls == "" and not pathlib.Path(f"/sys/fs/cgroup/{controller}").is_dir():
                return pathlib.Path("/sys/fs/cgroup") / path.lstrip("/")
    raise RuntimeError(f"pid {pid}: no {controller} cgroup")
