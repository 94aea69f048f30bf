"""IPv6 on berth's bridge networks (`network create --ipv6`), with real
traffic: two containers over v6 by address and by name (AAAA from
aardvark-dns), a published port reached over v6 from an outside host (a
network namespace of the test's own), outbound v6 masquerade seen from
that host, --internal and isolation for v6, --ip6, the subnet rules (auto
ULA /64, overlaps refused, the host's fd00::/64 included), leases freed,
inspect, and a kill -9 of `berth run` cleaned by `system check --repair`.
Every test ends with the host clean check of net_store, plus the ip6
table's elements of the test's subnets gone."""
import ipaddress
import json
import os
import signal
import subprocess

import pytest

from conftest import missing_netns, missing_tool, requires, run
from engine_helpers import BUSYBOX, wait_for
from net_helpers import Outside, free_port, links, net_store

HOST_V6 = os.path.exists("/proc/sys/net/ipv6/conf/all/disable_ipv6") and \
    open("/proc/sys/net/ipv6/conf/all/disable_ipv6").read().strip() == "0"

pytestmark = requires(missing_netns(), missing_tool("nft", "nftables"),
                      missing_tool("curl", "curl"),
                      None if HOST_V6 else "needs IPv6 on the host (disable_ipv6 is 1 or absent)")

HTTPD = ["sh", "-c", "mkdir -p /w && echo hello-$HOSTNAME > /w/index.html && "
         "exec httpd -f -p 80 -h /w"]

# answers every connection with the peer's address (v6 socket)
PEER6 = r"""
import socket, sys
s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", int(sys.argv[1]))); s.listen(16)
print("ready", flush=True)
while True:
    c, a = s.accept(); c.sendall((a[0] + "\n").encode()); c.close()
"""


def nft6():
    r = run(["nft", "list", "table", "ip6", "berth"], check=False)
    return r.stdout if r.returncode == 0 else ""


def host_v6_routes():
    return [ipaddress.ip_network(r["dst"]) for r in
            json.loads(run(["ip", "-j", "-6", "route"]).stdout or "[]")
            if r.get("dst") not in (None, "default") and not r["dst"].startswith("fe80")
            and not r["dst"].startswith("ff")]


class Store:
    """net_store, and every v6 subnet of its networks out of ip6 berth at the end."""

    def __init__(self, b):
        self.b = b
        self.subnets = []

    def net(self, *args):
        name = args[-1]
        self.b("network", "create", "--ipv6", *args)
        rec = json.loads(self.b("network", "inspect", name).stdout)[0]
        v6 = [c for c in rec["IPAM"]["Config"] if ":" in c["Subnet"]]
        self.subnets.append(v6[0]["Subnet"])
        return rec


@pytest.fixture
def s():
    with net_store("berth-b6-") as b:
        st = Store(b)
        yield st
    # net_store removed the containers and networks and checked the host
    left = nft6()
    for sub in st.subnets:
        assert sub not in left, f"ip6 berth still has {sub}"


@pytest.fixture
def outside():
    o = Outside()
    yield o
    o.close()


def web(b, *opts, name):
    return b("run", "-d", *opts, "--name", name, "--hostname", name, BUSYBOX, *HTTPD).stdout.strip()


def v6_of(b, ctr, net):
    return b.inspect(ctr)["NetworkSettings"]["Networks"][net]["GlobalIPv6Address"]


def fetch(b, url, *net, t=3):
    return b("run", "--rm", *net, BUSYBOX, "sh", "-c", f"timeout {t} wget -qO- '{url}'; exit $?",
             check=False)


