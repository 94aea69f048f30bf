"""`berth vm run` end to end with the freestanding guests of tests/guests/:
boot protocol (bzImage and ELF64), serial, exit status, crashes, reset, SMP,
Ctrl-C, console input, unknown ports, hardening. Each VM test runs against
both the ASan and the release build."""
import os
import pathlib
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import ROOT, missing_kvm, requires

pytestmark = requires(missing_kvm())

BUILDS = ["asan", "release"]
FORMATS = ["bzImage", "elf"]


@pytest.fixture(scope="module")
def guests():
    """Build the guests once into a private directory."""
    with tempfile.TemporaryDirectory(prefix="berth-core-guests-") as d:
        r = subprocess.run(["sh", str(ROOT / "tests" / "guests" / "build.sh"), d],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
        yield pathlib.Path(d)


def berth(build):
    p = ROOT / "build" / build / "bin" / "berth"
    if not p.exists():
        pytest.fail(f"{p} is not built: run make test")
    return p


def vm_cmd(build, kernel, *args, cmdline=None, memory="64M"):
    cmd = [str(berth(build)), "vm", "run", "--kernel", str(kernel), "--memory", memory, *args]
    if cmdline is not None:
        cmd += ["--cmdline", cmdline]
    return cmd


def vm_run(build, kernel, *args, cmdline=None, memory="64M", timeout=120, **kw):
    kw.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.run(vm_cmd(build, kernel, *args, cmdline=cmdline, memory=memory),
                          capture_output=True, text=True, timeout=timeout, **kw)


def out(r):
    return f"exit {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"


def initrd_bytes(n):
    return bytes((i * 7 + 3) & 0xFF for i in range(n))


@pytest.mark.parametrize("build", BUILDS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_serial_output(guests, build, fmt):
    r = vm_run(build, guests / f"guest_serial.{fmt}")
    assert r.returncode == 0, out(r)
    assert r.stdout == ("guest_serial: hello from a berth guest\n"
                        "line 1 of 3\nline 2 of 3\nline 3 of 3\n"
                        "guest_serial: done\n"), out(r)
    assert r.stderr == "", out(r)


@pytest.mark.parametrize("build", BUILDS)
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("mem_mib,initrd_size",
                         [(64, 10000), (37, 4096), (200, 1), (64, 0), (3328, 5000)])
def test_boot_params(guests, tmp_path, build, fmt, mem_mib, initrd_size):
    args = []
    if initrd_size:
        p = tmp_path / "initrd"
        p.write_bytes(initrd_bytes(initrd_size))
        args = ["--initrd", str(p)]
    cl = f"mem_mib={mem_mib} initrd_size={initrd_size} tag=hello-berth"
    r = vm_run(build, guests / f"guest_boot.{fmt}", *args, cmdline=cl, memory=f"{mem_mib}M")
    assert r.returncode == 0, out(r)
    assert "guest_boot: PASS" in r.stdout, out(r)
    # the command line arrives verbatim (devices append theirs after it)
    assert f"guest_boot: cmdline: {cl}" in r.stdout, out(r)


def test_boot_params_check_can_fail(guests, tmp_path):
    """The guest really checks: a wrong expectation makes it fail."""
    r = vm_run("release", guests / "guest_boot.bzImage", cmdline="mem_mib=32 initrd_size=0")
    assert r.returncode == 21, out(r)
    assert "FAIL e820 RAM at 1 MiB has size" in r.stdout, out(r)
    p = tmp_path / "initrd"
    p.write_bytes(initrd_bytes(100)[:-1] + b"\0")
    r = vm_run("release", guests / "guest_boot.bzImage", "--initrd", str(p),
               cmdline="mem_mib=64 initrd_size=100")
    assert r.returncode == 34, out(r)


@pytest.mark.parametrize("build", BUILDS)
@pytest.mark.parametrize("cl,status", [("exit=42", 42), ("exit=0", 0), ("exit=255", 255),
                                       ("exit=300", 255), ("exit8=7", 7)])
def test_exit_port_status(guests, build, cl, status):
    r = vm_run(build, guests / "guest_status.bzImage", cmdline=cl)
    assert r.returncode == status, out(r)
    assert "berth:" not in r.stderr, out(r)


@pytest.mark.parametrize("build", BUILDS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_triple_fault(guests, build, fmt):
    r = vm_run(build, guests / f"guest_status.{fmt}", cmdline="mode=triple")
    assert r.returncode == 1, out(r)
    lines = [l for l in r.stderr.splitlines() if l.startswith("berth:")]
    assert len(lines) == 1, out(r)
    assert lines[0].startswith("berth: vm: guest triple fault (shutdown) at rip 0x"), out(r)


@pytest.mark.parametrize("build", BUILDS)
def test_i8042_reset(guests, build):
    r = vm_run(build, guests / "guest_status.elf", cmdline="mode=reset")
    assert r.returncode == 0, out(r)
    assert "reset did not happen" not in r.stdout, out(r)
    r = subprocess.run([str(berth(build)), "--debug",
                        *vm_cmd(build, guests / "guest_status.elf", cmdline="mode=reset")[1:]],
                       capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, out(r)
    assert "guest reset (i8042)" in r.stderr, out(r)


@pytest.mark.parametrize("build", BUILDS)
@pytest.mark.parametrize("cpus", [1, 2, 4])
def test_smp(guests, build, cpus):
    r = vm_run(build, guests / "guest_smp.bzImage", "--cpus", str(cpus), cmdline=f"cpus={cpus}")
    assert r.returncode == 0, out(r)
    assert f"guest_smp: {cpus} cpus up" in r.stdout, out(r)
    ids = sorted(int(l.split()[4]) for l in r.stdout.splitlines() if "AP apic id" in l)
    assert ids == list(range(1, cpus)), out(r)


def test_smp_mptable_count_checked(guests):
    r = vm_run("release", guests / "guest_smp.bzImage", "--cpus", "2", cmdline="cpus=3")
    assert r.returncode == 14, out(r)


def wait_for(proc, text, timeout=60):
    buf = b""
    deadline = time.monotonic() + timeout
    os.set_blocking(proc.stdout.fileno(), False)
    while time.monotonic() < deadline:
        chunk = proc.stdout.read()
        if chunk:
            buf += chunk
            if text.encode() in buf:
                return buf
        elif proc.poll() is not None:
            break
        time.sleep(0.02)
    raise AssertionError(f"{text!r} not seen; got {buf!r}")


def guest_mapping_flags(pid, size):
    """VmFlags of the guest-RAM mapping (the one exactly `size` bytes long)."""
    cur = None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            head = line.split()
            if "-" in head[0] and len(head) >= 5 and ":" not in head[0]:
                a, b = (int(x, 16) for x in head[0].split("-"))
                cur = b - a
            elif line.startswith("VmFlags:") and cur == size:
                return line.split()[1:]
    return None


@pytest.mark.parametrize("build", BUILDS)
@pytest.mark.parametrize("mode", ["spin", "halt"])
@pytest.mark.parametrize("sig,status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_stops_vm(guests, build, mode, sig, status):
    p = subprocess.Popen(vm_cmd(build, guests / "guest_status.bzImage", "--cpus", "2",
                                cmdline=f"mode={mode}"),
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(p, f"guest_status: {'spinning' if mode == 'spin' else 'halting'}")
        p.send_signal(sig)
        rc = p.wait(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    err = p.stderr.read().decode()
    assert rc == status, err
    assert "berth: vm:" not in err, err  # a clean stop, not a crash


@pytest.mark.parametrize("build", BUILDS)
def test_hardening_while_running(guests, build):
    """Seccomp filter on every thread; guest RAM not executable, not dumped."""
    p = subprocess.Popen(vm_cmd(build, guests / "guest_status.bzImage", "--cpus", "2",
                                cmdline="mode=spin", memory="96M"),
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(p, "guest_status: spinning")
        tasks = os.listdir(f"/proc/{p.pid}/task")
        assert len(tasks) >= 3  # event loop + 2 vCPUs
        for t in tasks:
            st = pathlib.Path(f"/proc/{p.pid}/task/{t}/status").read_text()
            assert "Seccomp:\t2" in st, st
        flags = guest_mapping_flags(p.pid, 96 << 20)
        assert flags is not None, "guest RAM mapping not found"
        assert "dd" in flags and "ex" not in flags and "mg" not in flags, flags
        p.send_signal(signal.SIGINT)
        assert p.wait(timeout=30) == 130
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_no_seccomp_flag(guests):
    p = subprocess.Popen(vm_cmd("release", guests / "guest_status.bzImage", "--no-seccomp",
                                cmdline="mode=spin"),
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(p, "guest_status: spinning")
        st = pathlib.Path(f"/proc/{p.pid}/status").read_text()
        assert "Seccomp:\t0" in st, st
        p.send_signal(signal.SIGINT)
        assert p.wait(timeout=30) == 130
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


@pytest.mark.parametrize("build", BUILDS)
def test_console_input(guests, build):
    r = vm_run(build, guests / "guest_status.elf", "--console", cmdline="mode=echo",
               input="hello berth\n", stdin=None)
    assert "echo: hello berth" in r.stdout, out(r)
    assert r.returncode == len("hello berth"), out(r)


def test_no_console_input_without_flag(guests):
    """Without --console, stdin is not the guest's: it waits, we stop it."""
    p = subprocess.Popen(vm_cmd("release", guests / "guest_status.elf", cmdline="mode=echo"),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        p.stdin.write(b"hello\n")
        p.stdin.flush()
        wait_for(p, "guest_status: ready")
        time.sleep(0.5)
        assert p.poll() is None
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=30) == 143
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


@pytest.mark.parametrize("build", BUILDS)
def test_unknown_ports_read_all_ones(guests, build):
    r = vm_run(build, guests / "guest_status.elf", cmdline="mode=probe")
    assert r.returncode == 0, out(r)
    assert "probe ok" in r.stdout
    assert r.stderr == "", out(r)
    d = subprocess.run([str(berth(build)), "--debug",
                        *vm_cmd(build, guests / "guest_status.elf", cmdline="mode=probe")[1:]],
                       capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert d.returncode == 0, out(d)
    assert "unhandled port read at 0x2f8" in d.stderr, out(d)
    assert "unhandled MMIO read at 0xd0f00000" in d.stderr, out(d)


# ---- loader errors: one clear message, status 125 ---------------------------

def patched(src, dst, patches):
    b = bytearray(src.read_bytes())
    for off, val in patches:
        b[off:off + len(val)] = val
    dst.write_bytes(bytes(b))
    return dst


@pytest.mark.parametrize("case,expect", [
    ("missing", "open kernel"),
    ("garbage", "neither a bzImage"),
    ("old_protocol", "boot protocol 2.02 is too old"),
    ("no_64bit", "XLF_KERNEL_64"),
    ("not_loaded_high", "LOADED_HIGH"),
    ("setup_sects_past_end", "setup_sects"),
    ("elf_outside_ram", "not in guest RAM"),
    ("elf_bad_phdrs", "bad program header table"),
])
def test_kernel_errors(guests, tmp_path, case, expect):
    bz, elf = guests / "guest_serial.bzImage", guests / "guest_serial.elf"
    k = tmp_path / "kernel"
    if case == "missing":
        k = tmp_path / "nope"
    elif case == "garbage":
        k.write_bytes(b"\x7fXYZ" * 300)
    elif case == "old_protocol":
        patched(bz, k, [(0x206, b"\x02\x02")])
    elif case == "no_64bit":
        patched(bz, k, [(0x236, b"\x00\x00")])
    elif case == "not_loaded_high":
        patched(bz, k, [(0x211, b"\x00")])
    elif case == "setup_sects_past_end":
        patched(bz, k, [(0x1F1, b"\xff")])
    elif case == "elf_outside_ram":
        # first program header's p_paddr (offset 64 + 24) -> 1 GiB
        patched(elf, k, [(64 + 24, (1 << 30).to_bytes(8, "little"))])
    elif case == "elf_bad_phdrs":
        patched(elf, k, [(56, (1000).to_bytes(2, "little"))])  # e_phnum
    r = vm_run("asan", k)
    assert r.returncode == 125, out(r)
    assert r.stderr.startswith("berth: vm: "), out(r)
    assert expect in r.stderr, out(r)
    assert len(r.stderr.strip().splitlines()) == 1, out(r)


def test_initrd_too_big(guests, tmp_path):
    p = tmp_path / "initrd"
    with open(p, "wb") as f:
        f.truncate(70 << 20)
    r = vm_run("asan", guests / "guest_serial.bzImage", "--initrd", str(p))
    assert r.returncode == 125, out(r)
    assert "do not fit" in r.stderr, out(r)


@pytest.mark.parametrize("args,expect", [
    (["--memory", "2M"], "between 4 MiB and 3328 MiB"),
    (["--memory", "4G"], "between 4 MiB and 3328 MiB"),
    (["--memory", "12Q"], "bad size"),
    (["--cpus", "0"], "--cpus"),
    (["--cpus", "33"], "--cpus"),
    (["--cmdline", "x" * 3000], "cmdline_size"),
])
def test_config_errors(guests, args, expect):
    cmd = [str(berth("asan")), "vm", "run", "--kernel", str(guests / "guest_serial.bzImage"), *args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode == 125, out(r)
    assert expect in r.stderr, out(r)


def test_usage():
    r = subprocess.run([str(berth("asan")), "vm", "run"], capture_output=True, text=True)
    assert r.returncode == 125
    assert "--kernel is required" in r.stderr
    r = subprocess.run([str(berth("asan")), "vm", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "0x501" in r.stdout


def test_console_tty_raw_and_restored(guests):
    """--console on a terminal: raw input (no line editing, CR passes),
    and the terminal's settings are restored when the VM ends."""
    import pty
    import termios
    master, slave = pty.openpty()
    try:
        before = termios.tcgetattr(slave)
        p = subprocess.Popen(vm_cmd("release", guests / "guest_status.elf", "--console",
                                    cmdline="mode=echo"),
                             stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            wait_for(p, "guest_status: ready")
            during = termios.tcgetattr(slave)
            assert not during[3] & termios.ICANON and not during[3] & termios.ECHO
            assert during[3] & termios.ISIG  # Ctrl-C still stops the VM
            os.write(master, b"ab\x7fc\r")  # DEL is not line editing in raw mode
            rc = p.wait(timeout=60)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        outp = p.stdout.read().decode(errors="replace")
        assert rc == 4, outp  # the 4 bytes before CR
        assert "echo: ab\x7fc" in outp, outp
        assert termios.tcgetattr(slave) == before
    finally:
        os.close(master)
        os.close(slave)


@pytest.mark.parametrize("build", BUILDS)
def test_console_input_interrupt(guests, build):
    """COM1 receive interrupt: IRQ 4 -> IOAPIC pin 4 -> the guest's handler."""
    p = subprocess.Popen(vm_cmd(build, guests / "guest_irq.bzImage", "--console"),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(p, "guest_irq: ready")
        p.stdin.write(b"hello irq\n")
        p.stdin.flush()
        rc = p.wait(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    outp = p.stdout.read().decode()
    assert rc == 0, outp + p.stderr.read().decode()
    assert "guest_irq: line: hello irq (" in outp, outp
