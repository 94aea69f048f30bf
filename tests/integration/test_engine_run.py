"""berth run and the container commands, end to end, with a busybox image
in a private store root (BERTH_RUNROOT for the runtime state)."""
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import missing_tool, need
from engine_helpers import (BUSYBOX, engine_store, host_leftovers, oci_image_dir, rootfs_tar,
                            wait_for)

if os.geteuid() != 0:
    pytest.skip("the engine tests need root", allow_module_level=True)


@pytest.fixture
def b():
    with engine_store("berth-engine-") as bb:
        yield bb


def test_run_echo_and_rm(b):
    r = b("run", "--rm", BUSYBOX, "echo", "hello")
    assert r.stdout == "hello\n"
    assert b.ids() == []


def test_missing_image_is_pulled_and_errors_name_it(b):
    # Docker's default --pull=missing: try the registry, then one clear line
    # naming the image and the registry; nothing is left behind.
    r = b("run", "--rm", "127.0.0.1:1/nope", "true", check=False)
    assert r.returncode == 125
    assert "Unable to find image '127.0.0.1:1/nope' locally" in r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("berth: ") and "127.0.0.1:1/nope" in last, r.stderr
    r = b("run", "--rm", "--pull", "sometimes", BUSYBOX, "true", check=False)
    assert r.returncode == 125 and "--pull" in r.stderr
    # a reference that is not one: no pull, the parser's error
    r = b("run", "--rm", "Bad::Ref", "true", check=False)
    assert r.returncode == 125 and r.stderr.count("\n") == 1, r.stderr
    assert 'invalid reference "Bad::Ref"' in r.stderr, r.stderr
    r = b("create", "library/UPPER", check=False)
    assert r.returncode == 125 and "must be lowercase" in r.stderr, r.stderr
    assert b.ids() == []


def test_exit_codes(b):
    assert b("run", "--rm", BUSYBOX, "true").returncode == 0
    assert b("run", "--rm", BUSYBOX, "sh", "-c", "exit 3", check=False).returncode == 3
    r = b("run", "--rm", "--pull", "never", "localhost/nope", "true", check=False)
    assert r.returncode == 125 and 'image "localhost/nope" not found' in r.stderr
    r = b("run", "--rm", BUSYBOX, "/etc/passwd", check=False)
    assert r.returncode == 126, r.stderr
    r = b("run", "--rm", BUSYBOX, "nosuchcmd", check=False)
    assert r.returncode == 127, r.stderr
    # SIGKILL from outside: 128 + 9
    p = b.popen("run", "--name", "k", BUSYBOX, "sleep", "30", stdout=subprocess.PIPE)
    wait_for(lambda: "k" in b("ps", "--format", "{{.Names}}").stdout)
    b("kill", "k")
    assert p.wait(10) == 137
    assert b.inspect("k")["State"]["ExitCode"] == 137


def test_stdout_stderr_and_logs(b):
    r = b("run", "--name", "o", BUSYBOX, "sh", "-c", "echo out; echo err >&2; exit 2",
          check=False)
    assert r.returncode == 2
    assert r.stdout == "out\n" and r.stderr == "err\n"
    lines = [json.loads(l) for l in (b.root / "containers" / b.ids()[0] / "ctr.log")
             .read_text().splitlines()]
    assert {(l["stream"], l["log"]) for l in lines} == {("stdout", "out\n"), ("stderr", "err\n")}
    assert all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z", l["time"]) for l in lines)
    r = b("logs", "o")
    assert r.stdout == "out\n" and r.stderr == "err\n"


def test_detached_logs_tail_follow(b):
    cid = b("run", "-d", "--name", "d", BUSYBOX, "sh", "-c",
            "for i in 1 2 3 4 5; do echo line$i; done; sleep 1; echo last").stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", cid)
    wait_for(lambda: "line5" in b("logs", "d").stdout)
    assert b("logs", "--tail", "2", "d").stdout == "line4\nline5\n"
    r = b("logs", "-f", "d", timeout=15)
    assert r.stdout.endswith("line5\nlast\n")
    ts = b("logs", "--timestamps", "--tail", "1", "d").stdout
    assert re.match(r"\d{4}-\d\d-\d\dT\S+Z last\n", ts)
    assert b("wait", "d").stdout.strip() == "0"


