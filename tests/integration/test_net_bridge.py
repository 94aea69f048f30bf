"""Container networking with real traffic: the default network, published
ports (from the host's loopback, from an outside host, hairpin; TCP and UDP),
user networks with names and aliases, --internal, isolation between
networks, the /etc files, connect/disconnect, and what bad requests and
kill -9s leave (nothing, once `system check --repair` ran)."""
import concurrent.futures
import json
import os
import signal
import socket
import subprocess
import time

import pytest

from conftest import missing_tool, need, requires, missing_netns, run
from engine_helpers import BUSYBOX, wait_for
from net_helpers import (PEER_SERVER, Outside, free_port, http_get, links, net_store,
                         nft_ruleset, udp_ask, udp_echo_binary, wait_http)

pytestmark = requires(missing_netns(), missing_tool("nft", "nftables"),
                      missing_tool("curl", "curl"))

HTTPD = ["sh", "-c", "mkdir -p /w && echo hello-$HOSTNAME > /w/index.html && "
         "exec httpd -f -p 80 -h /w"]


@pytest.fixture
def b():
    with net_store("berth-net-") as bb:
        yield bb


@pytest.fixture
def outside():
    o = Outside()
    yield o
    o.close()


def fetch(b, url, *net, t=3):
    """wget URL in a new container (under sh: as PID 1, timeout could not
    stop its wget, which ignores SIGTERM there)."""
    return b("run", "--rm", *net, BUSYBOX, "sh", "-c", f"timeout {t} wget -qO- {url}; exit $?",
             check=False)


def web(b, *opts, name=None):
    args = ["run", "-d", *opts]
    if name:
        args += ["--name", name]
    return b(*args, BUSYBOX, *HTTPD).stdout.strip()


