"""berth-runtime: OCI hooks (all six kinds, order, state on stdin, env, path
resolution for startContainer, failures and timeouts)."""
import json
import os
import time

import pytest

from runtime_helpers import MARK_VAR, one_error_line, rtenv  # noqa: F401

KINDS = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart",
         "poststop"]


def wait_lines(p, n, timeout=10):
    deadline = time.monotonic() + timeout
    lines = []
    while time.monotonic() < deadline:
        lines = p.read_text().split() if p.exists() else []
        if len(lines) >= n:
            return lines
        time.sleep(0.05)
    return lines


def hooked_bundle(env, *args):
    """A bundle with one hook of each kind; each logs its name to <log>/order,
    its stdin (the state) to <log>/<kind>.json and $HOOKVAR to <log>/<kind>.env.
    startContainer runs in the container after pivot_root, so its script lives
    in the rootfs and writes to the log dir bind-mounted at /hostlog."""
    log = env.hostdir("hooklog")
    b = env.bundle(*args)
    rf = b / "rootfs"
    for kind in KINDS:
        d = "/hostlog" if kind == "startContainer" else str(log)
        script = (f"#!/bin/sh\ncat > {d}/{kind}.json\necho \"$HOOKVAR\" > {d}/{kind}.env\n"
                  f"echo {kind} >> {d}/order\n")
        if kind == "startContainer":
            path = rf / "berth-hook-start.sh"
        else:
            path = env.path(f"hook-{kind}.sh")
        path.write_text(script)
        os.chmod(path, 0o755)
    with env.config(b) as c:
        c["hooks"] = {}
        for kind in KINDS:
            path = ("/berth-hook-start.sh" if kind == "startContainer"
                    else str(env.path(f"hook-{kind}.sh")))
            c["hooks"][kind] = [{"path": path, "args": [os.path.basename(path)],
                                 "env": [f"HOOKVAR=var-{kind}", f"{MARK_VAR}={env.mark}"]}]
        c["mounts"].append({"destination": "/hostlog", "type": "bind", "source": str(log),
                            "options": ["rbind", "rw"]})
    return b, log


def test_hooks_order_state_env(rtenv):
    b, log = hooked_bundle(rtenv, "sh", "-c", "echo user >> /hostlog/order")
    cid = rtenv.cid()
    order = log / "order"
    rtenv.rt("create", "--bundle", b, cid).ok()
    pid = rtenv.state(cid)["pid"]
    rtenv.track(pid)
    assert order.read_text().split() == ["prestart", "createRuntime", "createContainer"]
    rtenv.rt("start", cid).ok()
    got = wait_lines(order, 6)
    assert got[:3] == ["prestart", "createRuntime", "createContainer"]
    assert sorted(got[3:]) == ["poststart", "startContainer", "user"], got
    assert got.index("startContainer") < got.index("user"), got
    rtenv.wait_status(cid, "stopped")
    rtenv.rt("delete", cid).ok()
    got = order.read_text().split()
    assert got[-1] == "poststop" and len(got) == 7, got

    for kind in KINDS:
        assert (log / f"{kind}.env").read_text().strip() == f"var-{kind}", kind
        st = json.loads((log / f"{kind}.json").read_text())
        assert st["id"] == cid, kind
        assert os.path.realpath(st["bundle"]) == os.path.realpath(b), kind
        assert "status" in st and "ociVersion" in st, kind
        if kind != "poststop":
            assert st["pid"] == pid, (kind, st)
    # runtime-spec "Lifecycle": the create-time hooks follow step 2
    # ("creating"), so they see "created" (as crun passes; runc passes
    # "creating"); startContainer "created", poststart "running" (after the
    # user process started), poststop "stopped".
    want = {"prestart": "created", "createRuntime": "created", "createContainer": "created",
            "startContainer": "created", "poststart": "running", "poststop": "stopped"}
    got_status = {k: json.loads((log / f"{k}.json").read_text())["status"] for k in KINDS}
    assert got_status == want