def test_run_output_is_never_lost(b):
    # `run` connects to the monitor before the start. Under load, a quick
    # container's output that met the connection not yet accepted went to
    # the log only (about 1 run in 25), and an exit before the monitor held
    # SIGCHLD was never seen (the run hung)
    hogs = [subprocess.Popen(["sh", "-c", "while :; do :; done"]) for _ in range(4)]
    try:
        outs = [b("run", "--rm", BUSYBOX, "echo", "hi").stdout for _ in range(80)]
    finally:
        for h in hogs:
            h.kill()
            h.wait()
    assert outs.count("hi\n") == len(outs), [o for o in outs if o != "hi\n"]


def test_image_config_rules(b):
    with tempfile.TemporaryDirectory() as d:
        cfg = {"Entrypoint": ["/bin/sh", "-c"], "Cmd": ["echo cmd:$FOO:$(id -u):$(pwd)"],
               "Env": ["FOO=img", "PATH=/bin:/usr/bin"], "WorkingDir": "/srv", "User": "app"}
        oci_image_dir(pathlib.Path(d) / "oci", rootfs_tar(), cfg)
        out = b("load", "-i", pathlib.Path(d) / "oci").stdout
    m = re.search(r"Loaded image(?: ID)?: (\S+)", out)
    assert m, out
    img = m.group(1)
    assert b("run", "--rm", img).stdout == "cmd:img:1000:/srv\n"
    # a command replaces Cmd, the entrypoint stays
    assert b("run", "--rm", img, "echo $FOO").stdout == "img\n"
    # -e overrides the image env, -w and -u replace WorkingDir and User
    assert b("run", "--rm", "-e", "FOO=cli", "-w", "/tmp", "-u", "65534", img,
             "echo $FOO $(id -u) $(pwd)").stdout == "cli 65534 /tmp\n"
    # --entrypoint replaces the entrypoint and clears Cmd
    assert b("run", "--rm", "--entrypoint", "/bin/echo", img, "x").stdout == "x\n"
    # supplementary groups from /etc/group, HOME from /etc/passwd
    assert b("run", "--rm", img, "id -G; echo $HOME").stdout == "1000 2000\n/home/app\n"


def test_env_workdir_user(b, tmp_path):
    ef = tmp_path / "env"
    ef.write_text("# comment\nA=from_file\nB=b\n")
    r = b("run", "--rm", "--env-file", ef, "-e", "B=cli", "-e", "C=c", BUSYBOX, "sh", "-c",
          "echo $A $B $C")
    assert r.stdout == "from_file cli c\n"
    assert b("run", "--rm", "-w", "/tmp/new", BUSYBOX, "pwd").stdout == "/tmp/new\n"
    assert b("run", "--rm", "-u", "65534", BUSYBOX, "id", "-u").stdout == "65534\n"
    assert b("run", "--rm", "-u", "nobody:app", BUSYBOX, "id").stdout.startswith(
        "uid=65534(nobody) gid=1000(app)")


def test_volumes(b, tmp_path):
    host = tmp_path / "h"
    host.mkdir()
    (host / "f").write_text("host\n")
    assert b("run", "--rm", "-v", f"{host}:/data", BUSYBOX, "sh", "-c",
             "cat /data/f; echo ctr > /data/g").stdout == "host\n"
    assert (host / "g").read_text() == "ctr\n"
    r = b("run", "--rm", "-v", f"{host}:/data:ro", BUSYBOX, "sh", "-c", "echo x > /data/h",
          check=False)
    assert r.returncode != 0 and not (host / "h").exists()
    b("run", "--rm", "-v", "vol1:/v", BUSYBOX, "sh", "-c", "echo persisted > /v/x")
    assert b("run", "--rm", "-v", "vol1:/v", BUSYBOX, "cat", "/v/x").stdout == "persisted\n"
    assert (b.root / "volumes/vol1/_data/x").exists()
    assert b("run", "--rm", "--mount", f"type=bind,source={host},target=/m,readonly",
             BUSYBOX, "cat", "/m/f").stdout == "host\n"


def test_readonly_hostname(b):
    r = b("run", "--rm", "--read-only", BUSYBOX, "touch", "/x", check=False)
    assert r.returncode != 0 and "Read-only" in r.stderr
    assert b("run", "--rm", "--hostname", "boat", BUSYBOX, "hostname").stdout == "boat\n"
    assert "boat" in b("run", "--rm", "--hostname", "boat", BUSYBOX, "cat",
                       "/etc/hosts").stdout
    cid = b("run", "-d", BUSYBOX, "hostname").stdout.strip()
    b("wait", cid)
    assert b("logs", cid).stdout == cid[:12] + "\n"