def test_dual_stack_network_traffic_names_and_inspect(s):
    b = s.b
    rec = s.net("b6-app")
    assert rec["EnableIPv6"] is True
    cfg = rec["IPAM"]["Config"]
    assert len(cfg) == 2 and ":" not in cfg[0]["Subnet"]
    sub6 = ipaddress.ip_network(cfg[1]["Subnet"])
    # the auto subnet: a ULA /64, not the host's fd00::/64 nor any host route
    assert sub6.prefixlen == 64 and sub6.subnet_of(ipaddress.ip_network("fd00::/8"))
    assert not any(sub6.overlaps(r) for r in host_v6_routes() if r.prefixlen > 0
                   and r != sub6)
    assert cfg[1]["Gateway"] == str(sub6[1])
    web(b, "--network", "b6-app", name="b6w1")
    ip6 = v6_of(b, "b6w1", "b6-app")
    assert ipaddress.ip_address(ip6) == sub6[2]
    ns = b.inspect("b6w1")["NetworkSettings"]
    assert ns["Networks"]["b6-app"]["GlobalIPv6PrefixLen"] == 64
    assert ns["Networks"]["b6-app"]["IPv6Gateway"] == str(sub6[1])
    assert ns["GlobalIPv6Address"] == ip6 and ns["IPv6Gateway"] == str(sub6[1])
    # over v6 by address
    r = wait_for(lambda: fetch(b, f"http://[{ip6}]/", "--network", "b6-app").stdout, timeout=10)
    assert r == "hello-b6w1\n"
    # by name: aardvark answers AAAA, and the v6 gateway is a listen address
    r = b("run", "--rm", "--network", "b6-app", BUSYBOX, "nslookup", "-type=AAAA", "b6w1",
          check=False)
    assert ip6 in r.stdout, r.stdout + r.stderr
    gw6 = str(sub6[1])
    r = b("run", "--rm", "--network", "b6-app", BUSYBOX, "nslookup", "-type=AAAA", "b6w1", gw6,
          check=False)
    assert ip6 in r.stdout, r.stdout + r.stderr
    # /etc/hosts: its v6 line and Docker's v6 defaults
    hosts = b("exec", "b6w1", "cat", "/etc/hosts").stdout
    assert f"{ip6}\tb6w1" in hosts
    for l in ("::1\tlocalhost ip6-localhost ip6-loopback", "ff02::1\tip6-allnodes",
              "ff02::2\tip6-allrouters", "fe00::0\tip6-localnet", "ff00::0\tip6-mcastprefix"):
        assert l in hosts
    # the container's eth0 has IPv6 on, its address without DAD, the default v6 route
    r = b("exec", "b6w1", "cat", "/proc/sys/net/ipv6/conf/eth0/disable_ipv6").stdout
    assert r.strip() == "0"
    r = b("exec", "b6w1", "ip", "-6", "route").stdout
    assert f"default via {gw6}" in r
    # the bridge has the gateway, nodad
    br = rec["Options"]["com.docker.network.bridge.name"]
    r = run(["ip", "-6", "addr", "show", "dev", br]).stdout
    assert f"{gw6}/64" in r and "nodad" in r
    # the default network stays v4-only
    b("run", "-d", "--name", "b6d", BUSYBOX, "sleep", "30")
    assert b.inspect("b6d")["NetworkSettings"]["GlobalIPv6Address"] == ""
    assert json.loads(b("network", "inspect", "bridge").stdout)[0]["EnableIPv6"] is False


