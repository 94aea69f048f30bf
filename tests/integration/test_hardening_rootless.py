"""berth-runtime run by a real unprivileged account (rootless): uid 0 inside mapped to
the user, bind-mount ownership, the "limits not enforced" warning, newuidmap ranges,
the state directory under $XDG_RUNTIME_DIR."""
import json
import os
import pathlib
import pwd
import shutil
import subprocess
import tempfile

import pytest

from runtime_helpers import MARK_VAR, Env, need_root, runtime_binary

USER = "berthrl"


def _file_lines(p):
    try:
        with open(p) as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


@pytest.fixture(scope="module")
def rl_runtime():
    """berth-runtime where the unprivileged account can run it: the checkout may lie
    under a home the account cannot enter (/root is 0700), so a copy in a
    world-readable temporary directory, removed at the end."""
    d = pathlib.Path(tempfile.mkdtemp(prefix="berth-rl-bin-", dir="/tmp"))
    try:
        os.chmod(d, 0o755)
        exe = d / "berth-runtime"
        shutil.copy2(runtime_binary(), exe)
        os.chmod(exe, 0o755)
        yield exe
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def rluser():
    """The unprivileged account (created with its subuid/subgid ranges if missing;
    what this fixture created is removed at the end, nothing else)."""
    need_root()
    if not shutil.which("useradd"):
        pytest.skip("no useradd")
    created, added = False, {}
    try:
        pw = pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "-m", "-s", "/bin/sh", USER], check=True,
                       capture_output=True)
        created = True
        pw = pwd.getpwnam(USER)
    for f in ("/etc/subuid", "/etc/subgid"):
        if not any(ln.startswith(USER + ":") for ln in _file_lines(f)):
            # a range no other entry uses
            used = [int(ln.split(":")[1]) + int(ln.split(":")[2]) for ln in _file_lines(f)
                    if ln.count(":") == 2]
            start = max([300000] + used)
            line = f"{USER}:{start}:65536"
            with open(f, "a") as fh:
                fh.write(line + "\n")
            added[f] = line
    yield pw
    for f, line in added.items():
        lines = [ln for ln in _file_lines(f) if ln != line]
        with open(f, "w") as fh:
            fh.write("".join(ln + "\n" for ln in lines))
    if created:
        subprocess.run(["userdel", "-r", USER], capture_output=True)


def sub_start(path):
    for ln in _file_lines(path):
        u, start, count = ln.split(":")
        if u == USER:
            return int(start), int(count)
    raise AssertionError(f"no {USER} in {path}")


class RL:
    def __init__(self, env, pw, exe):
        self.env, self.pw, self.exe = env, pw, exe
        self.root = env.tmp / "rlstate"
        self.root.mkdir()
        os.chown(self.root, pw.pw_uid, pw.pw_gid)
        os.chown(env.tmp, pw.pw_uid, pw.pw_gid)

    def cmd(self, *args, root=True, extra_env=()):
        e = [f"{MARK_VAR}={self.env.mark}", "ASAN_OPTIONS=detect_leaks=1",
             f"HOME={self.pw.pw_dir}", *extra_env]
        rt = [str(self.exe)] + (["--root", str(self.root)] if root else [])
        return ["runuser", "-u", USER, "--", "env", "-u", "XDG_RUNTIME_DIR", *e, *rt,
                *map(str, args)]

    def rt(self, *args, cwd=None, root=True, extra_env=(), timeout=60):
        """Output through files: a detached container keeps its stdio open."""
        self.env._n += 1
        out_p, err_p = (self.env.tmp / f"rl{self.env._n}.{x}" for x in ("out", "err"))
        with open(out_p, "w") as out, open(err_p, "w") as err:
            r = subprocess.run(self.cmd(*args, root=root, extra_env=extra_env), cwd=cwd,
                               stdout=out, stderr=err, timeout=timeout,
                               stdin=subprocess.DEVNULL)
        r.stdout, r.stderr = out_p.read_text(), err_p.read_text()
        return r

    def bundle(self, *args):
        b = self.env.bundle(*args)
        os.chown(b, self.pw.pw_uid, self.pw.pw_gid)
        os.unlink(b / "config.json")
        r = self.rt("spec", "--rootless", cwd=b)
        assert r.returncode == 0, r.stderr
        with self.env.config(b) as c:
            c["process"]["terminal"] = False
            c["process"]["args"] = list(args)
            c["process"]["env"].append(f"{MARK_VAR}={self.env.mark}")
        return b


