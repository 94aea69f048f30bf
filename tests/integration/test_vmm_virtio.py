"""virtio devices end to end: `berth vm run` boots the freestanding guests of
tests/guests/virtio/ and tests/guests/hostile/, which drive the devices with
their own small virtio-mmio driver (vdrv.c)."""
import os
import pathlib
import subprocess
import sys
import tempfile
import textwrap
import time

import pytest

from conftest import ROOT, binary, missing_kvm, missing_netns, missing_tool, need, requires

pytestmark = requires(missing_kvm())

NOT_BUILT_IN = "virtio devices are not built in yet"
GLUE = ROOT / "src" / "lib" / "vmm" / "virtio_glue.c"


def need_glue(fn):
    """Skip until the core's glue creates the device (a device the glue does
    create must then work: this never hides a regression)."""
    if fn not in (GLUE.read_text() if GLUE.exists() else ""):
        pytest.skip(f"the VMM core does not call {fn}() yet ({GLUE.name})")


@pytest.fixture(scope="module")
def guests():
    """Build the guests once into a private directory."""
    with tempfile.TemporaryDirectory(prefix="berth-virtio-guests-") as d:
        r = subprocess.run(
            ["sh", str(ROOT / "tests" / "guests" / "build.sh"), d],
            capture_output=True, text=True, timeout=300,
        )
        assert r.returncode == 0, r.stdout + r.stderr
        yield pathlib.Path(d)


def vm_run(guests, name, *args, cmdline="", timeout=60, prefix=(), **kw):
    need_glue("virtio_rng_create")  # every guest run gets an rng (always on)
    cmd = [*prefix, str(binary("berth")), "vm", "run", "--kernel",
           str(guests / f"{name}.bzImage"), "--memory", "64M", *args]
    if cmdline:
        cmd += ["--cmdline", cmdline]
    if "input" not in kw:
        kw.setdefault("stdin", subprocess.DEVNULL)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if NOT_BUILT_IN in r.stderr:
        pytest.skip("berth vm run has no virtio devices wired in yet (src/lib/vmm/virtio_glue.c)")
    return r


def out(r):
    return f"exit {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"


def pattern(sector, i):
    return (sector * 31 + i * 7 + 1) & 0xFF


@pytest.fixture
def disk(tmp_path):
    p = tmp_path / "disk.img"
    p.write_bytes(bytes(64 * 512))
    return p


