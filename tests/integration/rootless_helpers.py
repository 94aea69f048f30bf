"""Rootless berth as a real unprivileged account (issue #14): an account made by the
test (with subuid/subgid ranges, or without), berth run as that account with a clean
environment, and the check that removing the account leaves nothing of it behind
(processes, its pause process, files in /tmp, /var/tmp and /dev/shm, mounts, cgroups).

Usage:
    with Account(ranges=True) as acct:
        u = acct.user()              # the account's side
        u.berth("import", tar, "localhost/busybox")
        u.berth("run", "--rm", "localhost/busybox", "true")
    # leaving the block kills the account's processes, removes it and asserts that
    # nothing of it is left (acct.leftovers() is what the assert looked at)

The binaries are copied where the account can run them (the checkout may lie under a
home it cannot enter); the account's HOME is its own, XDG_RUNTIME_DIR is
/run/user/UID (made here, 0700, as logind makes it) unless xdg=False."""
import contextlib
import os
import pathlib
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid

from conftest import BUILD, missing_root, missing_tool, missing_userns, need

SUBID_FILES = ("/etc/subuid", "/etc/subgid")
SUBID_COUNT = 65536
BINARIES = ("berth", "berth-monitor", "berth-xfer", "berth-init", "berth-runtime")


def lines(p):
    try:
        return pathlib.Path(p).read_text().splitlines()
    except FileNotFoundError:
        return []


@contextlib.contextmanager
def tun_for_accounts(tun="/dev/net/tun"):
    """pasta and slirp4netns open /dev/net/tun as the account: 0666 as udev sets it (a
    host without udev may have 0600) for the block, the old mode restored after; skips
    where there is no tun device."""
    import pytest
    import stat
    if not os.path.exists(tun):
        pytest.skip(f"needs {tun} (the tun module)")
    mode = stat.S_IMODE(os.stat(tun).st_mode)
    if mode & 0o006 != 0o006:
        os.chmod(tun, 0o666)
    try:
        yield
    finally:
        if mode & 0o006 != 0o006:
            os.chmod(tun, mode)


def need_rootless():
    """Skip unless the host can run the rootless engine tests."""
    need(missing_root(), missing_userns(), missing_tool("useradd", "passwd"),
         missing_tool("newuidmap", "uidmap"), missing_tool("runuser", "util-linux"))


def _free_subid_start(path):
    ends = [int(ln.split(":")[1]) + int(ln.split(":")[2]) for ln in lines(path)
            if ln.count(":") == 2 and ln.split(":")[1].isdigit() and ln.split(":")[2].isdigit()]
    return max([1_000_000] + ends)


