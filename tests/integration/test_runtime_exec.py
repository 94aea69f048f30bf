"""berth-runtime exec: a new process in a running (or created) container."""
import json
import os
import time

import pytest

from runtime_helpers import MARK_VAR, rtenv  # noqa: F401

LOOP = "while :; do sleep 0.1; done"


@pytest.fixture
def running(rtenv):
    """A running container (sh loop) with a host dir bind-mounted at /host."""
    host = rtenv.hostdir()
    b = rtenv.bundle("sh", "-c", LOOP)
    with rtenv.config(b) as c:
        c["mounts"].append({"destination": "/host", "type": "bind", "source": str(host),
                            "options": ["rbind", "rw"]})
        c["process"]["env"].append("FROMCONFIG=yes")
    cid = rtenv.cid()
    rtenv.rt("run", "--detach", "--bundle", b, cid).ok()
    pid = rtenv.state(cid)["pid"]
    rtenv.track(pid)
    yield cid, pid, host
    rtenv.rt("delete", "--force", cid)


def test_exec_output_and_status(rtenv, running):
    cid, _, _ = running
    r = rtenv.rt("exec", cid, "sh", "-c", "echo out; echo err >&2; exit 5")
    assert r.returncode == 5, repr(r)
    assert r.stdout == "out\n"
    assert "err" in r.stderr


def test_exec_killed_by_signal(rtenv, running):
    cid, _, _ = running
    r = rtenv.rt("exec", cid, "sh", "-c", "kill -9 $$")
    assert r.returncode == 137, repr(r)


def test_exec_env(rtenv, running):
    cid, _, _ = running
    r = rtenv.rt("exec", "--env", "FOO=bar", "-e", "FROMCONFIG=over", cid, "sh", "-c",
                 'echo "$FOO $FROMCONFIG $PATH"').ok()
    foo, fc, path = r.stdout.split()
    assert (foo, fc) == ("bar", "over")
    assert path.startswith("/usr/local/sbin")


def test_exec_inherits_config_env(rtenv, running):
    cid, _, _ = running
    r = rtenv.rt("exec", cid, "sh", "-c", 'echo "$FROMCONFIG"').ok()
    assert r.stdout.strip() == "yes"


def test_exec_cwd(rtenv, running):
    cid, _, _ = running
    assert rtenv.rt("exec", "--cwd", "/dev/shm", cid, "pwd").ok().stdout.strip() == "/dev/shm"


def test_exec_user(rtenv, running):
    cid, _, _ = running
    r = rtenv.rt("exec", "--user", "1000:1001", cid, "sh", "-c", "id -u; id -g").ok()
    assert r.stdout.split() == ["1000", "1001"]
    r = rtenv.rt("exec", "--user", "1234", cid, "id", "-u").ok()
    assert r.stdout.strip() == "1234"


def test_exec_process_file(rtenv, running):
    cid, _, host = running
    proc = {"terminal": False, "user": {"uid": 7, "gid": 8}, "args": ["sh", "-c",
            'echo "$A $(pwd) $(id -u):$(id -g)"; exit 9'],
            "env": ["A=from-process-json", "PATH=/bin", f"{MARK_VAR}={rtenv.mark}"],
            "cwd": "/host"}
    pf = rtenv.path("process.json")
    pf.write_text(json.dumps(proc))
    r = rtenv.rt("exec", "--process", pf, cid)
    assert r.returncode == 9, repr(r)
    assert r.stdout.split() == ["from-process-json", "/host", "7:8"]


def test_exec_process_file_bad(rtenv, running):
    cid, _, _ = running
    pf = rtenv.path("process.json")
    pf.write_text('{"args": [], "cwd": "/"}')
    r = rtenv.rt("exec", "--process", pf, cid)
    assert r.returncode != 0
    assert "args" in r.stderr


def test_exec_detach_pid_file(rtenv, running):
    cid, _, host = running
    pf = rtenv.path("exec.pid")
    rtenv.rt("exec", "--detach", "--pid-file", pf, cid, "sh", "-c",
             "echo $$ > /host/inner; sleep 0.5; echo done > /host/done").ok()
    pid = int(pf.read_text())
    rtenv.track(pid)
    assert os.path.exists(f"/proc/{pid}")
    deadline = time.monotonic() + 10
    while not (host / "done").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (host / "done").read_text() == "done\n"
    # the pid in the file is the host's view of the exec'd process
    inner = int((host / "inner").read_text())
    assert inner != pid and inner > 1