def cgroup_file(pid, ctrl, name):
    for line in open(f"/proc/{pid}/cgroup"):
        _, ctrls, path = line.strip().split(":", 2)
        if ctrl in ctrls.split(","):
            return pathlib.Path(f"/sys/fs/cgroup/{ctrl}{path}/{name}").read_text().strip()
    raise AssertionError(f"no {ctrl} cgroup")


def test_resources_in_cgroup(b):
    b("run", "-d", "--name", "r", "--memory", "64m", "--pids-limit", "50", "--cpus", "0.5",
      BUSYBOX, "sleep", "30")
    pid = b.inspect("r")["State"]["Pid"]
    assert pid > 0
    assert cgroup_file(pid, "memory", "memory.limit_in_bytes") == str(64 << 20)
    assert cgroup_file(pid, "pids", "pids.max") == "50"
    assert cgroup_file(pid, "cpu", "cpu.cfs_quota_us") == "50000"
    assert cgroup_file(pid, "cpu", "cpu.cfs_period_us") == "100000"
    hc = b.inspect("r")["HostConfig"]
    assert hc["Memory"] == 64 << 20 and hc["PidsLimit"] == 50 and hc["NanoCpus"] == 500000000


def capeff(b, *flags):
    out = b("run", "--rm", *flags, BUSYBOX, "grep", "CapEff", "/proc/self/status").stdout
    return int(out.split()[1], 16)


def test_capabilities_and_privileged(b):
    default = capeff(b)
    CAP_CHOWN, CAP_NET_RAW, CAP_SYS_ADMIN, CAP_NET_ADMIN = 0, 13, 21, 12
    assert default & (1 << CAP_CHOWN) and not default & (1 << CAP_NET_RAW)
    assert bin(default).count("1") == 11
    assert capeff(b, "--cap-add", "NET_ADMIN") & (1 << CAP_NET_ADMIN)
    assert not capeff(b, "--cap-drop", "CHOWN") & (1 << CAP_CHOWN)
    assert capeff(b, "--cap-drop", "ALL") == 0
    assert capeff(b, "--cap-drop", "ALL", "--cap-add", "chown") == 1
    priv = capeff(b, "--privileged")
    assert priv & (1 << CAP_SYS_ADMIN)
    # the host's devices, usable (device cgroup open), only when privileged
    dev = "/dev/kmsg"
    assert os.path.exists(dev)
    r = b("run", "--rm", BUSYBOX, "sh", "-c", f"test -e {dev}", check=False)
    assert r.returncode == 1
    r = b("run", "--rm", "--privileged", BUSYBOX, "sh", "-c",
          f"test -c {dev} && true < {dev} && ls -ln {dev}")
    st = os.stat(dev)
    assert re.search(rf"\b{os.major(st.st_rdev)},\s+{os.minor(st.st_rdev)}\b", r.stdout), r.stdout
    # seccomp on by default, off with --privileged
    s = b("run", "--rm", BUSYBOX, "grep", "Seccomp:", "/proc/self/status").stdout
    assert s.split()[1] == "2"
    s = b("run", "--rm", "--privileged", BUSYBOX, "grep", "Seccomp:", "/proc/self/status").stdout
    assert s.split()[1] == "0"
    s = b("run", "--rm", "--security-opt", "seccomp=unconfined", BUSYBOX, "grep", "Seccomp:",
          "/proc/self/status").stdout
    assert s.split()[1] == "0"


def test_stop_kill_restart_rm(b):
    b("run", "-d", "--name", "trap", BUSYBOX, "sh", "-c",
      "trap 'exit 7' TERM; while true; do sleep 0.1; done")
    b("run", "-d", "--name", "ign", BUSYBOX, "sh", "-c",
      "trap '' TERM; while true; do sleep 0.1; done")
    time.sleep(0.3)
    t = time.time()
    b("stop", "trap")
    assert time.time() - t < 5
    assert b.inspect("trap")["State"]["ExitCode"] == 7
    t = time.time()
    b("stop", "-t", "1", "ign")
    el = time.time() - t
    assert 0.9 <= el < 6, el
    assert b.inspect("ign")["State"]["ExitCode"] == 137
    b("restart", "trap")
    assert wait_for(lambda: b.inspect("trap")["State"]["Running"])
    r = b("rm", "trap", check=False)
    assert r.returncode == 125 and "container is running" in r.stderr
    b("rm", "-f", "trap")
    assert "trap" not in b("ps", "-a", "--format", "{{.Names}}").stdout
    b("rm", "ign")
    assert b.ids() == []