def test_hooks_with_run(rtenv):
    b, log = hooked_bundle(rtenv, "sh", "-c", "echo user >> /hostlog/order")
    rtenv.rt("run", "--bundle", b, rtenv.cid()).ok()
    got = (log / "order").read_text().split()
    assert got[:3] == ["prestart", "createRuntime", "createContainer"]
    assert got[-1] == "poststop"
    assert sorted(got[3:6]) == ["poststart", "startContainer", "user"]
    assert len(got) == 7
    got_status = {k: json.loads((log / f"{k}.json").read_text())["status"] for k in KINDS}
    assert got_status == {"prestart": "created", "createRuntime": "created",
                          "createContainer": "created", "startContainer": "created",
                          "poststart": "running", "poststop": "stopped"}
    assert json.loads((log / "poststop.json").read_text())["pid"] == 0


def test_create_container_hook_in_container_mount_ns(rtenv):
    """createContainer runs in the container's namespaces: its mount ns and
    hostname are the container's."""
    out = rtenv.path("cc.out")
    b = rtenv.bundle("true")
    with rtenv.config(b) as c:
        c["hostname"] = "hooked-host"
        c["hooks"] = {"createContainer": [{
            "path": "/bin/sh",
            "args": ["sh", "-c", f"(hostname; readlink /proc/self/ns/mnt) > {out}"],
            "env": [f"{MARK_VAR}={rtenv.mark}", "PATH=/bin:/usr/bin"]}]}
    rtenv.rt("run", "--bundle", b, rtenv.cid()).ok()
    host_name, mnt = out.read_text().split()
    assert host_name == "hooked-host"
    assert mnt != os.readlink("/proc/self/ns/mnt")


def test_prestart_hook_in_runtime_ns(rtenv):
    out = rtenv.path("pre.out")
    b = rtenv.bundle("true")
    with rtenv.config(b) as c:
        c["hooks"] = {"prestart": [{
            "path": "/bin/sh", "args": ["sh", "-c", f"readlink /proc/self/ns/mnt > {out}"],
            "env": [f"{MARK_VAR}={rtenv.mark}"]}]}
    rtenv.rt("run", "--bundle", b, rtenv.cid()).ok()
    assert out.read_text().strip() == os.readlink("/proc/self/ns/mnt")


def failing(rtenv, kind, extra=None):
    b = rtenv.bundle("sh", "-c", "echo SHOULD-NOT-RUN")
    hook = {"path": "/bin/sh", "args": ["sh", "-c", "exit 3"],
            "env": [f"{MARK_VAR}={rtenv.mark}"]}
    hook.update(extra or {})
    with rtenv.config(b) as c:
        c["hooks"] = {kind: [{"path": "/bin/true"}, hook]}
    return b


def test_failing_create_runtime_hook(rtenv):
    b = failing(rtenv, "createRuntime")
    cid = rtenv.cid()
    r = rtenv.rt("create", "--bundle", b, cid)
    one_error_line(r, "hooks.createRuntime[1]")
    assert not (rtenv.root / cid).exists()
    assert rtenv.rt("state", cid).returncode != 0


def test_failing_prestart_hook_run(rtenv):
    b = failing(rtenv, "prestart")
    r = rtenv.rt("run", "--bundle", b, rtenv.cid())
    assert "SHOULD-NOT-RUN" not in r.stdout
    one_error_line(r, "hooks.prestart[1]")


def test_failing_create_container_hook(rtenv):
    b = failing(rtenv, "createContainer")
    cid = rtenv.cid()
    r = rtenv.rt("create", "--bundle", b, cid)
    one_error_line(r, "hooks.createContainer[1]")
    assert not (rtenv.root / cid).exists()


def test_failing_start_container_hook(rtenv):
    b = failing(rtenv, "startContainer")
    cid = rtenv.cid()
    rtenv.rt("create", "--bundle", b, cid).ok()
    rtenv.track(rtenv.state(cid)["pid"])
    r = rtenv.rt("start", cid)
    assert "SHOULD-NOT-RUN" not in r.stdout
    rtenv.wait_status(cid, "stopped")
    rtenv.rt("delete", cid).ok()


def test_missing_hook_binary(rtenv):
    b = rtenv.bundle("true")
    with rtenv.config(b) as c:
        c["hooks"] = {"createRuntime": [{"path": "/nonexistent/hook"}]}
    cid = rtenv.cid()
    r = rtenv.rt("create", "--bundle", b, cid)
    one_error_line(r, "hooks.createRuntime[0]", "/nonexistent/hook")
    assert not (rtenv.root / cid).exists()


