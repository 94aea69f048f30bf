#!/usr/bin/python3
"""bench/api.py [RUNS]: the Docker API, berth's against dockerd's and Podman's.

`docker run --rm --network none IMG true` through the docker CLI (Debian's docker.io)
against three sockets, in one run, alternating the servers run by run after a warm-up:
  berth   `berth system service` (release build, a private store)
  dockerd Debian's dockerd 20.10 with its containerd and runc (private data-root,
          exec-root and socket, --bridge=none, cgroupfs)
  podman  `podman system service` (private root, cgroupfs, crun)
Then the idle servers' memory: PSS and RSS of the service process (dockerd: with its
containerd; the shims of running containers are not counted, none run).
Medians, p10/p90 and the ratios; writes docs/benchmarks-api.md. Needs root.
"""
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.realpath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
os.environ.setdefault("BERTH_BUILD", "release")

from engine_helpers import BUSYBOX, engine_store  # noqa: E402
from test_api_service import Service  # noqa: E402
from test_client_docker import IMG as DIMG, docker_archive  # noqa: E402

CLI = "/usr/bin/docker"


def mem_of(pids):
    pss = rss = 0
    for p in pids:
        try:
            for ln in open(f"/proc/{p}/smaps_rollup"):
                if ln.startswith("Pss:"):
                    pss += int(ln.split()[1])
                elif ln.startswith("Rss:"):
                    rss += int(ln.split()[1])
        except OSError:
            pass
    return pss, rss


def children(pid):
    out = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                if int(open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(p))
            except OSError:
                pass
    return out


def cli(sock, *args, check=True, cfg):
    r = subprocess.run([CLI, *args], capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, DOCKER_HOST=f"unix://{sock}", DOCKER_CONFIG=cfg))
    if check and r.returncode:
        raise SystemExit(f"docker {' '.join(args)} via {sock}: {r.stderr.strip()}")
    return r


def wait_up(sock, cfg, proc, what, log):
    deadline = time.monotonic() + 60
    while cli(sock, "version", check=False, cfg=cfg).returncode:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{what} did not start: {open(log).read()[-800:]}")
        time.sleep(0.2)