def test_ps_format_inspect(b):
    b("run", "-d", "--name", "up", BUSYBOX, "sleep", "30")
    b("run", "--name", "ex", BUSYBOX, "sh", "-c", "exit 4", check=False)
    ps = b("ps").stdout.splitlines()
    assert ps[0].split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS",
                             "PORTS", "NAMES"]
    assert len(ps) == 2 and "up" in ps[1] and "Up " in ps[1]
    psa = b("ps", "-a").stdout
    assert re.search(r"Exited \(4\) .* ago", psa)
    assert len(b("ps", "-aq").stdout.split()) == 2
    f = b("ps", "-a", "--format", "{{.Names}}|{{.Status}}").stdout.splitlines()
    assert sorted(l.split("|")[0] for l in f) == ["ex", "up"]
    js = json.loads(b("ps", "-a", "--format", "json").stdout)
    assert {j["Names"][0] for j in js} == {"ex", "up"}
    i = b.inspect("up")
    assert i["Name"] == "/up" and i["State"]["Status"] == "running" and i["State"]["Running"]
    assert i["State"]["Pid"] > 0 and i["Config"]["Cmd"] == ["sleep", "30"]
    assert i["Config"]["Image"] == BUSYBOX and re.fullmatch(r"[0-9a-f]{64}", i["Id"])
    assert i["HostConfig"]["NetworkMode"] == "bridge"  # the default network
    e = b.inspect("ex")
    assert e["State"]["Status"] == "exited" and e["State"]["ExitCode"] == 4
    assert e["State"]["FinishedAt"] > e["State"]["StartedAt"]
    # prefix lookup and image fallback
    assert b.inspect(i["Id"][:8])["Name"] == "/up"
    img = json.loads(b("inspect", BUSYBOX).stdout)
    assert img[0]["Id"].startswith("sha256:")


def test_exec(b):
    b("run", "-d", "--name", "x", BUSYBOX, "sleep", "30")
    assert b("exec", "x", "echo", "hi").stdout == "hi\n"
    assert b("exec", "-e", "V=1", "-w", "/tmp", "x", "sh", "-c",
             "echo $V $(pwd)").stdout == "1 /tmp\n"
    assert b("exec", "-u", "nobody", "x", "id", "-u").stdout == "65534\n"
    assert b("exec", "x", "sh", "-c", "exit 5", check=False).returncode == 5
    assert b("exec", "x", "nope", check=False).returncode == 127
    r = b("exec", "-i", "x", "cat", input="piped\n")
    assert r.stdout == "piped\n"