@pytest.fixture
def rl(rluser, rl_runtime):
    env = Env()
    r = RL(env, rluser, rl_runtime)
    yield r
    # the user's containers are deleted by the user, then the generic checks run
    if r.root.exists():
        for cid in os.listdir(r.root):
            r.rt("delete", "--force", cid)
    problems = env.teardown()
    if problems:
        pytest.fail("host not clean after test:\n" + "\n".join(problems))


def test_rootless_spec_has_user_namespace(rl):
    b = rl.bundle("true")
    c = Env.load(b)
    assert {"type": "user"} in c["linux"]["namespaces"]
    assert c["linux"]["uidMappings"] == [{"containerID": 0, "hostID": rl.pw.pw_uid,
                                          "size": 1}]
    assert c["linux"]["gidMappings"][0]["hostID"] == rl.pw.pw_gid
    assert "network" not in [n["type"] for n in c["linux"]["namespaces"]]


def test_rootless_uid0_inside_owner_outside(rl):
    host = rl.env.hostdir("host", 0o755)
    os.chown(host, rl.pw.pw_uid, rl.pw.pw_gid)
    b = rl.bundle("sh", "-c", "id -u; cat /proc/self/uid_map; touch /host/made-inside")
    with rl.env.config(b) as c:
        c["mounts"].append({"destination": "/host", "type": "bind", "source": str(host),
                            "options": ["rbind", "rw"]})
    (b / "rootfs" / "host").mkdir()
    r = rl.rt("run", "--bundle", b, rl.env.cid())
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "0"
    assert lines[1].split() == ["0", str(rl.pw.pw_uid), "1"]
    st = os.stat(host / "made-inside")
    assert (st.st_uid, st.st_gid) == (rl.pw.pw_uid, rl.pw.pw_gid)


def test_rootless_cannot_touch_root_files(rl):
    """uid 0 inside is the user outside: a root-owned host file stays unwritable."""
    host = rl.env.hostdir("host", 0o755)  # owned by the real root
    (host / "rootfile").write_text("root\n")
    os.chmod(host / "rootfile", 0o644)
    b = rl.bundle("sh", "-c", "echo x >> /host/rootfile; echo w=$?")
    with rl.env.config(b) as c:
        c["mounts"].append({"destination": "/host", "type": "bind", "source": str(host),
                            "options": ["rbind", "rw"]})
    (b / "rootfs" / "host").mkdir()
    r = rl.rt("run", "--bundle", b, rl.env.cid())
    assert r.returncode == 0, r.stderr
    assert "w=1" in r.stdout
    assert (host / "rootfile").read_text() == "root\n"


def test_rootless_limits_not_enforced_warning(rl):
    b = rl.bundle("true")
    with rl.env.config(b) as c:
        c["linux"]["resources"] = {"memory": {"limit": 64 << 20}, "pids": {"limit": 50}}
    r = rl.rt("run", "--bundle", b, rl.env.cid())
    assert r.returncode == 0, r.stderr
    warn = [ln for ln in r.stderr.splitlines() if "warning" in ln.lower()]
    assert warn, r.stderr
    assert "memory" in warn[0] and "not enforced" in warn[0].lower(), warn
    assert "pids" in warn[0], warn


def test_rootless_no_warning_without_limits(rl):
    b = rl.bundle("true")
    with rl.env.config(b) as c:
        c["linux"].pop("resources", None)
    r = rl.rt("run", "--bundle", b, rl.env.cid())
    assert r.returncode == 0 and "not enforced" not in r.stderr.lower(), r.stderr