def test_hook_timeout(rtenv):
    b = failing(rtenv, "createRuntime", {"args": ["sh", "-c", "exec sleep 30"], "timeout": 1})
    cid = rtenv.cid()
    t0 = time.monotonic()
    r = rtenv.rt("create", "--bundle", b, cid)
    took = time.monotonic() - t0
    line = one_error_line(r, "hooks.createRuntime[1]")
    assert "time" in line.lower()
    assert took < 10, took
    assert not (rtenv.root / cid).exists()


def test_hook_state_fields(rtenv):
    """Every hook's stdin is the runtime-spec state: ociVersion, id, status,
    pid (the container's init as the host sees it; 0 once stopped), bundle,
    annotations from config.json."""
    b, log = hooked_bundle(rtenv, "true")
    with rtenv.config(b) as c:
        c["annotations"] = {"org.example.a": "one", "org.example.b": "two=2"}
    cid = rtenv.cid()
    rtenv.rt("create", "--bundle", b, cid).ok()
    pid = rtenv.state(cid)["pid"]
    rtenv.track(pid)
    rtenv.rt("start", cid).ok()
    rtenv.wait_status(cid, "stopped")
    rtenv.rt("delete", cid).ok()
    for kind in KINDS:
        st = json.loads((log / f"{kind}.json").read_text())
        assert set(st) >= {"ociVersion", "id", "status", "pid", "bundle", "annotations"}, kind
        assert st["annotations"] == {"org.example.a": "one", "org.example.b": "two=2"}, kind
        assert st["pid"] == (0 if kind == "poststop" else pid), (kind, st)
        assert st["bundle"] == os.path.realpath(b), kind


def test_poststart_runs_after_user_process_started(rtenv):
    """poststart sees the container's pid already running the user program
    (its cmdline is the config's args, not the runtime's init)."""
    out = rtenv.path("poststart.cmdline")
    script = rtenv.path("poststart.sh")
    script.write_text("#!/bin/sh\n"
                      "pid=$(sed -n 's/.*\"pid\": *\\([0-9]*\\).*/\\1/p')\n"
                      f"tr '\\0' ' ' < /proc/$pid/cmdline > {out}\n")
    os.chmod(script, 0o755)
    b = rtenv.bundle("sleep", "3")
    with rtenv.config(b) as c:
        c["hooks"] = {"poststart": [{"path": str(script),
                                     "env": [f"{MARK_VAR}={rtenv.mark}", "PATH=/bin:/usr/bin"]}]}
    cid = rtenv.cid()
    rtenv.rt("create", "--bundle", b, cid).ok()
    rtenv.track(rtenv.state(cid)["pid"])
    rtenv.rt("start", cid).ok()
    assert out.read_text().split() == ["sleep", "3"]
    rtenv.rt("delete", "--force", cid).ok()


def recorder(rtenv, name):
    """A hook that appends its name to <tmp>/ran."""
    return {"path": "/bin/sh", "args": ["sh", "-c", f"echo {name} >> {rtenv.path('ran')}"],
            "env": [f"{MARK_VAR}={rtenv.mark}"]}


def ran(rtenv):
    p = rtenv.path("ran")
    return p.read_text().split() if p.exists() else []


def warning_lines(r):
    return [ln for ln in r.err_lines() if "warning" in ln.lower()]


def test_failing_poststart_hook_is_a_warning(rtenv):
    """runtime-spec: a failing poststart hook logs a warning; the remaining
    hooks and the lifecycle go on as if it had succeeded."""
    b = rtenv.bundle("sh", "-c", "echo started > /dev/null; sleep 2")
    with rtenv.config(b) as c:
        c["hooks"] = {"poststart": [{"path": "/bin/false"}, recorder(rtenv, "second")]}
    cid = rtenv.cid()
    logf = rtenv.path("rt.log")
    rtenv.rt("create", "--bundle", b, cid).ok()
    rtenv.track(rtenv.state(cid)["pid"])
    r = rtenv.rt("--log", logf, "start", cid)
    assert r.returncode == 0, r
    w = warning_lines(r)
    assert len(w) == 1 and "hooks.poststart[0]" in w[0] and "/bin/false" in w[0], r
    assert "hooks.poststart[0]" in logf.read_text()
    assert "warning" in logf.read_text()
    assert ran(rtenv) == ["second"]
    assert rtenv.status(cid) == "running"
    rtenv.wait_status(cid, "stopped")
    rtenv.rt("delete", cid).ok()


