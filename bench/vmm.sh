#!/bin/sh
# berth vm run vs QEMU microvm on the same freestanding test guest (bzImage).
#   (a) command start -> the guest's first instruction (its first act is to
#       write '!' to COM1; we time the byte's arrival on the stdout pipe)
#   (b) command start -> VMM exit after the guest powers off (exit port)
#   (c) the VMM's own memory while the guest waits: RSS (and PSS) of the
#       process less the resident guest RAM mapping
# Runs alternate between the two VMMs, RUNS (default 20) each, medians.
# Usage: bench/vmm.sh [RUNS]     (builds release + guests first)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-20}
cd "$root"
make -s -j2 BUILD=release all >/dev/null
guests=$(mktemp -d /tmp/berth-bench-guests.XXXXXX)
trap 'rm -rf "$guests"' EXIT
sh tests/guests/build.sh "$guests"
python3 - "$root/build/release/bin/berth" "$guests" "$runs" <<'PY'
import os, signal, statistics, subprocess, sys, time

berth, guests, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
MEM = "64M"
MEM_BYTES = 64 << 20
QEMU = ["qemu-system-x86_64", "-M", "microvm", "-enable-kvm", "-cpu", "host,-arch-capabilities",
        "-m", MEM, "-nodefaults", "-no-user-config", "-nographic", "-serial", "stdio",
        "-device", "isa-debug-exit,iobase=0x501,iosize=4"]


def cmd(vmm, guest, cmdline):
    k = f"{guests}/{guest}.bzImage"
    if vmm == "berth":
        return [berth, "vm", "run", "--kernel", k, "--memory", MEM, "--cmdline", cmdline]
    return QEMU + ["-kernel", k, "-append", cmdline]


def boot_once(vmm):
    """(a) time to first guest byte, (b) time to exit, both in ms."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd(vmm, "guest_bench", ""), stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    first = None
    while True:
        b = p.stdout.read(1)
        if not b:
            break
        if b == b"!" and first is None:
            first = time.perf_counter()
    p.wait()
    t1 = time.perf_counter()
    want = 0 if vmm == "berth" else 1  # QEMU's isa-debug-exit: (0 << 1) | 1
    if p.returncode != want or first is None:
        sys.exit(f"{vmm}: guest_bench failed (exit {p.returncode}, first byte {first})")
    return (first - t0) * 1e3, (t1 - t0) * 1e3


def mem_once(vmm):
    """(c) RSS and PSS (KiB) of the VMM less its guest RAM, guest halted."""
    p = subprocess.Popen(cmd(vmm, "guest_status", "mode=halt"), stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        buf = b""
        while b"halting" not in buf:
            c = p.stdout.read1(4096) if hasattr(p.stdout, "read1") else p.stdout.read(1)
            if not c:
                sys.exit(f"{vmm}: guest_status did not start")
            buf += c
        time.sleep(0.2)
        rss = pss = guest_rss = guest_pss = 0
        size = None
        with open(f"/proc/{p.pid}/smaps") as f:
            for line in f:
                h = line.split()
                if "-" in h[0] and ":" not in h[0]:
                    a, b = (int(x, 16) for x in h[0].split("-"))
                    size = b - a
                elif h[0] in ("Rss:", "Pss:"):
                    v = int(h[1])
                    is_guest = size is not None and MEM_BYTES <= size <= MEM_BYTES + (8 << 20)
                    if h[0] == "Rss:":
                        rss += v
                        guest_rss += v if is_guest else 0
                    else:
                        pss += v
                        guest_pss += v if is_guest else 0
        return rss - guest_rss, pss - guest_pss, guest_rss
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def spawn_baseline():
    """What the harness itself costs: spawn printf '!' and read the byte."""
    t0 = time.perf_counter()
    p = subprocess.Popen(["printf", "!"], stdout=subprocess.PIPE)
    p.stdout.read(1)
    p.wait()
    return (time.perf_counter() - t0) * 1e3


res = {v: {"first": [], "exit": [], "rss": [], "pss": [], "guest": []} for v in ("berth", "qemu")}
base = [spawn_baseline() for _ in range(runs)]
for i in range(runs):
    for vmm in (("berth", "qemu") if i % 2 == 0 else ("qemu", "berth")):
        a, b = boot_once(vmm)
        res[vmm]["first"].append(a)
        res[vmm]["exit"].append(b)
for i in range(max(5, runs // 4)):
    for vmm in ("berth", "qemu"):
        r, s, g = mem_once(vmm)
        res[vmm]["rss"].append(r)
        res[vmm]["pss"].append(s)
        res[vmm]["guest"].append(g)

med = {v: {k: statistics.median(x) for k, x in d.items()} for v, d in res.items()}
print(f"runs: {runs} boots each (alternating), {max(5, runs // 4)} memory samples each")
print(f"harness baseline (spawn printf, read its byte): {statistics.median(base):.2f} ms")
print(f"{'metric':<48} {'berth':>10} {'qemu microvm':>13} {'qemu/berth':>11}")
rows = [("(a) start -> first guest instruction (ms)", "first"),
        ("(b) start -> VMM exit after power-off (ms)", "exit"),
        ("(c) VMM RSS less guest RAM (KiB)", "rss"),
        ("(c) VMM PSS less guest RAM (KiB)", "pss"),
        ("    guest RAM resident (KiB)", "guest")]
for name, k in rows:
    b, q = med["berth"][k], med["qemu"][k]
    print(f"{name:<48} {b:>10.2f} {q:>13.2f} {q / b if b else float('nan'):>10.1f}x")
PY