def test_default_network_published_port_from_loopback_and_outside(b, outside):
    port = free_port()
    cid = web(b, "-p", f"{port}:80", "--hostname", "w1")
    assert wait_http(f"http://127.0.0.1:{port}/") == "hello-w1\n"
    # from an outside host, to the host's address on that link (prerouting)
    r = outside.run("curl", "-sS", "--max-time", "3", f"http://{outside.host_ip}:{port}/")
    assert r.stdout == "hello-w1\n"
    info = b.inspect(cid)
    ns = info["NetworkSettings"]
    assert info["HostConfig"]["NetworkMode"] == "bridge"
    net = ns["Networks"]["bridge"]
    assert net["IPAddress"] and net["Gateway"] and net["IPPrefixLen"] > 0
    assert ns["Ports"] == {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": str(port)}]}
    assert b("port", cid).stdout == f"80/tcp -> 0.0.0.0:{port}\n"
    assert b("port", cid, "80").stdout == f"0.0.0.0:{port}\n"
    assert f"0.0.0.0:{port}->80/tcp" in b("ps").stdout
    # the container's own view: eth0 with that address, the default route
    r = b("exec", cid, "ip", "-4", "addr", "show", "eth0")
    assert net["IPAddress"] in r.stdout
    assert f"default via {net['Gateway']}" in b("exec", cid, "ip", "route").stdout
    # the bridge exists while its network does; the container's veth is on it
    br = json.loads(b("network", "inspect", "bridge").stdout)[0]
    assert cid in br["Containers"]
    assert any(l.startswith("bv" + cid[:10]) for l in links())
    b("rm", "-f", cid)
    assert not any(l.startswith("bv" + cid[:10]) for l in links())
    assert http_get(f"http://127.0.0.1:{port}/", timeout=1) is None
    assert f":{port} " not in nft_ruleset() and f" {port} :" not in nft_ruleset()


def test_outbound_is_masqueraded_and_hairpin_works(b, outside):
    sp = free_port()
    srv = outside.popen("python3", "-c", PEER_SERVER, str(sp), stdout=subprocess.PIPE, text=True)
    assert srv.stdout.readline().strip() == "ready"
    # outbound: the outside host sees the host's address, not the container's
    r = b("run", "--rm", BUSYBOX, "nc", outside.ip, str(sp))
    assert r.stdout.strip() == outside.host_ip
    # hairpin: a container reaches its own published port through a host address
    port = free_port()
    cid = web(b, "-p", f"{port}:80", "--hostname", "hp")
    assert wait_http(f"http://127.0.0.1:{port}/") == "hello-hp\n"
    r = b("exec", cid, "timeout", "3", "wget", "-qO-", f"http://{outside.host_ip}:{port}/")
    assert r.stdout == "hello-hp\n"


def test_udp_published_port(b, tmp_path):
    echo = udp_echo_binary(tmp_path)
    port = free_port()
    b("run", "-d", "-p", f"127.0.0.1:{port}:5353/udp", "-v", f"{echo}:/udpecho:ro", BUSYBOX,
      "/udpecho", "5353")
    assert udp_ask("127.0.0.1", port, b"hi-udp") == b"hi-udp"


def test_port_ranges_random_ports_and_publish_all(b):
    p0 = free_port()
    cid = web(b, "-p", "80", "-p", f"127.0.0.1::80/udp", "--expose", "81", "-P")
    ports = b.inspect(cid)["NetworkSettings"]["Ports"]
    hp = int(ports["80/tcp"][0]["HostPort"])
    assert hp > 0 and ports["80/tcp"][0]["HostIp"] == "0.0.0.0"
    assert ports["80/udp"][0]["HostIp"] == "127.0.0.1"
    assert int(ports["81/tcp"][0]["HostPort"]) > 0  # -P: the exposed port too
    assert wait_http(f"http://127.0.0.1:{hp}/", timeout=10) == f"hello-{cid[:12]}\n"
    b("rm", "-f", cid)
    # a range maps one to one
    base = p0 if p0 < 65000 else 40000
    cid = b("run", "-d", "-p", f"{base}-{base + 1}:80-81", BUSYBOX, "sleep", "60").stdout.strip()
    ports = b.inspect(cid)["NetworkSettings"]["Ports"]
    assert ports["80/tcp"][0]["HostPort"] == str(base)
    assert ports["81/tcp"][0]["HostPort"] == str(base + 1)


def test_names_and_aliases_on_a_user_network_follow_a_restart(b):
    b("network", "create", "app")
    b("run", "-d", "--network", "app", "--name", "db", "--network-alias", "database",
      BUSYBOX, *HTTPD)
    for name in ("db", "database"):
        r = wait_for(lambda: fetch(b, f"http://{name}/", "--network", "app", t=3).stdout, timeout=10)
        assert r.startswith("hello-"), name
    ip1 = b.inspect("db")["NetworkSettings"]["Networks"]["app"]["IPAddress"]
    r = b("run", "--rm", "--network", "app", BUSYBOX, "nslookup", "db")
    assert ip1 in r.stdout
    b("stop", "-t", "1", "db")
    # a stopped container is out of DNS
    r = b("run", "--rm", "--network", "app", BUSYBOX, "nslookup", "db", check=False)
    assert ip1 not in r.stdout.split("Name:")[-1]
    b("start", "db")
    ip2 = b.inspect("db")["NetworkSettings"]["Networks"]["app"]["IPAddress"]
    r = wait_for(lambda: fetch(b, "http://db/", "--network", "app", t=3).stdout, timeout=10)
    assert r.startswith("hello-")
    assert ip2 in b("run", "--rm", "--network", "app", BUSYBOX, "nslookup", "db").stdout
    # the default network has no names (Docker's rule); the resolv.conf of a
    # user network points at the network's DNS server
    r = b("run", "--rm", "--network", "app", BUSYBOX, "cat", "/etc/resolv.conf")
    gw = json.loads(b("network", "inspect", "app").stdout)[0]["IPAM"]["Config"][0]["Gateway"]
    assert f"nameserver {gw}" in r.stdout


def test_internal_network_and_isolation_between_networks(b, outside):
    sp = free_port()
    srv = outside.popen("python3", "-c", PEER_SERVER, str(sp), stdout=subprocess.PIPE, text=True)
    assert srv.stdout.readline().strip() == "ready"
    b("network", "create", "--internal", "priv")
    b("network", "create", "other")
    b("run", "-d", "--network", "priv", "--name", "p1", BUSYBOX, *HTTPD)
    # inside an internal network: the peer yes, the outside no
    r = wait_for(lambda: fetch(b, "http://p1/", "--network", "priv", t=3).stdout, timeout=10)
    assert r.startswith("hello-")
    r = b("run", "--rm", "--network", "priv", BUSYBOX, "nc", "-w", "2", outside.ip, str(sp),
          check=False)
    assert outside.host_ip not in r.stdout
    # the same from a normal network works (the control)
    r = b("run", "--rm", "--network", "other", BUSYBOX, "nc", "-w", "3", outside.ip, str(sp))
    assert r.stdout.strip() == outside.host_ip
    # two networks do not reach each other, even by address
    b("run", "-d", "--network", "other", "--name", "o1", BUSYBOX, *HTTPD)
    ip_o1 = b.inspect("o1")["NetworkSettings"]["Networks"]["other"]["IPAddress"]
    r = fetch(b, f"http://{ip_o1}/", "--network", "other", t=3)
    assert r.stdout.startswith("hello-")
    r = fetch(b, f"http://{ip_o1}/", "--network", "priv", t=2)
    assert r.returncode != 0 and not r.stdout
    r = fetch(b, f"http://{ip_o1}/", t=2)
    assert r.returncode != 0 and not r.stdout


def test_etc_files_dns_flags_and_add_host(b):
    b("network", "create", "n1")
    r = b("run", "--rm", "--network", "n1", "--hostname", "box", "--add-host", "gw:host-gateway",
          "--add-host", "db.local:10.1.2.3", "--dns-search", "example.test", "--dns-option",
          "ndots:2", BUSYBOX, "sh", "-c", "cat /etc/hosts; echo ---; cat /etc/resolv.conf")
    hosts, resolv = r.stdout.split("---\n")
    gw = json.loads(b("network", "inspect", "n1").stdout)[0]["IPAM"]["Config"][0]["Gateway"]
    assert f"{gw}\tgw" in hosts and "10.1.2.3\tdb.local" in hosts
    assert "\tbox" in hosts and "127.0.0.1\tlocalhost" in hosts
    assert "search example.test" in resolv and "options ndots:2" in resolv
    r = b("run", "--rm", "--dns", "192.0.2.53", BUSYBOX, "cat", "/etc/resolv.conf")
    assert "nameserver 192.0.2.53" in r.stdout
    assert "127.0.0." not in r.stdout


def test_ip_mac_and_container_network_mode(b):
    b("network", "create", "--subnet", "10.251.7.0/24", "fixed")
    cid = b("run", "-d", "--network", "fixed", "--ip", "10.251.7.50", "--mac-address",
            "02:42:0a:fb:07:aa", "--name", "f1", BUSYBOX, "sleep", "60").stdout.strip()
    r = b("exec", cid, "ip", "addr", "show", "eth0").stdout
    assert "10.251.7.50/24" in r and "02:42:0a:fb:07:aa" in r
    # the same address again is refused, naming the holder
    r = b("run", "--rm", "--network", "fixed", "--ip", "10.251.7.50", BUSYBOX, "true", check=False)
    assert r.returncode == 125 and "10.251.7.50" in r.stderr and "f1" in r.stderr
    # --network container:ID joins that network namespace
    r = b("run", "--rm", "--network", "container:f1", BUSYBOX, "ip", "addr", "show", "eth0")
    assert "10.251.7.50" in r.stdout


def test_connect_and_disconnect_a_running_container(b):
    b("network", "create", "front")
    b("network", "create", "back")
    b("run", "-d", "--network", "back", "--name", "api", BUSYBOX, *HTTPD)
    cid = b("run", "-d", "--network", "front", "--name", "proxy", BUSYBOX, "sleep", "60").stdout.strip()
    r = b("exec", cid, "timeout", "2", "wget", "-qO-", "http://api/", check=False)
    assert r.returncode != 0
    b("network", "connect", "--alias", "svc", "back", "proxy")
    assert "eth1" in b("exec", cid, "ip", "link").stdout
    r = wait_for(lambda: b("exec", cid, "timeout", "2", "wget", "-qO-", "http://api/", check=False).stdout,
                 timeout=10)
    assert r.startswith("hello-")
    r = b("run", "--rm", "--network", "back", BUSYBOX, "nslookup", "svc")
    ip = b.inspect("proxy")["NetworkSettings"]["Networks"]["back"]["IPAddress"]
    assert ip in r.stdout
    b("network", "disconnect", "back", "proxy")
    assert "eth1" not in b("exec", cid, "ip", "link").stdout
    assert "back" not in b.inspect("proxy")["NetworkSettings"]["Networks"]
    back = json.loads(b("network", "inspect", "back").stdout)[0]
    assert cid not in back["Containers"]


def test_bad_requests_leave_nothing_behind(b):
    before = links()
    for spec, word in [("abc", "abc"), ("70000:80", "70000"), ("1:2:3:4", "1:2:3"),
                       ("80/sctp", "sctp"), ("8000-8002:80-81", "differ")]:
        r = b("run", "--rm", "-p", spec, BUSYBOX, "true", check=False)
        assert r.returncode == 125 and word in r.stderr and spec in r.stderr, (spec, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1
    r = b("run", "--rm", "--network", "nosuch", BUSYBOX, "true", check=False)
    assert r.returncode == 125 and "no such network: nosuch" in r.stderr
    # a host port another program holds
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", 0))
    s.listen(1)
    port = s.getsockname()[1]
    r = b("run", "--rm", "-p", f"{port}:80", BUSYBOX, "true", check=False)
    s.close()
    assert r.returncode == 125 and str(port) in r.stderr and "in use" in r.stderr
    # a host port another container publishes
    port = free_port()
    web(b, "-p", f"{port}:80", name="holder")
    r = b("run", "--rm", "-p", f"{port}:80", BUSYBOX, "true", check=False)
    assert r.returncode == 125 and str(port) in r.stderr
    assert b.ids() and len(b.ids()) == 1  # only the holder
    # networks: overlap, in use, unknown, reserved
    b("network", "create", "--subnet", "10.252.0.0/16", "big")
    r = b("network", "create", "--subnet", "10.252.3.0/24", "small", check=False)
    assert r.returncode != 0 and "overlaps network big" in r.stderr
    r = b("network", "create", "big", check=False)
    assert r.returncode != 0 and "already exists" in r.stderr
    r = b("network", "create", "--subnet", "10.252.0.5/16", "hostbits", check=False)
    assert r.returncode != 0 and "host bits" in r.stderr
    r = b("network", "rm", "bridge", check=False)
    assert r.returncode != 0 and "in use by container holder" in r.stderr
    r = b("network", "rm", "nosuch", check=False)
    assert r.returncode != 0 and "no such network: nosuch" in r.stderr
    leases = json.loads(b("network", "inspect", "bridge").stdout)[0]["Containers"]
    assert list(leases) == b.ids()
    assert not [l for l in links() - before if l.startswith("bv") and not l.startswith("bv" + b.ids()[0][:10])]


def test_overlap_with_a_host_route_is_refused(b, outside):
    net = outside.host_ip.rsplit(".", 1)[0] + ".0/24"
    r = b("network", "create", "--subnet", net, "clash", check=False)
    assert r.returncode != 0 and "overlaps the host route" in r.stderr and outside.host_if in r.stderr


def test_parallel_runs_get_distinct_addresses(b):
    b("network", "create", "par")

    def one(i):
        return b("run", "-d", "--network", "par", "--name", f"c{i}", BUSYBOX, "sleep", "60").stdout.strip()

    with concurrent.futures.ThreadPoolExecutor(6) as ex:
        ids = list(ex.map(one, range(12)))
    ips = [b.inspect(i)["NetworkSettings"]["Networks"]["par"]["IPAddress"] for i in ids]
    assert len(set(ips)) == 12, ips
    rec = json.loads(b("network", "inspect", "par").stdout)[0]
    assert sorted(rec["Containers"]) == sorted(ids)
    b("rm", "-f", *ids)
    rec = json.loads(b("network", "inspect", "par").stdout)[0]
    assert rec["Containers"] == {}


def _kill9_leftovers(b, what):
    port = free_port()
    if what == "run":
        p = b.popen("run", "--name", "k", "-p", f"{port}:80", BUSYBOX, *HTTPD,
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert wait_http(f"http://127.0.0.1:{port}/")
        mon = b.inspect("k")["State"]["MonitorPid"]
        p.kill()
        p.wait()
        os.kill(mon, signal.SIGKILL)
    else:
        web(b, "-p", f"{port}:80", name="k")
        assert wait_http(f"http://127.0.0.1:{port}/")
        os.kill(b.inspect("k")["State"]["MonitorPid"], signal.SIGKILL)
    pid = b.inspect("k")["State"]["Pid"]
    if pid:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    wait_for(lambda: b.inspect("k")["State"]["Status"] in ("exited", "dead"), timeout=10)
    return port


@pytest.mark.parametrize("what", ["run", "monitor"])
def test_kill9_then_system_check_frees_the_ports(b, what):
    port = _kill9_leftovers(b, what)
    cid = b.inspect("k")["Id"]
    r = b("system", "check", check=False)
    assert f"{port}/tcp" in r.stdout + r.stderr or str(port) not in nft_ruleset()
    b("system", "check", "--repair", check=False)
    assert f" {port} " not in nft_ruleset().replace(":", " ")
    assert not any(l.startswith("bv" + cid[:10]) for l in links())
    # the port is free again for a new container
    web(b, "-p", f"{port}:80", name="k2", )
    assert wait_http(f"http://127.0.0.1:{port}/").startswith("hello-")
    b("rm", "-f", "k")
    leases = json.loads(b("network", "inspect", "bridge").stdout)[0]["Containers"]
    assert cid not in leases


def test_a_lost_bridge_is_made_again(b):
    """After a reboot the bridges are gone and the records stay: the next
    start makes the bridge and its rules again (simulated: the bridge
    deleted by hand)."""
    b("network", "create", "again")
    b("run", "--rm", "--network", "again", BUSYBOX, "true")
    br = json.loads(b("network", "inspect", "again").stdout)[0]["Options"][
        "com.docker.network.bridge.name"]
    run(["ip", "link", "del", br])
    assert br not in links()
    port = free_port()
    web(b, "--network", "again", "-p", f"{port}:80", name="w")
    assert br in links()
    assert wait_http(f"http://127.0.0.1:{port}/").startswith("hello-")


def test_system_check_leaves_other_stores_veths_alone(b):
    """A bv* veth of a container this store does not know is another store's (--root)
    unless it is a port of one of this store's bridges: only then is it garbage."""
    b("run", "--rm", BUSYBOX, "true")  # the default network and its bridge exist now
    br = json.loads(b("network", "inspect", "bridge").stdout)[0]["Options"][
        "com.docker.network.bridge.name"]
    other, ours = ("bv" + os.urandom(6).hex() for _ in range(2))
    peers = ["bvp" + os.urandom(5).hex() for _ in range(2)]
    try:
        for name, peer in zip((other, ours), peers):
            run(["ip", "link", "add", name, "type", "veth", "peer", "name", peer])
        run(["ip", "link", "set", ours, "master", br])
        r = b("system", "check", check=False)
        assert other not in r.stdout, r.stdout
        assert f"veth {ours}" in r.stdout, r.stdout
        b("system", "check", "--repair", check=False)
        assert other in links() and ours not in links()
    finally:
        for name in (other, ours):
            subprocess.run(["ip", "link", "del", name], capture_output=True)
