"""Restart policies and probes (src/lib/engine/health.h): --restart applied
by the container's monitor after the exit (Docker's back-off, RestartCount,
a stop by the user final), Docker's HEALTHCHECK (from a built image and from
--health-*), Kubernetes' liveness and readiness probes (berth's --probe),
exec, HTTP and TCP probes against real servers in the container, and a
kill -9 of the monitor while it waits to restart."""
import json
import os
import signal
import time

import pytest

from engine_helpers import BUSYBOX, engine_store, wait_for

if os.geteuid() != 0:
    pytest.skip("the engine tests need root", allow_module_level=True)

NONET = ("--network", "none")


@pytest.fixture
def b():
    with engine_store("berth-hl-") as bb:
        yield bb


def state(b, ref):
    return b.inspect(ref)["State"]


def count(b, ref):
    return b.inspect(ref)["RestartCount"]


def ps_status(b, name, *flags):
    r = b("ps", "-a", "--filter", f"name=^/{name}$", *flags, "--format", "{{.Status}}")
    return r.stdout.strip()


def ps_names(b, *flags):
    return b("ps", *flags, "--format", "{{.Names}}").stdout.split()


def health(b, ref):
    return state(b, ref).get("Health", {}).get("Status")


def health_file(b, ref):
    cid = b.inspect(ref)["Id"]
    p = b.root / "containers" / cid / "health.json"
    return json.loads(p.read_text()) if p.exists() else {}


def one_line_error(r, text):
    assert r.returncode == 125, (r.returncode, r.stderr)
    assert len(r.stderr.splitlines()) == 1 and text in r.stderr, r.stderr


