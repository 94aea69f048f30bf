#!/usr/bin/env bash
# bench/runtime.sh [RUNS] [LOOP]: berth-runtime against crun and runc on the same
# busybox bundle running /bin/true.
#   1. `run` latency: RUNS runs per tool (default 30), alternating berth, crun,
#      runc, the floor, berth, ...; each with a unique id and the tool's own
#      --root; timed by a tiny C timer (fork, exec, wait4, CLOCK_MONOTONIC).
#      The floor is `unshare -fmpuin true`: the same namespaces made and torn
#      down, with no runtime. Median, p10, p90, and the ratios berth/crun,
#      berth/runc and berth/floor of the medians.
#   2. lifecycle: LOOP (default 100) x create + start + delete --force per tool
#      (interleaved per iteration), total wall time per tool.
#   3. peak RSS of the runtime process of each `run` (ru_maxrss from wait4: the
#      runtime and any child it reaped), median per tool.
# Prints a markdown table and writes it, with the date, machine and command, to
# docs/benchmarks-runtime.md. Needs root. A missing crun or runc is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-30}
loop=${2:-100}

if [ "$(id -u)" -ne 0 ]; then
	echo "bench/runtime.sh: needs root (containers)" >&2
	exit 1
fi
make -j2 >/dev/null

# crun refuses a hybrid setup while cgroup2 still lists a v1-capable controller
# (hugetlb, on this kind of host): give hugetlb its own v1 hierarchy first.
if [ -e /sys/fs/cgroup/unified/cgroup.controllers ] &&
	grep -qw hugetlb /sys/fs/cgroup/unified/cgroup.controllers; then
	mountpoint -q /sys/fs/cgroup/hugetlb || {
		mkdir -p /sys/fs/cgroup/hugetlb
		mount -t cgroup -o hugetlb none /sys/fs/cgroup/hugetlb
	}
fi

work=$(mktemp -d /tmp/berth-bench.XXXXXX)
cleanup() {
	for t in crun runc; do
		if command -v "$t" >/dev/null && [ -d "$work/root-$t" ]; then
			for id in $("$t" --root "$work/root-$t" list -q 2>/dev/null); do
				"$t" --root "$work/root-$t" delete --force "$id" >/dev/null 2>&1 || true
			done
		fi
	done
	if [ -d "$work/root-berth" ]; then
		for id in $(build/release/bin/berth-runtime --root "$work/root-berth" list -q 2>/dev/null); do
			build/release/bin/berth-runtime --root "$work/root-berth" delete --force "$id" \
				>/dev/null 2>&1 || true
		done
	fi
	rm -rf "$work"
}
trap cleanup EXIT
scripts/make-bundle.sh "$work/bundle" /bin/true

# A tiny C timer: fork, exec, wait4; prints wall nanoseconds (CLOCK_MONOTONIC)
# and ru_maxrss (KiB). From a small C process, the runtime's peak RSS is its own
# (a vfork/posix_spawn from Python would carry Python's RSS into ru_maxrss).
cat >"$work/spawnrss.c" <<'CEOF'
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	(void)argc;
	struct timespec a, b;
	struct rusage ru;
	int st;
	clock_gettime(CLOCK_MONOTONIC, &a);
	pid_t p = fork();
	if (p == 0) {
		/* a created container keeps the runtime's stdio: never our pipe */
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		execv(argv[1], argv + 1);
		_exit(127);
	}
	if (p < 0 || wait4(p, &st, 0, &ru) < 0)
		return 125;
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%lld %ld\n", (long long)(b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec),
	       ru.ru_maxrss);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
CEOF
cc -O2 -o "$work/spawnrss" "$work/spawnrss.c"

cmdline="bench/runtime.sh $runs $loop"
/usr/bin/python3 - "$work" "$runs" "$loop" "$cmdline" <<'PY'
import datetime, os, shutil, statistics, subprocess, sys

work, runs, loop, cmdline = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
bundle = os.path.join(work, "bundle")
tools = {"berth": [os.path.abspath("build/release/bin/berth-runtime")]}
for t in ("crun", "runc"):
    p = shutil.which(t)
    if p:
        tools[t] = [p]
    else:
        print(f"bench: {t} not installed, skipped", file=sys.stderr)
for t, argv in tools.items():
    argv += ["--root", os.path.join(work, f"root-{t}")]

timer = os.path.join(work, "spawnrss")