def test_failing_poststart_hook_with_run(rtenv):
    b = rtenv.bundle("sh", "-c", "exit 7")
    with rtenv.config(b) as c:
        c["hooks"] = {"poststart": [{"path": "/bin/false"}, recorder(rtenv, "second")]}
    r = rtenv.rt("run", "--bundle", b, rtenv.cid())
    assert r.returncode == 7, r
    assert any("hooks.poststart[0]" in ln for ln in warning_lines(r)), r
    assert ran(rtenv) == ["second"]


def test_failing_poststop_hooks_all_run(rtenv):
    """runtime-spec: a failing poststop hook logs a warning and the
    remaining hooks still run; delete succeeds and leaves nothing."""
    b = rtenv.bundle("true")
    with rtenv.config(b) as c:
        c["hooks"] = {"poststop": [{"path": "/bin/false"}, recorder(rtenv, "second"),
                                   {"path": "/nonexistent/hook"}, recorder(rtenv, "fourth")]}
    cid = rtenv.cid()
    rtenv.rt("create", "--bundle", b, cid).ok()
    rtenv.rt("start", cid).ok()
    rtenv.wait_status(cid, "stopped")
    logf = rtenv.path("rt.log")
    r = rtenv.rt("--log", logf, "delete", cid)
    assert r.returncode == 0, r
    w = warning_lines(r)
    assert len(w) == 2, r
    assert "hooks.poststop[0]" in w[0] and "hooks.poststop[2]" in w[1], r
    assert ran(rtenv) == ["second", "fourth"]
    assert logf.read_text().count("warning") == 2
    assert not (rtenv.root / cid).exists()


def test_failing_poststop_hooks_all_run_with_run(rtenv):
    b = rtenv.bundle("true")
    with rtenv.config(b) as c:
        c["hooks"] = {"poststop": [{"path": "/bin/false"}, recorder(rtenv, "second")]}
    r = rtenv.rt("run", "--bundle", b, rtenv.cid())
    assert r.returncode == 0, r
    assert any("hooks.poststop[0]" in ln for ln in warning_lines(r)), r
    assert ran(rtenv) == ["second"]


def test_failing_start_container_hook_fails_start(rtenv):
    """runtime-spec: a failing startContainer hook is an error, the user
    program does not run, the container is stopped and delete cleans up."""
    b = failing(rtenv, "startContainer")
    with rtenv.config(b) as c:
        c["process"]["args"] = ["sh", "-c", "echo RAN > /hostlog/user"]
        c["mounts"].append({"destination": "/hostlog", "type": "bind",
                            "source": str(rtenv.hostdir("hl")), "options": ["rbind", "rw"]})
    cid = rtenv.cid()
    rtenv.rt("create", "--bundle", b, cid).ok()
    rtenv.track(rtenv.state(cid)["pid"])
    r = rtenv.rt("start", cid)
    one_error_line(r, "hooks.startContainer[1]")
    rtenv.wait_status(cid, "stopped")
    assert not (rtenv.hostdir("hl") / "user").exists()
    rtenv.rt("delete", cid).ok()


def test_hook_timeout_with_large_state(rtenv):
    """The timeout covers writing the state: a hook that never reads a
    state larger than a pipe holds (many annotations) is still killed."""
    b = failing(rtenv, "createRuntime", {"args": ["sh", "-c", "exec sleep 30"], "timeout": 1})
    with rtenv.config(b) as c:
        c["annotations"] = {f"org.example.k{i}": "v" * 64 for i in range(5000)}
    cid = rtenv.cid()
    r = rtenv.rt("create", "--bundle", b, cid, timeout=20)
    line = one_error_line(r, "hooks.createRuntime[1]")
    assert "timed out" in line
    assert not (rtenv.root / cid).exists()


