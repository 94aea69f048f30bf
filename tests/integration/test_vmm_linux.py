"""Boot a stock Linux kernel in `berth vm run` with a busybox initramfs that
prints a line and reboots (reboot=k: the i8042 reset, exit status 0).

Needs a kernel (BERTH_TEST_KERNEL, else a readable /boot/vmlinuz-*) and a
KVM that runs guest code natively. Some hosts expose a nested KVM that
emulates guest instructions (about 1-2 million per second) and refuses
instructions stock Linux executes early (cmpxchg16b, xrstor, int3); there
this test skips, saying so. How to get a kernel: docs/vmm.md."""
import glob
import os
import pathlib
import shutil
import subprocess

import pytest

from conftest import ROOT, missing_kvm, missing_native_kvm, need, requires

pytestmark = requires(missing_kvm())

BANNER = "BERTH-LINUX-BOOT-OK"


def berth():
    return ROOT / "build" / os.environ.get("BERTH_BUILD", "release") / "bin" / "berth"


def find_kernel():
    k = os.environ.get("BERTH_TEST_KERNEL")
    if k:
        return k if os.access(k, os.R_OK) else None
    for k in sorted(glob.glob("/boot/vmlinuz-*"), reverse=True):
        if os.access(k, os.R_OK):
            return k
    return None


def cpio_newc(entries):
    """A newc cpio archive: entries are (name, mode, data)."""
    out = bytearray()
    ino = 1
    for name, mode, data in entries + [("TRAILER!!!", 0, b"")]:
        nb = name.encode() + b"\0"
        hdr = "070701" + "".join(f"{v:08x}" for v in (
            ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(nb), 0))
        out += hdr.encode() + nb
        out += b"\0" * (-len(out) % 4)
        out += data
        out += b"\0" * (-len(out) % 4)
        ino += 1
    return bytes(out)


def busybox_initramfs(path):
    bb = shutil.which("busybox") or "/bin/busybox"
    data = pathlib.Path(bb).read_bytes()
    if subprocess.run(["ldd", bb], capture_output=True).returncode == 0:  # dynamic
        pytest.skip(f"{bb} is not static (apt-get install busybox-static)")
    init = (f"#!/bin/busybox sh\n/bin/busybox echo {BANNER}\n"
            "/bin/busybox reboot -f\n").encode()
    path.write_bytes(cpio_newc([
        ("bin", 0o040755, b""),
        ("bin/busybox", 0o100755, data),
        ("init", 0o100755, init),
    ]))


def test_linux_boots_busybox(tmp_path):
    if not berth().exists():
        pytest.fail(f"{berth()} is not built")
    need(missing_native_kvm())
    kernel = find_kernel()
    if not kernel:
        pytest.skip("no kernel: set BERTH_TEST_KERNEL or install one readable in "
                    "/boot/vmlinuz-* (see docs/vmm.md)")
    initrd = tmp_path / "initramfs.cpio"
    busybox_initramfs(initrd)
    r = subprocess.run([str(berth()), "vm", "run", "--kernel", kernel, "--initrd", str(initrd),
                        "--memory", "256M", "--cpus", "2",
                        "--cmdline", "reboot=k panic=-1 console=ttyS0 rdinit=/init quiet"],
                       capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert BANNER in r.stdout, f"exit {r.returncode}\n{r.stdout[-4000:]}\n{r.stderr}"
    assert r.returncode == 0, r.stderr