def test_published_port_over_v6_and_outbound_masquerade(s, outside):
    b = s.b
    s.net("b6-pub")
    port = free_port()
    web(b, "--network", "b6-pub", "-p", f"{port}:80", name="b6p1")
    # from the outside host, to this host's v6 address on that link
    r = wait_for(lambda: outside.run("curl", "-sS", "-g", "--max-time", "3",
                                     f"http://[{outside.host_ip6}]:{port}/", check=False).stdout,
                 timeout=10)
    assert r == "hello-b6p1\n"
    # v4 still works on the same container
    r = run(["curl", "-sS", "--max-time", "3", f"http://127.0.0.1:{port}/"], check=False)
    assert r.stdout == "hello-b6p1\n"
    # from the host itself, to one of its v6 addresses (output chain)
    r = run(["curl", "-sS", "-g", "--max-time", "3", f"http://[{outside.host_ip6}]:{port}/"],
            check=False)
    assert r.stdout == "hello-b6p1\n"
    # berth port: both families
    out = b("port", "b6p1").stdout
    assert f"0.0.0.0:{port}" in out and f"[::]:{port}" in out
    # outbound v6 is masqueraded: the outside host sees this host's address
    sp = free_port()
    srv = outside.popen("python3", "-c", PEER6, str(sp), stdout=subprocess.PIPE, text=True)
    assert srv.stdout.readline().strip() == "ready"
    r = b("run", "--rm", "--network", "b6-pub", BUSYBOX, "nc", "-w", "3", outside.ip6, str(sp))
    assert r.stdout.strip() == outside.host_ip6
    # a published one-address v6 port, and [::1] refused with one line
    p2 = free_port()
    web(b, "--network", "b6-pub", "-p", f"[{outside.host_ip6}]:{p2}:80", name="b6p2")
    r = wait_for(lambda: outside.run("curl", "-sS", "-g", "--max-time", "3",
                                     f"http://[{outside.host_ip6}]:{p2}/", check=False).stdout,
                 timeout=10)
    assert r == "hello-b6p2\n"
    # that port on every address clashes with it (the held v6 sockets), one line
    r = b("run", "--rm", "--network", "b6-pub", "-p", f"{p2}:80", BUSYBOX, "true", check=False)
    assert r.returncode != 0 and str(p2) in r.stderr and "in use" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    r = b("run", "--rm", "--network", "b6-pub", "-p", f"[::1]:{free_port()}:80", BUSYBOX, "true",
          check=False)
    assert r.returncode != 0 and "[::1]" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    b("rm", "-f", "b6p1", "b6p2")
    assert f" {port} " not in nft6().replace(":", " ")


def test_internal_v6_and_isolation_between_v6_networks(s, outside):
    b = s.b
    sp = free_port()
    srv = outside.popen("python3", "-c", PEER6, str(sp), stdout=subprocess.PIPE, text=True)
    assert srv.stdout.readline().strip() == "ready"
    s.net("--internal", "b6-priv")
    s.net("b6-one")
    s.net("b6-two")
    # internal: no v6 route out
    r = b("run", "--rm", "--network", "b6-priv", BUSYBOX, "nc", "-w", "2", outside.ip6, str(sp),
          check=False)
    assert outside.host_ip6 not in r.stdout
    r = b("run", "--rm", "--network", "b6-priv", BUSYBOX, "ip", "-6", "route").stdout
    assert "default" not in r
    # the control: a normal v6 network goes out
    r = b("run", "--rm", "--network", "b6-one", BUSYBOX, "nc", "-w", "3", outside.ip6, str(sp))
    assert r.stdout.strip() == outside.host_ip6
    # two v6 networks do not reach each other by v6 address
    web(b, "--network", "b6-two", name="b6t1")
    ip6 = v6_of(b, "b6t1", "b6-two")
    r = wait_for(lambda: fetch(b, f"http://[{ip6}]/", "--network", "b6-two").stdout, timeout=10)
    assert r == "hello-b6t1\n"
    r = fetch(b, f"http://[{ip6}]/", "--network", "b6-one", t=2)
    assert r.returncode != 0 and not r.stdout
    r = fetch(b, f"http://[{ip6}]/", "--network", "b6-priv", t=2)
    assert r.returncode != 0 and not r.stdout


