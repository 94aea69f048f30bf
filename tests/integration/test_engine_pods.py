"""berth pod: pods of containers sharing the infra's namespaces, with a
published port, the lifecycle commands, and what rm leaves (nothing)."""
import json
import os
import pathlib
import subprocess
import time

import pytest

from engine_helpers import BUSYBOX, engine_store, wait_for
from net_helpers import free_port

if os.geteuid() != 0:
    pytest.skip("the engine tests need root", allow_module_level=True)


@pytest.fixture
def b():
    with engine_store("berth-pod-") as bb:
        yield bb
        for p in json.loads(bb("pod", "ls", "--format", "json").stdout or "[]"):
            bb("pod", "rm", "-f", p["Id"], check=False)


def pod(b, ref):
    return json.loads(b("pod", "inspect", ref).stdout)[0]


def ns(b, ref, kind):
    pid = b.inspect(ref)["State"]["Pid"]
    assert pid > 0, ref
    return os.readlink(f"/proc/{pid}/ns/{kind}")


def pod_cgroups(pid):
    return [p for p in pathlib.Path("/sys/fs/cgroup").glob(f"**/berth/pod-{pid}")
            if p.is_dir()]


def test_pod_shares_infra_namespaces_and_port(b):
    port = free_port()
    pid = b("pod", "create", "--name", "web", "-p", f"{port}:80").stdout.strip()
    assert len(pid) == 64
    p = pod(b, "web")
    assert p["State"] == "Created" and p["SharedNamespaces"] == ["ipc", "net", "uts"]
    infra = p["InfraContainerID"]
    assert b.inspect(infra)["Config"]["Image"].startswith("localhost/berth-pause:")
    # a server in the pod answers on the pod's published port
    b("run", "-d", "--pod", "web", "--name", "srv", BUSYBOX, "sh", "-c",
      "mkdir -p /www && echo pod-page > /www/index.html && httpd -f -p 80 -h /www")
    out = wait_for(lambda: subprocess.run(
        ["curl", "-s", "--max-time", "2", f"http://127.0.0.1:{port}/"],
        capture_output=True, text=True).stdout, timeout=10)
    assert out == "pod-page\n"
    # another member reaches it on localhost (one network namespace)
    r = b("run", "--rm", "--pod", "web", BUSYBOX, "sh", "-c",
          "wget -qO- http://127.0.0.1:80/; hostname")
    assert r.stdout.split() == ["pod-page", "web"]
    for kind in ("net", "ipc", "uts"):
        assert ns(b, "srv", kind) == ns(b, infra, kind), kind
    assert ns(b, "srv", "pid") != ns(b, infra, "pid")  # pid is not shared by default
    assert pod(b, "web")["State"] == "Running"
    ps = b("ps", "--pod").stdout
    line = [ln for ln in ps.splitlines() if ln.split()[-3:-2] == ["srv"]]
    assert line and line[0].split()[-2:] == [pid[:12], "web"], ps
    hc = b.inspect("srv")["HostConfig"]
    assert hc["NetworkMode"] == f"container:{infra}"
    assert hc["CgroupParent"] == f"/berth/pod-{pid}"
    assert pod_cgroups(pid), "the members' cgroups are under the pod's"
    b("pod", "rm", "-f", "web")
    assert b.ids() == [] and b("pod", "ls", "-q").stdout == ""
    assert wait_for(lambda: not pod_cgroups(pid)), pod_cgroups(pid)


def test_share_pid_and_none(b):
    b("pod", "create", "--name", "pp", "--share", "pid,net")
    out = b("run", "--rm", "--pod", "pp", BUSYBOX, "sh", "-c", "cat /proc/1/cmdline").stdout
    assert out.rstrip("\0") == "/pause"
    # uts is not shared: the member has its own host name
    hn = b("run", "--rm", "--pod", "pp", BUSYBOX, "hostname").stdout.strip()
    assert hn != "pp"
    b("pod", "create", "--name", "solo", "--infra=false")
    p = pod(b, "solo")
    assert p["InfraContainerID"] == "" and p["SharedNamespaces"] == []
    b("run", "-d", "--pod", "solo", "--name", "s1", BUSYBOX, "sleep", "300")
    assert ns(b, "s1", "net") != os.readlink("/proc/self/ns/net")
    assert b.inspect("s1")["Pod"] == p["Id"]
    assert pod(b, "solo")["State"] == "Running"