def test_exec_same_pid_namespace(rtenv, running):
    cid, pid, _ = running
    r = rtenv.rt("exec", cid, "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '; echo; "
                 "ps -o pid,args | head -3; for n in pid mnt net; do readlink /proc/self/ns/$n; "
                 "done").ok()
    lines = r.stdout.splitlines()
    assert lines[0].strip() == f"sh -c {LOOP}"
    ps_pids = [ln.split()[0] for ln in lines[2:4]]
    assert "1" in ps_pids
    assert lines[-3:] == [os.readlink(f"/proc/{pid}/ns/{k}") for k in ("pid", "mnt", "net")]


def test_exec_capabilities_match_container(rtenv, running):
    cid, pid, _ = running
    r = rtenv.rt("exec", cid, "grep", "-E", "^Cap(Bnd|Eff|Prm)", "/proc/self/status").ok()
    with open(f"/proc/{pid}/status") as f:
        want = [ln.strip() for ln in f if ln.startswith(("CapBnd", "CapEff", "CapPrm"))]
    assert sorted(ln.strip() for ln in r.stdout.splitlines()) == sorted(want)


def test_exec_listed_by_ps(rtenv, running):
    cid, pid, _ = running
    pf = rtenv.path("exec.pid")
    rtenv.rt("exec", "--detach", "--pid-file", pf, cid, "sleep", "5").ok()
    epid = int(pf.read_text())
    rtenv.track(epid)
    pids = json.loads(rtenv.rt("ps", "--format", "json", cid).ok().stdout)
    assert pid in pids and epid in pids


def test_exec_many_times_no_race(rtenv, running):
    """20 execs in a row all succeed (RUNTIME-BUGS.md #4: a pid/ready race)."""
    cid, _, _ = running
    fails = []
    for i in range(20):
        r = rtenv.rt("exec", cid, "sh", "-c", f"exit {i % 7}")
        if r.returncode != i % 7:
            fails.append(r)
    assert not fails, f"{len(fails)}/20 execs failed, first: {fails[0]!r}"


def test_exec_stdin(rtenv, running):
    cid, _, _ = running
    r = rtenv.rt("exec", cid, "cat", input="piped\n").ok()
    assert r.stdout == "piped\n"


def test_exec_not_found(rtenv, running):
    cid, _, _ = running
    r = rtenv.rt("exec", cid, "nosuch")
    assert r.returncode != 0
    assert 'exec: "nosuch": executable file not found in $PATH' in r.stderr


def test_exec_into_created_cannot_open_init_exe(rtenv):
    """While a container is created, pid 1 is the runtime's waiting init: the
    container's processes must not get at its /proc/1/exe (CVE-2019-5736)."""
    b = rtenv.bundle("true")
    cid = rtenv.cid()
    rtenv.rt("create", "--bundle", b, cid).ok()
    rtenv.track(rtenv.state(cid)["pid"])
    r = rtenv.rt("exec", cid, "sh", "-c", "cat /proc/1/exe > /dev/null; echo rc=$?; "
                 "ls -l /proc/1/exe 2>&1; echo x >> /proc/1/exe; echo wrc=$?")
    assert r.returncode == 0, repr(r)
    assert "rc=1" in r.stdout, r
    assert "Permission denied" in r.stdout + r.stderr
    assert "wrc=0" not in r.stdout
    rtenv.rt("delete", "--force", cid).ok()


def test_exec_into_stopped_fails(rtenv):
    b = rtenv.bundle("true")
    cid = rtenv.cid()
    rtenv.rt("create", "--bundle", b, cid).ok()
    rtenv.rt("start", cid).ok()
    rtenv.wait_status(cid, "stopped")
    r = rtenv.rt("exec", cid, "true")
    assert r.returncode != 0
    assert "stopped" in r.stderr or "not running" in r.stderr
    rtenv.rt("delete", cid).ok()