def test_ip6_and_bad_requests_leave_nothing(s):
    b = s.b
    rec = s.net("--subnet", "fdb6:1:2:3::/64", "--subnet", "10.86.6.0/24",
                "--gateway", "fdb6:1:2:3::fe", "b6-fix")
    assert [c["Subnet"] for c in rec["IPAM"]["Config"]] == ["10.86.6.0/24", "fdb6:1:2:3::/64"]
    assert rec["IPAM"]["Config"][1]["Gateway"] == "fdb6:1:2:3::fe"
    b("run", "-d", "--network", "b6-fix", "--ip6", "fdb6:1:2:3::42", "--name", "b6i",
      BUSYBOX, "sleep", "60")
    assert v6_of(b, "b6i", "b6-fix") == "fdb6:1:2:3::42"
    r = b("exec", "b6i", "ip", "-6", "addr", "show", "eth0").stdout
    assert "fdb6:1:2:3::42/64" in r
    # the lowest free above the gateway
    b("run", "-d", "--network", "b6-fix", "--name", "b6j", BUSYBOX, "sleep", "60")
    assert v6_of(b, "b6j", "b6-fix") == "fdb6:1:2:3::ff"
    b("network", "ls")  # the default network exists from here (as Docker's)
    before = sorted(p.name for p in (b.root / "networks").glob("*.json"))
    bad = [
        (["network", "create", "--ipv6", "--subnet", "fd00::/64", "b6-x"], "fd00::/64"),
        (["network", "create", "--ipv6", "--subnet", "fdb6:1:2:3:0:1::/96", "b6-x"], "b6-fix"),
        (["network", "create", "--ipv6", "--subnet", "fdb6:9::/121", "b6-x"], "/120"),
        (["network", "create", "--ipv6", "--subnet", "fdb6::/47", "b6-x"], "/48"),
        (["network", "create", "--ipv6", "--subnet", "fdb6:9::/6x", "b6-x"], "fdb6:9::/6x"),
        (["network", "create", "--subnet", "fdb6:9::/64", "b6-x"], "--ipv6"),
        (["network", "create", "--ipv6", "--subnet", "fdb6:9::/64", "--gateway", "fdb6:8::1",
          "b6-x"], "fdb6:8::1"),
        (["network", "create", "--ipv6", "--subnet", "fdb6:9::/64", "--subnet", "fdb6:a::/64",
          "b6-x"], "--subnet"),
        (["run", "--rm", "--network", "b6-fix", "--ip6", "fdb6:7::5", BUSYBOX, "true"],
         "fdb6:7::5"),
        (["run", "--rm", "--network", "b6-fix", "--ip6", "fdb6:1:2:3::42", BUSYBOX, "true"],
         "in use"),
        (["run", "--rm", "--ip6", "fdb6:1:2:3::43", BUSYBOX, "true"], "IPv6"),
    ]
    for args, word in bad:
        r = b(*args, check=False)
        assert r.returncode != 0, args
        assert word in r.stderr and len(r.stderr.strip().splitlines()) == 1, (args, r.stderr)
    assert sorted(p.name for p in (b.root / "networks").glob("*.json")) == before
    # no bridge was made for any of them (other suites make bridges meanwhile:
    # looked for by the gateways the refused subnets would have had)
    addrs = run(["ip", "-6", "addr"]).stdout
    for gw in ("fdb6:9::1/", "fdb6:a::1/", "fdb6:1:2:3:0:1:0:1/", "fdb6::1/"):
        assert gw not in addrs
    leases = json.loads(b("network", "inspect", "b6-fix").stdout)[0]["Containers"]
    assert len(leases) == 2
    # network connect --ip6, to a running container
    s.net("--subnet", "fdb6:1:2:4::/64", "b6-con")
    b("network", "connect", "--ip6", "fdb6:1:2:4::9", "b6-con", "b6i")
    r = b("exec", "b6i", "ip", "-6", "addr", "show", "eth1").stdout
    assert "fdb6:1:2:4::9/64" in r
    assert v6_of(b, "b6i", "b6-con") == "fdb6:1:2:4::9"


