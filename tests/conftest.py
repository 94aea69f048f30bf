"""Shared fixtures: paths to the built binaries and helpers for running them."""
import collections
import fcntl
import functools
import os
import pathlib
import re
import shutil
import subprocess
import tempfile
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
RELEASE = ROOT / "build" / "release"
ASAN = ROOT / "build" / "asan"
# Integration tests run the sanitizer build unless BERTH_BUILD=release.
BUILD = ROOT / "build" / os.environ.get("BERTH_BUILD", "asan")


def binary(name):
    p = BUILD / "bin" / name
    if not p.exists():
        pytest.fail(f"{p} is not built: run make test")
    return p


def run(cmd, check=True, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 60)
    r = subprocess.run([str(c) for c in cmd], **kw)
    if check and r.returncode != 0:
        raise AssertionError(f"{cmd} exited {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}")
    return r


def run_in_script(line, timeout=60, env=None, cwd=None):
    """Run a shell command line on a fresh pty with script(1), as a person at a
    terminal would: stdin stays open (not at EOF) until the command ends, so
    `-it` clients do not see end-of-input and detach early (CI has no stdin).
    Output goes to temporary files, so nothing can block on a full pipe."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        p = subprocess.Popen(["script", "-qec", line, "/dev/null"], stdin=subprocess.PIPE,
                             stdout=out, stderr=err, text=True, env=env, cwd=cwd)
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            raise
        finally:
            p.stdin.close()
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(p.args, p.returncode, out.read(), err.read())


# 100 MiB of anonymous memory for a container's memory-limit test (busybox tail
# keeps the last 10 lines, and 100 MiB of zeros is one line). The pipeline runs
# in a subshell that makes itself the OOM killer's first choice: after tail is
# killed, head's next pipe write can charge the cgroup before tail's memory is
# uncharged, and that second kill took the container's pid 1 about 1 run in 20.
# The subshell exits 137 when tail (or the subshell) is OOM-killed.
OOM_ALLOC_100M = "(echo 1000 > /proc/self/oom_score_adj && head -c 100m /dev/zero | tail >/dev/null)"


# ---- what this host offers -------------------------------------------------
# Each capability is probed once per session. A probe returns None when the
# host has it, else the reason a test that needs it skips: the summary at the
# end groups skips by these reasons, so they name the missing feature.

CGROUP = pathlib.Path("/sys/fs/cgroup")
KVM_GET_API_VERSION = 0xAE00


@functools.cache
def missing_root():
    return None if os.geteuid() == 0 else "needs root"


@functools.cache
def missing_tool(tool, package):
    return None if shutil.which(tool) else f"needs {tool} (apt-get install {package})"


@functools.cache
def missing_kvm():
    """A KVM device this process can open and that answers the stable API."""
    if not os.path.exists("/dev/kvm"):
        return "VMM: needs /dev/kvm (this host has none)"
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError as e:
        return f"VMM: needs /dev/kvm read/write ({e.strerror})"
    try:
        if fcntl.ioctl(fd, KVM_GET_API_VERSION) != 12:
            return "VMM: /dev/kvm does not speak KVM API 12"
    except OSError as e:
        return f"VMM: /dev/kvm answers no KVM_GET_API_VERSION ({e.strerror})"
    finally:
        os.close(fd)
    return None


KVM_PROBE_LOOPS = 1_000_000  # iterations of a 2-instruction loop in the probe guest
KVM_MIN_RATE = 50e6          # guest instructions per second below which KVM is emulating


def _vm_run_seconds(berth, kernel, loops):
    t = time.monotonic()
    r = subprocess.run([str(berth), "vm", "run", "--kernel", str(kernel), "--memory", "16M",
                        "--cmdline", f"mode=loop loops={loops}"],
                       capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, f"the KVM speed probe guest failed: {r.stderr}"
    return time.monotonic() - t


@functools.cache
def missing_native_kvm():
    """A KVM that runs guest code natively. Some hosts expose a nested KVM that
    emulates guest instructions (1-2 million per second) and refuses ones stock
    Linux executes early (cmpxchg16b, xrstor, int3): measured with our own
    probe guest, a timed loop minus an empty run."""
    if missing_kvm():
        return missing_kvm()
    berth = RELEASE / "bin" / "berth"
    assert berth.exists(), f"{berth} is not built: run make test"
    with tempfile.TemporaryDirectory(prefix="berth-kvm-probe-") as d:
        r = subprocess.run(["sh", str(ROOT / "tests" / "guests" / "build.sh"), d],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
        guest = pathlib.Path(d) / "guest_status.elf"
        base = min(_vm_run_seconds(berth, guest, 0) for _ in range(2))
        loop = min(_vm_run_seconds(berth, guest, KVM_PROBE_LOOPS) for _ in range(2))
    rate = 2 * KVM_PROBE_LOOPS / max(loop - base, 1e-4)
    if rate < KVM_MIN_RATE:
        return (f"VMM: /dev/kvm here is an emulating nested KVM (guest code at "
                f"{rate / 1e6:.1f}M instructions/s): stock Linux stops on cmpxchg16b/xrstor/int3")
    return None


@functools.cache
def cgroup_mode():
    """'v1', 'v2', 'hybrid', or None (no cgroups mounted)."""
    types = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            pre, sep, post = line.partition(" - ")
            if sep:
                types[pre.split()[4]] = post.split()[0]
    top = types.get(str(CGROUP))
    if top == "cgroup2":
        return "v2"
    if top is None and not any(t == "cgroup" for t in types.values()):
        return None
    return "hybrid" if types.get(str(CGROUP / "unified")) == "cgroup2" else "v1"


@functools.cache
def missing_cgroup_v1(controller):
    if cgroup_mode() not in ("v1", "hybrid"):
        return f"reads cgroup v1 files: cgroup mode is {cgroup_mode()}"
    if not (CGROUP / controller).is_dir():
        return f"reads cgroup v1 files: no v1 {controller} hierarchy"
    return None


def _unshare_ok(*flags):
    try:
        r = subprocess.run(["unshare", *flags, "true"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return str(e)
    return None if r.returncode == 0 else (r.stderr.strip().splitlines() or ["failed"])[-1]


@functools.cache
def missing_userns():
    err = _unshare_ok("--user", "--map-root-user")
    return None if err is None else f"needs user namespaces ({err})"


@functools.cache
def missing_netns():
    if missing_root():
        return "needs root to make network namespaces"
    err = _unshare_ok("--net")
    return None if err is None else f"needs network namespaces ({err})"


@functools.cache
def missing_timens():
    return None if os.path.exists("/proc/self/ns/time") else "needs time namespaces (kernel 5.6+)"


@functools.cache
def missing_libfuzzer():
    """clang that links -fsanitize=fuzzer,address,undefined (the fuzz harnesses)."""
    if not shutil.which("clang"):
        return "fuzzing: needs clang (apt-get install clang libclang-rt-14-dev)"
    with tempfile.TemporaryDirectory() as d:
        src = pathlib.Path(d) / "probe.c"
        src.write_text("#include <stddef.h>\n#include <stdint.h>\n"
                       "int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)"
                       " { (void)d; (void)n; return 0; }\n")
        r = subprocess.run(["clang", "-fsanitize=fuzzer,address,undefined", "-o",
                            str(pathlib.Path(d) / "probe"), str(src)], capture_output=True,
                           text=True)
    if r.returncode != 0:
        return "fuzzing: clang cannot link libFuzzer (apt-get install libclang-rt-14-dev)"
    return None


def requires(*probes):
    """Marker: skip unless every probe answered None (the first reason wins)."""
    reasons = [p for p in probes if p]
    return pytest.mark.skipif(bool(reasons), reason=reasons[0] if reasons else "")


def need(*probes):
    """In a test or fixture: skip with the first missing capability's reason."""
    for p in probes:
        if p:
            pytest.skip(p)