def test_blk_write_read_flush(guests, disk):
    need_glue("virtio_blk_create")
    r = vm_run(guests, "guest_blk", "--disk", str(disk))
    assert r.returncode == 0, out(r)
    for line in ("blk: capacity 64 sectors, event idx", "blk: id berth", "blk: write ok",
                 "blk: read back ok (indirect)", "blk: flush ok"):
        assert line in r.stdout, out(r)
    data = disk.read_bytes()
    assert len(data) == 64 * 512
    want = bytes(pattern(2 + i // 512, i % 512) for i in range(1024))
    assert data[2 * 512:4 * 512] == want
    assert data[:2 * 512] == bytes(1024) and data[4 * 512:] == bytes(60 * 512)
    assert "guest error" not in r.stderr, out(r)


def test_blk_read_only_write_fails(guests, disk):
    need_glue("virtio_blk_create")
    r = vm_run(guests, "guest_blk", "--disk", f"{disk},ro")
    assert r.returncode == 0, out(r)
    assert "read-only" in r.stdout
    assert "blk: write to read-only disk failed with IOERR" in r.stdout, out(r)
    assert "virtio-blk: write to a read-only disk (sector 2)" in r.stderr, out(r)
    assert disk.read_bytes() == bytes(64 * 512)


def test_blk_missing_file_is_an_engine_error(guests, tmp_path):
    need_glue("virtio_blk_create")
    r = vm_run(guests, "guest_blk", "--disk", str(tmp_path / "nope.img"))
    assert r.returncode == 125, out(r)
    assert "nope.img" in r.stderr


def test_rng(guests):
    r = vm_run(guests, "guest_rng")
    assert r.returncode == 0, out(r)
    assert "rng: got 64 bytes" in r.stdout, out(r)
    assert "interrupt status 1" in r.stdout, out(r)  # used-buffer bit, then acked


def test_console_output(guests):
    need_glue("virtio_console_create")
    r = vm_run(guests, "guest_console", "--virtio-console")
    assert r.returncode == 0, out(r)
    assert "hello from virtio-console\n" in r.stdout, out(r)
    assert "console: sent" in r.stdout


def test_console_input(guests):
    need_glue("virtio_console_create")
    r = vm_run(guests, "guest_console", "--virtio-console", cmdline="echo=1",
               input="typed-input")
    assert r.returncode == 0, out(r)
    assert "console: got input: typed-input" in r.stdout, out(r)


HOSTILE = {
    "loop": "virtio-rng: queue 0: descriptor chain from head 0 longer than queue size 8 (loop?)",
    "oob": "buffer 0xfff00000000+0x10 outside guest memory",
    "hugelen": "+0xffffffff outside guest memory",
    "zerolen": "descriptor 0 has length 0",
    "qsize": "virtio-rng: queue 0: queue size 100 is not a power of two",
    "qsizebig": "virtio-rng: queue 0: queue size 1024 exceeds QueueNumMax 256",
    "ready_early": "virtio-rng: QueueReady written before FEATURES_OK",
    "driver_ok": "virtio-rng: status DRIVER_OK set without FEATURES_OK",
    "nofeat": "virtio-rng: driver did not accept VIRTIO_F_VERSION_1",
    "availjump": "avail idx jumped from 0 to 100, more than queue size 8",
    "indirect_self": "inside an indirect table (nested indirect)",
}


@pytest.mark.parametrize("mode", sorted(HOSTILE))
def test_hostile_guest(guests, mode):
    t0 = time.monotonic()
    r = vm_run(guests, "guest_hostile", cmdline=f"mode={mode}")
    assert HOSTILE[mode] in r.stderr, out(r)
    assert "guest error" in r.stderr
    # the VMM survived, the device stopped or refused, and works after a reset
    assert r.returncode == 0, out(r)
    assert "hostile: device works after reset" in r.stdout, out(r)
    assert time.monotonic() - t0 < 60


# ---- virtio-net through a tap in a private network namespace ---------------

PEER = textwrap.dedent(
    """
    import socket, sys
    tap = sys.argv[1]
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x88B5))
    s.bind((tap, 0x88B5))
    s.settimeout(90)
    print("ready", flush=True)
    while True:
        f = s.recv(2048)
        if b"berth-guest-ping" in f:
            break
    src = f[6:12]
    reply = src + bytes.fromhex("020000000001") + b"\\x88\\xb5" + b"berth-host-pong"
    s.send(reply.ljust(60, b"\\0"))
    print("ping from " + src.hex(), flush=True)
    """
)


@pytest.fixture
def netns():
    need(missing_tool("ip", "iproute2"), missing_netns())
    name = f"berth-vt-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)
    assert name not in subprocess.run(["ip", "netns", "list"], capture_output=True,
                                      text=True).stdout


def test_net_frame_round_trip(guests, netns):
    need_glue("virtio_net_create")
    tap = "bvt0"
    subprocess.run(["ip", "-n", netns, "tuntap", "add", "dev", tap, "mode", "tap"], check=True)
    subprocess.run(["ip", "-n", netns, "link", "set", tap, "up"], check=True)
    peer = subprocess.Popen(["ip", "netns", "exec", netns, sys.executable, "-c", PEER, tap],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert peer.stdout.readline().strip() == "ready"
        r = vm_run(guests, "guest_net", "--net", tap, cmdline="wait=60000",
                   prefix=("ip", "netns", "exec", netns))
        pout, perr = peer.communicate(timeout=30)
    finally:
        if peer.poll() is None:
            peer.kill()
            peer.wait()
    assert r.returncode == 0, out(r) + f"\npeer: {perr}"
    assert "net: received: berth-host-pong" in r.stdout, out(r)
    # the peer saw the guest's frame, from the MAC the device offered
    mac = [ln for ln in r.stdout.splitlines() if ln.startswith("net: mac ")][0]
    mac = int(mac.split()[-1], 16)
    assert f"ping from {mac:012x}" in pout, pout + perr
    assert mac >> 32 == 0x02BE  # locally administered default, from the tap name