def test_lifecycle_status_and_infra_first(b):
    lc = b("pod", "create", "--name", "lc").stdout.strip()
    b("run", "-d", "--pod", "lc", "--name", "a", BUSYBOX, "sleep", "300")
    b("run", "-d", "--pod", "lc", "--name", "c", BUSYBOX, "sleep", "300")
    assert pod(b, "lc")["State"] == "Running"
    b("kill", "c")
    assert wait_for(lambda: pod(b, "lc")["State"] == "Degraded")
    # sleep as PID 1 ignores SIGTERM: both wait out one shared timeout
    t = time.monotonic()
    b("pod", "stop", "-t", "2", "lc")
    took = time.monotonic() - t
    assert pod(b, "lc")["State"] == "Exited"
    assert took < 3.9, f"pod stop took {took:.1f} s: the timeouts were not shared"
    # starting a member starts its infra first (the namespaces it joins)
    b("start", "a")
    infra = pod(b, "lc")["InfraContainerID"]
    assert b.inspect(infra)["State"]["Status"] == "running"
    assert ns(b, "a", "net") == ns(b, infra, "net")
    b("pod", "start", "lc")
    assert pod(b, "lc")["State"] == "Running"
    b("pod", "pause", "lc")
    assert pod(b, "lc")["State"] == "Paused"
    b("pod", "unpause", "lc")
    assert pod(b, "lc")["State"] == "Running"
    old = b.inspect("a")["State"]["Pid"]
    b("pod", "restart", "-t", "0", "lc")
    assert b.inspect("a")["State"]["Pid"] not in (0, old)
    assert ns(b, "a", "net") == ns(b, infra, "net")
    r = b("pod", "rm", "lc", check=False)
    assert r.returncode == 1 and "pod rm -f stops it" in r.stderr, r.stderr
    b("pod", "kill", "lc")
    assert wait_for(lambda: pod(b, "lc")["State"] == "Exited")
    b("pod", "create", "--name", "busy")
    b("run", "-d", "--pod", "busy", BUSYBOX, "sleep", "300")
    assert b("pod", "prune").stdout.split() == [lc]  # not the running one
    r = b("pod", "inspect", "lc", check=False)
    assert r.returncode == 125 and "no such pod: lc" in r.stderr
    assert pod(b, "busy")["State"] == "Running"


@pytest.mark.parametrize("args,msg", [
    (["-p", "8080:80"], "the pod's network is its own"),
    (["--network", "none"], "the pod's network is its own"),
    (["--hostname", "x"], "--uts and --hostname do not apply"),
    (["--ipc", "host"], "--ipc does not apply"),
    (["--cgroup-parent", "/x"], "the pod's cgroup is the parent"),
])
def test_member_flags_that_conflict(b, args, msg):
    b("pod", "create", "--name", "cf")
    r = b("run", "--rm", "--pod", "cf", *args, BUSYBOX, "true", check=False)
    assert r.returncode == 125 and msg in r.stderr, r.stderr
    assert len(b.ids()) == 1  # the infra only


@pytest.mark.parametrize("args,msg", [
    (["--share", "net,mnt"], 'unknown namespace "mnt"'),
    (["--infra=false", "-p", "80"], "no network of its own"),
    (["--infra=false", "--share", "net"], "shares no namespace"),
    (["--name", "bad name"], 'invalid pod name "bad name"'),
    (["--label", "=x"], 'invalid --label "=x"'),
    (["--network", "nosuch"], "nosuch"),
])
def test_bad_pod_create_leaves_nothing(b, args, msg):
    r = b("pod", "create", *args, check=False)
    assert r.returncode == 125 and msg in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert b("pod", "ls", "-q").stdout == "" and b.ids() == []


