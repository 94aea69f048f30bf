"""berth attach (through the container monitor's attach.sock) and
berth ps --filter, end to end with a busybox image in a private root."""
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import binary, missing_tool, need
from engine_helpers import BUSYBOX, engine_store, wait_for

if os.geteuid() != 0:
    pytest.skip("the engine tests need root", allow_module_level=True)

DETACH = b"\x10\x11"  # ctrl-p ctrl-q
TICK = "while :; do echo tick; sleep 0.2; done"


@pytest.fixture
def b():
    with engine_store("berth-attach-") as bb:
        bb.procs = []
        try:
            yield bb
        finally:
            for p in bb.procs:
                if p.poll() is None:
                    p.kill()
                p.wait()


def state(b, name):
    return b.inspect(name)["State"]["Status"]


def attach_popen(b, *args, **kw):
    """berth attach in the background with pipes; registered for cleanup."""
    kw.setdefault("stdin", subprocess.PIPE)
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    p = b.popen("attach", *args, **kw)
    b.procs.append(p)
    return p


def test_attach_streams_output_from_then_on_and_exits_with_the_status(b):
    b("run", "-d", "--name", "a", BUSYBOX, "sh", "-c",
      "echo before; sleep 2; echo out; echo err >&2; exit 5")
    time.sleep(0.3)
    r = b("attach", "a", check=False, timeout=20)
    assert r.returncode == 5, r
    assert r.stdout == "out\n"  # not "before": that was written before we came
    assert r.stderr == "err\n"
    # no frame 5 from attach: the monitor did its own cleanup
    assert wait_for(lambda: state(b, "a") == "exited")
    assert b("logs", "a").stdout == "before\nout\n"


def test_attach_rm_container_is_removed_by_the_monitor(b):
    b("run", "-d", "--rm", "--name", "r", BUSYBOX, "sh", "-c", "sleep 1; echo bye; exit 3")
    r = b("attach", "r", check=False, timeout=20)
    assert (r.returncode, r.stdout) == (3, "bye\n"), r
    assert wait_for(lambda: b.ids() == [])


def test_attach_forwards_stdin_only_when_created_with_i(b):
    b("run", "-d", "-i", "--name", "i", BUSYBOX, "sh", "-c", "read x; echo got:$x")
    r = b("attach", "i", input="hello\n", check=False, timeout=20)
    assert (r.returncode, r.stdout) == (0, "got:hello\n"), r
    # --no-stdin: nothing reaches the container
    b("run", "-d", "-i", "--name", "n", BUSYBOX, "sh", "-c", "read -t 2 x; echo got:$x")
    r = b("attach", "--no-stdin", "n", input="hello\n", check=False, timeout=20)
    assert (r.returncode, r.stdout) == (0, "got:\n"), r
    # without -i at creation the container has no stdin to write to
    b("run", "-d", "--name", "x", BUSYBOX, "sh", "-c", "sleep 1; read x; echo got:$x")
    r = b("attach", "x", input="hello\n", check=False, timeout=20)
    assert (r.returncode, r.stdout) == (0, "got:\n"), r


def test_attach_stopped_or_missing_container_is_one_line_125(b):
    b("run", "--name", "s", BUSYBOX, "true")
    r = b("attach", "s", check=False)
    assert r.returncode == 125
    assert r.stderr == "berth: You cannot attach to a stopped container, start it first\n"
    b("create", "--name", "c", BUSYBOX, "true")
    r = b("attach", "c", check=False)
    assert r.returncode == 125 and len(r.stderr.splitlines()) == 1
    r = b("attach", "nosuch", check=False)
    assert r.returncode == 125 and len(r.stderr.splitlines()) == 1 and "nosuch" in r.stderr
    r = b("attach", check=False)
    assert r.returncode == 125


def test_attach_proxies_signals(b):
    b("run", "-d", "--name", "p", BUSYBOX, "sh", "-c",
      "trap 'echo got-term; exit 9' TERM; while :; do echo ready; sleep 0.2; done")
    p = attach_popen(b, "p", text=True)
    assert p.stdout.readline() == "ready\n"  # connected, the proxy is in place
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=20)
    assert p.returncode == 9, (out, err)
    assert out.endswith("got-term\n") and set(out.split()) <= {"ready", "got-term"}
    # --sig-proxy=false: the signal is ours alone, the container keeps running
    b("run", "-d", "--name", "q", BUSYBOX, "sh", "-c", TICK)
    p = attach_popen(b, "--sig-proxy=false", "q", text=True)
    assert p.stdout.readline() == "tick\n"
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=20)
    assert p.returncode == -signal.SIGTERM
    time.sleep(0.3)
    assert state(b, "q") == "running"


