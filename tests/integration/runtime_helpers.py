"""Shared helpers for berth-runtime's integration tests (tests/integration/test_runtime_*.py).

Each test gets an `env` (fixture `rtenv`): a private temporary directory holding a
--root state dir and any bundles the test makes, an `rt(*args)` runner for the
runtime (ASan build unless BERTH_BUILD=release), and a host-cleanliness check run
after the test:
  - no container state dir left in the test's --root,
  - no process left from the test (every process whose environment carries the
    test's marker, which the runtime calls and the containers' configs carry, and
    every pid the test registered with env.track()),
  - no mount in the host's /proc/self/mountinfo naming the test's temp dir,
  - no cgroup directory named after one of the test's container ids.
Leftovers are cleaned up (killed, deleted, unmounted) and then fail the test.

Import the fixture into a test module with `from runtime_helpers import rtenv`.
"""
import contextlib
import glob
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import conftest  # noqa: E402

ROOT = conftest.ROOT
MAKE_BUNDLE = ROOT / "scripts" / "make-bundle.sh"
MARK_VAR = "BERTH_RT_TEST_MARK"
SANITIZER_WORDS = ("AddressSanitizer", "LeakSanitizer", "runtime error:",
                   "UndefinedBehaviorSanitizer")

# Capability numbers (linux/capability.h), for computing expected masks.
CAPS = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
    "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
    "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
]


def cap_mask(names):
    m = 0
    for n in names:
        m |= 1 << CAPS.index(n)
    return m


def runtime_binary():
    return conftest.binary("berth-runtime")


def need_root():
    conftest.need(conftest.missing_root(), conftest.missing_tool("busybox", "busybox-static"))


class Result:
    """What one runtime call did: returncode, stdout, stderr (text)."""

    def __init__(self, args, returncode, stdout, stderr):
        self.args, self.returncode, self.stdout, self.stderr = args, returncode, stdout, stderr

    def __repr__(self):
        return (f"<{' '.join(map(str, self.args))}: exit {self.returncode}\n"
                f"stdout: {self.stdout!r}\nstderr: {self.stderr!r}>")

    def ok(self):
        assert self.returncode == 0, repr(self)
        return self

    def err_lines(self):
        """stderr lines that are not sanitizer noise."""
        return [ln for ln in self.stderr.splitlines() if ln.strip()]


