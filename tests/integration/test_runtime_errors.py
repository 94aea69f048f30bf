"""berth-runtime: bad input. Each case must fail (non-zero exit) with ONE clear
line on stderr naming the field or file at fault, and leave the host clean (no
state dir for the id, no mounts, no processes: the rtenv fixture checks)."""
import json
import os

import pytest

from runtime_helpers import one_error_line, rtenv  # noqa: F401


def set_path(c, path, value):
    *parents, last = path
    for p in parents:
        c = c[p]
    c[last] = value


def ns_without(c, kind):
    c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != kind]


def mount(dest, typ="tmpfs", source="tmpfs", options=()):
    return {"destination": dest, "type": typ, "source": source, "options": list(options)}


# (id, edit(config, bundle), words that the one stderr line must contain)
CONFIG_CASES = [
    ("args-empty", lambda c, b: set_path(c, ["process", "args"], []), ["process.args"]),
    ("args-wrong-type", lambda c, b: set_path(c, ["process", "args"], "sh -c true"),
     ["process.args"]),
    ("args-element-wrong-type", lambda c, b: set_path(c, ["process", "args"], ["sh", 3]),
     ["process.args"]),
    ("uid-string", lambda c, b: set_path(c, ["process", "user", "uid"], "0"),
     ["process.user.uid"]),
    ("uid-negative", lambda c, b: set_path(c, ["process", "user", "uid"], -1),
     ["process.user.uid"]),
    ("root-missing", lambda c, b: c.pop("root"), ["root"]),
    ("root-path-missing-dir", lambda c, b: set_path(c, ["root", "path"], "nonexistent-rootfs"),
     ["nonexistent-rootfs"]),
    ("root-path-is-file", lambda c, b: (open(f"{b}/afile", "w").close(),
                                        set_path(c, ["root", "path"], "afile")), ["afile"]),
    ("unknown-namespace", lambda c, b: c["linux"]["namespaces"].append({"type": "bogus"}),
     ["namespaces", "bogus"]),
    ("duplicate-namespace", lambda c, b: c["linux"]["namespaces"].append({"type": "pid"}),
     ["namespaces", "pid"]),
    ("namespace-path-missing", lambda c, b: c["linux"]["namespaces"][1].update(
        path="/nonexistent/ns/net"), ["/nonexistent/ns/net"]),
    ("relative-mount-destination", lambda c, b: c["mounts"].append(mount("relative/dir")),
     ["mounts[7].destination"]),
    ("mount-destination-wrong-type", lambda c, b: c["mounts"].append(
        {"destination": 5, "type": "tmpfs", "source": "tmpfs"}), ["mounts[7].destination"]),
    ("unknown-rlimit", lambda c, b: c["process"]["rlimits"].append(
        {"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}), ["RLIMIT_BOGUS"]),
    ("rlimit-soft-above-hard", lambda c, b: set_path(c, ["process", "rlimits"], [
        {"type": "RLIMIT_NOFILE", "soft": 2048, "hard": 1024}]), ["process.rlimits[0]", "soft"]),
    ("cwd-relative", lambda c, b: set_path(c, ["process", "cwd"], "tmp"), ["process.cwd"]),
    ("hostname-without-uts", lambda c, b: ns_without(c, "uts"), ["hostname"]),
    ("sysctl-not-namespaced", lambda c, b: set_path(c, ["linux", "sysctl"],
                                                    {"kernel.panic": "1"}), ["kernel.panic"]),
    ("sysctl-net-without-netns", lambda c, b: (
        ns_without(c, "network"),
        c.__setitem__("mounts", [m for m in c["mounts"] if not m["destination"].startswith(
            "/sys")]),
        set_path(c, ["linux", "sysctl"], {"net.ipv4.ip_forward": "1"})),
     ["net.ipv4.ip_forward"]),
    ("uid-mappings-without-userns", lambda c, b: set_path(c, ["linux", "uidMappings"], [
        {"containerID": 0, "hostID": 100000, "size": 65536}]), ["uidMappings"]),
    ("bad-bind-source", lambda c, b: c["mounts"].append(
        mount("/data", "bind", "/nonexistent/berth/source", ["rbind"])),
     ["/nonexistent/berth/source"]),
    ("mount-over-proc-self", lambda c, b: c["mounts"].append(mount("/proc/self")),
     ["/proc/self"]),
    ("unknown-mount-type", lambda c, b: c["mounts"].append(mount("/x", "nosuchfs", "none")),
     ["/x"]),
    ("failing-hook", lambda c, b: set_path(c, ["hooks"], {"createRuntime": [
        {"path": "/bin/false"}]}), ["hooks.createRuntime[0]"]),
    ("hook-path-relative", lambda c, b: set_path(c, ["hooks"], {"prestart": [
        {"path": "bin/true"}]}), ["hooks.prestart[0]"]),
    ("device-bad-type", lambda c, b: set_path(c, ["linux", "devices"], [
        {"path": "/dev/x", "type": "q", "major": 1, "minor": 3}]), ["linux.devices[0]"]),
    ("oom-score-out-of-range", lambda c, b: set_path(c, ["process", "oomScoreAdj"], 5000),
     ["oomScoreAdj"]),
    ("time-offsets-without-timens", lambda c, b: set_path(c, ["linux", "timeOffsets"], {
        "boottime": {"secs": 1, "nanosecs": 0}}), ["timeOffsets"]),
]


@pytest.mark.parametrize("case", CONFIG_CASES, ids=[c[0] for c in CONFIG_CASES])
def test_bad_config(rtenv, case):
    _, edit, words = case
    b = rtenv.bundle("sh", "-c", "echo SHOULD-NOT-RUN")
    c = rtenv.load(b)
    edit(c, b)
    rtenv.save(b, c)
    cid = rtenv.cid()
    r = rtenv.rt("create", "--bundle", b, cid)
    one_error_line(r, *words)
    assert "SHOULD-NOT-RUN" not in r.stdout
    assert not (rtenv.root / cid).exists(), "state dir left behind"
    assert rtenv.rt("state", cid).returncode != 0


def test_unknown_capability_is_a_warning(rtenv):
    """runc ignores unknown capabilities with a warning (a newer config on an
    older kernel); the container still runs."""
    b = rtenv.bundle("sh", "-c", "echo ran")
    with rtenv.config(b) as c:
        c["process"]["capabilities"]["bounding"].append("CAP_BOGUS")
    r = rtenv.rt("run", "--bundle", b, rtenv.cid()).ok()
    assert r.stdout == "ran\n"
    assert "CAP_BOGUS" in r.stderr and "warning" in r.stderr


def test_control_characters_in_config_values_are_escaped(rtenv):
    """A config value in an error or warning reaches the terminal escaped:
    no ESC sequence from config.json can clear the screen or fake a prompt."""
    b = rtenv.bundle("sh", "-c", "echo ran")
    with rtenv.config(b) as c:
        c["process"]["capabilities"]["bounding"].append("CAP_\x1b[2J")
    r = rtenv.rt("run", "--bundle", b, rtenv.cid()).ok()
    assert "\x1b" not in r.stderr and "CAP_\\x1b[2J" in r.stderr, repr(r.stderr)
    with rtenv.config(b) as c:
        c["linux"]["namespaces"][0]["type"] = "\x1b]0;owned\x07\r\nfake$ "
    r = rtenv.rt("create", "--bundle", b, rtenv.cid())
    line = one_error_line(r, "unknown namespace")
    assert "\x1b" not in r.stderr and "\x07" not in r.stderr, repr(r.stderr)
    assert "\\x1b]0;owned\\x07\\r\\nfake$ " in line, repr(line)


def test_broken_json(rtenv):
    b = rtenv.bundle("true")
    (b / "config.json").write_text('{"ociVersion": "1.0.2", "process": {')
    cid = rtenv.cid()
    one_error_line(rtenv.rt("create", "--bundle", b, cid), "config.json")
    assert not (rtenv.root / cid).exists()


def test_config_not_an_object(rtenv):
    b = rtenv.bundle("true")
    (b / "config.json").write_text("[1, 2]")
    one_error_line(rtenv.rt("run", "--bundle", b, rtenv.cid()), "config.json")


def test_missing_config_json(rtenv):
    b = rtenv.bundle("true")
    os.unlink(b / "config.json")
    cid = rtenv.cid()
    one_error_line(rtenv.rt("create", "--bundle", b, cid), "config.json")
    assert not (rtenv.root / cid).exists()


def test_missing_bundle_dir(rtenv):
    cid = rtenv.cid()
    one_error_line(rtenv.rt("create", "--bundle", rtenv.path("no-bundle"), cid), "no-bundle")
    assert not (rtenv.root / cid).exists()


def test_executable_not_found(rtenv):
    b = rtenv.bundle("nosuch")
    cid = rtenv.cid()
    line = one_error_line(rtenv.rt("run", "--bundle", b, cid))
    assert 'exec: "nosuch": executable file not found in $PATH' in line
    assert not (rtenv.root / cid).exists()


def test_executable_not_found_create(rtenv):
    """runc checks the executable at create time: create fails, nothing left."""
    b = rtenv.bundle("nosuch")
    cid = rtenv.cid()
    line = one_error_line(rtenv.rt("create", "--bundle", b, cid))
    assert 'exec: "nosuch": executable file not found in $PATH' in line
    assert not (rtenv.root / cid).exists()


def test_executable_absolute_missing(rtenv):
    b = rtenv.bundle("/no/such/binary")
    one_error_line(rtenv.rt("run", "--bundle", b, rtenv.cid()), "/no/such/binary")


def test_executable_not_executable(rtenv):
    b = rtenv.bundle("/etc/passwd")
    one_error_line(rtenv.rt("run", "--bundle", b, rtenv.cid()), "/etc/passwd")


def test_bad_signal_name(rtenv):
    b = rtenv.bundle("sh", "-c", "while :; do sleep 0.1; done")
    cid = rtenv.cid()
    rtenv.rt("run", "--detach", "--bundle", b, cid).ok()
    rtenv.track(rtenv.state(cid)["pid"])
    for bad in ("SIGBOGUS", "BOGUS", "999", "-1"):
        one_error_line(rtenv.rt("kill", cid, bad), bad)
    assert rtenv.status(cid) == "running"
    rtenv.rt("delete", "--force", cid).ok()


def test_duplicate_container_id(rtenv):
    b = rtenv.bundle("true")
    cid = rtenv.cid()
    rtenv.rt("create", "--bundle", b, cid).ok()
    pid = rtenv.state(cid)["pid"]
    rtenv.track(pid)
    one_error_line(rtenv.rt("create", "--bundle", b, cid), cid)
    st = rtenv.state(cid)
    assert st["status"] == "created" and st["pid"] == pid
    rtenv.rt("delete", "--force", cid).ok()


@pytest.mark.parametrize("cmd", [["start"], ["state"], ["kill"], ["delete"], ["ps"],
                                 ["exec", "--", "X", "true"], ["kill", "--all"]])
def test_nonexistent_container(rtenv, cmd):
    cid = "berth-no-such-ctr"
    args = [a if a != "X" else cid for a in cmd]
    if "X" not in cmd:
        args.append(cid)
    if cmd == ["exec", "--", "X", "true"]:
        args = ["exec", cid, "true"]
    rtenv.root.mkdir(exist_ok=True)
    line = one_error_line(rtenv.rt(*args), cid)
    assert "not exist" in line or "not found" in line


def test_delete_force_nonexistent_is_silent(rtenv):
    r = rtenv.rt("delete", "--force", "berth-no-such-ctr")
    assert r.returncode == 0, repr(r)
    assert r.stdout == "" and r.err_lines() == []


@pytest.mark.parametrize("bad_id", ["../escape", "a/b", ".hidden", "", "x" * 2000])
def test_invalid_container_id(rtenv, bad_id):
    b = rtenv.bundle("true")
    r = rtenv.rt("create", "--bundle", b, bad_id)
    one_error_line(r, "id")
    assert not os.path.exists(rtenv.tmp / "escape")
    assert rtenv.leftover_state() == []


def test_unknown_flag(rtenv):
    one_error_line(rtenv.rt("create", "--bogus-flag", "x"), "--bogus-flag")
    one_error_line(rtenv.rt("--bogus-global", "list"), "--bogus-global")


def test_flag_missing_value(rtenv):
    one_error_line(rtenv.rt("create", "x", "--bundle"), "--bundle")


def test_unknown_command(rtenv):
    one_error_line(rtenv.rt("frobnicate"), "frobnicate")


def test_bad_log_format(rtenv):
    one_error_line(rtenv.rt("--log-format", "xml", "list"), "--log-format", "xml")


def test_bad_preserve_fds(rtenv):
    b = rtenv.bundle("true")
    one_error_line(rtenv.rt("create", "--preserve-fds", "-2", "--bundle", b, rtenv.cid()),
                   "--preserve-fds")
    one_error_line(rtenv.rt("create", "--preserve-fds", "two", "--bundle", b, rtenv.cid()),
                   "--preserve-fds")


def test_missing_id(rtenv):
    one_error_line(rtenv.rt("create"), "usage")
    one_error_line(rtenv.rt("start"), "usage")


def test_console_socket_missing(rtenv):
    b = rtenv.bundle("true")
    with rtenv.config(b) as c:
        c["process"]["terminal"] = True
    cid = rtenv.cid()
    sock = rtenv.path("no.sock")
    one_error_line(rtenv.rt("create", "--console-socket", sock, "--bundle", b, cid), str(sock))
    assert not (rtenv.root / cid).exists()


def test_exec_into_stopped_container(rtenv):
    b = rtenv.bundle("true")
    cid = rtenv.cid()
    rtenv.rt("create", "--bundle", b, cid).ok()
    rtenv.rt("start", cid).ok()
    rtenv.wait_status(cid, "stopped")
    one_error_line(rtenv.rt("exec", cid, "true"), cid, "stopped")
    rtenv.rt("delete", cid).ok()


def test_start_stopped_container(rtenv):
    b = rtenv.bundle("true")
    cid = rtenv.cid()
    rtenv.rt("create", "--bundle", b, cid).ok()
    rtenv.rt("start", cid).ok()
    rtenv.wait_status(cid, "stopped")
    one_error_line(rtenv.rt("start", cid), cid)
    rtenv.rt("delete", cid).ok()


def test_delete_running_without_force(rtenv):
    b = rtenv.bundle("sh", "-c", "while :; do sleep 0.1; done")
    cid = rtenv.cid()
    rtenv.rt("run", "--detach", "--bundle", b, cid).ok()
    rtenv.track(rtenv.state(cid)["pid"])
    one_error_line(rtenv.rt("delete", cid), cid, "running")
    assert rtenv.status(cid) == "running"
    rtenv.rt("delete", "--force", cid).ok()


def test_log_json(rtenv):
    log = rtenv.path("rt.log")
    r = rtenv.rt("--log", log, "--log-format", "json", "start", "berth-no-such-ctr")
    assert r.returncode != 0
    lines = [json.loads(ln) for ln in log.read_text().splitlines()]
    errors = [ln for ln in lines if ln.get("level") == "error"]
    assert len(errors) == 1, lines
    assert "berth-no-such-ctr" in errors[0]["msg"]
    assert "time" in errors[0]


def test_log_text(rtenv):
    log = rtenv.path("rt.log")
    r = rtenv.rt("--log", log, "start", "berth-no-such-ctr")
    assert r.returncode != 0
    text = log.read_text()
    assert "level=error" in text and "berth-no-such-ctr" in text


def test_log_json_for_config_error(rtenv):
    log = rtenv.path("rt.log")
    b = rtenv.bundle("true")
    with rtenv.config(b) as c:
        c["process"]["args"] = []
    r = rtenv.rt("--log", log, "--log-format", "json", "create", "--bundle", b, rtenv.cid())
    assert r.returncode != 0
    lines = [json.loads(ln) for ln in log.read_text().splitlines()]
    assert any(ln["level"] == "error" and "process.args" in ln["msg"] for ln in lines), lines


def test_concurrent_create_same_id(rtenv):
    """Four creates of one id at once: exactly one wins, the others fail naming
    the id, and nothing of the losers is left behind."""
    import subprocess
    b = rtenv.bundle("true")
    cid = rtenv.cid()
    env = dict(os.environ, BERTH_RT_TEST_MARK=rtenv.mark)
    procs = []
    for i in range(4):
        err = open(rtenv.path(f"cc{i}.err"), "w")
        procs.append((subprocess.Popen(rtenv.rt_cmd("create", "--bundle", b, cid),
                                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                       stderr=err, env=env), err))
    codes = []
    for p, err in procs:
        codes.append(p.wait(60))
        err.close()
    assert codes.count(0) == 1, codes
    for i, c in enumerate(codes):
        if c:
            assert cid in rtenv.path(f"cc{i}.err").read_text()
    st = rtenv.state(cid)
    assert st["status"] == "created"
    rtenv.track(st["pid"])
    rtenv.rt("delete", "--force", cid).ok()


def test_root_is_a_file(rtenv):
    f = rtenv.path("rootfile")
    f.write_text("")
    b = rtenv.bundle("true")
    r = rtenv.rt("--root", f, "create", "--bundle", b, "x1", root=False)
    one_error_line(r, str(f))


def test_console_socket_peer_closes(rtenv):
    """The console socket's server closes at once: create fails cleanly or
    succeeds; either way the host is left clean after delete."""
    import socket
    import threading
    b = rtenv.bundle("true")
    with rtenv.config(b) as c:
        c["process"]["terminal"] = True
    sockp = rtenv.path("close.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(str(sockp))
    srv.listen(1)
    srv.settimeout(30)

    def serve():
        try:
            conn, _ = srv.accept()
            conn.close()
        except OSError:
            pass
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    cid = rtenv.cid()
    try:
        r = rtenv.rt("create", "--console-socket", sockp, "--bundle", b, cid)
    finally:
        t.join(10)
        srv.close()
    if r.returncode == 0:
        rtenv.track(rtenv.state(cid)["pid"])
        rtenv.rt("delete", "--force", cid).ok()
    else:
        assert len(r.err_lines()) == 1, repr(r)
        assert not (rtenv.root / cid).exists()