def test_one_client_at_a_time_and_the_next_after_it_left(b):
    b("run", "-d", "--name", "t", BUSYBOX, "sh", "-c", TICK)
    first = attach_popen(b, "t", text=True)
    assert first.stdout.readline() == "tick\n"
    r = b("attach", "t", check=False, timeout=20)
    assert r.returncode == 125
    assert "already has an attached client" in r.stderr and len(r.stderr.splitlines()) == 1
    first.kill()  # a client that vanishes (no detach, no frame 5)
    first.wait()
    second = attach_popen(b, "t", text=True)
    assert second.stdout.readline() == "tick\n"
    second.kill()
    second.wait()
    assert state(b, "t") == "running"
    b("stop", "-t", "1", "t")
    assert state(b, "t") == "exited"


def script_popen(line, env):
    """script(1) on a fresh pty, like conftest.run_in_script, but with our
    end of its stdin kept to type into the pty."""
    out = tempfile.TemporaryFile("w+")
    p = subprocess.Popen(["script", "-qec", line, "/dev/null"], stdin=subprocess.PIPE,
                         stdout=out, stderr=subprocess.STDOUT, env=env)
    p.out = out

    def text():
        out.seek(0)
        return out.read()
    p.text = text
    return p


def test_detach_keys_on_a_tty_container_and_attach_again(b):
    need(missing_tool("script", "bsdutils"))
    b("run", "-d", "-it", "--name", "tty", BUSYBOX, "sh", "-c", TICK)
    line = f"{binary('berth')} --root {b.root} attach tty"
    p = script_popen(line, b.env)
    b.procs.append(p)
    try:
        assert wait_for(lambda: "tick" in p.text(), timeout=15), p.text()
        p.stdin.write(DETACH)
        p.stdin.flush()
        assert p.wait(timeout=15) == 0, p.text()
    finally:
        p.out.close()
    time.sleep(0.3)
    assert state(b, "tty") == "running"
    # again, with other keys and stdin from a pipe: a held partial sequence
    # ("ctrl-a" then "y") goes to the container, the whole one detaches
    q = attach_popen(b, "--detach-keys", "ctrl-a,x", "tty")
    assert q.stdout.readline().strip() == b"tick"
    q.stdin.write(b"\x01y")
    q.stdin.flush()
    time.sleep(0.3)
    assert q.poll() is None
    q.stdin.write(b"\x01x")
    q.stdin.flush()
    assert q.wait(timeout=15) == 0
    assert state(b, "tty") == "running"
    r = b("attach", "--detach-keys", "ctrl-", "tty", check=False)
    assert r.returncode == 125 and "detach-keys" in r.stderr


def test_tty_container_without_i_leaves_ctrl_c_a_signal(b):
    # no stdin to forward: the terminal is not made raw, ^C stops attach
    # (no proxy to a tty container, as Docker) and the container runs on
    need(missing_tool("script", "bsdutils"))
    b("run", "-d", "-t", "--name", "tt", BUSYBOX, "sh", "-c", TICK)
    p = script_popen(f"{binary('berth')} --root {b.root} attach tt", b.env)
    b.procs.append(p)
    try:
        assert wait_for(lambda: "tick" in p.text(), timeout=15), p.text()
        p.stdin.write(b"\x03")
        p.stdin.flush()
        assert p.wait(timeout=15) != 0, p.text()
    finally:
        p.out.close()
    time.sleep(0.3)
    assert state(b, "tt") == "running"


def test_run_it_detaches_with_ctrl_p_ctrl_q(b):
    need(missing_tool("script", "bsdutils"))
    line = f"{binary('berth')} --root {b.root} run -it --rm --name rt {BUSYBOX} sh -c '{TICK}'"
    p = script_popen(line, b.env)
    b.procs.append(p)
    try:
        assert wait_for(lambda: "tick" in p.text(), timeout=15), p.text()
        p.stdin.write(DETACH)
        p.stdin.flush()
        assert p.wait(timeout=15) == 0, p.text()
    finally:
        p.out.close()
    assert state(b, "rt") == "running"
    b("stop", "-t", "1", "rt")
    # --rm: the monitor removes it, no client does
    assert wait_for(lambda: b.ids() == [])


