#!/usr/bin/env bash
# bench/trace-start.sh [RUNS]: where the milliseconds of a start go, as
# docs/benchmarks-runtime.md and docs/benchmarks-engine.md show them.
# bpftrace puts uprobes on the entry and return of the steps of
# `berth-runtime run` (and of `berth run --rm`) and tracepoints on exec, exit
# and the timer's fork/wait; every run's events are taken relative to its
# fork, and the table is the median time of each event, in order, with the
# step from the one before. The probes cost ~10-20 us each: the total is
# above an unprobed run's (bench/runtime.sh, bench/engine.sh measure those);
# the shares and the order are what this is for. Needs root and bpftrace.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-30}
[ "$(id -u)" = 0 ] || { echo "bench/trace-start.sh: needs root" >&2; exit 1; }
command -v bpftrace >/dev/null || { echo "bench/trace-start.sh: needs bpftrace (apt-get install bpftrace)" >&2; exit 1; }
make -j2 >/dev/null
bin=$PWD/build/release/bin
work=$(mktemp -d /tmp/berth-trace.XXXXXX)
export BERTH_RUNROOT=$work/run
cleanup() {
	set +e # every step runs (a grep finding no mount fails under pipefail)
	pkill -INT -f "bpftrace $work" 2>/dev/null
	for id in $("$bin/berth" --root "$work/store" ps -aq 2>/dev/null); do
		"$bin/berth" --root "$work/store" rm -f "$id" >/dev/null 2>&1 || true
	done
	grep -o "$work[^ ]*" /proc/self/mountinfo 2>/dev/null | sort -r | while read -r m; do
		umount -l "$m" 2>/dev/null || true
	done
	[ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
scripts/make-bundle.sh "$work/bundle" /bin/true >/dev/null
tar -C "$work/bundle/rootfs" -cf "$work/rootfs.tar" .
"$bin/berth" --root "$work/store" import "$work/rootfs.tar" localhost/busybox >/dev/null

# the timer: fork, exec, wait; its comm ("t") marks the runs in the trace
cat >"$work/t.c" <<'CEOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	int n = atoi(argv[1]);
	for (int i = 0; i < n; i++) {
		char id[32], **a = calloc((size_t)argc, sizeof(char *));
		snprintf(id, sizeof(id), "t%d-%d", getpid(), i);
		for (int j = 2; j < argc; j++)
			a[j - 2] = strcmp(argv[j], "ID") ? argv[j] : id;
		pid_t p = fork();
		if (p == 0) {
			execv(a[0], a);
			_exit(127);
		}
		int st;
		waitpid(p, &st, 0);
		free(a);
		if (st)
			return 1;
	}
	return 0;
}
CEOF
cc -O2 -o "$work/t" "$work/t.c"

probe() { # binary function... -> bpftrace lines
	local b=$1
	shift
	nm "$b" >"$work/syms" # (not nm | grep -q: grep's early exit fails the pipe)
	for f in "$@"; do
		if grep -qE " [tT] $f\$" "$work/syms"; then
			echo "uprobe:$b:$f { printf(\"%llu %d > $f\\n\", nsecs, tid); }"
			echo "uretprobe:$b:$f { printf(\"%llu %d < $f\\n\", nsecs, tid); }"
		fi
	done
}
common() {
	echo 'tracepoint:sched:sched_process_exec { printf("%llu %d exec %s\n", nsecs, pid, str(args->filename)); }'
	echo 'tracepoint:sched:sched_process_exit { printf("%llu %d exit %s\n", nsecs, pid, comm); }'
	echo 'tracepoint:syscalls:sys_exit_wait4 /comm == "t"/ { printf("%llu %d reaped\n", nsecs, pid); }'
	echo 'tracepoint:syscalls:sys_enter_clone /comm == "t"/ { printf("%llu %d fork\n", nsecs, pid); }'
}
table() { # trace file -> median table (events of the runs after 2 warm-ups)
	python3 - "$1" <<'PYEOF'
import collections, statistics, sys
runs, cur = [], None
for line in open(sys.argv[1]):
    p = line.split()
    if not p or not p[0].isdigit():
        continue
    if p[2] == "fork":
        cur = [(int(p[0]), "fork")]
        runs.append(cur)
    elif cur is not None:
        cur.append((int(p[0]), " ".join(p[2:])))
ev = collections.defaultdict(list)
for r in runs[2:]:
    t0, seen = r[0][0], collections.Counter()
    for t, k in r:
        seen[k] += 1
        ev[(k, seen[k])].append((t - t0) / 1e3)
n = len(runs[2:])
keys = [k for k in ev if len(ev[k]) >= n * 0.8]
keys.sort(key=lambda k: statistics.median(ev[k]))
print("| us from the fork | step | event |\n|---:|---:|---|")
prev = 0.0
for k in keys:
    m = statistics.median(ev[k])
    name = k[0] + (f" #{k[1]}" if k[1] > 1 else "")
    print(f"| {m:.0f} | +{m - prev:.0f} | {name} |")
    prev = m
PYEOF
}
trace() { # name bpftrace-script command...
	local name=$1 script=$2
	shift 2
	bpftrace "$script" >"$work/$name.out" 2>&1 &
	local bt=$!
	sleep 8 # attaching takes a moment
	"$work/t" "$runs" "$@"
	kill -INT $bt
	wait $bt || true
	echo "### $name ($runs runs, $(date -u '+%Y-%m-%d %H:%M UTC'), load $(cut -d' ' -f1 /proc/loadavg))"
	echo
	table "$work/$name.out"
	echo
}
{
	probe "$bin/berth-runtime" main rt_run launch_begin cgroup_create_part apply_resources spawn \
		ns_clone_into rt_init_main rootfs_prepare launch_join_late late_cgroups record_state \
		ns_holder_start until_ready rootfs_pivot rootfs_finish release_init process_finish \
		wait_forwarding remove_container cgroup_destroy st_remove_dir
	common
} >"$work/rt.bt"
trace "berth-runtime run" "$work/rt.bt" "$bin/berth-runtime" --root "$work/rtroot" run \
	--bundle "$work/bundle" ID
{
	probe "$bin/berth" main eng_create ctr_launch eng_mount_rootfs rt_create late_cgroups \
		until_ready eng_save ctr_attach_sock rt_start ctr_relay eng_remove eng_close
	echo "uprobe:$bin/berth-monitor:main { printf(\"%llu %d > berth-monitor main\\n\", nsecs, tid); }"
	common
} >"$work/engine.bt"
trace "berth run --rm" "$work/engine.bt" "$bin/berth" --root "$work/store" run --rm \
	--network none localhost/busybox true
