"""berth-runtime: OCI hooks (all six kinds, order, state on stdin, env, path
resolution for startContainer, failures and timeouts)."""
import json
import os
import time

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
    assert json.loads((log / "poststart.json").read_text())["status"] == "running"
    assert json.loads((log / "poststop.json").read_text())["status"] == "stopped"
    assert json.loads((log / "prestart.json").read_text())["status"] == "creating"


def test_hooks_with_run(rtenv):
    b, log = hooked_bundle(rtenv, "sh", "-c", "echo user >> /hostlog/order")
    rtenv.rt("run", "--bundle", b, rtenv.cid()).ok()
    got = (log / "order").read_text().split()
    assert got[:3] == ["prestart", "createRuntime", "createContainer"]
    assert got[-1] == "poststop"
    assert sorted(got[3:6]) == ["poststart", "startContainer", "user"]
    assert len(got) == 7


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