def test_start_a_on_a_running_container_attaches(b):
    b("run", "-d", "--name", "sa", BUSYBOX, "sh", "-c", "sleep 1; echo late; exit 4")
    r = b("start", "-a", "sa", check=False, timeout=20)
    assert (r.returncode, r.stdout) == (4, "late\n"), r


# ---- ps --filter ----

def names(b, *args):
    r = b("ps", *args, "--format", "{{.Names}}")
    return sorted(r.stdout.split())


@pytest.fixture
def four(b):
    b("run", "--name", "web1", BUSYBOX, "true")
    b("run", "--name", "web2", BUSYBOX, "sh", "-c", "exit 3", check=False)
    b("run", "-d", "--name", "db", BUSYBOX, "sleep", "30")
    b("tag", BUSYBOX, "localhost/other:v1")
    b("create", "--name", "cr", "localhost/other:v1", "true")
    return b


def test_ps_filter_id_name_status(four):
    b = four
    wid = b.inspect("web1")["Id"]
    assert names(b, "-a", "--filter", f"id={wid[:6]}") == ["web1"]
    assert names(b, "-a", "-f", "id=" + wid) == ["web1"]
    assert names(b, "-a", "-f", "id=zzzz") == []
    # name: as Docker, a regular expression against "/name"
    assert names(b, "-a", "-f", "name=web") == ["web1", "web2"]
    assert names(b, "-a", "-f", "name=^/web1$") == ["web1"]
    assert names(b, "-f", "name=web") == []  # only running ones without -a
    assert names(b, "-f", "name=d") == ["db"]
    # status shows stopped ones without -a
    assert names(b, "--filter", "status=exited") == ["web1", "web2"]
    assert names(b, "-f", "status=running") == ["db"]
    assert names(b, "-f", "status=created") == ["cr"]
    assert names(b, "-f", "status=paused") == []


def test_ps_filter_exited_and_ancestor(four):
    b = four
    assert names(b, "-f", "exited=3") == ["web2"]
    assert names(b, "-f", "exited=0") == ["web1"]  # not the created or running ones
    allc = ["cr", "db", "web1", "web2"]
    iid = b.inspect("web1")["Image"]
    assert names(b, "-a", "-f", f"ancestor={iid[7:19]}") == allc
    assert names(b, "-a", "-f", f"ancestor={iid}") == allc
    # by name: as typed, normalised, and (as Docker) the image it resolves to
    assert names(b, "-a", "-f", "ancestor=localhost/other:v1") == allc
    b("rmi", "localhost/other:v1")
    assert names(b, "-a", "-f", "ancestor=localhost/other:v1") == ["cr"]
    assert names(b, "-a", "-f", "ancestor=localhost/busybox:latest") == allc
    assert names(b, "-a", "-f", "ancestor=localhost/nosuch") == []


def test_ps_filter_or_and_and_bad_keys(four):
    b = four
    # same key: OR
    assert names(b, "-f", "status=exited", "-f", "status=created") == ["cr", "web1", "web2"]
    assert names(b, "-f", "exited=0", "-f", "exited=3") == ["web1", "web2"]
    # different keys: AND
    assert names(b, "-f", "status=exited", "-f", "name=2") == ["web2"]
    assert names(b, "-f", "status=exited", "-f", "name=db") == []
    assert names(b, "-f", "name=web", "-f", "name=db", "-f", "status=running") == ["db"]
    assert b("ps", "-q", "-f", "status=running").stdout.strip() == b.inspect("db")["Id"][:12]
    for bad, msg in [("x=1", "invalid filter 'x'"), ("nokey", "invalid filter 'nokey'"),
                     ("status=sleepy", "invalid filter 'status=sleepy'"),
                     ("exited=abc", "invalid filter 'exited=abc'")]:
        r = b("ps", "-f", bad, check=False)
        assert r.returncode == 125
        assert r.stderr == f"berth: {msg}\n"
        assert r.stdout == ""