def main():
    runs = max(int(sys.argv[1]) if len(sys.argv) > 1 else 15, 5)
    if os.geteuid():
        raise SystemExit("bench/api.py: needs root")
    subprocess.run(["make", "-C", ROOT, "-j2"], check=True, stdout=subprocess.DEVNULL)
    # hybrid cgroups: crun (podman) and dockerd want a v1 hugetlb hierarchy
    if os.path.exists("/sys/fs/cgroup/unified") and not os.path.ismount("/sys/fs/cgroup/hugetlb"):
        os.makedirs("/sys/fs/cgroup/hugetlb", exist_ok=True)
        subprocess.run(["mount", "-t", "cgroup", "-o", "hugetlb", "none",
                        "/sys/fs/cgroup/hugetlb"], check=False)
    tmp = tempfile.mkdtemp(prefix="bapi-", dir="/tmp")
    cfg = f"{tmp}/dcli"
    servers, procs = {}, []
    try:
        with engine_store("berth-bench-api-") as b:
            s = Service(b, "--time", "0")
            procs.append(s.proc)
            servers["berth"] = (s.sock, BUSYBOX, [], lambda: [s.proc.pid])
            docker_archive(f"{tmp}/img.tar")
            if shutil.which("dockerd"):
                log = f"{tmp}/dockerd.log"
                d = subprocess.Popen(
                    ["dockerd", "--data-root", f"{tmp}/ddata", "--exec-root", f"{tmp}/dexec",
                     "-H", f"unix://{tmp}/d.sock", "--pidfile", f"{tmp}/d.pid",
                     "--bridge=none", "--iptables=false", "--ip6tables=false",
                     "--ip-masq=false", "--userland-proxy=false",
                     "--exec-opt", "native.cgroupdriver=cgroupfs"],
                    stdout=open(log, "w"), stderr=subprocess.STDOUT, start_new_session=True)
                procs.append(d)
                wait_up(f"{tmp}/d.sock", cfg, d, "dockerd", log)
                cli(f"{tmp}/d.sock", "load", "-i", f"{tmp}/img.tar", cfg=cfg)
                servers["dockerd"] = (f"{tmp}/d.sock", DIMG, [],
                                      lambda: [d.pid, *children(d.pid)])
            if shutil.which("podman"):
                log = f"{tmp}/podman.log"
                P = ["podman", "--root", f"{tmp}/proot", "--runroot", f"{tmp}/prun",
                     "--tmpdir", f"{tmp}/ptmp", "--cgroup-manager", "cgroupfs",
                     "--events-backend", "file"]
                os.makedirs(f"{tmp}/ptmp")
                subprocess.run([*P, "load", "-i", f"{tmp}/img.tar"], check=True,
                               capture_output=True)
                p = subprocess.Popen([*P, "system", "service", "--time", "0",
                                      f"unix://{tmp}/p.sock"], stdout=open(log, "w"),
                                     stderr=subprocess.STDOUT, start_new_session=True)
                procs.append(p)
                wait_up(f"{tmp}/p.sock", cfg, p, "podman", log)
                servers["podman"] = (f"{tmp}/p.sock", DIMG,
                                     ["--ulimit", "nofile=1024:1024",
                                      "--ulimit", "nproc=1024:1024"], lambda: [p.pid])
            times = {k: [] for k in servers}
            for k, (sock, img, extra, _) in servers.items():
                cli(sock, "run", "--rm", "--network", "none", *extra, img, "true", cfg=cfg)
            for i in range(runs):
                for k, (sock, img, extra, _) in servers.items():
                    t0 = time.perf_counter()
                    cli(sock, "run", "--rm", "--network", "none", *extra, img, "true", cfg=cfg)
                    times[k].append((time.perf_counter() - t0) * 1000)
                print(f"run {i + 1}/{runs}: " + ", ".join(
                    f"{k} {times[k][-1]:.1f} ms" for k in servers), file=sys.stderr)
            # the client's own floor: `docker version` (one process, two round trips)
            floor = []
            for i in range(runs):
                t0 = time.perf_counter()
                cli(servers["berth"][0], "version", cfg=cfg)
                floor.append((time.perf_counter() - t0) * 1000)
            # and for this very command: `docker run --rm` against a server that
            # does nothing and answers at once (bench/api_null.py)
            nsock = f"{tmp}/null.sock"
            nul = subprocess.Popen([sys.executable, os.path.join(ROOT, "bench", "api_null.py"),
                                    nsock], start_new_session=True)
            procs.append(nul)
            wait_up(nsock, cfg, nul, "api_null", "/dev/null")
            run_floor = []
            for i in range(runs):
                t0 = time.perf_counter()
                cli(nsock, "run", "--rm", "--network", "none", "x", "true", cfg=cfg)
                run_floor.append((time.perf_counter() - t0) * 1000)
            time.sleep(2)  # idle
            mem = {k: mem_of(v[3]()) for k, v in servers.items()}
            s.stop()
        write(runs, times, mem, statistics.median(floor), statistics.median(run_floor))
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
        for ln in reversed(open("/proc/self/mountinfo").read().splitlines()):
            mp = ln.split()[4]
            if mp.startswith(tmp):
                subprocess.run(["umount", "-l", mp], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


def q(v, f):
    v = sorted(v)
    return v[min(len(v) - 1, int(f * len(v)))]


def write(runs, times, mem, floor, run_floor):
    med = {k: statistics.median(v) for k, v in times.items()}
    load = open("/proc/loadavg").read().split()[0]
    lines = ["# Benchmark: the Docker API (berth system service vs dockerd vs Podman)", "",
             f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on "
             f"{platform.node()}: {os.cpu_count()} CPUs, kernel {platform.release()}, "
             f"load {load} at the end. Reproduce: `bench/api.sh {runs}` (root).", "",
             "`docker run --rm --network none IMG true` through the docker CLI "
             "(docker.io 20.10), each server's socket in turn, "
             f"{runs} runs each after a warm-up, alternating:", "",
             "| server | median ms | p10 | p90 | vs berth |", "|---|---:|---:|---:|---:|"]
    for k in times:
        lines.append(f"| {k} | {med[k]:.1f} | {q(times[k], .1):.1f} | {q(times[k], .9):.1f} "
                     f"| {med[k] / med['berth']:.2f}x |")
    lines += ["", f"The docker CLI's own floor, `docker version` against berth's socket: "
              f"{floor:.1f} ms (a Go process starting, two round trips). Above it, berth "
              f"adds {med['berth'] - floor:.1f} ms and dockerd {med.get('dockerd', floor) - floor:.1f} ms.",
              "", f"The CLI's floor for this command, `docker run --rm` against a server that "
              f"does nothing and answers at once (bench/api_null.py): {run_floor:.1f} ms. "
              f"Ten times faster than dockerd would be {med.get('dockerd', 0) / 10:.1f} ms; "
              f"berth takes {med['berth'] - run_floor:.1f} ms above this floor."]
    lines += ["", "Idle server memory (kB; dockerd with its containerd):", "",
              "| server | PSS | RSS |", "|---|---:|---:|"]
    for k, (pss, rss) in mem.items():
        lines.append(f"| {k} | {pss} | {rss} |")
    lines.append("")
    path = os.path.join(ROOT, "docs", "benchmarks-api.md")
    open(path, "w").write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