def test_exec_inherits_rlimits_nnp_oom(rtenv):
    b = rtenv.bundle("sh", "-c", LOOP)
    with rtenv.config(b) as c:
        c["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 777, "hard": 888}]
        c["process"]["noNewPrivileges"] = True
        c["process"]["oomScoreAdj"] = 321
    cid = rtenv.cid()
    rtenv.rt("run", "--detach", "--bundle", b, cid).ok()
    rtenv.track(rtenv.state(cid)["pid"])
    r = rtenv.rt("exec", cid, "sh", "-c", "ulimit -n; ulimit -Hn; grep NoNewPrivs "
                 "/proc/self/status; cat /proc/self/oom_score_adj; umask").ok()
    assert r.stdout.split() == ["777", "888", "NoNewPrivs:", "1", "321", "0022"]
    rtenv.rt("delete", "--force", cid).ok()


def test_exec_in_user_namespace_container(rtenv):
    import subprocess
    b = rtenv.bundle("sh", "-c", LOOP)
    subprocess.run(["chown", "-hR", "100000:100000", str(b / "rootfs")], check=True)
    with rtenv.config(b) as c:
        c["linux"]["namespaces"].append({"type": "user"})
        c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
        c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
        c["mounts"] = [m for m in c["mounts"] if m["destination"] != "/sys/fs/cgroup"]
    cid = rtenv.cid()
    rtenv.rt("run", "--detach", "--bundle", b, cid).ok()
    pid = rtenv.state(cid)["pid"]
    rtenv.track(pid)
    r = rtenv.rt("exec", cid, "sh", "-c", "id -u; cat /proc/self/uid_map; "
                 "readlink /proc/self/ns/user").ok()
    lines = r.stdout.splitlines()
    assert lines[0] == "0"
    assert lines[1].split() == ["0", "100000", "65536"]
    assert lines[2] == os.readlink(f"/proc/{pid}/ns/user")
    pf = rtenv.path("e.pid")
    rtenv.rt("exec", "--detach", "--pid-file", pf, "--user", "1000", cid, "sleep", "3").ok()
    epid = int(pf.read_text())
    rtenv.track(epid)
    with open(f"/proc/{epid}/status") as f:
        uids = [ln.split()[1:] for ln in f if ln.startswith("Uid:")][0]
    assert uids == ["101000"] * 4
    rtenv.rt("delete", "--force", cid).ok()


def test_exec_preserve_fds(rtenv, running):
    cid, _, _ = running
    r_fd, w_fd = os.pipe()
    os.write(w_fd, b"exec fd 3\n")
    os.close(w_fd)
    try:
        r = rtenv.rt("exec", "--preserve-fds", "1", cid, "sh", "-c", "cat <&3", fd3=r_fd).ok()
    finally:
        os.close(r_fd)
    assert r.stdout == "exec fd 3\n"


def test_exec_cap_add_and_groups(rtenv, running):
    from runtime_helpers import cap_mask
    cid, _, _ = running
    r = rtenv.rt("exec", "--cap", "CAP_CHOWN", "--user", "0:0", "--additional-gids", "44",
                 cid, "grep", "-E", "^(CapEff|Groups):", "/proc/self/status").ok()
    st = dict(ln.split(":", 1) for ln in r.stdout.splitlines())
    assert int(st["CapEff"].strip(), 16) & cap_mask(["CAP_CHOWN"])
    assert st["Groups"].split() == ["44"]


def test_exec_no_new_privs_flag(rtenv):
    b = rtenv.bundle("sh", "-c", LOOP)
    with rtenv.config(b) as c:
        c["process"]["noNewPrivileges"] = False
    cid = rtenv.cid()
    rtenv.rt("run", "--detach", "--bundle", b, cid).ok()
    rtenv.track(rtenv.state(cid)["pid"])
    r = rtenv.rt("exec", cid, "grep", "NoNewPrivs", "/proc/self/status").ok()
    assert r.stdout.split() == ["NoNewPrivs:", "0"]
    r = rtenv.rt("exec", "--no-new-privs", cid, "grep", "NoNewPrivs", "/proc/self/status").ok()
    assert r.stdout.split() == ["NoNewPrivs:", "1"]
    rtenv.rt("delete", "--force", cid).ok()


def test_exec_into_created_sees_hostname(rtenv):
    b = rtenv.bundle("true")
    with rtenv.config(b) as c:
        c["hostname"] = "created-host"
    cid = rtenv.cid()
    rtenv.rt("create", "--bundle", b, cid).ok()
    rtenv.track(rtenv.state(cid)["pid"])
    assert rtenv.rt("exec", cid, "hostname").ok().stdout.strip() == "created-host"
    assert rtenv.status(cid) == "created"
    rtenv.rt("delete", "--force", cid).ok()