def test_names_and_unknown_pods(b):
    b("pod", "create", "--name", "dup")
    r = b("pod", "create", "--name", "dup", check=False)
    assert r.returncode == 125 and 'pod name "dup" is already in use' in r.stderr
    r = b("run", "--rm", "--pod", "nosuch", BUSYBOX, "true", check=False)
    assert r.returncode == 125 and "no such pod: nosuch" in r.stderr
    r = b("pod", "stop", "nosuch", check=False)
    assert r.returncode == 125 and "no such pod: nosuch" in r.stderr
    # a generated name, and a prefix of the id finds the pod
    pid = b("pod", "create").stdout.strip()
    assert pod(b, pid[:8])["Name"].endswith("_pod")


def test_ps_filters_pod_and_label(b):
    pid = b("pod", "create", "--name", "fp").stdout.strip()
    b("run", "-d", "--pod", "fp", "--name", "in1", "--label", "tier=web", "-l", "flag",
      BUSYBOX, "sleep", "300")
    b("run", "-d", "--name", "out1", "--label", "tier=db", BUSYBOX, "sleep", "300")
    names = lambda *f: sorted(b("ps", "-a", "--format", "{{.Names}}", *f).stdout.split())
    infra = f"{pid[:12]}-infra"
    assert names("--filter", "pod=fp") == sorted(["in1", infra])
    assert names("--filter", f"pod={pid[:6]}") == sorted(["in1", infra])
    assert names("--filter", "pod=nosuch") == []
    assert names("--filter", "label=tier") == ["in1", "out1"]
    assert names("--filter", "label=tier=db") == ["out1"]
    assert names("--filter", "label=flag") == ["in1"]
    assert names("--filter", "label=tier=web", "--filter", "pod=fp") == ["in1"]
    assert b.inspect("in1")["Config"]["Labels"] == {"tier": "web", "flag": ""}
    r = b("run", "--rm", "--label", "=x", BUSYBOX, "true", check=False)
    assert r.returncode == 125 and 'invalid --label "=x"' in r.stderr


# ---- pod top | stats | logs, and the CPU numbers an autoscaler reads ----------

def burn_truth(b, ref):
    """A child shell burns a CPU for ~1 s inside the container (berth exec: the
    container's cgroup); the CPU time it got, in ns, from its parent's cutime +
    cstime (/proc/PID/stat after the wait): a measure independent of the cgroup."""
    r = b("exec", ref, "sh", "-c", "sh -c 'while :; do :; done' & p=$!; sleep 1; kill $p; "
                                   "wait $p; cat /proc/$$/stat")
    f = r.stdout.rsplit(")", 1)[1].split()
    return (int(f[13]) + int(f[14])) * 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def cpu_nano(b, *args):
    """{name: CPUNano} of `berth stats` or `berth pod stats` (args: its words, then
    the container or pod)."""
    rows = [json.loads(ln) for ln in b(*args[:-1], "--no-stream", "--format", "json",
                                       args[-1]).stdout.splitlines()]
    return {r["Name"]: r["CPUNano"] for r in rows}


def test_stats_and_pod_stats_cpu_within_10_percent(b):
    """berth stats and berth pod stats: the total CPU time (CPUNano) grows by the
    CPU time a 1-second burn got, within 10%."""
    # --network none here and below: the default network's bridge (berth1) is one
    # name on the host for every store, which other tests may hold at the same time
    b("run", "-d", "--network", "none", "--name", "cr-solo", BUSYBOX, "sleep", "300")
    b("pod", "create", "--network", "none", "--name", "cr-sp")
    b("run", "-d", "--pod", "cr-sp", "--name", "cr-member", BUSYBOX, "sleep", "300")
    for name, cmd in (("cr-solo", ["stats", "cr-solo"]), ("cr-member", ["pod", "stats", "cr-sp"])):
        before = cpu_nano(b, *cmd)[name]
        truth = burn_truth(b, name)
        got = cpu_nano(b, *cmd)[name] - before
        print(f"cr-stats: {' '.join(cmd)}: {got / 1e9:.3f} s, the burn got {truth / 1e9:.3f} s")
        assert truth > 0.3e9, f"the burn got {truth / 1e9:.2f} CPU s only: host too loaded"
        assert abs(got - truth) <= 0.1 * truth, (cmd, got, truth)
    rows = [json.loads(ln) for ln in b("pod", "stats", "--no-stream", "--format", "json")
            .stdout.splitlines()]
    infra = f"{pod(b, 'cr-sp')['Id'][:12]}-infra"
    assert sorted(r["Name"] for r in rows) == sorted(["cr-member", infra]), rows
    assert {r["Pod"] for r in rows} == {"cr-sp"}
    table = b("pod", "stats", "--no-stream", "cr-sp").stdout.splitlines()
    assert table[0].split()[:3] == ["POD", "CID", "NAME"] and len(table) == 3, table
    b("pod", "rm", "-f", "cr-sp")
    b("rm", "-f", "cr-solo")


