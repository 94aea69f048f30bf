"""The API's streams driven by the real clients: `docker run` without -d (the
attach before the start, Docker's hijacked connection, the multiplexed stream),
stdin, a tty, exit codes, attach to a running container, and docker-py's
attach/exec edges."""
import os
import subprocess
import time

import pytest

from engine_helpers import BUSYBOX, engine_store, wait_for
from test_api_service import Service, docker

if os.geteuid() != 0:
    pytest.skip("the engine tests need root", allow_module_level=True)


@pytest.fixture
def svc():
    with engine_store("berth-apiat-") as b:
        s = Service(b, "--time", "0")
        try:
            yield s
        finally:
            s.stop()


def test_run_attached_streams_and_exit_code(svc):
    r = docker(svc, "run", "--rm", "--network", "none", BUSYBOX, "sh", "-c",
               "echo out1; echo err1 >&2; echo out2; exit 3", check=False)
    assert r.returncode == 3, r.stderr
    assert r.stdout == "out1\nout2\n"
    assert r.stderr == "err1\n"
    assert svc.b.ids() == [], "--rm removed it"
    # a big output arrives whole (many frames)
    r = docker(svc, "run", "--rm", "--network", "none", BUSYBOX, "sh", "-c",
               "i=0; while [ $i -lt 2000 ]; do echo line$i; i=$((i+1)); done")
    lines = r.stdout.split("\n")
    assert lines[0] == "line0" and lines[1999] == "line1999" and len(lines) == 2001


def test_run_attached_slow_reader_gets_everything(svc):
    # the client stops reading for a while (its stdout pipe full): the
    # service's writes block instead of failing (a non-blocking socket lost
    # the rest of the stream with EAGAIN)
    env = dict(os.environ, DOCKER_HOST=f"unix://{svc.sock}",
               DOCKER_CONFIG=str(svc.b.tmp / "dcli"))
    r = subprocess.run(
        ["sh", "-c", f"/usr/bin/docker run --rm --network none {BUSYBOX} "
         "sh -c 'head -c 4000000 /dev/zero | tr \\\\0 x' | (sleep 2; wc -c)"],
        capture_output=True, text=True, timeout=60, env=env)
    assert r.stdout.strip() == "4000000", r


def test_service_keeps_no_children_or_fds(svc):
    # every start's monitor is launched by a fresh process (a fork of the
    # threaded service may wait forever on a lock another thread held) and
    # is not the service's child: nothing is left to reap; no fd leaks
    def fds():
        return len(os.listdir(f"/proc/{svc.proc.pid}/fd"))

    def kids():
        out = subprocess.run(["pgrep", "-P", str(svc.proc.pid)], capture_output=True,
                             text=True).stdout.split()
        return [k for k in out if os.path.exists(f"/proc/{k}")]

    docker(svc, "run", "--rm", "--network", "none", BUSYBOX, "true")
    before = fds()
    for i in range(8):
        r = docker(svc, "run", "--rm", "--network", "none", BUSYBOX, "sh", "-c", f"echo r{i}")
        assert r.stdout == f"r{i}\n"
        docker(svc, "run", "-d", "--name", f"kid{i}", "--network", "none", BUSYBOX, "true")
        docker(svc, "wait", f"kid{i}")
        docker(svc, "rm", f"kid{i}")
    assert wait_for(lambda: kids() == [], timeout=10), kids()
    assert wait_for(lambda: fds() <= before + 2, timeout=10), os.listdir(f"/proc/{svc.proc.pid}/fd")
    assert svc.b.ids() == []


def test_run_attached_without_rm_and_name(svc):
    r = docker(svc, "run", "--name", "at1", "--network", "none", BUSYBOX, "echo", "hello")
    assert r.stdout == "hello\n"
    assert svc.b.inspect("at1")["State"]["ExitCode"] == 0
    assert svc.b("logs", "at1").stdout == "hello\n"


def test_run_stdin(svc):
    r = subprocess.run(
        ["/usr/bin/docker", "run", "--rm", "-i", "--network", "none", BUSYBOX, "sh", "-c",
         "tr a-z A-Z; echo done >&2"],
        input="abc\nxyz\n", capture_output=True, text=True, timeout=60,
        env=dict(os.environ, DOCKER_HOST=f"unix://{svc.sock}",
                 DOCKER_CONFIG=str(svc.b.tmp / "dcli")))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "ABC\nXYZ\n" and r.stderr == "done\n"


def test_run_tty_raw_stream(svc):
    # docker -t needs a terminal on its side: run it under script(1)
    out = subprocess.run(
        ["script", "-qec", f"/usr/bin/docker run --rm -t --network none {BUSYBOX} "
         "sh -c 'test -t 1 && echo is-a-tty; exit 4'", "/dev/null"],
        capture_output=True, text=True, timeout=60,
        env=dict(os.environ, DOCKER_HOST=f"unix://{svc.sock}",
                 DOCKER_CONFIG=str(svc.b.tmp / "dcli")))
    assert "is-a-tty" in out.stdout, out
    assert out.returncode == 4, out


def test_attach_to_running(svc):
    b = svc.b
    b("run", "-d", "--name", "at2", "--network", "none", BUSYBOX, "sh", "-c",
      "sleep 1; echo late; exit 7")
    r = docker(svc, "attach", "at2", check=False)
    assert r.returncode == 7, r.stderr
    assert r.stdout == "late\n"


def test_attach_errors(svc):
    r = docker(svc, "attach", "nosuch", check=False)
    assert r.returncode != 0 and "No such container: nosuch" in r.stderr
    svc.b("run", "-d", "--name", "at3", "--network", "none", BUSYBOX, "sleep", "300")
    svc.b("pause", "at3")
    r = docker(svc, "attach", "at3", check=False)
    assert r.returncode != 0 and "paused" in r.stderr
    svc.b("unpause", "at3")