def test_foreground_signal_proxy(b):
    p = b.popen("run", "--name", "sp", BUSYBOX, "sh", "-c",
                "trap 'echo got-term; exit 9' TERM; echo ready; while true; do sleep 0.1; done",
                stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline() == "ready\n"
    p.send_signal(signal.SIGTERM)
    assert p.wait(10) == 9
    assert p.stdout.read() == "got-term\n"


def test_interactive_stdin(b):
    r = b("run", "--rm", "-i", BUSYBOX, "sh", "-c", "read x; echo got:$x", input="abc\n")
    assert r.stdout == "got:abc\n"


def test_tty(b):
    need(missing_tool("script", "bsdutils"))
    from conftest import binary
    line = (f"{binary('berth')} --root {b.root} run --rm -it {BUSYBOX} "
            "sh -c 'tty; test -t 0 && echo isatty; exit 3'")
    from conftest import run_in_script
    r = run_in_script(line, timeout=30, env=b.env)
    assert r.returncode == 3, (r.stdout, r.stderr)
    assert "/dev/pts/0" in r.stdout and "isatty" in r.stdout


def test_init_reaps_zombies(b):
    # the orphaned `sleep 0.1` goes to pid 1: without --init that is
    # `sleep 30` (sh after exec), which never reaps; berth-init does
    def zombies(*flags):
        name = "z" + str(len(flags))
        b("run", "-d", "--name", name, *flags, BUSYBOX, "sh", "-c",
          "(sleep 0.1 &); exec sleep 30")
        time.sleep(0.6)
        out = b("exec", name, "ps", "-o", "stat,ppid,comm").stdout
        b("rm", "-f", name)
        # only the container's own orphan: a zombie `sleep` whose parent is
        # the container's pid 1 (never a process of the host's)
        return [l for l in out.splitlines()[1:]
                if l.split()[:1] and l.split()[0].startswith("Z") and l.split()[1:3] == ["1", "sleep"]]
    assert len(zombies()) >= 1
    assert zombies("--init") == []


def test_monitor_killed_shows_exited(b):
    b("run", "-d", "--name", "m", BUSYBOX, "sleep", "30")
    st = b.inspect("m")["State"]
    os.kill(st["MonitorPid"], signal.SIGKILL)
    assert wait_for(lambda: b.inspect("m")["State"]["Status"] == "exited")
    assert "m" not in b("ps", "--format", "{{.Names}}").stdout.split()
    assert "Exited (255)" in b("ps", "-a").stdout or "Exited (137)" in b("ps", "-a").stdout


def test_parallel_runs(b):
    ps = [b.popen("run", "-d", BUSYBOX, "sleep", "30", stdout=subprocess.PIPE,
                  stderr=subprocess.PIPE) for _ in range(5)]
    outs = [p.communicate(timeout=60) for p in ps]
    assert all(p.returncode == 0 for p in ps), outs
    names = b("ps", "--format", "{{.Names}}").stdout.split()
    assert len(names) == 5 and len(set(names)) == 5


def test_cp_stats_top_pause(b, tmp_path):
    b("run", "-d", "--name", "c", "--memory", "64m", BUSYBOX, "sh", "-c",
      "echo inside > /srv/in.txt; mkdir -p /srv/d/e; echo deep > /srv/d/e/f; sleep 30")
    wait_for(lambda: b("exec", "c", "test", "-f", "/srv/d/e/f", check=False).returncode == 0)
    # container -> host (file, directory), host -> container
    b("cp", "c:/srv/in.txt", tmp_path / "out.txt")
    assert (tmp_path / "out.txt").read_text() == "inside\n"
    b("cp", "c:/srv/d", tmp_path)
    assert (tmp_path / "d/e/f").read_text() == "deep\n"
    (tmp_path / "up.txt").write_text("from host\n")
    b("cp", tmp_path / "up.txt", "c:/tmp/")
    assert b("exec", "c", "cat", "/tmp/up.txt").stdout == "from host\n"
    # symlinks in the container resolve inside its root
    b("exec", "c", "ln", "-s", "/srv/in.txt", "/srv/link")
    b("cp", "c:/srv/link", tmp_path / "link")
    assert (tmp_path / "link").read_text() == "inside\n"
    b("exec", "c", "ln", "-s", "../../../../../../etc/shadow", "/srv/esc")
    r = b("cp", "c:/srv/esc", tmp_path / "esc", check=False)
    assert r.returncode == 125 and not (tmp_path / "esc").exists()
    st = b("stats", "--no-stream", "c").stdout.splitlines()
    assert st[0].split()[:3] == ["CONTAINER", "ID", "NAME"]
    cols = st[1].split()
    assert cols[1] == "c" and "64MiB" in st[1] and int(cols[-1]) >= 1
    # a busy process shows as up to 100% of one CPU, as Docker counts it (the
    # share it gets depends on the host's load: the floor only says "busy")
    b("exec", "-d", "c", "sh", "-c", "while :; do :; done")
    time.sleep(0.5)
    out = b("stats", "--no-stream", "--format", "{{.Name}} {{.CPUPerc}} {{.PIDs}}", "c").stdout
    name, cpu, pids = out.split()
    assert name == "c" and 10 <= float(cpu.rstrip("%")) <= 105 and int(pids) >= 2, out
    j = json.loads(b("stats", "--no-stream", "--format", "json", "c").stdout)
    assert j["Name"] == "c" and j["MemUsage"].endswith("64MiB")
    top = b("top", "c").stdout.splitlines()
    assert top[0].split() == ["UID", "PID", "PPID", "CMD"]
    assert any("sleep 30" in l for l in top[1:])
    b("pause", "c")
    assert b.inspect("c")["State"]["Status"] == "paused"
    assert "(Paused)" in b("ps").stdout
    b("unpause", "c")
    assert b.inspect("c")["State"]["Status"] == "running"
    # cp after the exit mounts the rootfs for the copy and unmounts it again
    b("stop", "-t", "0", "c")
    b("cp", "c:/tmp/up.txt", tmp_path / "after.txt")
    assert (tmp_path / "after.txt").read_text() == "from host\n"
    assert not host_leftovers(b, [])


BAD = [
    ["run", "--pull", "never", "localhost/nope", "true"],
    ["run", "Bad::Ref", "true"],
    ["run", "--bogus-flag", BUSYBOX, "true"],
    ["run", "-v", "relative:path:zz", BUSYBOX, "true"],
    ["run", "-v", "/tmp:rel", BUSYBOX, "true"],
    ["run", "--memory", "lots", BUSYBOX, "true"],
    ["run", "--cpus", "-1", BUSYBOX, "true"],
    ["run", "--cap-add", "NOT_A_CAP", BUSYBOX, "true"],
    ["run", "--network", "nosuch", BUSYBOX, "true"],
    ["run", "-p", "80:80:80:80", BUSYBOX, "true"],
    ["run", "--ulimit", "nofile=9:1", BUSYBOX, "true"],
    ["run", "-u", "nosuchuser", BUSYBOX, "true"],
    ["run", "--name", "bad/name", BUSYBOX, "true"],
    ["run", "--security-opt", "seccomp=/nonexistent.json", BUSYBOX, "true"],
    ["run", "-w", "relative", BUSYBOX, "true"],
    ["run", "--mount", "type=bind,source=/nonexistent,target=/x", BUSYBOX, "true"],
]


@pytest.mark.parametrize("args", BAD, ids=[" ".join(a[1:3]) for a in BAD])
def test_bad_input_leaves_nothing(b, args):
    r = b(*args, check=False)
    assert r.returncode == 125, r
    # one error line; a wrong flag adds Docker's pointer to the help
    lines = r.stderr.split("\n")
    assert r.stderr.startswith("berth: ") and lines[-1] == "", r.stderr
    assert len(lines) == 2 or (len(lines) == 3 and lines[1] == "See 'berth run --help'."), r.stderr
    assert b.ids() == []
    assert not host_leftovers(b, [])


def test_name_in_use(b):
    cid = b("create", "--name", "dup", BUSYBOX, "true").stdout.strip()
    r = b("run", "--name", "dup", BUSYBOX, "true", check=False)
    assert r.returncode == 125
    assert r.stderr == f'berth: the container name "dup" is already in use by {cid}\n'
    assert b.ids() == [cid]
    # create + start -a
    r = b("start", "-a", "dup")
    assert r.returncode == 0


def test_names_are_freed_and_stale_names_taken_over(b):
    cid = b("create", "--name", "web", BUSYBOX, "true").stdout.strip()
    assert b("inspect", "--format", "{{.Id}}", "web").stdout.strip() == cid
    b("rm", "web")
    # the name is free again once the container is gone
    cid2 = b("create", "--name", "web", BUSYBOX, "true").stdout.strip()
    assert cid2 != cid
    # a crash between removing a container and its name leaves a stale
    # name link: it is taken over, not reported as in use
    mounted = b.root / "containers" / cid2 / "rootfs"
    subprocess.run(["umount", "-l", str(mounted)], check=False)
    shutil.rmtree(b.root / "containers" / cid2)
    cid3 = b("create", "--name", "web", BUSYBOX, "true").stdout.strip()
    assert b.ids() == [cid3]
    b("rm", "web")


def test_removed_files_are_deleted_in_the_background(b):
    # what a killed remover left in .trash/ goes with the next removal
    junk = b.root / "containers" / ".trash" / "junk"
    cid = b("create", BUSYBOX, "true").stdout.strip()
    junk.mkdir(parents=True)
    (junk / "f").write_text("x")
    b("rm", cid)
    assert not (b.root / "containers" / cid).exists()
    assert b.ids() == []
    assert wait_for(lambda: list((b.root / "containers" / ".trash").iterdir()) == [], timeout=5)


def test_inspect_format(b):
    cid = b("create", "--name", "fmt", "-e", "A=1", BUSYBOX, "echo", "x").stdout.strip()
    r = b("inspect", "--format", "{{.Id}}\\t{{.Name}} {{.State.Status}} {{.Config.Cmd}}", "fmt")
    assert r.stdout == f"{cid}\t/fmt created [echo x]\n", r.stdout
    r = b("inspect", "-f", "{{json .HostConfig.CapAdd}} {{.Nope.Deeper}}", cid)
    assert r.stdout == "[] <no value>\n", r.stdout
    img = b("inspect", "-f", "{{.Id}}", BUSYBOX).stdout.strip()
    assert img.startswith("sha256:") and len(img) == 71
    r = b("inspect", "-f", "{{range .Mounts}}x{{end}}", "fmt", check=False)
    assert r.returncode == 125 and r.stderr.startswith("berth: template: unsupported action")
    b("rm", "fmt")


def test_reboot_reconciles(b):
    # A reboot takes the runtime state (/run is tmpfs), the mounts, the
    # cgroups and every process: ps must then say exited, and the container
    # must start again and be removable.
    cid = b("run", "-d", "--name", "rb", BUSYBOX, "sleep", "300").stdout.strip()
    st = b.inspect("rb")["State"]
    assert st["Status"] == "running"
    for pid in (st["MonitorPid"], st["Pid"]):
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not os.path.exists(f"/proc/{st['Pid']}"))
    for cg in pathlib.Path("/sys/fs/cgroup").glob(f"*/berth/{cid}"):
        wait_for(lambda: cg.rmdir() is None if cg.exists() else True, timeout=5)
    subprocess.run(["umount", "-l", str(b.root / "containers" / cid / "rootfs")], check=True)
    shutil.rmtree(b.env["BERTH_RUNROOT"])
    out = b("ps", "-a", "--format", "{{.Names}} {{.State}}").stdout
    assert out.split() == ["rb", "exited"], out
    assert b("ps", "-q").stdout == ""
    b("start", "rb")
    assert b.inspect("rb")["State"]["Status"] == "running"
    assert b("exec", "rb", "echo", "back").stdout == "back\n"
    b("rm", "-f", "rb")
    assert b.ids() == [] and not host_leftovers(b, [cid])