def test_poststop_failure_does_not_block_delete(rtenv):
    b = rtenv.bundle("true")
    with rtenv.config(b) as c:
        c["hooks"] = {"poststop": [{"path": "/bin/false"}]}
    cid = rtenv.cid()
    rtenv.rt("create", "--bundle", b, cid).ok()
    rtenv.rt("start", cid).ok()
    rtenv.wait_status(cid, "stopped")
    rtenv.rt("delete", cid)
    assert not (rtenv.root / cid).exists()


@pytest.mark.parametrize("kind,cmd", [
    ("prestart", "create"), ("createRuntime", "create"), ("createContainer", "create"),
    ("prestart", "run"), ("createRuntime", "run"), ("createContainer", "run"),
    ("startContainer", "run")])
def test_failing_create_hook_destroys_then_poststop(rtenv, kind, cmd):
    """runtime-spec Lifecycle: a failing prestart/createRuntime/createContainer
    hook is an error; the container is destroyed (no state dir, cgroup or
    mount left: the fixture checks) and the lifecycle goes on at steps
    12-13, so the poststop hooks run."""
    b = failing(rtenv, kind)
    out = rtenv.path("poststop.json")
    with rtenv.config(b) as c:
        c["hooks"]["poststop"] = [{"path": "/bin/sh", "args": ["sh", "-c", f"cat > {out}"],
                                   "env": [f"{MARK_VAR}={rtenv.mark}"]}]
    cid = rtenv.cid()
    r = rtenv.rt(cmd, "--bundle", b, cid)
    assert "SHOULD-NOT-RUN" not in r.stdout
    one_error_line(r, f"hooks.{kind}[1]", "exited with status 3")
    assert not (rtenv.root / cid).exists()
    st = json.loads(out.read_text())
    assert st["id"] == cid and st["status"] == "stopped"


def test_hook_closing_stdin_with_large_state(rtenv):
    """A hook may close its stdin without reading a state larger than a pipe
    holds: not an error, and the hooks after it still get the whole state."""
    out = rtenv.path("second.json")
    b = rtenv.bundle("true")
    with rtenv.config(b) as c:
        c["annotations"] = {f"org.example.k{i}": "v" * 64 for i in range(5000)}
        c["hooks"] = {"createRuntime": [
            {"path": "/bin/sh", "args": ["sh", "-c", "exec 0<&-; sleep 0.2"], "timeout": 20},
            {"path": "/bin/sh", "args": ["sh", "-c", f"cat > {out}"]}]}
    rtenv.rt("run", "--bundle", b, rtenv.cid(), timeout=30).ok()
    assert len(json.loads(out.read_text())["annotations"]) == 5000


def test_state_seen_by_hooks_creating_then_running(rtenv):
    """The state is recorded while the init still sets up (issue #16: off the
    path of the start), so `state` must say "creating" until create (or run)
    is done: a prestart hook asking sees "creating", `state` after create
    "created", a poststart hook of `run` "running"."""
    def hook(kind):
        out = rtenv.path(f"{kind}.state")
        cmd = " ".join(rtenv.rt_cmd("state", "$ID")) + f" > {out}"
        return out, {"path": "/bin/sh", "args": ["sh", "-c", cmd],
                     "env": [f"{MARK_VAR}={rtenv.mark}", "PATH=/bin:/usr/bin", f"ID={cid}"]}
    for mode in ("create", "run"):
        cid = rtenv.cid()
        b = rtenv.bundle("sleep", "1")
        pre_out, pre = hook("prestart")
        post_out, post = hook("poststart")
        with rtenv.config(b) as c:
            c["hooks"] = {"prestart": [pre], "poststart": [post]}
        if mode == "create":
            rtenv.rt("create", "--bundle", b, cid).ok()
            rtenv.track(rtenv.state(cid)["pid"])
            assert json.loads(pre_out.read_text())["status"] == "creating"
            assert rtenv.state(cid)["status"] == "created"
            rtenv.rt("start", cid).ok()
            rtenv.wait_status(cid, "stopped")
            rtenv.rt("delete", cid).ok()
        else:
            rtenv.rt("run", "--bundle", b, cid).ok()
            assert json.loads(pre_out.read_text())["status"] == "creating"
        assert json.loads(post_out.read_text())["status"] == "running", mode