def dcli(svc, *args, **kw):
    return subprocess.run(["/usr/bin/docker", *args], capture_output=True, text=True,
                          timeout=60, env=dict(os.environ, DOCKER_HOST=f"unix://{svc.sock}",
                                               DOCKER_CONFIG=str(svc.b.tmp / "dcli")), **kw)


def test_exec_cli(svc):
    b = svc.b
    b("run", "-d", "--name", "ex1", "--network", "none", BUSYBOX, "sleep", "300")
    r = dcli(svc, "exec", "ex1", "sh", "-c", "echo o; echo e >&2; exit 5")
    assert (r.returncode, r.stdout, r.stderr) == (5, "o\n", "e\n"), r
    r = dcli(svc, "exec", "-u", "1234:5", "-w", "/tmp", "-e", "K=v", "ex1",
             "sh", "-c", 'echo $(id -u):$(id -g) $PWD $K')
    assert r.stdout == "1234:5 /tmp v\n", r
    r = dcli(svc, "exec", "-i", "ex1", "sh", "-c", "wc -l", input="a\nb\nc\n")
    assert r.returncode == 0 and r.stdout.strip() == "3", r
    r = dcli(svc, "exec", "-d", "ex1", "sh", "-c", "echo bg > /tmp/bg")
    assert r.returncode == 0 and r.stdout == "", r
    assert wait_for(lambda: dcli(svc, "exec", "ex1", "cat", "/tmp/bg").stdout == "bg\n")
    r = dcli(svc, "exec", "ex1", "/nosuch/binary")
    assert r.returncode in (126, 127) and "nosuch" in (r.stdout + r.stderr), r
    out = subprocess.run(
        ["script", "-qec", "/usr/bin/docker exec -t ex1 sh -c 'test -t 0 && echo tty-yes; exit 6'",
         "/dev/null"], capture_output=True, text=True, timeout=60,
        env=dict(os.environ, DOCKER_HOST=f"unix://{svc.sock}",
                 DOCKER_CONFIG=str(svc.b.tmp / "dcli")))
    assert "tty-yes" in out.stdout and out.returncode == 6, out


def test_exec_docker_py_and_errors(svc):
    docker_mod = pytest.importorskip("docker", reason="python3-docker (docker-py) is missing")
    b = svc.b
    b("run", "-d", "--name", "ex2", "--network", "none", BUSYBOX, "sleep", "300")
    cl = docker_mod.DockerClient(base_url=f"unix://{svc.sock}", version="auto")
    try:
        c = cl.containers.get("ex2")
        res = c.exec_run(["sh", "-c", "echo out; echo err >&2; exit 9"], demux=True)
        assert res.exit_code == 9 and res.output == (b"out\n", b"err\n")
        res = c.exec_run("cat /etc/hostname")
        assert res.exit_code == 0 and res.output.strip() == c.attrs["Config"]["Hostname"].encode()
        api = cl.api
        # ExecInspect's Pid is the process's own (not the helper's that runs it)
        did = api.exec_create("ex2", ["sleep", "7"])["Id"]
        api.exec_start(did, detach=True)
        assert wait_for(lambda: api.exec_inspect(did)["Pid"] > 0)
        pid = api.exec_inspect(did)["Pid"]
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            assert f.read().split(b"\0")[:2] == [b"sleep", b"7"]
        eid = api.exec_create("ex2", ["sh", "-c", "sleep 1; exit 4"])["Id"]
        assert api.exec_inspect(eid)["Running"] is False
        api.exec_start(eid)
        ins = api.exec_inspect(eid)
        assert ins["ExitCode"] == 4 and ins["Running"] is False and ins["ContainerID"] == c.id
        with pytest.raises(docker_mod.errors.APIError) as ei:
            api.exec_start(eid)
        assert ei.value.status_code == 409
        with pytest.raises(docker_mod.errors.NotFound):
            api.exec_inspect("nosuch")
        with pytest.raises(docker_mod.errors.APIError) as ei:
            api.exec_create("ex2", ["true"], privileged=True)
        assert ei.value.status_code == 400 and "Privileged" in str(ei.value)
        # output through the container's attach socket, as docker-py's attach
        c2 = cl.containers.run(BUSYBOX, ["sh", "-c", "echo py-run"], network_mode="none",
                               remove=True)
        assert c2 == b"py-run\n"
        b("stop", "-t", "0", "ex2")
        with pytest.raises(docker_mod.errors.APIError) as ei:
            api.exec_create("ex2", ["true"])
        assert ei.value.status_code == 409 and "is not running" in str(ei.value)
    finally:
        cl.close()


def test_clients_that_leave_free_the_service(svc):
    """A client gone from an attach, a wait, a followed log or an exec of a
    silent container does not hold the service (its stop is checked by the
    fixture's time limit) nor stop the container."""
    b = svc.b
    b("run", "-d", "--name", "lv1", "--network", "none", BUSYBOX, "sleep", "300")
    env = dict(os.environ, DOCKER_HOST=f"unix://{svc.sock}", DOCKER_CONFIG=str(b.tmp / "dcli"))
    procs = [subprocess.Popen(["/usr/bin/docker", *a], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
             for a in (["attach", "lv1"], ["wait", "lv1"], ["logs", "-f", "lv1"],
                       ["exec", "lv1", "sleep", "200"])]
    time.sleep(1.5)
    for p in procs:
        assert p.poll() is None
        p.kill()
        p.wait()
    assert b.inspect("lv1")["State"]["Status"] == "running"
    t0 = time.monotonic()
    svc.stop()
    assert time.monotonic() - t0 < 5