def test_same_name_in_parallel(b):
    ps = [b.popen("create", "--name", "one", BUSYBOX, "true", stdout=subprocess.PIPE,
                  stderr=subprocess.PIPE, text=True) for _ in range(6)]
    outs = [p.communicate(timeout=60) for p in ps]
    ok = [o for p, o in zip(ps, outs) if p.returncode == 0]
    assert len(ok) == 1, outs
    assert all("is already in use" in o[1] for p, o in zip(ps, outs) if p.returncode != 0)
    assert b.ids() == [ok[0][0].strip()]
    b("rm", "one")


@pytest.mark.parametrize("delay_ms", [2, 5, 10, 20, 40])
def test_kill9_during_run_leaves_a_removable_store(b, delay_ms):
    p = b.popen("run", "-d", "--name", "k9", BUSYBOX, "sleep", "30",
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay_ms / 1000)
    p.kill()
    p.wait()
    # whatever state it got to, the store reads and the container goes
    r = b("ps", "-a", "--format", "{{.ID}} {{.Names}} {{.State}}")
    for cid in b("ps", "-aq").stdout.split():
        b("rm", "-f", cid)
    assert b("ps", "-aq").stdout == ""
    # the name is free again
    b("create", "--name", "k9", BUSYBOX, "true")
    b("rm", "k9")
    assert not host_leftovers(b, []), r.stdout