class Env:
    def __init__(self):
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix="berth-rt-", dir="/tmp"))
        # user-namespaced containers (host uid 100000) must be able to walk here
        os.chmod(self.tmp, 0o755)
        self.root = self.tmp / "state"
        self.mark = self.tmp.name
        self.pids = []   # (pid, starttime) registered by tests
        self.cleanups = []  # callables run at teardown (netns, ...)
        self._n = 0
        self.ids = []
        self.sanitizer = []  # ASan/UBSan reports seen in any runtime call

    # ---- ids, files ----
    def cid(self, prefix="c"):
        self._n += 1
        cid = f"{prefix}{self._n}-{uuid.uuid4().hex[:8]}"
        self.ids.append(cid)
        return cid

    def path(self, name):
        return self.tmp / name

    def hostdir(self, name="host", mode=0o777):
        d = self.tmp / name
        d.mkdir(parents=True, exist_ok=True)
        os.chmod(d, mode)
        return d

    # ---- bundles and config ----
    def bundle(self, *args, name=None):
        """A busybox bundle running args (make-bundle.sh), its process env marked."""
        name = name or f"bundle{self._n}-{uuid.uuid4().hex[:4]}"
        self._n += 1
        b = self.tmp / name
        env = dict(os.environ, BERTH_RUNTIME=str(conftest.RELEASE / "bin" / "berth-runtime"))
        if not (conftest.RELEASE / "bin" / "berth-runtime").exists():
            env["BERTH_RUNTIME"] = str(runtime_binary())
        r = subprocess.run(["bash", str(MAKE_BUNDLE), str(b), *args], env=env,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        with self.config(b) as c:
            c["process"]["env"].append(f"{MARK_VAR}={self.mark}")
        return b

    @staticmethod
    def load(bundle):
        return json.loads((pathlib.Path(bundle) / "config.json").read_text())

    @staticmethod
    def save(bundle, cfg):
        (pathlib.Path(bundle) / "config.json").write_text(json.dumps(cfg, indent=2))

    @contextlib.contextmanager
    def config(self, bundle):
        """with env.config(b) as c: c["hostname"] = "x"  -- edits config.json."""
        c = self.load(bundle)
        yield c
        self.save(bundle, c)

    def edit(self, bundle, fn):
        c = self.load(bundle)
        fn(c)
        self.save(bundle, c)

    # ---- running the runtime ----
    def rt_cmd(self, *args, root=True):
        cmd = [str(runtime_binary())]
        if root:
            cmd += ["--root", str(self.root)]
        return cmd + [str(a) for a in args]

    def rt(self, *args, root=True, timeout=60, input=None, stdout_path=None, pass_fds=(),
           stdin=None, fd3=None):
        """Runs berth-runtime [--root ROOT] ARGS. Output goes through files, not
        pipes, so a container that inherits them (create, run --detach) cannot
        keep us waiting. stdout_path keeps stdout in a given file. fd3: an fd of
        ours that the runtime gets as its fd 3 (and no other extra fd)."""
        self._n += 1
        out_p = pathlib.Path(stdout_path) if stdout_path else self.tmp / f"rt{self._n}.out"
        err_p = self.tmp / f"rt{self._n}.err"
        env = dict(os.environ, **{MARK_VAR: self.mark})
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        cmd = self.rt_cmd(*args, root=root)
        if fd3 is not None:
            cmd = ["bash", "-c", 'eval "exec 3<&$1 $1<&-"; shift; exec "$@"', "sh",
                   str(fd3), *cmd]
            pass_fds = tuple(pass_fds) + (fd3,)
        with open(out_p, "w") as out, open(err_p, "w") as err:
            if input is not None:
                stdin_arg = subprocess.PIPE
            else:
                stdin_arg = stdin if stdin is not None else subprocess.DEVNULL
            p = subprocess.Popen(cmd, stdin=stdin_arg, stdout=out, stderr=err, env=env,
                                 pass_fds=pass_fds, text=True)
            try:
                p.communicate(input=input, timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                raise AssertionError(f"{cmd} timed out after {timeout}s: "
                                     f"{err_p.read_text()}")
        res = Result(cmd, p.returncode, out_p.read_text(), err_p.read_text())
        if any(w in res.stderr for w in SANITIZER_WORDS):
            self.sanitizer.append(f"{' '.join(cmd)}:\n{res.stderr}")
        return res

    def run_sh(self, script, edit=None, check=True, bundle=None):
        """Runs `sh -c script` in a fresh busybox container (edit(cfg) first);
        returns the Result of `run` (checked for exit 0 unless check=False)."""
        b = bundle or self.bundle("sh", "-c", script)
        if bundle:
            with self.config(b) as c:
                c["process"]["args"] = ["sh", "-c", script]
        if edit:
            self.edit(b, edit)
        r = self.rt("run", "--bundle", b, self.cid())
        if check:
            r.ok()
        return r

    def state(self, cid):
        r = self.rt("state", cid)
        r.ok()
        return json.loads(r.stdout)

    def status(self, cid):
        return self.state(cid)["status"]

    def wait_status(self, cid, want, timeout=15):
        deadline = time.monotonic() + timeout
        st = None
        while time.monotonic() < deadline:
            st = self.status(cid)
            if st == want:
                return
            time.sleep(0.05)
        raise AssertionError(f"container {cid} status {st}, wanted {want}")

    # ---- process tracking ----
    def track(self, pid):
        pid = int(pid)
        st = pid_start(pid)
        if st is not None:
            self.pids.append((pid, st))

    def marked_pids(self):
        """Pids (other than ours) whose environment carries this test's marker."""
        want = f"{MARK_VAR}={self.mark}".encode()
        me = os.getpid()
        out = []
        for d in os.listdir("/proc"):
            if not d.isdigit() or int(d) == me:
                continue
            try:
                with open(f"/proc/{d}/environ", "rb") as f:
                    if want in f.read().split(b"\0"):
                        out.append(int(d))
            except OSError:
                pass
        return out

    def leftover_pids(self):
        left = set(self.marked_pids())
        for pid, st in self.pids:
            if pid_start(pid) == st and not is_zombie(pid):
                left.add(pid)
        return sorted(left)

    def leftover_mounts(self):
        with open("/proc/self/mountinfo") as f:
            return [ln.strip() for ln in f if str(self.tmp) in ln]

    def leftover_cgroups(self):
        out = []
        for cid in self.ids:
            for depth in ("*", "*/*", "*/*/*"):
                out += glob.glob(f"/sys/fs/cgroup/{depth}/{cid}")
        return sorted(set(out))

    def leftover_state(self):
        """What the state root holds. `run` renames a finished container's
        state directory to .gone.PID and its holder process deletes it right
        after (runtime/wait.c): that is polled for briefly, then counts."""
        if not self.root.exists():
            return []
        deadline = time.monotonic() + 5
        while any(n.startswith(".gone.") for n in os.listdir(self.root)) and \
                time.monotonic() < deadline:
            time.sleep(0.02)
        return sorted(os.listdir(self.root))

    # ---- teardown ----
    def teardown(self):
        """Returns a list of problems found; cleans them up either way."""
        problems = [f"sanitizer report: {s}" for s in self.sanitizer]
        for fn in reversed(self.cleanups):
            try:
                fn()
            except Exception as ex:  # noqa: BLE001
                problems.append(f"cleanup {fn}: {ex}")
        # processes may take a moment to go after their container was deleted
        deadline = time.monotonic() + 5
        while self.leftover_pids() and time.monotonic() < deadline:
            time.sleep(0.05)
        state = self.leftover_state()
        pids = self.leftover_pids()
        mounts = self.leftover_mounts()
        if state:
            problems.append(f"state dirs left in {self.root}: {state}")
        if pids:
            problems.append("processes left: " + "; ".join(
                f"{p} {cmdline(p)!r}" for p in pids))
        if mounts:
            problems.append(f"mounts left: {mounts}")
        cgroups = self.leftover_cgroups()
        if cgroups:
            problems.append(f"cgroups left: {cgroups}")
        # clean up
        for cid in state:
            self.rt("delete", "--force", cid, timeout=30)
        for p in self.leftover_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, signal.SIGKILL)
        for ln in reversed(self.leftover_mounts()):
            mp = ln.split()[4]
            subprocess.run(["umount", "-l", mp], capture_output=True)
        for cg in sorted(self.leftover_cgroups(), key=len, reverse=True):
            with contextlib.suppress(OSError):
                os.rmdir(cg)
        shutil.rmtree(self.tmp, ignore_errors=True)
        if self.tmp.exists():
            subprocess.run(["rm", "-rf", str(self.tmp)], capture_output=True)
        return problems


def pid_start(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except OSError:
        return None
    return int(s[s.rindex(")") + 2:].split()[19])


def is_zombie(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except OSError:
        return True
    return s[s.rindex(")") + 2] in "ZX"


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


@pytest.fixture
def rtenv():
    need_root()
    env = Env()
    yield env
    problems = env.teardown()
    if problems:
        pytest.fail("host not clean after test:\n" + "\n".join(problems))


def inode_of_ns(path):
    return os.stat(path).st_ino


def one_error_line(r, *words):
    """The call failed with exactly one line on stderr containing every word."""
    assert r.returncode != 0, repr(r)
    lines = r.err_lines()
    assert len(lines) == 1, f"expected one stderr line: {r!r}"
    if os.environ.get("BERTH_SHOW_ERRORS"):
        print(f"\nERRLINE {lines[0]}")
    low = lines[0].lower()
    for w in words:
        assert w.lower() in low, f"{w!r} not in {lines[0]!r}"
    return lines[0]


def mountinfo_line(text, mountpoint):
    """The last /proc/self/mountinfo line in text for a mount point."""
    found = None
    for ln in text.splitlines():
        f = ln.split()
        if len(f) > 4 and f[4] == mountpoint:
            found = f
    return found


def mount_opts(fields):
    """(per-mount options, super options) sets of a split mountinfo line."""
    sep = fields.index("-")
    return set(fields[5].split(",")), set(fields[sep + 3].split(","))


def mounts_under(path):
    """Mount points under path in this mount namespace (the host-clean checks)."""
    with open("/proc/self/mountinfo") as f:
        return [ln.split()[4] for ln in f if ln.split()[4].startswith(str(path))]


def pids_mentioning(text):
    """Pids (not this one) whose command line contains text."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit() and int(d) != os.getpid():
            try:
                with open(f"/proc/{d}/cmdline", "rb") as f:
                    if text.encode() in f.read():
                        out.append(int(d))
            except OSError:
                pass
    return out