# ---- the skip summary ------------------------------------------------------
# Unit-test binaries print "skip: REASON" for a case the host cannot run;
# tests/test_unit.py records them here so that the summary shows them too.
UNIT_SKIPS = []
SKIP_LINE = re.compile(r"^skip(?:ped)?\b:?\s*(.+)$")


def record_unit_skips(test, output):
    for line in output.splitlines():
        m = SKIP_LINE.match(line.strip())
        if m:
            UNIT_SKIPS.append((test, m.group(1)))


def pytest_terminal_summary(terminalreporter):
    groups = collections.defaultdict(list)
    for rep in terminalreporter.stats.get("skipped", []):
        reason = rep.longrepr[2] if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
        groups[reason.removeprefix("Skipped: ")].append(rep.nodeid.split("::")[0])
    for test, reason in UNIT_SKIPS:
        groups[reason].append(f"{test} (a case inside)")
    if not groups:
        return
    tr = terminalreporter
    tr.write_sep("-", "skipped, by reason")
    for reason, where in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        files = sorted(set(where))
        shown = ", ".join(pathlib.PurePath(f).name for f in files[:3])
        more = f" and {len(files) - 3} more" if len(files) > 3 else ""
        n = len(where)
        tr.write_line(f"{n:4} {'test' if n == 1 else 'tests'}: {reason}  [{shown}{more}]")


# ---- what a test leaves on the host ----------------------------------------
# Every berth network a test makes lives on the host (a bridge berthN, the
# network's nftables elements). A test that ends with a berth bridge that was
# not there before it started left one behind: its module fails with the
# bridge's name, so the culprit is found where it is (not in a later test).
def _berth_bridges():
    try:
        return {p.name for p in pathlib.Path("/sys/class/net").iterdir()
                if p.name.startswith("berth") and (p / "bridge").exists()}
    except OSError:
        return set()


_BRIDGES_BEFORE = {}


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    # before the module's first fixture is made
    _BRIDGES_BEFORE.setdefault(str(item.path), _berth_bridges())


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item, nextitem):
    # after the module's last test and its module-scoped fixtures (a
    # module-scoped store keeps its networks until then)
    if nextitem is not None and nextitem.path == item.path:
        return
    left = sorted(_berth_bridges() - _BRIDGES_BEFORE.pop(str(item.path), set()))
    if left:
        raise AssertionError(f"{item.path.name} left berth bridges behind: {', '.join(left)}")
