"""berth-runtime: the container process (pid 1, hostname, capabilities,
noNewPrivileges, user and groups, umask, rlimits, oomScoreAdj, env, cwd, preserve-fds)."""
import os
import re
import subprocess

import pytest

from runtime_helpers import cap_mask, one_error_line, rtenv  # noqa: F401


def status_fields(text):
    out = {}
    for ln in text.splitlines():
        if ":" in ln:
            k, v = ln.split(":", 1)
            out[k.strip()] = v.strip()
    return out


def test_pid1_is_the_process(rtenv):
    r = rtenv.run_sh("echo $$; readlink /proc/self")
    lines = r.stdout.split()
    assert lines[0] == "1"
    # readlink runs as a child: a small pid in the container's namespace
    assert int(lines[1]) < 10


def test_hostname(rtenv):
    def edit(c):
        c["hostname"] = "berth-test-host"
    r = rtenv.run_sh("hostname; cat /proc/sys/kernel/hostname", edit)
    assert r.stdout.split() == ["berth-test-host", "berth-test-host"]
    assert os.uname().nodename != "berth-test-host"


def test_domainname(rtenv):
    def edit(c):
        c["domainname"] = "example.test"
    r = rtenv.run_sh("cat /proc/sys/kernel/domainname", edit)
    assert r.stdout.strip() == "example.test"


CAP_SETS = {
    "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW", "CAP_SYS_ADMIN", "CAP_SETUID"],
    "permitted": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"],
    "effective": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"],
    "inheritable": ["CAP_KILL"],
    "ambient": ["CAP_KILL"],
}


def test_capabilities_exact(rtenv):
    def edit(c):
        c["process"]["capabilities"] = dict(CAP_SETS)
    r = rtenv.run_sh("cat /proc/self/status", edit)
    st = status_fields(r.stdout)
    for field, key in [("CapBnd", "bounding"), ("CapPrm", "permitted"),
                       ("CapEff", "effective"), ("CapInh", "inheritable"),
                       ("CapAmb", "ambient")]:
        assert int(st[field], 16) == cap_mask(CAP_SETS[key]), \
            f"{field} {st[field]} != {cap_mask(CAP_SETS[key]):016x}"


def test_capabilities_root_effective_is_permitted(rtenv):
    """For uid 0 the kernel raises the effective set to the permitted one at
    execve (runc shows the same): effective narrower than permitted ends up
    equal to permitted."""
    def edit(c):
        c["process"]["capabilities"] = dict(CAP_SETS, effective=["CAP_CHOWN"])
    st = status_fields(rtenv.run_sh("cat /proc/self/status", edit).stdout)
    assert int(st["CapEff"], 16) == cap_mask(CAP_SETS["permitted"])
    assert int(st["CapPrm"], 16) == cap_mask(CAP_SETS["permitted"])


def test_capabilities_non_root_ambient(rtenv):
    """A non-root process keeps only its ambient capabilities across execve."""
    def edit(c):
        c["process"]["user"] = {"uid": 1000, "gid": 1000}
        c["process"]["capabilities"] = dict(CAP_SETS)
    st = status_fields(rtenv.run_sh("cat /proc/self/status", edit).stdout)
    assert int(st["CapBnd"], 16) == cap_mask(CAP_SETS["bounding"])
    assert int(st["CapAmb"], 16) == cap_mask(["CAP_KILL"])
    assert int(st["CapPrm"], 16) == cap_mask(["CAP_KILL"])
    assert int(st["CapEff"], 16) == cap_mask(["CAP_KILL"])


def test_capabilities_default_spec(rtenv):
    b = rtenv.bundle("cat", "/proc/self/status")
    caps = rtenv.load(b)["process"]["capabilities"]
    r = rtenv.rt("run", "--bundle", b, rtenv.cid()).ok()
    st = status_fields(r.stdout)
    assert int(st["CapBnd"], 16) == cap_mask(caps["bounding"])
    assert int(st["CapPrm"], 16) == cap_mask(caps["permitted"])
    assert int(st["CapEff"], 16) == cap_mask(caps["effective"])


def test_no_capabilities(rtenv):
    def edit(c):
        c["process"]["capabilities"] = {"bounding": [], "effective": [], "permitted": []}
    r = rtenv.run_sh("cat /proc/self/status; chown 1 /tmp && echo CHOWNED", edit, check=False)
    st = status_fields(r.stdout)
    assert int(st["CapEff"], 16) == 0 and int(st["CapBnd"], 16) == 0
    assert "CHOWNED" not in r.stdout


