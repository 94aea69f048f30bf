#!/usr/bin/env bash
# bench/rootless-net.sh [RUNS]: rootless `berth run --rm -p 127.0.0.1:PORT:80 IMG true`
# against rootless `podman run --rm -p ...` (same busybox image, same account), for
# each tool installed (pasta, slirp4netns): median, p10, p90 of RUNS runs (default
# 20). Needs root (it makes a temporary account, as the rootless tests do, with its
# own subuid range; /dev/net/tun set 0666 for the run and restored).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
[ "$(id -u)" -eq 0 ] || { echo "bench/rootless-net.sh: needs root" >&2; exit 1; }
command -v podman >/dev/null || { echo "bench/rootless-net.sh: no podman" >&2; exit 1; }
make -j2 >/dev/null
BERTH_BUILD=release RUNS=$runs PYTHONPATH=tests:tests/integration /usr/bin/python3 - <<'PY'
import os, shutil, socket, stat, statistics, tempfile, time
from rootless_helpers import Account, busybox_tar

runs = int(os.environ["RUNS"])
tun = "/dev/net/tun"
mode = stat.S_IMODE(os.stat(tun).st_mode)
os.chmod(tun, 0o666)
d = tempfile.mkdtemp(prefix="berth-bench-rlnet-", dir="/tmp")
os.chmod(d, 0o755)
try:
    tar = busybox_tar(d)
    os.chmod(tar, 0o644)
    with Account() as a:
        u = a.user()
        u.berth("import", tar, "localhost/busybox")
        u.run("podman", "import", tar, "localhost/busybox", timeout=120)
        def port():
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                return s.getsockname()[1]
        def measure(cmd):
            t = []
            for _ in range(runs):
                t0 = time.monotonic()
                cmd(port())
                t.append((time.monotonic() - t0) * 1000)
            t.sort()
            return statistics.median(t), t[len(t) // 10], t[(len(t) * 9) // 10]
        for tool in ("pasta", "slirp4netns"):
            if not shutil.which(tool):
                continue
            b = measure(lambda p: u.berth("run", "--rm", "--network", tool, "-p",
                                          f"127.0.0.1:{p}:80", "localhost/busybox", "true"))
            print(f"{tool:12s} berth  median {b[0]:7.1f} ms  p10 {b[1]:7.1f}  p90 {b[2]:7.1f}")
            probe = u.run("podman", "run", "--rm", "--network", tool, "localhost/busybox",
                          "true", check=False, timeout=120)
            if probe.returncode != 0:
                print(f"{tool:12s} podman n/a: {probe.stderr.strip()[:100]}")
                continue
            pm = measure(lambda p: u.run("podman", "run", "--rm", "--network", tool, "-p",
                                         f"127.0.0.1:{p}:80", "localhost/busybox", "true",
                                         timeout=120))
            print(f"{tool:12s} podman median {pm[0]:7.1f} ms  p10 {pm[1]:7.1f}  p90 {pm[2]:7.1f}"
                  f"  (berth/podman {b[0] / pm[0]:.2f})")
finally:
    os.chmod(tun, mode)
    shutil.rmtree(d, ignore_errors=True)
PY