def test_leases_freed_after_rm_and_run_rm(s):
    b = s.b
    rec = s.net("b6-lease")
    sub6 = ipaddress.ip_network(rec["IPAM"]["Config"][1]["Subnet"])
    for _ in range(2):
        r = b("run", "--rm", "--network", "b6-lease", BUSYBOX, "ip", "-6", "addr", "show", "eth0")
        assert f"{sub6[2]}/64" in r.stdout
    b("run", "-d", "--network", "b6-lease", "--name", "b6l", BUSYBOX, "sleep", "60")
    assert v6_of(b, "b6l", "b6-lease") == str(sub6[2])
    b("rm", "-f", "b6l")
    assert json.loads(b("network", "inspect", "b6-lease").stdout)[0]["Containers"] == {}
    # --ip-range per family: the v6 one's first address
    s.net("--subnet", "fdb6:1:2:5::/64", "--ip-range", "fdb6:1:2:5::100/120", "b6-rg")
    r = b("run", "--rm", "--network", "b6-rg", BUSYBOX, "ip", "-6", "addr", "show", "eth0")
    assert "fdb6:1:2:5::100/64" in r.stdout
    # a start that fails after the lease (a v6 host address this host has not:
    # the port cannot be held) frees it, and leaves no port element
    port = free_port()
    r = b("run", "--rm", "--network", "b6-lease", "-p", f"[fdb6:dead::1]:{port}:80", BUSYBOX,
          "true", check=False)
    assert r.returncode != 0 and "fdb6:dead::1" in r.stderr, r.stderr
    assert json.loads(b("network", "inspect", "b6-lease").stdout)[0]["Containers"] == {}
    assert f" {port} " not in nft6().replace(":", " ")
    assert not [l for l in links() if l.startswith("bv")
                and l[2:12] in "".join(i[:10] for i in b.ids())]


def _kill9_run(b, port):
    """`berth run -p PORT:80` on b6-k, then kill -9 of it and of its monitor and
    container: its v6 address (whose port element stays behind)."""
    p = b.popen("run", "--name", "b6k", "--network", "b6-k", "-p", f"{port}:80", BUSYBOX, *HTTPD,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def running():
        r = b("inspect", "b6k", check=False)
        return r.returncode == 0 and json.loads(r.stdout)[0]["State"]["Status"] == "running"
    wait_for(running, timeout=10)
    ip6 = v6_of(b, "b6k", "b6-k")
    wait_for(lambda: ip6 in nft6(), timeout=10)
    mon = b.inspect("b6k")["State"]["MonitorPid"]
    p.kill()
    p.wait()
    os.kill(mon, signal.SIGKILL)
    pid = b.inspect("b6k")["State"]["Pid"]
    if pid:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    wait_for(lambda: b.inspect("b6k")["State"]["Status"] in ("exited", "dead"), timeout=10)
    return ip6


def test_kill9_of_run_then_system_check_repair(s, outside):
    b = s.b
    s.net("b6-k")
    port = free_port()
    ip6 = _kill9_run(b, port)
    cid = b.inspect("b6k")["Id"]
    assert ip6 in nft6()  # left behind: nobody ran the cleanup
    r = b("system", "check", check=False)
    assert f"[::]:{port}/tcp" in r.stdout + r.stderr
    b("system", "check", "--repair", check=False)
    assert ip6 not in nft6()
    assert not any(l.startswith("bv" + cid[:10]) for l in links())
    # the port works again, over v6, for a new container
    web(b, "--network", "b6-k", "-p", f"{port}:80", name="b6k2")
    r = wait_for(lambda: outside.run("curl", "-sS", "-g", "--max-time", "3",
                                     f"http://[{outside.host_ip6}]:{port}/", check=False).stdout,
                 timeout=10)
    assert r == "hello-b6k2\n"
    b("rm", "-f", "b6k")
    leases = json.loads(b("network", "inspect", "b6-k").stdout)[0]["Containers"]
    assert cid not in leases and len(leases) == 1


def test_kill9_of_run_then_the_next_container_takes_the_port(s, outside):
    b = s.b
    s.net("b6-k")
    port = free_port()
    ip6 = _kill9_run(b, port)
    # no repair: the next container publishing the port takes the stale element over
    web(b, "--network", "b6-k", "-p", f"{port}:80", name="b6k2")
    r = wait_for(lambda: outside.run("curl", "-sS", "-g", "--max-time", "3",
                                     f"http://[{outside.host_ip6}]:{port}/", check=False).stdout,
                 timeout=10)
    assert r == "hello-b6k2\n"
    assert ip6 not in nft6()