def spawn(argv):
    """(nanoseconds, ru_maxrss KiB) of one command, measured by the C timer
    (fork + exec + wait4, CLOCK_MONOTONIC); fails loudly on non-zero exit."""
    r = subprocess.run([timer] + argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit(f"bench: {' '.join(argv)} exited {r.returncode}: {r.stderr}")
    ns, kib = r.stdout.split()[-2:]
    return int(ns), int(kib)


n = 0


def new_id(tool):
    global n
    n += 1
    return f"bench-{tool}-{os.getpid()}-{n}"


# warm-up: page cache, binaries, first-run costs
for t, argv in tools.items():
    for _ in range(3):
        spawn(argv + ["run", "--bundle", bundle, new_id(t)])

floor = statistics.median(spawn(["/bin/true"])[1] for _ in range(5))
UNSHARE = [shutil.which("unshare") or "unshare", "-fmpuin", "/bin/true"]
lat = {t: [] for t in tools}
lat["unshare -fmpuin true"] = []
exe = {t: [] for t in ("fork+exec true",)}
rss = {t: [] for t in tools}
for i in range(runs):
    for t, argv in tools.items():
        ns, kib = spawn(argv + ["run", "--bundle", bundle, new_id(t)])
        lat[t].append(ns / 1e6)
        rss[t].append(kib)
    lat["unshare -fmpuin true"].append(spawn(UNSHARE)[0] / 1e6)
    exe["fork+exec true"].append(spawn(["/bin/true"])[0] / 1e6)

cycle = {t: 0 for t in tools}
for i in range(loop):
    for t, argv in tools.items():
        cid = new_id(t)
        a, _ = spawn(argv + ["create", "--bundle", bundle, cid])
        b, _ = spawn(argv + ["start", cid])
        c, _ = spawn(argv + ["delete", "--force", cid])
        cycle[t] += (a + b + c) / 1e9


def pct(xs):
    d = statistics.quantiles(xs, n=10, method="inclusive")
    return statistics.median(xs), d[0], d[-1]


rows = ["| runtime | run median (ms) | p10 (ms) | p90 (ms) | "
        f"{loop}x create+start+delete (s) | peak RSS median (KiB) |",
        "|---|---:|---:|---:|---:|---:|"]
med = {}
for t in tools:
    m, p10, p90 = pct(lat[t])
    med[t] = m
    rows.append(f"| {t} | {m:.2f} | {p10:.2f} | {p90:.2f} | {cycle[t]:.2f} | "
                f"{statistics.median(rss[t]):.0f} |")
for t, xs in (("unshare -fmpuin true", lat["unshare -fmpuin true"]),
              ("fork+exec true", exe["fork+exec true"])):
    m, p10, p90 = pct(xs)
    med[t] = m
    rows.append(f"| {t} (floor) | {m:.2f} | {p10:.2f} | {p90:.2f} | - | - |")
ratios = [f"berth/floor (unshare -fmpuin true): run median "
          f"{med['berth'] / med['unshare -fmpuin true']:.2f}"]
for other in ("crun", "runc"):
    if other in med:
        ratios.append(f"berth/{other}: run median {med['berth'] / med[other]:.2f}, "
                      f"lifecycle loop {cycle['berth'] / cycle[other]:.2f}, peak RSS "
                      f"{statistics.median(rss['berth']) / statistics.median(rss[other]):.2f}")
table = "\n".join(rows)
print(table)
print()
for r in ratios:
    print(r)
print(f"(peak RSS floor: /bin/true under the same timer: {floor:.0f} KiB)")

versions = []
for t, argv in tools.items():
    v = subprocess.run([argv[0], "--version"], capture_output=True, text=True).stdout
    versions.append(f"- {t}: {v.splitlines()[0] if v else '?'}")
uname = os.uname()
doc = f"""# berth-runtime benchmark

Date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}
Machine: {os.cpu_count()} CPUs (nproc), kernel {uname.release} ({uname.machine})
Command: `{cmdline}` (as root, from the repository root)

Workload: one busybox bundle (scripts/make-bundle.sh, args `["/bin/true"]`, the
default `berth-runtime spec` config), used by all three runtimes. `run`:
{runs} runs per runtime, alternating berth, crun, runc and the floors (`unshare
-fmpuin true`: the same namespaces made and torn down without a runtime; and a
plain fork+exec of /bin/true); each run a new container id
and the runtime's own `--root`; wall time from fork to wait4 (monotonic clock),
after 3 warm-up runs each; the timer is a tiny C program (fork, exec, wait4,
CLOCK_MONOTONIC), so neither its start-up nor Python's is in the figures. Lifecycle: {loop} iterations of `create`, `start`,
`delete --force` per runtime, interleaved, total wall time. Peak RSS: `ru_maxrss` of
the `run` process from wait4 (the runtime and any child it reaped), median; the
floor (`/bin/true` under the same timer) is {floor:.0f} KiB.
berth-runtime is the release build (`make`, -O2). On this 2-CPU VM every runtime
shows occasional 13-23 ms outliers (cgroup and namespace set-up noise), so with 30
runs the p90 column moves between runs; the medians are stable to about 10%.

{table}

Ratios (berth / other; below 1 means berth is faster or smaller):
""" + "\n".join(f"- {r}" for r in ratios) + "\n\nVersions:\n" + "\n".join(versions) + "\n"
# the hand-written breakdown below the generated part is kept
kept = ""
try:
    old = open("docs/benchmarks-runtime.md").read()
    if "\n## Where the time goes" in old:
        kept = old[old.index("\n## Where the time goes"):]
except OSError:
    pass
with open("docs/benchmarks-runtime.md", "w") as f:
    f.write(doc + kept)
print("\nwrote docs/benchmarks-runtime.md")
PY
