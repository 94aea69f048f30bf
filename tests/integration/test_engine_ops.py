"""The engine library's container operations (src/lib/engine/container.h)
through berth: what the refactor added to them (logs --since/--until), and
the split of the front end from the library (a start failure's cleanup,
signals the front end hands the relay)."""
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import binary, missing_tool, need, run_in_script
from engine_helpers import BUSYBOX, engine_store, wait_for

if os.geteuid() != 0:
    pytest.skip("the engine tests need root", allow_module_level=True)


@pytest.fixture
def b():
    with engine_store("berth-engops-") as bb:
        yield bb


def _stamped(text):
    return [tuple(l.split(" ", 1)) for l in text.splitlines()]


def test_logs_since_until(b):
    b("run", "-d", "--network", "none", "--name", "eo-log", BUSYBOX, "sh", "-c",
      "echo one; echo err1 >&2; sleep 1.2; echo two; echo err2 >&2")
    assert b("wait", "eo-log").stdout.strip() == "0"
    r = b("logs", "--timestamps", "eo-log")
    out, err = _stamped(r.stdout), _stamped(r.stderr)
    assert [t for _, t in out] == ["one", "two"] and [t for _, t in err] == ["err1", "err2"]
    t_two, t_err1 = out[1][0], err[0][0]
    # since: from that time on (inclusive); until: up to it (inclusive)
    assert b("logs", "--since", t_two, "eo-log").stdout == "two\n"
    r = b("logs", "--until", t_err1, "eo-log")
    assert r.stdout == "one\n" and r.stderr == "err1\n"
    # Unix seconds, and a duration before now
    secs = int(time.time()) + 3600
    assert b("logs", "--since", str(secs), "eo-log").stdout == ""
    assert b("logs", "--since", "1h", "eo-log").stdout == "one\ntwo\n"
    assert b("logs", "--until", "1h", "eo-log").stdout == ""
    # with --tail: the last lines, then the bounds
    assert b("logs", "--tail", "2", "--since", t_err1, "eo-log").stdout == "two\n"
    # follow of an exited container ends, with the bounds applied
    r = b("logs", "-f", "--since", t_two, "eo-log", timeout=10)
    assert r.stdout == "two\n" and r.stderr == "err2\n"
    for bad in ("10x", "yesterday", "2023-11-14T22:13:20+02:00"):
        r = b("logs", "--since", bad, "eo-log", check=False)
        assert r.returncode == 125 and r.stdout == ""
        assert r.stderr.startswith(f'berth: invalid --since "{bad}"'), r.stderr
        assert len(r.stderr.splitlines()) == 1


def test_start_failure_cleans_up(b):
    # a command that is not there: 127 from the engine's start, the --rm
    # container gone, nothing mounted (engine_store checks the host)
    r = b("run", "--rm", "--network", "none", BUSYBOX, "/no/such/cmd", check=False)
    assert r.returncode == 127, r
    assert "no/such/cmd" in r.stderr and r.stdout == ""
    assert b.ids() == []
    r = b("run", "--network", "none", "--name", "eo-bad", BUSYBOX, "/no/such/cmd",
          check=False)
    assert r.returncode == 127
    assert b.inspect("eo-bad")["State"]["Status"] in ("exited", "created")
    # a later start of it fails the same way, and leaves it startable
    r = b("start", "eo-bad", check=False)
    assert r.returncode == 127, r
    b("rm", "eo-bad")


def test_signals_the_front_end_proxies(b):
    # run (attached) proxies SIGTERM and SIGUSR1 through the signalfd it hands
    # the relay: the container's trap sees them, berth exits with its status
    p = b.popen("run", "--rm", "--network", "none", "--name", "eo-sig", BUSYBOX, "sh", "-c",
                "trap 'echo usr1' USR1; trap 'echo term; exit 7' TERM; echo ready; "
                "while :; do sleep 0.1; done",
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline() == "ready\n"
        p.send_signal(signal.SIGUSR1)
        assert p.stdout.readline() == "usr1\n"
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=15)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert out == "term\n", (out, err)
    assert p.returncode == 7, err
    wait_for(lambda: b.ids() == [])


def test_attach_without_sig_proxy_dies_of_sigterm(b):
    # --sig-proxy=false: the front end leaves SIGTERM at its default action
    # (berth dies of it), the container runs on
    b("run", "-d", "--network", "none", "--name", "eo-att", BUSYBOX, "sh", "-c",
      "while :; do echo tick; sleep 0.2; done")
    p = b.popen("attach", "--sig-proxy=false", "eo-att", stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline() == "tick\n"
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == -signal.SIGTERM
    assert b.inspect("eo-att")["State"]["Status"] == "running"
    b("rm", "-f", "eo-att")


def test_tty_size_and_sigwinch_reach_the_container(b):
    # run -it sends the terminal's size first, and on SIGWINCH (the front
    # end's signalfd, the relay's resize frame) the new one. (The first size
    # arrives after the start: a command that asks at once can still see
    # 0 0, as before the refactor; so it waits a little.)
    need(missing_tool("script", "bsdutils"))
    berth = f"{binary('berth')} --root {b.root}"
    line = (f"stty rows 33 cols 77; {berth} run --rm -it --network none {BUSYBOX} sh -c "
            f"'sleep 0.5; stty size; sleep 2; stty size' </dev/tty & sleep 1.5; "
            f"stty rows 40 cols 100; wait")
    r = run_in_script(line, timeout=30, env=b.env)
    sizes = re.findall(r"^(\d+ \d+)\r?$", r.stdout, re.M)
    assert sizes == ["33 77", "40 100"], r


def test_container_prune_removes_the_stopped_only(b):
    made = b("create", "--network", "none", BUSYBOX, "true").stdout.strip()
    b("run", "--network", "none", "--name", "eo-done", BUSYBOX, "true")
    done = b.inspect("eo-done")["Id"]
    up = b("run", "-d", "--network", "none", BUSYBOX, "sleep", "60").stdout.strip()
    r = b("container", "prune", "-f")
    assert sorted(r.stdout.split()) == sorted([made, done]), r
    assert b.ids() == [up]
    assert b("container", "prune", "-f").stdout == ""
    b("rm", "-f", up)