@pytest.mark.parametrize("nnp", [True, False])
def test_no_new_privileges(rtenv, nnp):
    def edit(c):
        c["process"]["noNewPrivileges"] = nnp
    r = rtenv.run_sh("grep NoNewPrivs /proc/self/status", edit)
    assert r.stdout.split() == ["NoNewPrivs:", "1" if nnp else "0"]


def test_user_uid_gid_groups(rtenv):
    def edit(c):
        c["process"]["user"] = {"uid": 1000, "gid": 1001, "additionalGids": [5, 2000]}
    r = rtenv.run_sh("grep -E '^(Uid|Gid|Groups):' /proc/self/status; id -u; id -g", edit)
    st = status_fields(r.stdout)
    assert st["Uid"].split() == ["1000"] * 4
    assert st["Gid"].split() == ["1001"] * 4
    assert sorted(st["Groups"].split(), key=int) == ["5", "2000"]
    assert r.stdout.split()[-2:] == ["1000", "1001"]


def test_user_no_additional_gids_clears_groups(rtenv):
    def edit(c):
        c["process"]["user"] = {"uid": 65534, "gid": 65534}
    r = rtenv.run_sh("grep -E '^Groups:' /proc/self/status", edit)
    assert r.stdout.split() == ["Groups:"], "host root's groups leaked into the container"


@pytest.mark.parametrize("umask,want", [(0o027, "0027"), (0o077, "0077")])
def test_umask(rtenv, umask, want):
    def edit(c):
        c["process"]["user"]["umask"] = umask
    r = rtenv.run_sh("umask; touch /tmp/f; stat -c %a /tmp/f",
                     lambda c: (edit(c), c["root"].update(readonly=False)))
    assert r.stdout.split()[0] == want
    assert int(r.stdout.split()[1], 8) == 0o666 & ~umask


def test_umask_default_0022(rtenv):
    r = rtenv.run_sh("umask")
    assert r.stdout.strip() == "0022"


def test_rlimits(rtenv):
    def edit(c):
        c["process"]["rlimits"] = [
            {"type": "RLIMIT_NOFILE", "soft": 1000, "hard": 2000},
            {"type": "RLIMIT_NPROC", "soft": 300, "hard": 400},
        ]
    r = rtenv.run_sh("ulimit -n; ulimit -Hn; grep -E 'open files|processes' /proc/self/limits",
                     edit)
    lines = r.stdout.splitlines()
    assert lines[0] == "1000" and lines[1] == "2000"
    lim = {ln[:26].strip(): ln[26:].split() for ln in lines[2:]}
    assert lim["Max open files"][:2] == ["1000", "2000"]
    assert lim["Max processes"][:2] == ["300", "400"]


def test_rlimit_near_host_hard_limit(rtenv):
    hard = int(subprocess.run(["sh", "-c", "ulimit -Hn"], capture_output=True,
                              text=True).stdout)
    hard = min(hard, 20000)

    def edit(c):
        c["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": hard, "hard": hard}]
    r = rtenv.run_sh("ulimit -n; ulimit -Hn", edit)
    assert r.stdout.split() == [str(hard), str(hard)]


def test_rlimit_impossible_fails_clearly(rtenv):
    """A hard RLIMIT_NOFILE above fs.nr_open cannot be set even by root."""
    nr_open = int(open("/proc/sys/fs/nr_open").read())

    def edit(c):
        c["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 1024,
                                    "hard": nr_open + 1}]
    r = rtenv.run_sh("echo SHOULD-NOT-RUN", edit, check=False)
    assert "SHOULD-NOT-RUN" not in r.stdout
    one_error_line(r, "RLIMIT_NOFILE")
    assert rtenv.leftover_state() == []


def test_oom_score_adj(rtenv):
    def edit(c):
        c["process"]["oomScoreAdj"] = 123
    r = rtenv.run_sh("cat /proc/self/oom_score_adj", edit)
    assert r.stdout.strip() == "123"
    # the runtime's own (host) score is untouched
    assert open("/proc/self/oom_score_adj").read().strip() != "123"