def test_rootless_newuidmap_ranges(rl):
    if not (shutil.which("newuidmap") and shutil.which("newgidmap")):
        pytest.skip("no newuidmap/newgidmap (apt-get install uidmap)")
    us, _ = sub_start("/etc/subuid")
    gs, _ = sub_start("/etc/subgid")
    b = rl.bundle("sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; "
                  "touch /tmp/f; chown 1000:1000 /tmp/f; "
                  "stat -c '%u:%g' /tmp/f")
    with rl.env.config(b) as c:
        c["linux"]["uidMappings"] = [
            {"containerID": 0, "hostID": rl.pw.pw_uid, "size": 1},
            {"containerID": 1, "hostID": us, "size": 1000}]
        c["linux"]["gidMappings"] = [
            {"containerID": 0, "hostID": rl.pw.pw_gid, "size": 1},
            {"containerID": 1, "hostID": gs, "size": 1000}]
        c["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                            "options": ["nosuid", "nodev"]})
        for kind in ("bounding", "effective", "permitted"):
            c["process"]["capabilities"][kind].append("CAP_CHOWN")
    r = rl.rt("run", "--bundle", b, rl.env.cid())
    assert r.returncode == 0, r.stderr
    rows = [ln.split() for ln in r.stdout.splitlines() if len(ln.split()) == 3]
    assert ["0", str(rl.pw.pw_uid), "1"] in rows, r.stdout
    assert ["1", str(us), "1000"] in rows, r.stdout
    assert ["0", str(rl.pw.pw_gid), "1"] in rows, r.stdout
    assert ["1", str(gs), "1000"] in rows, r.stdout
    assert r.stdout.splitlines()[-1] == "1000:1000", r.stdout


def test_rootless_mapping_outside_subuid_refused(rl):
    b = rl.bundle("true")
    with rl.env.config(b) as c:
        c["linux"]["uidMappings"] = [
            {"containerID": 0, "hostID": rl.pw.pw_uid, "size": 1},
            {"containerID": 1, "hostID": 1, "size": 10}]  # host uids 1..10: not ours
    r = rl.rt("run", "--bundle", b, rl.env.cid())
    assert r.returncode != 0, r.stdout
    assert "uid" in r.stderr.lower() or "map" in r.stderr.lower(), r.stderr


def test_rootless_state_in_xdg_runtime_dir(rl):
    xdg = rl.env.tmp / "xdg"
    xdg.mkdir(mode=0o700)
    os.chown(xdg, rl.pw.pw_uid, rl.pw.pw_gid)
    b = rl.bundle("sleep", "100")
    cid = rl.env.cid()
    env = [f"XDG_RUNTIME_DIR={xdg}"]
    r = rl.rt("run", "--detach", "--bundle", b, cid, root=False, extra_env=env)
    try:
        assert r.returncode == 0, r.stderr
        assert (xdg / "berth-runtime" / cid).is_dir()
        st = rl.rt("state", cid, root=False, extra_env=env)
        assert st.returncode == 0 and json.loads(st.stdout)["status"] == "running"
        pid = json.loads(st.stdout)["pid"]
        assert os.stat(f"/proc/{pid}").st_uid == rl.pw.pw_uid
    finally:
        d = rl.rt("delete", "--force", cid, root=False, extra_env=env)
    assert d.returncode == 0, d.stderr
    assert not (xdg / "berth-runtime" / cid).exists()


def test_rootless_exec_kill_ps(rl):
    b = rl.bundle("sleep", "100")
    cid = rl.env.cid()
    r = rl.rt("run", "--detach", "--bundle", b, cid)
    try:
        assert r.returncode == 0, r.stderr
        r = rl.rt("exec", cid, "sh", "-c", "id -u; cat /proc/self/uid_map")
        assert r.returncode == 0, r.stderr
        assert r.stdout.split()[:2] == ["0", "0"] and str(rl.pw.pw_uid) in r.stdout
        r = rl.rt("ps", "--format", "json", cid)
        assert r.returncode == 0, r.stderr
        pids = json.loads(r.stdout)
        assert len(pids) == 1 and os.stat(f"/proc/{pids[0]}").st_uid == rl.pw.pw_uid
        r = rl.rt("kill", cid, "KILL")
        assert r.returncode == 0, r.stderr
    finally:
        d = rl.rt("delete", "--force", cid)
    assert d.returncode == 0, d.stderr


def test_rootless_pause_without_cgroup_fails_clearly(rl):
    """No delegated cgroup: pause cannot work; it must say so (not hang, not lie)."""
    b = rl.bundle("sleep", "100")
    cid = rl.env.cid()
    r = rl.rt("run", "--detach", "--bundle", b, cid)
    try:
        assert r.returncode == 0, r.stderr
        p = rl.rt("pause", cid, timeout=30)
        if p.returncode == 0:
            st = json.loads(rl.rt("state", cid).stdout)
            assert st["status"] == "paused"
            assert rl.rt("resume", cid).returncode == 0
        else:
            assert "cgroup" in p.stderr.lower(), p.stderr
            st = json.loads(rl.rt("state", cid).stdout)
            assert st["status"] == "running"
    finally:
        d = rl.rt("delete", "--force", cid)
    assert d.returncode == 0, d.stderr

