"""docker-compose (Debian's 1.29, through docker-py) running a project on
`berth system service`: a web service with a healthcheck and a published
port, a worker that depends on it being healthy and reaches it by its
service name over the project network, a named volume they share, restart
policies, scale, logs, exec, ps, down -v; everything gone at the end."""
import os
import shutil
import socket
import subprocess
import time
import urllib.request

import pytest

from engine_helpers import BUSYBOX, engine_store, store_networks, wait_for
from test_api_service import Service

if os.geteuid() != 0:
    pytest.skip("the engine tests need root", allow_module_level=True)

COMPOSE = shutil.which("docker-compose")
if not COMPOSE:
    pytest.skip("no docker-compose (Debian's docker-compose)", allow_module_level=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


PROJECT = """
version: "2.4"
services:
  web:
    image: {img}
    command: ["sh", "-c", "echo web-starting; echo hello-from-web > /www/index.html; exec httpd -f -v -p 80 -h /www"]
    volumes:
      - www:/www
    ports:
      - "127.0.0.1:{port}:80"
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1/"]
      interval: 1s
      retries: 3
    restart: unless-stopped
  worker:
    image: {img}
    command: ["sh", "-c", "echo worker-up; while true; do wget -q -O - http://web/ >> /www/seen-$$(hostname) && echo fetched; sleep 1; done"]
    volumes:
      - www:/www
    depends_on:
      web:
        condition: service_healthy
    restart: always
volumes:
  www:
"""


@pytest.fixture
def project(tmp_path):
    with engine_store("berth-cmp-") as b:
        s = Service(b, "--time", "0")
        port = free_port()
        (tmp_path / "docker-compose.yml").write_text(PROJECT.format(img=BUSYBOX, port=port))
        env = dict(os.environ, DOCKER_HOST=f"unix://{s.sock}", DOCKER_CONFIG=str(b.tmp / "dcli"),
                   COMPOSE_INTERACTIVE_NO_CLI="1")

        def dc(*args, check=True, timeout=60):
            # (a call that never returned, about once in five runs, was a
            # fork of the threaded service waiting on a lock: docs/api.md)
            r = subprocess.run([COMPOSE, "-p", "bcmp", *args], cwd=tmp_path, env=env,
                               capture_output=True, text=True, timeout=timeout,
                               stdin=subprocess.DEVNULL)
            if check:
                assert r.returncode == 0, f"compose {args}: {r.returncode}\n{r.stdout}\n{r.stderr}"
            return r
        try:
            yield b, dc, port
        finally:
            dc("down", "-v", "-t", "1", check=False)
            s.stop()


def get(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
        return r.read().decode()


def test_compose_up_ps_logs_exec_scale_down(project):
    b, dc, port = project
    dc("up", "-d")
    # depends_on service_healthy: the worker was started once web was healthy
    web = b.inspect("bcmp_web_1")
    assert web["State"]["Health"]["Status"] == "healthy"
    assert web["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    assert get(port) == "hello-from-web\n"
    ps = dc("ps").stdout
    assert ps.count("bcmp_web_1") == 1 and ps.count("bcmp_worker_1") == 1, ps
    assert "Up (healthy)" in ps and f"127.0.0.1:{port}->80/tcp" in ps
    # the worker reaches web by its service name on the project network
    assert wait_for(lambda: "fetched" in dc("logs", "worker").stdout, timeout=30)
    logs = dc("logs", "--no-color").stdout
    assert "web-starting" in logs and "worker-up" in logs
    assert "bcmp_default" in store_networks(b)
    r = dc("exec", "-T", "worker", "sh", "-c", "cat /www/seen-*; exit 3", check=False)
    assert r.returncode == 3 and "hello-from-web" in r.stdout, r
    # scale: a second worker, numbered as compose numbers them
    dc("up", "-d", "--scale", "worker=2")
    ps = dc("ps").stdout
    assert "bcmp_worker_2" in ps and ps.count("bcmp_web_1") == 1, ps
    # both workers write into the shared volume, each its own file
    seen = lambda: dc("exec", "-T", "worker", "sh", "-c", "ls /www | grep -c seen-",
                      check=False, timeout=30).stdout.strip()

    assert wait_for(lambda: seen() == "2", timeout=30)
    dc("up", "-d", "--scale", "worker=1")
    assert "bcmp_worker_2" not in dc("ps").stdout
    # restart: always brings a killed worker back
    wid = b.inspect("bcmp_worker_1")["Id"]
    pid = b.inspect("bcmp_worker_1")["State"]["Pid"]
    os.kill(pid, 9)
    assert wait_for(lambda: b.inspect(wid)["RestartCount"] >= 1
                    and b.inspect(wid)["State"]["Status"] == "running", timeout=30)
    dc("down", "-v", "-t", "1")
    assert b.ids() == []
    assert not (b.root / "volumes" / "bcmp_www").exists()
    assert "bcmp_default" not in store_networks(b)