class Bins:
    """A copy of the build's binaries in a directory every account can read."""

    def __init__(self):
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="berth-rl-bin-", dir="/tmp"))
        os.chmod(self.dir, 0o755)
        for name in BINARIES:
            src = BUILD / "bin" / name
            if src.exists():
                shutil.copy2(src, self.dir / name)
                os.chmod(self.dir / name, 0o755)

    def __getitem__(self, name):
        return self.dir / name

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class Account:
    """A fresh account `brlXXXXXX`; with ranges=True its subuid/subgid lines."""

    def __init__(self, ranges=True, xdg=True):
        need_rootless()
        self.name = "brl" + uuid.uuid4().hex[:8]
        self.ranges, self.xdg = ranges, xdg
        self.added = {}
        self.bins = None
        self.pw = None

    # -- lifetime ------------------------------------------------------------
    def __enter__(self):
        # uids from 20000: not an image's own users (the test images have app:1000,
        # which the first account of a fresh machine would otherwise be)
        subprocess.run(["useradd", "-m", "-s", "/bin/sh", "-K", "UID_MIN=20000",
                        "-K", "GID_MIN=20000", self.name], check=True, capture_output=True)
        self.pw = pwd.getpwnam(self.name)
        # useradd may have given it ranges itself (SUB_UID_COUNT in login.defs): the
        # test decides
        self._strip_subids()
        if self.ranges:
            for f in SUBID_FILES:
                line = f"{self.name}:{_free_subid_start(f)}:{SUBID_COUNT}"
                with open(f, "a") as fh:
                    fh.write(line + "\n")
                self.added[f] = line
        self.run_dir = pathlib.Path(f"/run/user/{self.pw.pw_uid}")
        if self.xdg:
            self.run_dir.parent.mkdir(exist_ok=True)
            self.run_dir.mkdir(mode=0o700)
            os.chown(self.run_dir, self.pw.pw_uid, self.pw.pw_gid)
        self.bins = Bins()
        return self

    def __exit__(self, *exc):
        left = self.remove()
        if exc[0] is None:
            assert not left, f"the account {self.name} left: {left}"
        return False

    @property
    def uid(self):
        return self.pw.pw_uid

    def subid_range(self, f="/etc/subuid"):
        """(start, count) of the account's range in f, or None."""
        line = self.added.get(f)
        if not line:
            return None
        _, start, count = line.split(":")
        return int(start), int(count)

    def owned_ids(self):
        """Every host uid that is this account's: its own and its subordinate range."""
        ids = {self.uid}
        r = self.subid_range()
        return ids, r

    def _is_ours(self, uid):
        r = self.subid_range()
        return uid == self.uid or (r is not None and r[0] <= uid < r[0] + r[1])

    def pids(self):
        """Processes running as the account or as one of its subordinate uids."""
        out = []
        for d in pathlib.Path("/proc").iterdir():
            if not d.name.isdigit():
                continue
            try:
                st = d.stat()
            except FileNotFoundError:
                continue
            if self._is_ours(st.st_uid):
                out.append(int(d.name))
        return out

    def kill_all(self, timeout=10.0):
        end = time.monotonic() + timeout
        while True:
            pids = self.pids()
            if not pids:
                return
            for p in pids:
                try:
                    os.kill(p, 9)
                except ProcessLookupError:
                    pass
            if time.monotonic() > end:
                return
            time.sleep(0.05)

    def leftovers(self):
        """What of the account is still on the host (after remove())."""
        left = [f"process {p}" for p in self.pids()]
        for top in ("/tmp", "/var/tmp", "/dev/shm"):
            for p in pathlib.Path(top).iterdir():
                try:
                    if self._is_ours(p.lstat().st_uid):
                        left.append(str(p))
                except FileNotFoundError:
                    pass
        home = self.pw.pw_dir
        for ln in lines("/proc/self/mountinfo"):
            if f" {home}/" in ln or f" /run/user/{self.uid}" in ln:
                left.append("mount " + ln.split()[4])
        if pathlib.Path(home).exists():
            left.append(home)
        if self.run_dir.exists():
            left.append(str(self.run_dir))
        for f, line in self.added.items():
            if line in lines(f):
                left.append(f"{f}: {line}")
        try:
            pwd.getpwnam(self.name)
            left.append(f"account {self.name}")
        except KeyError:
            pass
        return left

    def remove(self):
        """Kill the account's processes (its pause process and containers too), remove
        its files, ranges and the account; return leftovers()."""
        self.kill_all()
        # the store holds files of subordinate uids the account cannot remove itself
        for top in ("/tmp", "/var/tmp", "/dev/shm"):
            for p in pathlib.Path(top).iterdir():
                try:
                    ours = self._is_ours(p.lstat().st_uid)
                except FileNotFoundError:
                    continue
                if ours:
                    if p.is_dir() and not p.is_symlink():
                        shutil.rmtree(p, ignore_errors=True)
                    else:
                        p.unlink(missing_ok=True)
        shutil.rmtree(self.run_dir, ignore_errors=True)
        subprocess.run(["userdel", "-r", self.name], capture_output=True)
        shutil.rmtree(self.pw.pw_dir, ignore_errors=True)
        self._strip_subids()
        if self.bins:
            self.bins.remove()
        return self.leftovers()

    def _strip_subids(self):
        for f in SUBID_FILES:
            old = lines(f)
            keep = [ln for ln in old if not ln.startswith(self.name + ":")]
            if keep != old:
                pathlib.Path(f).write_text("".join(ln + "\n" for ln in keep))

    # -- the account's side --------------------------------------------------
    def user(self, cgroups=(), **env):
        return User(self, env, cgroups)