def test_pod_top_and_logs(b):
    pid = b("pod", "create", "--network", "none", "--name", "cr-lp").stdout.strip()
    b("run", "-d", "--pod", "cr-lp", "--name", "cr-a", BUSYBOX, "sh", "-c",
      "echo a1; echo a2; echo a-err >&2; exec sleep 300")
    b("run", "-d", "--pod", "cr-lp", "--name", "cr-c", BUSYBOX, "sh", "-c",
      "echo c1; while [ ! -e /tmp/go ]; do sleep 0.1; done; echo c-late; exec sleep 300")
    assert wait_for(lambda: "c1" in b("logs", "cr-c").stdout and
                    "a-err" in b("logs", "cr-a").stderr)

    top = [ln.split(None, 4) for ln in b("pod", "top", "cr-lp").stdout.splitlines()]
    assert top[0] == ["CONTAINER", "UID", "PID", "PPID", "CMD"]
    rows = {(r[0], r[4]) for r in top[1:]}
    assert (f"{pid[:12]}-infra", "/pause") in rows and ("cr-a", "sleep 300") in rows, rows
    assert any(n == "cr-c" for n, _ in rows), rows

    r = b("pod", "logs", "cr-lp")
    assert r.stdout == "cr-a a1\ncr-a a2\ncr-c c1\n" and r.stderr == "cr-a a-err\n", r
    r = b("pod", "logs", "--tail", "1", "cr-lp")
    assert r.stdout == "cr-c c1\n" and r.stderr == "cr-a a-err\n", r
    assert b("pod", "logs", "-c", "cr-c", "cr-lp").stdout == "cr-c c1\n"

    # -f: both followed at once; a line written later arrives; the end of the
    # containers ends it
    with open(b.tmp / "follow.out", "w+") as out:
        p = b.popen("pod", "logs", "-f", "cr-lp", stdout=out, stderr=subprocess.DEVNULL)
        try:
            assert wait_for(lambda: "cr-c c1\n" in (b.tmp / "follow.out").read_text())
            b("exec", "cr-c", "touch", "/tmp/go")
            assert wait_for(lambda: "cr-c c-late\n" in (b.tmp / "follow.out").read_text()), \
                (b.tmp / "follow.out").read_text()
            assert p.poll() is None, "pod logs -f ended while its containers run"
            b("pod", "stop", "-t", "1", "cr-lp")
            assert p.wait(timeout=20) == 0
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
    text = (b.tmp / "follow.out").read_text()
    assert sorted(text.splitlines()) == ["cr-a a1", "cr-a a2", "cr-c c-late", "cr-c c1"], text

    r = b("pod", "top", "cr-lp", check=False)
    assert r.returncode == 125 and "pod cr-lp has no running container" in r.stderr, r
    for args, msg in ((["logs", "nosuch"], "no such pod: nosuch"),
                      (["top", "nosuch"], "no such pod: nosuch"),
                      (["stats", "--no-stream", "nosuch"], "no such pod: nosuch"),
                      (["logs", "--tail", "x", "cr-lp"], 'invalid --tail "x"'),
                      (["logs", "-c", "nosuch", "cr-lp"], "no such container: nosuch")):
        r = b("pod", *args, check=False)
        assert r.returncode == 125 and msg in r.stderr, (args, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    b("pod", "rm", "-f", "cr-lp")
