"""Helpers for the networking tests: a store whose networks are removed at
the end (and checked gone: bridges, veths, published ports, DNS servers), an
"outside" host made of a network namespace of the test's own, and small
servers and clients."""
import contextlib
import json
import os
import pathlib
import random
import shutil
import socket
import subprocess
import tempfile
import time

from conftest import run
from engine_helpers import engine_store, wait_for


def links():
    return set(json_names(run(["ip", "-j", "link", "show"]).stdout))


def json_names(txt):
    return [l["ifname"] for l in json.loads(txt or "[]")]


def nft_ruleset():
    r = run(["nft", "list", "table", "ip", "berth"], check=False)
    return r.stdout if r.returncode == 0 else ""


@contextlib.contextmanager
def net_store(prefix):
    """engine_store (which removes the store's networks and checks that no
    bridge or nft rule of them is left), and no veth of its containers."""
    with engine_store(prefix) as b:
        try:
            yield b
        finally:
            ids = b.ids()
            if ids:
                b("rm", "-f", *ids, check=False)
            # a veth goes with its netns, which the kernel frees in the
            # background: given 5 s
            def left():
                now = links()
                return [f"veth of {i[:12]}" for i in ids
                        if any(l.startswith("bv" + i[:10]) for l in now)]
            wait_for(lambda: not left(), timeout=5)
            assert not left(), left()


class Outside:
    """A network namespace standing in for a host outside this one, linked
    to the host by a veth: host side 10.250.N.1/24 and fdb6:N::1/64, outside
    10.250.N.2/24 and fdb6:N::2/64 (IPv6 only where the host has it)."""

    def __init__(self):
        n = random.randint(1, 250)
        self.name = f"berth-out-{os.getpid()}-{n}"
        self.host_if = f"bo{os.getpid() % 100000}{n}"[:15]
        self.host_ip = f"10.250.{n}.1"
        self.ip = f"10.250.{n}.2"
        self.procs = []
        run(["ip", "netns", "add", self.name])
        run(["ip", "link", "add", self.host_if, "type", "veth", "peer", "name", "eth0",
             "netns", self.name])
        run(["ip", "addr", "add", f"{self.host_ip}/24", "dev", self.host_if])
        run(["ip", "link", "set", self.host_if, "up"])
        for c in (["ip", "addr", "add", f"{self.ip}/24", "dev", "eth0"],
                  ["ip", "link", "set", "eth0", "up"], ["ip", "link", "set", "lo", "up"],
                  ["ip", "route", "add", "default", "via", self.host_ip]):
            run(["ip", "netns", "exec", self.name, *c])
        self.host_ip6 = f"fdb6:{n:x}::1"
        self.ip6 = f"fdb6:{n:x}::2"
        if os.path.exists("/proc/sys/net/ipv6/conf/all/disable_ipv6"):
            run(["ip", "addr", "add", f"{self.host_ip6}/64", "dev", self.host_if, "nodad"])
            for c in (["ip", "addr", "add", f"{self.ip6}/64", "dev", "eth0", "nodad"],
                      ["ip", "-6", "route", "add", "default", "via", self.host_ip6]):
                run(["ip", "netns", "exec", self.name, *c])

    def run(self, *cmd, **kw):
        return run(["ip", "netns", "exec", self.name, *cmd], **kw)

    def popen(self, *cmd, **kw):
        p = subprocess.Popen(["ip", "netns", "exec", self.name, *cmd], **kw)
        self.procs.append(p)
        return p

    def close(self):
        for p in self.procs:
            p.kill()
            p.wait()
        run(["ip", "link", "del", self.host_if], check=False)
        run(["ip", "netns", "del", self.name], check=False)


# A TCP server that answers every connection with the peer's address: shows
# what source address a client's traffic arrived with (masquerade or not).
PEER_SERVER = r"""
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(16)
print("ready", flush=True)
while True:
    c, a = s.accept(); c.sendall((a[0] + "\n").encode()); c.close()
"""


def free_port():
    s = socket.socket()
    s.bind(("0.0.0.0", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def http_get(url, timeout=2.0):
    r = run(["curl", "-sS", "--max-time", str(timeout), url], check=False)
    return r.stdout if r.returncode == 0 else None


def wait_http(url, timeout=10.0):
    return wait_for(lambda: http_get(url), timeout=timeout)


UDP_ECHO_C = r"""
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>
int main(int argc, char **argv) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) { perror("bind"); return 1; }
    for (;;) {
        char buf[512]; struct sockaddr_in p; socklen_t pl = sizeof(p);
        ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&p, &pl);
        if (n > 0) sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&p, pl);
    }
}
"""


def udp_echo_binary(d):
    d = pathlib.Path(d)
    (d / "udpecho.c").write_text(UDP_ECHO_C)
    run(["gcc", "-static", "-O1", "-o", d / "udpecho", d / "udpecho.c"])
    return d / "udpecho"


def udp_ask(host, port, msg=b"ping", timeout=1.0, tries=10):
    for _ in range(tries):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(timeout)
        try:
            s.sendto(msg, (host, port))
            return s.recvfrom(512)[0]
        except OSError:
            time.sleep(0.2)
        finally:
            s.close()
    return None
