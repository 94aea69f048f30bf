"""berth system service: the Docker Engine API on a unix socket, driven by the real
clients (the docker CLI, docker-py) and by raw HTTP for the edges (version prefix,
errors, who may connect, the idle exit, a socket already served)."""
import http.client
import json
import os
import shutil
import socket
import subprocess
import time

import pytest

from conftest import binary, need
from engine_helpers import BUSYBOX, engine_store, wait_for

if os.geteuid() != 0:
    pytest.skip("the engine tests need root", allow_module_level=True)


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path, timeout=10):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


def call(sock, method, url, body=None):
    c = UnixHTTP(sock)
    c.request(method, url, body=body, headers={"Content-Type": "application/json"} if body else {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, dict(r.getheaders()), data


class Service:
    def __init__(self, b, *extra):
        self.b = b
        self.sock = str(b.tmp / "api.sock")
        self.proc = b.popen("system", "service", *extra, f"unix://{self.sock}",
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert wait_for(lambda: self.answers() or self.proc.poll() is not None)
        assert self.proc.poll() is None, self.proc.stderr.read().decode()

    def answers(self):
        try:
            with socket.socket(socket.AF_UNIX) as c:
                c.connect(self.sock)
            return True
        except OSError:
            return False

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture
def svc():
    with engine_store("berth-api-") as b:
        s = Service(b, "--time", "0")
        try:
            yield s
        finally:
            s.stop()
        assert not os.path.exists(s.sock), "the service removes its socket"


def docker_cli():
    cli = "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else shutil.which("docker")
    if not cli:
        pytest.skip("no docker CLI (Debian's docker.io)")
    return cli


def docker(s, *args, check=True):
    r = subprocess.run([docker_cli(), *args], capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, DOCKER_HOST=f"unix://{s.sock}",
                                DOCKER_CONFIG=str(s.b.tmp / "dcli")))
    if check:
        assert r.returncode == 0, f"docker {args}: {r.returncode}\n{r.stderr}"
    return r


def test_ping_version_prefix_and_errors(svc):
    st, h, body = call(svc.sock, "GET", "/_ping")
    assert st == 200 and body == b"OK" and h["Api-Version"] == "1.41"
    st, h, body = call(svc.sock, "HEAD", "/_ping")
    assert st == 200 and body == b""
    st, _, body = call(svc.sock, "GET", "/v1.41/version")
    v = json.loads(body)
    assert st == 200 and v["ApiVersion"] == "1.41" and v["Os"] == "linux"
    st, _, body = call(svc.sock, "GET", "/v1.99/version")
    assert st == 400 and "too new" in json.loads(body)["message"]
    st, _, body = call(svc.sock, "GET", "/v1.41/nosuch/thing")
    assert st == 404 and json.loads(body) == {"message": "page not found"}
    st, _, body = call(svc.sock, "DELETE", "/version")
    assert st == 405
    st, _, body = call(svc.sock, "GET", "/containers/nosuch/json")
    assert st == 404 and json.loads(body)["message"] == "No such container: nosuch"
    st, _, body = call(svc.sock, "GET", "/images/localhost/nosuch:1/json")
    assert st == 404 and "No such image: localhost/nosuch:1" in json.loads(body)["message"]
    st, _, body = call(svc.sock, "GET", "/containers/json?filters=%7B%22x%22%3A%5B%22y%22%5D%7D")
    assert st == 400 and "invalid filter 'x'" in json.loads(body)["message"]
    st, _, body = call(svc.sock, "GET", "/containers/json?limit=abc")
    assert st == 400


def test_the_cli_sees_what_berth_made(svc):
    b = svc.b
    cid = b("run", "-d", "--name", "web", "--label", "app=x", BUSYBOX, "sleep", "300").stdout.strip()
    b("run", "--name", "done", BUSYBOX, "true")
    ps = docker(svc, "ps", "--format", "{{.ID}} {{.Names}} {{.Status}}").stdout.split("\n")
    assert ps[0].startswith(cid[:12] + " web Up"), ps
    names = docker(svc, "ps", "-a", "--format", "{{.Names}}").stdout.split()
    assert names == ["done", "web"]  # newest first
    assert docker(svc, "ps", "-a", "-n", "1", "--format", "{{.Names}}").stdout.split() == ["done"]
    assert docker(svc, "inspect", "-f", "{{.State.Status}} {{.Config.Labels.app}}",
                  "web").stdout.strip() == "running x"
    img = docker(svc, "images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    assert img == [BUSYBOX + ":latest"]
    iid = docker(svc, "image", "inspect", "-f", "{{.Id}}", BUSYBOX).stdout.strip()
    assert iid == b.inspect("web")["Image"]
    info = docker(svc, "info", "--format", "{{.Containers}} {{.ContainersRunning}} {{.Images}}")
    assert info.stdout.split() == ["2", "1", "1"]
    r = docker(svc, "inspect", "nosuch", check=False)
    assert r.returncode != 0 and "No such object: nosuch" in r.stderr


def test_docker_py(svc):
    docker_mod = pytest.importorskip("docker", reason="python3-docker (docker-py) is missing")
    b = svc.b
    b("run", "-d", "--name", "py1", BUSYBOX, "sleep", "300")
    cl = docker_mod.DockerClient(base_url=f"unix://{svc.sock}", version="auto")
    assert cl.ping() is True
    assert cl.version()["ApiVersion"] == "1.41"
    assert [c.name for c in cl.containers.list()] == ["py1"]
    c = cl.containers.get("py1")
    assert c.status == "running" and c.attrs["Config"]["Cmd"] == ["sleep", "300"]
    with pytest.raises(docker_mod.errors.NotFound):
        cl.containers.get("nosuch")
    assert [t for i in cl.images.list() for t in i.tags] == [BUSYBOX + ":latest"]
    cl.close()


def test_only_owner_and_root_may_connect(svc):
    os.chmod(svc.b.tmp, 0o711)
    os.chmod(svc.sock, 0o666)  # even so: the peer's uid is checked
    nobody = 65534
    out = subprocess.run(
        ["/usr/bin/python3", "-c",
         "import os,socket,sys\n"
         f"os.setgid({nobody}); os.setuid({nobody})\n"
         "s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])\n"
         "s.sendall(b'GET /_ping HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n')\n"
         "print(s.recv(4096).decode(errors='replace'))", svc.sock],
        capture_output=True, text=True, timeout=20)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("HTTP/1.1 403"), out.stdout
    assert "admits only its owner" in out.stdout


def test_idle_exit_and_socket_in_use():
    with engine_store("berth-api-idle-") as b:
        s = Service(b, "--time", "1")
        # a second service on the same socket is refused while the first lives
        r = b("system", "service", "--time", "1", f"unix://{s.sock}", check=False)
        assert r.returncode == 125 and "another service is listening" in r.stderr
        assert call(s.sock, "GET", "/_ping")[0] == 200
        t = time.monotonic()
        assert s.proc.wait(timeout=10) == 0
        assert time.monotonic() - t < 5
        assert not os.path.exists(s.sock)
        # a stale socket file (no listener) is replaced
        stale = socket.socket(socket.AF_UNIX)
        stale.bind(s.sock)
        stale.close()
        s2 = Service(b, "--time", "1")
        assert call(s2.sock, "GET", "/_ping")[0] == 200
        s2.stop()
        r = b("system", "service", "tcp://127.0.0.1:2375", check=False)
        assert r.returncode == 125 and "only unix:///PATH" in r.stderr


def test_images_tag_history_rmi_pull(svc, tmp_path):
    from test_image_registry import start_registry, stop
    b = svc.b
    docker(svc, "tag", BUSYBOX, "localhost/other:v1")
    assert sorted(docker(svc, "images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()) \
        == sorted([BUSYBOX + ":latest", "localhost/other:v1"])
    hist = docker(svc, "history", "--format", "{{.CreatedBy}}|{{.Size}}", "localhost/other:v1")
    assert hist.stdout.strip(), hist.stdout
    r = docker(svc, "rmi", "localhost/other:v1")
    assert "Untagged: localhost/other:v1" in r.stdout
    r = docker(svc, "rmi", "localhost/nosuch:1", check=False)
    assert r.returncode != 0 and "No such image: localhost/nosuch:1" in r.stderr
    # docker pull through the API: the registry client pulls into berth's store
    p, addr = start_registry(tmp_path)
    try:
        b("push", BUSYBOX, f"{addr}/api/bb:1")
        r = docker(svc, "pull", f"{addr}/api/bb:1")
        assert "Digest: sha256:" in r.stdout, r.stdout
        assert b("run", "--rm", f"{addr}/api/bb:1", "echo", "pulled").stdout == "pulled\n"
        r = docker(svc, "pull", f"{addr}/api/nope:1", check=False)
        assert r.returncode != 0 and "nope" in r.stderr
    finally:
        stop(p)


def test_create_translates_and_refuses_by_name(svc):
    b = svc.b
    cid = docker(svc, "create", "--name", "c2", "-e", "A=b", "-l", "x=y", "--memory", "64m",
                 "--cpus", "0.5", "-p", "127.0.0.1:18081:80", "-v", "/data", "--read-only",
                 "--entrypoint", "sh", BUSYBOX, "-c", "echo hi").stdout.strip()
    d = b.inspect("c2")
    assert d["Id"] == cid and d["State"]["Status"] == "created"
    assert "A=b" in d["Config"]["Env"] and d["Config"]["Labels"]["x"] == "y"
    hc = d["HostConfig"]
    assert hc["Memory"] == 64 << 20 and hc["NanoCpus"] == 500000000 and hc["ReadonlyRootfs"]
    assert hc["PortBindings"]["80/tcp"][0]["HostPort"] == "18081"
    assert d["Path"] == "sh" and d["Args"] == ["-c", "echo hi"]
    assert any(m["Destination"] == "/data" for m in d["Mounts"])
    for args, msg in [(["--name", "c2"], 'the container name "c2" is already in use'),
                      (["--device", "/dev/null"], "HostConfig.Devices: not supported"),
                      (["--network", "none", "-p", "80"], "-p/-P need a network")]:
        r = docker(svc, "create", *args, BUSYBOX, "true", check=False)
        assert r.returncode != 0 and msg in r.stderr, (args, r.stderr)
    st, _, body = call(svc.sock, "POST", "/v1.41/containers/create", json.dumps(
        {"Image": BUSYBOX, "HostConfig": {"RestartPolicy": {"Name": "sometimes"}}}).encode())
    assert st == 400 and 'invalid restart policy "sometimes"' in json.loads(body)["message"]
    st, _, body = call(svc.sock, "POST", "/v1.41/containers/create", json.dumps(
        {"Image": BUSYBOX, "Healthcheck": {"Test": ["WHAT", "x"]}}).encode())
    assert st == 400 and "Healthcheck.Test" in json.loads(body)["message"]
    st, _, body = call(svc.sock, "POST", "/v1.41/containers/create", b"{not json")
    assert st == 400 and "not valid JSON" in json.loads(body)["message"]
    st, _, body = call(svc.sock, "POST", "/v1.41/containers/create",
                       json.dumps({"Image": "localhost/nosuch:1"}).encode())
    assert st == 404 and "No such image: localhost/nosuch:1" in json.loads(body)["message"]
    assert sorted(x["Names"][0] for x in json.loads(call(svc.sock, "GET", "/containers/json?all=1")[2])) \
        == ["/c2"]


def test_volumes_and_networks(svc):
    b = svc.b
    assert docker(svc, "volume", "create", "apivol").stdout.strip() == "apivol"
    assert "apivol" in docker(svc, "volume", "ls", "-q").stdout.split()
    assert docker(svc, "volume", "inspect", "-f", "{{.Name}} {{.Driver}}",
                  "apivol").stdout.strip() == "apivol local"
    assert "apivol" in b("volume", "ls", "-q").stdout.split()  # the same store
    b("create", "--name", "user", "-v", "apivol:/d", BUSYBOX, "true")
    r = docker(svc, "volume", "rm", "apivol", check=False)
    assert r.returncode != 0 and f"in use by container {b.inspect('user')['Id'][:12]}" in r.stderr
    b("rm", "user")
    docker(svc, "volume", "rm", "apivol")
    r = docker(svc, "volume", "inspect", "apivol", check=False)
    assert r.returncode != 0 and "no such volume" in r.stderr.lower()
    anon = b("volume", "create").stdout.strip()
    assert anon in docker(svc, "volume", "prune", "-f").stdout
    nid = docker(svc, "network", "create", "--subnet", "10.231.0.0/24", "apinet").stdout.strip()
    assert len(nid) == 64
    assert "apinet" in docker(svc, "network", "ls", "--format", "{{.Name}}").stdout.split()
    assert docker(svc, "network", "inspect", "-f", "{{(index .IPAM.Config 0).Subnet}}",
                  "apinet").stdout.strip() == "10.231.0.0/24"
    r = docker(svc, "network", "create", "apinet", check=False)
    assert r.returncode != 0 and "apinet" in r.stderr
    docker(svc, "network", "rm", "apinet")
    assert "apinet" not in b("network", "ls").stdout


def test_lifecycle_detached(svc):
    """docker run -d, logs, top, stop, start, restart, kill, wait, rm through the API."""
    b = svc.b
    cid = docker(svc, "run", "-d", "--name", "d1", "--network", "none", BUSYBOX, "sh", "-c",
                 "echo out; echo err >&2; trap 'exit 7' TERM; while :; do sleep 0.1; done"
                 ).stdout.strip()
    assert b.inspect("d1")["Id"] == cid and b.inspect("d1")["State"]["Status"] == "running"
    assert wait_for(lambda: docker(svc, "logs", "d1").stdout == "out\n")
    r = docker(svc, "logs", "d1")
    assert r.stdout == "out\n" and r.stderr == "err\n"  # the streams demultiplexed
    assert docker(svc, "logs", "--tail", "0", "d1").stdout == ""
    assert "sleep" in docker(svc, "top", "d1").stdout or "sh -c" in docker(svc, "top", "d1").stdout
    docker(svc, "stop", "-t", "5", "d1")
    code = b.inspect("d1")["State"]["ExitCode"]
    assert b.inspect("d1")["State"]["Status"] == "exited" and code in (7, 137)
    assert docker(svc, "wait", "d1").stdout.strip() == str(code)
    docker(svc, "start", "d1")
    assert b.inspect("d1")["State"]["Status"] == "running"
    docker(svc, "restart", "-t", "1", "d1")
    assert b.inspect("d1")["State"]["Status"] == "running"
    docker(svc, "pause", "d1")
    assert b.inspect("d1")["State"]["Status"] == "paused"
    docker(svc, "unpause", "d1")
    r = docker(svc, "rm", "d1", check=False)
    assert r.returncode != 0 and "d1" in r.stderr + cid
    docker(svc, "kill", "d1")
    assert wait_for(lambda: b.inspect("d1")["State"]["Status"] == "exited")
    r = docker(svc, "kill", "d1", check=False)
    assert r.returncode != 0 and "is not running" in r.stderr
    docker(svc, "rm", "d1")
    assert b.ids() == []
    # follow: the log until the exit
    docker(svc, "run", "-d", "--name", "d2", "--network", "none", BUSYBOX, "sh", "-c",
           "echo a; sleep 1; echo b")
    assert docker(svc, "logs", "-f", "d2").stdout == "a\nb\n"
    assert docker(svc, "wait", "d2").stdout.strip() == "0"
    docker(svc, "rm", "-f", "d2")
    st, _, body = call(svc.sock, "POST", "/containers/nosuch/start")
    assert st == 404


def test_restart_policy_and_healthcheck_through_the_api(svc):
    b = svc.b
    docker(svc, "run", "-d", "--name", "rp1", "--network", "none", "--restart", "on-failure:2",
           BUSYBOX, "sh", "-c", "echo run; exit 3")
    assert wait_for(lambda: b.inspect("rp1")["RestartCount"] == 2
                    and b.inspect("rp1")["State"]["Status"] == "exited", timeout=30)
    assert docker(svc, "wait", "rp1").stdout.strip() == "3"
    pol = b.inspect("rp1")["HostConfig"]["RestartPolicy"]
    assert pol == {"Name": "on-failure", "MaximumRetryCount": 2}
    assert docker(svc, "logs", "rp1").stdout == "run\nrun\nrun\n"
    docker(svc, "run", "-d", "--name", "hc1", "--network", "none", "--health-cmd",
           "test -e /tmp/ok", "--health-interval", "1s", "--health-retries", "1",
           BUSYBOX, "sleep", "300")
    hc = b.inspect("hc1")["Config"]["Healthcheck"]
    assert hc["Test"][-1] == "test -e /tmp/ok" and hc["Interval"] == 1000000000
    st = lambda: docker(svc, "inspect", "-f", "{{.State.Health.Status}}", "hc1").stdout.strip()
    assert wait_for(lambda: st() == "unhealthy", timeout=20)
    docker(svc, "exec", "hc1", "touch", "/tmp/ok")
    assert wait_for(lambda: st() == "healthy", timeout=20)
    assert "(healthy)" in docker(svc, "ps", "--format", "{{.Status}}").stdout
    docker(svc, "rm", "-f", "hc1", "rp1")


def test_events_of_containers_images_volumes_networks(svc):
    """/events: the store observed (no daemon), each change told as Docker's
    (Type, Action), with filters; a destroy keeps the container's labels."""
    docker_mod = pytest.importorskip("docker", reason="python3-docker (docker-py) is missing")
    import threading
    cl = docker_mod.DockerClient(base_url=f"unix://{svc.sock}", version="auto")
    streams = {"all": {}, "net": {"type": "network"}, "lab": {"label": "ev=1"}}
    got = {k: [] for k in streams}
    gens = {}

    def collect(key):
        for e in gens[key]:
            got[key].append(e)

    until = time.time() + 12
    for k, f in streams.items():
        gens[k] = cl.api.events(decode=True, filters=f, until=int(until))
    threads = [threading.Thread(target=collect, args=(k,), daemon=True) for k in streams]
    for t in threads:
        t.start()
    time.sleep(0.5)
    net = cl.networks.create("evnet")
    vol = cl.volumes.create("evvol")
    c = cl.containers.run(BUSYBOX, ["sh", "-c", "exit 3"], network="evnet", labels={"ev": "1"},
                          detach=True)
    c.wait()
    time.sleep(0.4)
    c.remove()
    img = cl.images.get(BUSYBOX)
    img.tag("localhost/evtag", "x")
    time.sleep(0.4)
    cl.images.remove("localhost/evtag:x")
    vol.remove()
    net.remove()
    for t in threads:
        t.join(timeout=20)
    pairs = [(e["Type"], e["Action"]) for e in got["all"]]
    # within one look (100 ms) changes come by type, not in order: per type
    want = {"network": ["create", "connect", "disconnect", "destroy"],
            "volume": ["create", "destroy"], "image": ["tag", "untag"],
            "container": ["create", "start", "die", "destroy"]}
    for t, acts in want.items():
        assert [a for (ty, a) in pairs if ty == t] == acts, pairs
    assert pairs.index(("network", "connect")) < pairs.index(("container", "start"))
    assert pairs.index(("container", "die")) < pairs.index(("network", "disconnect"))
    die = next(e for e in got["all"] if e["Action"] == "die")
    assert die["Actor"]["Attributes"]["exitCode"] == "3" and die["id"] == c.id
    conn = next(e for e in got["all"] if e["Action"] == "connect")
    assert conn["Actor"]["ID"] == net.id and conn["Actor"]["Attributes"]["container"] == c.id
    tag = next(e for e in got["all"] if e["Action"] == "tag")
    assert tag["Actor"]["Attributes"]["name"] == "localhost/evtag:x"
    assert {e["Type"] for e in got["net"]} == {"network"}
    assert [e["Action"] for e in got["net"]] == ["create", "connect", "disconnect", "destroy"]
    lab = [(e["Type"], e["Action"]) for e in got["lab"]]
    assert lab == [("container", a) for a in ("create", "start", "die", "destroy")], lab
    st, _, body = call(svc.sock, "GET", '/events?filters={"type":["daemon"]}')
    assert st == 400 and b"daemon" in body