class User:
    """Commands run as the account (runuser, a clean environment)."""

    def __init__(self, acct, env, cgroups=()):
        self.acct = acct
        self.extra = env
        self.cgroups = list(cgroups)  # cgroup.procs files each command first joins (as root)

    def env(self):
        e = {"HOME": self.acct.pw.pw_dir, "USER": self.acct.name, "LOGNAME": self.acct.name,
             "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
             # ASan: a forked monitor-to-be exits through _exit; leaks there are not ours
             "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "detect_leaks=0")}
        if self.acct.xdg:
            e["XDG_RUNTIME_DIR"] = str(self.acct.run_dir)
        e.update(self.extra)
        return e

    def argv(self, *cmd):
        env = [f"{k}={v}" for k, v in self.env().items()]
        join = []
        if self.cgroups:
            join = ["sh", "-c", 'for f in "$@"; do [ "$f" = -- ] && break; '
                    'echo $$ >"$f" || exit 125; shift; done; shift; exec "$@"',
                    "join", *map(str, self.cgroups), "--"]
        return [*join, "runuser", "-u", self.acct.name, "--", "env", "-i", *env, *map(str, cmd)]

    def run(self, *cmd, check=True, timeout=60, input=None, cwd=None):
        """Output through files: a detached container keeps copies of stdio open."""
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            r = subprocess.run(self.argv(*cmd), stdout=out, stderr=err, text=True,
                               input=input, stdin=None if input is not None else
                               subprocess.DEVNULL, timeout=timeout,
                               cwd=cwd or "/tmp")
            out.seek(0)
            err.seek(0)
            r.stdout, r.stderr = out.read(), err.read()
        if check and r.returncode != 0:
            raise AssertionError(f"{cmd} as {self.acct.name} exited {r.returncode}\n"
                                 f"stdout: {r.stdout}\nstderr: {r.stderr}")
        return r

    def berth(self, *args, **kw):
        return self.run(self.acct.bins["berth"], *args, **kw)

    @property
    def store(self):
        return pathlib.Path(self.acct.pw.pw_dir) / ".local/share/berth"

    def pause_pid(self):
        run_root = (self.acct.run_dir / "berth" if self.acct.xdg
                    else pathlib.Path(f"/tmp/berth-run-{self.acct.uid}"))
        try:
            return int((run_root / "pause.pid").read_text().split()[0])
        except (FileNotFoundError, ValueError, IndexError):
            return None


def busybox_tar(dirpath, extra=None):
    """A busybox rootfs tar readable by every account, with /www owned by 33:33 (a
    file an image gives to another uid). extra(rootfs) may add more."""
    from engine_helpers import busybox_rootfs
    d = pathlib.Path(dirpath)
    rootfs = busybox_rootfs(d / "rootfs")
    (rootfs / "www").mkdir()
    (rootfs / "www/index.html").write_text("hello\n")
    os.chown(rootfs / "www", 33, 33)
    os.chown(rootfs / "www/index.html", 33, 33)
    if extra:
        extra(rootfs)
    tar = d / "busybox.tar"
    subprocess.run(["tar", "-C", str(rootfs), "--numeric-owner", "-cf", str(tar), "."],
                   check=True)
    shutil.rmtree(rootfs)
    os.chmod(d, 0o755)
    os.chmod(tar, 0o644)
    return tar