def test_interrupted_create_reads_as_dead(b):
    # what a `create` killed half-way leaves: a record still "creating"
    # whose creator is gone. ps -a shows it Dead, start refuses, rm works
    # and frees the name.
    cid = b("create", "--name", "half", BUSYBOX, "true").stdout.strip()
    f = b.root / "containers" / cid / "container.json"
    doc = json.loads(f.read_text())
    gone = subprocess.Popen(["true"])
    gone.wait()
    doc["State"] = {"Status": "creating", "CreatorPid": gone.pid, "CreatorStart": 1}
    f.write_text(json.dumps(doc))
    assert b("ps", "-a", "--format", "{{.Names}} {{.Status}}").stdout == "half Dead\n"
    assert b.inspect("half")["State"]["Dead"] is True
    r = b("start", "half", check=False)
    assert r.returncode == 125 and "dead" in r.stderr
    b("rm", "half")
    b("create", "--name", "half", BUSYBOX, "true")
    b("rm", "half")
    assert not host_leftovers(b, [cid])


def test_system_check_repairs_container_leftovers(b):
    # what kill -9s can leave: a directory without its record, a name whose
    # container is gone, files in .trash/
    ctrs = b.root / "containers"
    cid = b("create", "--name", "keep", BUSYBOX, "true").stdout.strip()
    orphan = ctrs / ("ab" * 32)
    orphan.mkdir()
    (ctrs / ".names").mkdir(exist_ok=True)
    os.symlink("cd" * 32, ctrs / ".names" / "ghost")
    (ctrs / ".trash" / "left").mkdir(parents=True)
    r = b("system", "check")
    assert r.returncode == 0, r
    assert f"garbage: container directory {'ab' * 32} has no container.json" in r.stdout
    assert "garbage: name ghost names no container" in r.stdout
    assert "garbage: removed container files left in .trash/left" in r.stdout
    r = b("system", "check", "--repair")
    assert r.stdout.count("repaired: ") == 3, r.stdout
    assert not orphan.exists() and not (ctrs / ".names" / "ghost").is_symlink()
    assert list((ctrs / ".trash").iterdir()) == []
    r = b("system", "check")
    assert "garbage:" not in r.stdout and r.stdout.endswith("store is consistent\n"), r.stdout
    # the live container and its name are untouched
    assert b.ids() == [cid] and b.inspect("keep")["Id"] == cid
    b("rm", "keep")


