"""berth-runtime: odd and hostile config values (issue 16, section 2): a
namespace path that is not a namespace file (fifo, socket, directory,
regular file, a namespace of another type), a run killed with SIGKILL at any
moment, 400,000 annotations, integers beyond 64 bits."""
import json
import os
import signal
import socket
import subprocess
import time

import pytest

from runtime_helpers import one_error_line, rtenv  # noqa: F401


def ns_path_bundle(rtenv, ns_type, path):
    b = rtenv.bundle("true")
    with rtenv.config(b) as c:
        nss = c["linux"]["namespaces"]
        if not any(n["type"] == ns_type for n in nss):
            nss.append({"type": ns_type})
        for n in nss:
            if n["type"] == ns_type:
                n["path"] = str(path)
        idx = [n["type"] for n in nss].index(ns_type)
    return b, idx


def make_fifo(rtenv):
    p = rtenv.path("ns.fifo")
    os.mkfifo(p)
    return p


def make_socket(rtenv):
    p = rtenv.path("ns.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(p))
    s.listen(1)
    rtenv.cleanups.append(s.close)
    return p


def make_dir(rtenv):
    return rtenv.hostdir("ns.dir")


def make_file(rtenv):
    p = rtenv.path("ns.file")
    p.write_text("not a namespace\n")
    return p


@pytest.mark.parametrize("make,kind", [(make_fifo, "fifo"), (make_socket, "socket"),
                                       (make_dir, "directory"), (make_file, "regular file")])
def test_namespace_path_not_nsfs(rtenv, make, kind):
    """One line naming linux.namespaces[i].path, at once (a fifo blocked
    open(2) forever), and nothing left behind."""
    path = make(rtenv)
    b, idx = ns_path_bundle(rtenv, "network", path)
    cid = rtenv.cid()
    r = rtenv.rt("run", "--bundle", b, cid, timeout=30)
    one_error_line(r, f"linux.namespaces[{idx}].path", str(path), kind, "not a namespace")
    assert not (rtenv.root / cid).exists()


def test_namespace_path_of_another_type(rtenv):
    b, idx = ns_path_bundle(rtenv, "network", "/proc/self/ns/uts")
    cid = rtenv.cid()
    r = rtenv.rt("run", "--bundle", b, cid, timeout=30)
    one_error_line(r, f"linux.namespaces[{idx}].path", "uts namespace", "not network")
    assert not (rtenv.root / cid).exists()


def test_namespace_path_still_joins(rtenv):
    """A real namespace file (the uts namespace of this test) is still joined."""
    b, _ = ns_path_bundle(rtenv, "uts", f"/proc/{os.getpid()}/ns/uts")
    with rtenv.config(b) as c:
        c.pop("hostname", None)
        c["process"]["args"] = ["hostname"]
    r = rtenv.rt("run", "--bundle", b, rtenv.cid()).ok()
    assert r.stdout.strip() == socket.gethostname()


def killed_run(rtenv, delay, cmd="run", join_ns=False):
    b = rtenv.bundle("sleep", "100")
    if join_ns:  # joining a namespace by path takes the two-stage launch
        with rtenv.config(b) as c:
            c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"]
                                        if n["type"] != "uts"]
            c["linux"]["namespaces"].append({"type": "uts",
                                             "path": f"/proc/{os.getpid()}/ns/uts"})
            c.pop("hostname", None)
    cid = rtenv.cid()
    p = subprocess.Popen(rtenv.rt_cmd(cmd, "--bundle", b, cid), stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env=dict(os.environ, BERTH_RT_TEST_MARK=rtenv.mark,
                                  ASAN_OPTIONS="detect_leaks=0"))
    time.sleep(delay)
    p.send_signal(signal.SIGKILL)
    p.wait()
    return cid


KILL_CASES = ([("run", False, d) for d in (0.0, 0.005, 0.02, 0.05, 0.1, 0.2, 0.4, 1.0)] +
              [("run", True, d) for d in (0.01, 0.05, 0.2)] +
              [("create", False, d) for d in (0.01, 0.05, 0.2)])