def test_env_and_home(rtenv):
    def edit(c):
        c["process"]["env"] += ["FOO=bar baz", "EMPTY="]
    r = rtenv.run_sh('echo "$FOO|$EMPTY|$HOME|$PATH"', edit)
    foo, empty, home, path = r.stdout.rstrip("\n").split("|")
    assert foo == "bar baz" and empty == ""
    assert home == "/root", "HOME is set from /etc/passwd when the config lacks it (runc)"
    assert path.startswith("/usr/local/sbin")


def test_home_from_passwd_for_user(rtenv):
    def edit(c):
        c["process"]["user"] = {"uid": 65534, "gid": 65534}
    r = rtenv.run_sh('echo "$HOME"', edit)
    assert r.stdout.strip() == "/", "HOME from /etc/passwd for uid 65534 (runc)"


def test_home_kept_when_given(rtenv):
    def edit(c):
        c["process"]["env"].append("HOME=/elsewhere")
    assert rtenv.run_sh('echo "$HOME"', edit).stdout.strip() == "/elsewhere"


def test_env_not_inherited_from_runtime(rtenv):
    b = rtenv.bundle("sh", "-c", "env")
    os.environ["BERTH_LEAK_CHECK"] = "leak"
    try:
        r = rtenv.rt("run", "--bundle", b, rtenv.cid()).ok()
    finally:
        del os.environ["BERTH_LEAK_CHECK"]
    assert "BERTH_LEAK_CHECK" not in r.stdout


def test_cwd(rtenv):
    def edit(c):
        c["process"]["cwd"] = "/tmp"
    r = rtenv.run_sh("pwd", edit)
    assert r.stdout.strip() == "/tmp"


def test_cwd_created_when_missing(rtenv):
    """runc creates a missing cwd (0755) in the rootfs."""
    def edit(c):
        c["process"]["cwd"] = "/work/a/b"
        c["root"]["readonly"] = False
    r = rtenv.run_sh("pwd", edit)
    assert r.stdout.strip() == "/work/a/b"


def test_args_path_lookup_and_absolute(rtenv):
    b = rtenv.bundle("/bin/echo", "abs")
    assert rtenv.rt("run", "--bundle", b, rtenv.cid()).ok().stdout == "abs\n"
    b = rtenv.bundle("echo", "via", "PATH")
    assert rtenv.rt("run", "--bundle", b, rtenv.cid()).ok().stdout == "via PATH\n"


def test_stdin_passed_through(rtenv):
    b = rtenv.bundle("cat")
    r = rtenv.rt("run", "--bundle", b, rtenv.cid(), input="from stdin\n").ok()
    assert r.stdout == "from stdin\n"


# Lists the shell's open fds below 10 (busybox sh keeps its own at 10 and up)
# with the `[` builtin: no fd is opened to look.
OPEN_FDS = ('r=""; for i in 0 1 2 3 4 5 6 7 8 9; do [ -e /proc/self/fd/$i ] && r="$r $i"; '
            'done; echo $r')


def test_preserve_fds(rtenv):
    r_fd, w_fd = os.pipe()
    os.write(w_fd, b"through fd 3\n")
    os.close(w_fd)
    try:
        b = rtenv.bundle("sh", "-c", "cat <&3; " + OPEN_FDS + "")
        r = rtenv.rt("run", "--preserve-fds", "1", "--bundle", b, rtenv.cid(),
                     fd3=r_fd).ok()
    finally:
        os.close(r_fd)
    lines = r.stdout.splitlines()
    assert lines[0] == "through fd 3"
    assert lines[1].split() == ["0", "1", "2", "3"]


def test_no_fd_leaks_without_preserve(rtenv):
    r_fd, w_fd = os.pipe()
    try:
        b = rtenv.bundle("sh", "-c", OPEN_FDS)
        r = rtenv.rt("run", "--bundle", b, rtenv.cid(), fd3=r_fd).ok()
    finally:
        os.close(r_fd)
        os.close(w_fd)
    assert r.stdout.split() == ["0", "1", "2"], "fds leaked into the container"


def test_open_fds_probe_sees_fds(rtenv):
    """Calibrates OPEN_FDS: a redirection the shell holds open shows up."""
    r = rtenv.run_sh("exec 7</dev/null; " + OPEN_FDS)
    assert r.stdout.split() == ["0", "1", "2", "7"]