def _numbers(text):
    return [int(l[4:]) for l in text.split()]


def test_log_read_while_rotating(b):
    # a plain `logs` while the monitor rotates every line or two: each read is
    # one unbroken run from line0 (nothing read twice, nothing skipped)
    b("run", "-d", "--name", "spin", "--log-opt", "max-size=200", "--log-opt", "max-file=1000",
      BUSYBOX, "sh", "-c", "i=0; while [ $i -lt 1500 ]; do echo line$i; i=$((i+1)); done")
    snaps = []
    while len(snaps) < 60:
        snaps.append(_numbers(b("logs", "spin").stdout))
        if len(snaps[-1]) == 1500:
            break
    b("wait", "spin")
    bad = [s for s in snaps if s != list(range(len(s)))]
    assert not bad, [[x for x, y in zip(s, range(len(s))) if x != y][:5] for s in bad]
    assert len([s for s in snaps if 0 < len(s) < 1500]) >= 3  # some reads met a rotation


def test_log_rotation(b):
    cid = b("run", "-d", "--name", "rot", "--log-opt", "max-size=2k", "--log-opt", "max-file=3",
            BUSYBOX, "sh", "-c",
            "i=0; while [ $i -lt 300 ]; do echo line$i; i=$((i+1)); "
            "[ $((i % 20)) = 0 ] && sleep 0.05; done").stdout.strip()
    # -f from the start follows the live file through its rotations
    follow = b("logs", "-f", "rot", timeout=30).stdout
    assert b("wait", "rot").stdout.strip() == "0"
    files = sorted(p.name for p in (b.root / "containers" / cid).glob("ctr.log*"))
    assert files == ["ctr.log", "ctr.log.1", "ctr.log.2"]
    for f in files:  # a rotation happens before a line would pass max-size
        assert (b.root / "containers" / cid / f).stat().st_size <= 2048
    got = _numbers(b("logs", "rot").stdout)
    assert got[-1] == 299 and got == list(range(got[0], 300)) and got[0] > 0
    assert _numbers(b("logs", "--tail", "5", "rot").stdout) == list(range(295, 300))
    fl = _numbers(follow)
    assert fl[-1] == 299 and fl == list(range(fl[0], 300)), follow[:200]
    lc = b.inspect("rot")["HostConfig"]["LogConfig"]
    assert lc == {"Type": "json-file", "Config": {"max-size": "2048", "max-file": "3"}}
    # bursts that fill several files while the follower sleeps: each rotated
    # file is still there (max-file 40), so -f shows every line once, in order
    cid = b("run", "-d", "--name", "burst", "--log-opt", "max-size=1k", "--log-opt",
            "max-file=40", BUSYBOX, "sh", "-c",
            "sleep 0.3; i=0; while [ $i -lt 400 ]; do echo line$i; i=$((i+1)); "
            "[ $((i % 100)) = 0 ] && sleep 0.2; done").stdout.strip()
    follow = b("logs", "-f", "burst", timeout=30).stdout
    assert b("wait", "burst").stdout.strip() == "0"
    assert len(list((b.root / "containers" / cid).glob("ctr.log*"))) > 10
    assert _numbers(follow) == list(range(400))
    # --log-driver none: nothing written, logs says it cannot read
    cid = b("run", "-d", "--log-driver", "none", "--name", "quiet", BUSYBOX, "echo",
            "hi").stdout.strip()
    b("wait", "quiet")
    assert not list((b.root / "containers" / cid).glob("ctr.log*"))
    r = b("logs", "quiet", check=False)
    assert r.returncode == 1 and r.stderr == \
        "berth: configured logging driver does not support reading\n"
    for bad, msg in ((["--log-opt", "max-sizes=1"], "unknown log opt 'max-sizes'"),
                     (["--log-opt", "max-size=lots"], "not a size"),
                     (["--log-opt", "max-file=3"], "needs max-size"),
                     (["--log-driver", "syslog"], "--log-driver \"syslog\"")):
        r = b("run", "--rm", *bad, BUSYBOX, "true", check=False)
        assert r.returncode == 125 and msg in r.stderr and r.stderr.count("\n") == 1, r.stderr