@pytest.mark.parametrize("cmd,join_ns,delay", KILL_CASES)
def test_killed_run_leaves_nothing_after_delete_force(rtenv, cmd, join_ns, delay):
    """A `run` (or `create`) SIGKILLed at any moment: `list` still works and
    `delete --force` removes what it left (state dir, cgroups, processes);
    the fixture checks the host is clean."""
    cid = killed_run(rtenv, delay, cmd, join_ns)
    r = rtenv.rt("list")
    assert r.returncode == 0, r
    if (rtenv.root / cid).exists():
        assert cid in r.stdout
        rtenv.rt("delete", "--force", cid, timeout=30).ok()
    else:
        assert cid not in r.stdout
    assert not (rtenv.root / cid).exists()
    assert rtenv.rt("state", cid).returncode != 0


def test_many_annotations(rtenv):
    """400,000 annotations: create, state, hooks and delete stay linear (the
    quadratic strv_push took 19 s for 200,000; 4x that for 400,000)."""
    n = 400000
    b = rtenv.bundle("true")
    out = rtenv.path("hook.json")
    with rtenv.config(b) as c:
        c["annotations"] = {f"org.example.key.{i}": f"value-{i}" for i in range(n)}
        c["hooks"] = {"poststop": [{"path": "/bin/sh", "args": ["sh", "-c", f"cat > {out}"]}]}
    cid = rtenv.cid()
    rtenv.rt("create", "--bundle", b, cid, timeout=60).ok()
    st = json.loads(rtenv.rt("state", cid, timeout=60).ok().stdout)
    assert len(st["annotations"]) == n
    assert st["annotations"]["org.example.key.399999"] == "value-399999"
    rtenv.rt("delete", "--force", cid, timeout=60).ok()
    assert len(json.loads(out.read_text())["annotations"]) == n


BIG = "18446744073709551616"  # 2^64


def raw_config_edit(b, key_path, literal):
    """Sets a field to a raw JSON number literal (json.dumps would refuse
    or round it)."""
    cfg = json.loads((b / "config.json").read_text())
    o = cfg
    for k in key_path[:-1]:
        o = o.setdefault(k, {}) if isinstance(k, str) else o[k]
    o[key_path[-1]] = "@@NUM@@"
    (b / "config.json").write_text(json.dumps(cfg).replace('"@@NUM@@"', literal))


@pytest.mark.parametrize("key_path,literal,words", [
    (["linux", "resources", "cpu", "shares"], BIG, ["linux.resources.cpu.shares",
                                                    "out of range"]),
    (["linux", "resources", "memory", "limit"], "-" + BIG, ["linux.resources.memory.limit",
                                                            "out of range"]),
    (["linux", "resources", "pids", "limit"], "99999999999999999999999999",
     ["linux.resources.pids.limit", "out of range"]),
    (["linux", "resources", "cpu", "shares"], "-1", ["linux.resources.cpu.shares",
                                                     "negative"]),
    (["process", "user", "uid"], BIG, ["process.user.uid", "out of range"]),
])
def test_integer_out_of_range_refused(rtenv, key_path, literal, words):
    b = rtenv.bundle("true")
    raw_config_edit(b, key_path, literal)
    cid = rtenv.cid()
    r = rtenv.rt("create", "--bundle", b, cid)
    one_error_line(r, "config.json", *words)
    assert not (rtenv.root / cid).exists()


@pytest.mark.parametrize("kind", ["prestart", "createRuntime", "poststart"])
def test_run_killed_during_hook(rtenv, kind):
    """A run killed while a hook runs takes the hook along; delete --force
    cleans up the rest."""
    started = rtenv.path("hook-started")
    b = rtenv.bundle("sleep", "100")
    with rtenv.config(b) as c:
        c["hooks"] = {kind: [{"path": "/bin/sh",
                              "args": ["sh", "-c", f"touch {started}; exec sleep 100"],
                              "env": [f"BERTH_RT_TEST_MARK={rtenv.mark}"]}]}
    cid = rtenv.cid()
    p = subprocess.Popen(rtenv.rt_cmd("run", "--bundle", b, cid), stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env=dict(os.environ, BERTH_RT_TEST_MARK=rtenv.mark,
                                  ASAN_OPTIONS="detect_leaks=0"))
    deadline = time.monotonic() + 30
    while not started.exists() and time.monotonic() < deadline and p.poll() is None:
        time.sleep(0.02)
    assert started.exists()
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert rtenv.rt("list").returncode == 0
    if (rtenv.root / cid).exists():
        rtenv.rt("delete", "--force", cid, timeout=30).ok()
    deadline = time.monotonic() + 5
    while rtenv.leftover_pids() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert rtenv.leftover_pids() == []