def test_bad_options_refused_nothing_left(b):
    one_line_error(b("run", "--rm", "--restart", "always", *NONET, BUSYBOX, "true", check=False),
                   "conflicting options: --restart and --rm")
    one_line_error(b("run", "-d", "--restart", "sometimes", BUSYBOX, "true", check=False),
                   'invalid restart policy "sometimes"')
    one_line_error(b("create", "--restart", "always:2", BUSYBOX, "true", check=False),
                   "only be used with 'on-failure'")
    one_line_error(b("run", "-d", "--health-interval", "10x", BUSYBOX, "true", check=False),
                   'invalid --health-interval "10x"')
    one_line_error(b("run", "-d", "--health-retries", "-1", BUSYBOX, "true", check=False),
                   'invalid --health-retries "-1"')
    one_line_error(b("create", "--no-healthcheck", "--health-cmd", "true", BUSYBOX, "true",
                     check=False), "--no-healthcheck conflicts with --health-* options")
    one_line_error(b("create", "--probe", "role=liveness,tcp=0", BUSYBOX, "true", check=False),
                   "port 0 is not in 1..65535")
    one_line_error(b("create", "--probe", "role=sometimes,tcp=80", BUSYBOX, "true",
                     check=False), 'unknown role "sometimes"')
    assert b.ids() == []
    b("create", "--name", "hl-pol", "--restart", "on-failure:2", BUSYBOX, "true")
    d = b.inspect("hl-pol")
    assert d["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    assert d["RestartCount"] == 0
    b("create", "--name", "hl-nopol", BUSYBOX, "true")
    assert b.inspect("hl-nopol")["HostConfig"]["RestartPolicy"]["Name"] == "no"


def test_on_failure_limit_wait_and_logs(b):
    t0 = time.time()
    b("run", "-d", *NONET, "--name", "hl-of", "--restart", "on-failure:3", BUSYBOX,
      "sh", "-c", "echo run; exit 3")
    # wait returns at the final exit, after the 3 restarts the limit allows
    assert b("wait", "hl-of", timeout=30).stdout.strip() == "3"
    took = time.time() - t0
    assert count(b, "hl-of") == 3
    assert b("logs", "hl-of").stdout == "run\n" * 4  # appended across the restarts
    assert state(b, "hl-of")["Status"] == "exited" and not state(b, "hl-of")["Restarting"]
    assert ps_status(b, "hl-of").startswith("Exited (3)")
    # Docker's back-off: 100 + 200 + 400 ms between the runs
    assert took >= 0.7, took
    time.sleep(0.5)
    assert count(b, "hl-of") == 3  # and no more
    # a clean exit is not a failure
    b("run", "-d", *NONET, "--name", "hl-of0", "--restart", "on-failure", BUSYBOX, "true")
    assert b("wait", "hl-of0").stdout.strip() == "0"
    assert count(b, "hl-of0") == 0


def test_always_backoff_restarting_and_stop_is_final(b):
    b("run", "-d", *NONET, "--name", "hl-al", "--restart", "always", BUSYBOX, "sh", "-c",
      "echo x")
    seen = {}

    def restarting():
        st = state(b, "hl-al")
        if st["Status"] == "restarting":
            seen["state"] = st
            seen["ps"] = ps_status(b, "hl-al")
            seen["psdefault"] = "hl-al" in ps_names(b)
            return True
        return False

    assert wait_for(restarting, timeout=10, step=0.02)
    assert seen["state"]["Restarting"] and seen["state"]["Running"]
    assert seen["ps"].startswith("Restarting (0) ") and seen["ps"].endswith(" ago"), seen
    assert seen["psdefault"]  # shown without -a, as Docker's ps does
    time.sleep(2.5)
    # 100, 200, 400, 800, 1600 ms: a handful, not hundreds, in about 3 s
    n = count(b, "hl-al")
    assert 2 <= n <= 7, n
    b("stop", "-t", "1", "hl-al")
    n = count(b, "hl-al")
    time.sleep(2.0)
    assert count(b, "hl-al") == n
    assert state(b, "hl-al")["Status"] == "exited"
    assert "hl-al" not in ps_names(b)
    # a start by the user: the policy applies again
    b("start", "hl-al")
    assert wait_for(lambda: count(b, "hl-al") > n, timeout=10)
    b("rm", "-f", "hl-al")
    assert b.ids() == []


@pytest.mark.parametrize("policy", ["always", "unless-stopped"])
def test_manual_stop_and_kill_not_undone_restart_works(b, policy):
    name = f"hl-man-{policy}"
    b("run", "-d", *NONET, "--name", name, "--restart", policy, BUSYBOX, "sleep", "1000")
    b("stop", "-t", "1", name)
    time.sleep(1.0)
    st = state(b, name)
    assert st["Status"] == "exited" and count(b, name) == 0
    b("start", name)
    assert state(b, name)["Status"] == "running"
    b("kill", name)
    b("wait", name, timeout=10)
    time.sleep(1.0)
    assert state(b, name)["Status"] == "exited" and count(b, name) == 0
    b("restart", "-t", "1", name)
    assert state(b, name)["Status"] == "running"
    # after `restart` the policy holds: the process dying is restarted
    os.kill(state(b, name)["Pid"], signal.SIGKILL)
    assert wait_for(lambda: count(b, name) == 1 and state(b, name)["Status"] == "running",
                    timeout=10)
    b("rm", "-f", name)
    assert b.ids() == []


def test_monitor_kill9_while_restarting(b):
    b("run", "-d", *NONET, "--name", "hl-k9", "--restart", "always", BUSYBOX, "sh", "-c",
      "exit 1")
    # the back-off grows to 800 ms and more: a moment to catch it waiting
    got = {}

    def waiting():
        d = b.inspect("hl-k9")
        if d["State"]["Status"] == "restarting" and d["RestartCount"] >= 3:
            got["d"] = d
            return True
        return False

    assert wait_for(waiting, timeout=15, step=0.02)
    os.kill(got["d"]["State"]["MonitorPid"], signal.SIGKILL)
    st = state(b, "hl-k9")
    assert st["Status"] == "exited" and not st["Restarting"] and st["ExitCode"] == 1
    assert ps_status(b, "hl-k9").startswith("Exited (1)")
    n = count(b, "hl-k9")
    time.sleep(2.0)
    assert count(b, "hl-k9") == n  # nobody restarts it now
    r = b("system", "check")
    assert r.returncode == 0, r
    assert b("wait", "hl-k9", timeout=5).stdout.strip() == "1"
    b("rm", "-f", "hl-k9")
    assert b.ids() == []


HEALTHY_LATER = ("sleep 2.5; touch /tmp/ok; sleep 3; rm /tmp/ok; "
                 "trap 'exit 0' TERM; while :; do sleep 0.2; done")


def test_healthcheck_from_built_image(b):
    ctx = b.tmp / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(
        f"FROM {BUSYBOX}\n"
        "HEALTHCHECK --interval=1s --timeout=2s --start-period=10s --retries=2 "
        "CMD test -e /tmp/ok\n")
    b("build", "-q", "-t", "hl-hc-img", ctx, timeout=120)
    b("run", "-d", *NONET, "--name", "hl-hc", "hl-hc-img", "sh", "-c", HEALTHY_LATER)
    hc = b.inspect("hl-hc")["Config"]["Healthcheck"]
    assert hc == {"Test": ["CMD-SHELL", "test -e /tmp/ok"], "Interval": 1000000000,
                  "Timeout": 2000000000, "StartPeriod": 10000000000, "Retries": 2}, hc
    assert health(b, "hl-hc") == "starting"
    assert ps_status(b, "hl-hc").endswith("(health: starting)")
    assert ps_names(b, "--filter", "health=starting") == ["hl-hc"]
    # failing within the start period does not count; the first pass is healthy
    assert wait_for(lambda: health(b, "hl-hc") == "healthy", timeout=8)
    assert ps_status(b, "hl-hc").endswith("(healthy)")
    assert ps_names(b, "--filter", "health=healthy") == ["hl-hc"]
    assert ps_names(b, "--filter", "health=unhealthy") == []
    # the file goes at ~5.5 s: 2 failures in a row make it unhealthy
    assert wait_for(lambda: health(b, "hl-hc") == "unhealthy", timeout=8)
    h = state(b, "hl-hc")["Health"]
    assert h["FailingStreak"] >= 2
    assert 1 <= len(h["Log"]) <= 5
    last = h["Log"][-1]
    assert last["ExitCode"] == 1 and set(last) == {"Start", "End", "ExitCode", "Output"}
    assert ps_status(b, "hl-hc").endswith("(unhealthy)")
    assert ps_names(b, "--filter", "health=unhealthy") == ["hl-hc"]
    # podman's healthcheck run: once, now, recorded
    r = b("healthcheck", "run", "hl-hc", check=False)
    assert r.returncode == 1 and r.stdout.strip() == "unhealthy"
    b("exec", "hl-hc", "touch", "/tmp/ok")
    r = b("healthcheck", "run", "hl-hc", check=False)
    assert r.returncode == 0 and r.stdout.strip() == "healthy"
    assert health(b, "hl-hc") == "healthy"
    assert state(b, "hl-hc")["Health"]["FailingStreak"] == 0
    # --no-healthcheck drops the image's
    b("run", "-d", *NONET, "--name", "hl-nohc", "--no-healthcheck", "hl-hc-img", "sleep", "100")
    assert b.inspect("hl-nohc")["Config"]["Healthcheck"] == {"Test": ["NONE"]}
    time.sleep(1.5)
    assert "Health" not in state(b, "hl-nohc")
    assert ps_status(b, "hl-nohc").startswith("Up ") and "health" not in ps_status(b, "hl-nohc")
    assert ps_names(b, "--filter", "health=none") == ["hl-nohc"]
    one_line_error(b("healthcheck", "run", "hl-nohc", check=False), "no defined healthcheck")
    # --health-interval alone keeps the image's test
    b("create", "--name", "hl-iv", "--health-interval", "3s", "hl-hc-img", "true")
    hc = b.inspect("hl-iv")["Config"]["Healthcheck"]
    assert hc["Test"] == ["CMD-SHELL", "test -e /tmp/ok"] and hc["Interval"] == 3000000000
    assert hc["Retries"] == 2


def test_health_cmd_output_and_timeout(b):
    b("run", "-d", *NONET, "--name", "hl-cmd", "--health-cmd", "echo hi; exit 0",
      "--health-interval", "1s", BUSYBOX, "sleep", "100")
    hc = b.inspect("hl-cmd")["Config"]["Healthcheck"]
    assert hc == {"Test": ["CMD-SHELL", "echo hi; exit 0"], "Interval": 1000000000,
                  "Timeout": 30000000000, "StartPeriod": 0, "Retries": 3}, hc
    assert wait_for(lambda: health(b, "hl-cmd") == "healthy", timeout=5)
    assert state(b, "hl-cmd")["Health"]["Log"][-1]["Output"] == "hi\n"
    b("run", "-d", *NONET, "--name", "hl-to", "--health-cmd", "sleep 5", "--health-timeout",
      "300ms", "--health-interval", "1s", "--health-retries", "1", BUSYBOX, "sleep", "100")
    assert wait_for(lambda: health(b, "hl-to") == "unhealthy", timeout=6)
    last = state(b, "hl-to")["Health"]["Log"][-1]
    assert last["ExitCode"] == -1 and "exceeded timeout" in last["Output"], last
    # the timed-out check's process does not linger in the container
    time.sleep(0.5)
    top = b("top", "hl-to").stdout
    assert top.count("sleep 5") <= 1, top  # at most the one running now


def test_liveness_probe_restarts_hung_container(b):
    b("run", "-d", *NONET, "--name", "hl-live", "--restart", "always",
      "--probe", "role=liveness,interval=1s,failure-threshold=2,exec=test -e /tmp/alive",
      BUSYBOX, "sh", "-c",
      "touch /tmp/alive; sleep 2; rm /tmp/alive; trap 'exit 0' TERM; "
      "while :; do sleep 0.2; done")
    assert state(b, "hl-live")["Status"] == "running"
    # killed (its stop signal) after 2 failures, started again by the policy
    assert wait_for(lambda: count(b, "hl-live") >= 1, timeout=12)
    assert wait_for(lambda: state(b, "hl-live")["Status"] == "running", timeout=5)
    b("rm", "-f", "hl-live")


def test_readiness_probe_flips_ready_and_runs_hook(b):
    hook = b.tmp / "hook.log"
    b("run", "-d", *NONET, "--name", "hl-rd",
      "--probe", "role=readiness,interval=1s,exec=test -e /tmp/ready",
      "--readiness-hook", f"echo \"$0\" >> {hook}", BUSYBOX, "sleep", "1000")
    cid = b.inspect("hl-rd")["Id"]
    time.sleep(1.5)
    assert health_file(b, "hl-rd").get("Ready") is False
    assert not hook.exists()
    b("exec", "hl-rd", "touch", "/tmp/ready")
    assert wait_for(lambda: health_file(b, "hl-rd").get("Ready") is True, timeout=4)
    assert wait_for(lambda: hook.exists() and hook.read_text() == f"{cid}\n", timeout=3)
    b("exec", "hl-rd", "rm", "/tmp/ready")
    assert wait_for(lambda: health_file(b, "hl-rd").get("Ready") is False, timeout=4)
    assert wait_for(lambda: hook.read_text() == f"{cid}\n{cid}\n", timeout=3)
    b("rm", "-f", "hl-rd")


def test_http_and_tcp_probes_against_real_servers(b):
    # the default network (--network none leaves the loopback down here)
    b("run", "-d", "--name", "hl-net",
      "--probe", "role=health,interval=1s,failure-threshold=1,http=8080/index.html",
      "--probe", "role=readiness,interval=1s,tcp=9090",
      BUSYBOX, "sh", "-c",
      "mkdir -p /www && echo ok > /www/index.html && httpd -p 8080 -h /www && "
      "exec sleep 1000")
    assert wait_for(lambda: health(b, "hl-net") == "healthy", timeout=5)
    out = state(b, "hl-net")["Health"]["Log"][-1]["Output"]
    assert out.startswith("HTTP/1.") and " 200" in out, out
    # nothing listens on 9090: not ready
    assert health_file(b, "hl-net").get("Ready") is False
    b("exec", "-d", "hl-net", "sh", "-c", "while :; do nc -l -p 9090 </dev/null; done")
    assert wait_for(lambda: health_file(b, "hl-net").get("Ready") is True, timeout=5)
    # a 404: unhealthy
    b("exec", "hl-net", "rm", "/www/index.html")
    assert wait_for(lambda: health(b, "hl-net") == "unhealthy", timeout=5)
    out = state(b, "hl-net")["Health"]["Log"][-1]["Output"]
    assert " 404" in out, out
    b("rm", "-f", "hl-net")


def test_prober_gone_after_rm_f(b):
    b("run", "-d", *NONET, "--name", "hl-gone", "--restart", "always",
      "--health-cmd", "true", "--health-interval", "1s", BUSYBOX, "sleep", "1000")
    cid = b.inspect("hl-gone")["Id"]

    def probers():
        out = []
        for p in os.listdir("/proc"):
            if p.isdigit():
                try:
                    cmd = open(f"/proc/{p}/cmdline", "rb").read().split(b"\0")
                except OSError:
                    continue
                if b"probe" in cmd and cid.encode() in cmd:
                    out.append(int(p))
        return out

    pids = wait_for(probers, timeout=3)
    assert len(pids) == 1, pids
    rss = int([l for l in open(f"/proc/{pids[0]}/status") if l.startswith("VmRSS")][0].split()[1])
    print(f"prober RSS {rss} kB")
    b("rm", "-f", "hl-gone")
    assert wait_for(lambda: not probers(), timeout=3)
    assert b.ids() == []
