"""Rootless `berth run` networking (issues #14, #11) as a real account: pasta (the
default when installed) or slirp4netns per container, published ports through the
tool, the tool gone once the container is, bridges refused, --network none."""
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import http.server
import urllib.request

import pytest

from conftest import missing_tool, need
from rootless_helpers import Account, busybox_tar, need_rootless, tun_for_accounts

IMG = "localhost/busybox"
TUN = "/dev/net/tun"
TOOLS = {"pasta": "passt", "slirp4netns": "slirp4netns"}


@pytest.fixture(scope="module")
def tar():
    need_rootless()
    d = tempfile.mkdtemp(prefix="berth-rlnet-img-", dir="/tmp")
    try:
        yield busybox_tar(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def tun():
    with tun_for_accounts(TUN):
        yield


@pytest.fixture
def acct(tar, tun):
    with Account() as a:
        a.user().berth("import", tar, IMG)
        yield a


@pytest.fixture(params=sorted(TOOLS))
def tool(request):
    need(missing_tool(request.param, TOOLS[request.param]))
    return request.param


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tool_pids(acct, name):
    """The account's processes of the tool (argv[0]: Debian's pasta execs passt.avx2)."""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            if os.stat(f"/proc/{d}").st_uid != acct.uid:
                continue
            argv0 = open(f"/proc/{d}/cmdline", "rb").read().split(b"\0")[0].decode()
        except OSError:
            continue
        if os.path.basename(argv0) == name:
            pids.append(d)
    return pids


def tool_gone(acct, name):
    """No process of the tool: polled, as the cleanup after an exit runs in the
    monitor after `wait` returned (bounded, not a timing assertion)."""
    for _ in range(100):
        if not tool_pids(acct, name):
            return True
        time.sleep(0.1)
    return False


def host_addresses():
    """The host's IPv4 addresses on non-loopback interfaces."""
    r = subprocess.run(["ip", "-4", "-o", "addr", "show", "scope", "global"],
                       capture_output=True, text=True)
    return [ln.split()[3].split("/")[0] for ln in r.stdout.splitlines()]


def test_publish_to_host_loopback_and_tool_gone(acct, tool):
    u = acct.user()
    port = free_port()
    cid = u.berth("run", "-d", "--network", tool, "-p", f"127.0.0.1:{port}:80", IMG,
                  "httpd", "-f", "-p", "80", "-h", "/www").stdout.strip()
    try:
        assert tool_pids(acct, tool), f"no {tool} process for the container"
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html",
                                      timeout=10).read()
        assert body
        assert f"127.0.0.1:{port}" in u.berth("port", cid).stdout
        assert f"{port}->80/tcp" in u.berth("ps").stdout
        r = u.berth("inspect", "-f", "{{.HostConfig.NetworkMode}}", cid)
        assert r.stdout.strip() == tool
    finally:
        u.berth("rm", "-f", cid)
    assert tool_gone(acct, tool), f"{tool} left after rm -f"


def test_run_rm_and_own_exit_leave_no_tool(acct, tool):
    u = acct.user()
    r = u.berth("run", "--rm", "--network", tool, IMG, "sh", "-c",
                "ip -o link | grep -c eth0; cat /etc/resolv.conf")
    assert r.stdout.splitlines()[0] == "1", r.stdout
    want = "10.0.2.3" if tool == "slirp4netns" else None
    if want:
        assert f"nameserver {want}" in r.stdout
    assert tool_gone(acct, tool)
    cid = u.berth("run", "-d", "--network", tool, IMG, "true").stdout.strip()
    u.berth("wait", cid)
    assert tool_gone(acct, tool), f"{tool} left after the container exited"
    u.berth("rm", cid)


def test_container_reaches_a_host_server(acct, tool):
    addrs = host_addresses()
    if not addrs:
        pytest.skip("the host has no non-loopback IPv4 address")
    # pasta gives the container a copy of the host's (first) address: the host
    # is reached at another one; slirp4netns NATs to the host's own sockets
    if tool == "pasta" and len(addrs) < 2:
        pytest.skip("pasta reaches the host only at an address of another interface")
    addr = addrs[-1]
    srv = http.server.HTTPServer((addr, 0), http.server.SimpleHTTPRequestHandler)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    try:
        target = addr
        u = acct.user()
        r = u.berth("run", "--rm", "--network", tool, IMG, "wget", "-q", "-O", "-",
                    f"http://{target}:{srv.server_port}/", check=False)
        assert r.returncode == 0, r.stderr
    finally:
        srv.shutdown()
        srv.server_close()
    assert tool_gone(acct, tool)


def test_port_in_use_refused_nothing_left(acct, tool):
    u = acct.user()
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = u.berth("run", "-d", "--name", "rlnet-busy", "--network", tool, "-p",
                    f"127.0.0.1:{port}:80", IMG, "sleep", "100", check=False)
        assert r.returncode != 0
        assert str(port) in r.stderr, r.stderr
    assert tool_gone(acct, tool)
    ps = u.berth("ps", "-a", "--format", "{{.Names}} {{.Status}}").stdout
    assert "running" not in ps.lower() and "Up" not in ps, ps


def test_default_network_and_none(acct):
    u = acct.user()
    r = u.berth("run", "--rm", "--network", "none", IMG, "ip", "-o", "link")
    names = [ln.split(":")[1].strip() for ln in r.stdout.splitlines()]
    assert names == ["lo"], r.stdout
    if shutil.which("pasta") or shutil.which("slirp4netns"):
        r = u.berth("run", "--rm", IMG, "ip", "-o", "link")
        assert "eth0" in r.stdout, r.stdout


def test_bridges_refused_for_rootless(acct):
    u = acct.user()
    r = u.berth("network", "create", "rlnet-x", check=False)
    assert r.returncode != 0 and "not supported for rootless" in r.stderr, r.stderr
    r = u.berth("run", "--rm", "--network", "bridge", IMG, "true", check=False)
    assert r.returncode != 0 and "not supported for rootless" in r.stderr, r.stderr
    assert "rlnet-x" not in u.berth("network", "ls", check=False).stdout


def test_kill9_of_monitor_then_system_check_kills_the_tool(acct, tool):
    u = acct.user()
    cid = u.berth("run", "-d", "--network", tool, IMG, "sleep", "1000").stdout.strip()
    pids = tool_pids(acct, tool)
    assert pids
    mon = int(u.berth("inspect", "-f", "{{.State.MonitorPid}}", cid).stdout)
    pid = int(u.berth("inspect", "-f", "{{.State.Pid}}", cid).stdout)
    os.kill(mon, 9)
    os.kill(pid, 9)
    if tool == "slirp4netns":
        # its exit fd was the monitor's: it goes with it
        assert tool_gone(acct, tool)
    else:
        # pasta outlives its netns: the leak is found, and repaired
        for _ in range(100):
            if "running" not in u.berth("inspect", "-f", "{{.State.Status}}", cid).stdout:
                break
            time.sleep(0.1)
        r = u.berth("system", "check", check=False)
        assert f"pasta process {pids[0]}" in r.stdout + r.stderr, r.stdout + r.stderr
        u.berth("system", "check", "--repair", check=False)
        assert tool_gone(acct, tool)
    u.berth("rm", "-f", cid)
