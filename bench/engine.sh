#!/usr/bin/env bash
# bench/engine.sh: `berth run --rm IMG true` against `berth-runtime run` of
# the bundle the image was made from (the engine's overhead over its
# runtime) and `podman run --rm --network none IMG true` (interleaved, N runs
# each, medians), the monitor's RSS per running container (berth-monitor vs
# conmon), M detached `run -d IMG sleep 600` containers in a loop (time,
# MemAvailable delta per container), and `rm -f` of R stopped containers
# (berth vs podman). Writes docs/benchmarks-engine.md. Needs root; podman
# optional.
#   N=20 M=200 PM=200 R=200 bench/engine.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-20}
M=${M:-200}
PM=${PM:-200}
R=${R:-200}
RT=$PWD/build/release/bin/berth-runtime
[ "$(id -u)" = 0 ] || { echo "bench/engine.sh: needs root" >&2; exit 1; }
B=$PWD/build/release/bin/berth
work=$(mktemp -d /tmp/berth-bench-engine.XXXXXX)
export BERTH_RUNROOT=$work/run
BR=("$B" --root "$work/root")
P=(podman --root "$work/proot" --runroot "$work/prun" --cgroup-manager=cgroupfs
	--events-backend=file --storage-driver=overlay)
PRUN=(--network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
have_podman=0
command -v podman >/dev/null && have_podman=1

cleanup() {
	set +e
	for id in $("${BR[@]}" ps -aq 2>/dev/null); do "${BR[@]}" rm -f "$id" >/dev/null 2>&1 || true; done
	if [ $have_podman = 1 ]; then
		"${P[@]}" rm -af -t 0 >/dev/null 2>&1 || true
		"${P[@]}" system reset -f >/dev/null 2>&1 || true
	fi
	grep -o "$work[^ ]*" /proc/self/mountinfo 2>/dev/null | sort -r | while read -r m; do
		umount -l "$m" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT

# crun on this hybrid host wants a hugetlb v1 hierarchy
mountpoint -q /sys/fs/cgroup/hugetlb || {
	mkdir -p /sys/fs/cgroup/hugetlb
	mount -t cgroup -o hugetlb none /sys/fs/cgroup/hugetlb
}

scripts/make-bundle.sh "$work/bundle" >/dev/null
tar -C "$work/bundle/rootfs" -cf "$work/rootfs.tar" .
"${BR[@]}" import "$work/rootfs.tar" localhost/busybox >/dev/null
[ $have_podman = 1 ] && "${P[@]}" import "$work/rootfs.tar" localhost/busybox >/dev/null 2>&1

# bash's clock, no fork: a `date` per sample would add its own start-up
now_us() { local t=${EPOCHREALTIME/./}; echo $((10#$t)); }
median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print int((a[NR/2]+a[NR/2+1])/2)}'; }

# warm-up
for _ in 1 2; do
	"${BR[@]}" run --rm --network none localhost/busybox true
	[ $have_podman = 1 ] && "${P[@]}" run --rm "${PRUN[@]}" localhost/busybox true
done
: >"$work/t-berth"
: >"$work/t-podman"
: >"$work/t-rt"
"$RT" --root "$work/rtroot" run --bundle "$work/bundle" warm >/dev/null
for i in $(seq "$N"); do
	t0=$(now_us)
	"$RT" --root "$work/rtroot" run --bundle "$work/bundle" "b$i" >/dev/null
	t1=$(now_us)
	echo $(((t1 - t0))) >>"$work/t-rt"
	t0=$(now_us)
	"${BR[@]}" run --rm --network none localhost/busybox true
	t1=$(now_us)
	echo $(((t1 - t0))) >>"$work/t-berth"
	if [ $have_podman = 1 ]; then
		t0=$(now_us)
		"${P[@]}" run --rm "${PRUN[@]}" localhost/busybox true
		t1=$(now_us)
		echo $(((t1 - t0))) >>"$work/t-podman"
	fi
done
mb=$(median <"$work/t-berth")
mrt=$(median <"$work/t-rt")
mp=$([ $have_podman = 1 ] && median <"$work/t-podman" || echo 0)

# monitor RSS
cid=$("${BR[@]}" run -d --network none localhost/busybox sleep 600)
mpid=$("${BR[@]}" inspect "$cid" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["State"]["MonitorPid"])')
sleep 0.3
rss_b=$(awk '/VmRSS/ {print $2}' "/proc/$mpid/status")
pss_b=$(awk '/^Pss:/ {print $2}' "/proc/$mpid/smaps_rollup")
"${BR[@]}" rm -f "$cid" >/dev/null
rss_p=0
pss_p=0
if [ $have_podman = 1 ]; then
	pid=$("${P[@]}" run -d "${PRUN[@]}" localhost/busybox sleep 600)
	sleep 0.3
	cpid=$(pgrep -f "conmon .*$pid" | head -1)
	rss_p=$(awk '/VmRSS/ {print $2}' "/proc/$cpid/status")
	pss_p=$(awk '/^Pss:/ {print $2}' "/proc/$cpid/smaps_rollup")
	"${P[@]}" rm -f -t 0 "$pid" >/dev/null
fi

# Host memory a running container costs: MemTotal - MemAvailable after
# dropping the page cache (so only what cannot be reclaimed counts: processes,
# kernel objects for cgroups, namespaces, mounts), and the PSS of the
# per-container processes (monitor or conmon, plus the container's own).
used_kib() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
	sleep 0.5
	awk '/MemTotal/ {t=$2} /MemAvailable/ {a=$2} END {print t - a}' /proc/meminfo
}
pss_of() { # comm of the monitor: sum PSS of them and their children
	python3 - "$1" <<'PY'
import os, sys
want = sys.argv[1]
procs = {}
for p in os.listdir("/proc"):
    if not p.isdigit():
        continue
    try:
        comm = open(f"/proc/{p}/comm").read().strip()
        ppid = int(open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()[1])
        procs[int(p)] = (comm, ppid)
    except OSError:
        pass
mons = {p for p, (c, _) in procs.items() if c == want}
pids = mons | {p for p, (_, pp) in procs.items() if pp in mons}
total = 0
for p in pids:
    try:
        for line in open(f"/proc/{p}/smaps_rollup"):
            if line.startswith("Pss:"):
                total += int(line.split()[1])
    except OSError:
        pass
print(len(mons), total)
PY
}
u0=$(used_kib)
t0=$(now_us)
for _ in $(seq "$M"); do "${BR[@]}" run -d --network none localhost/busybox sleep 600 >/dev/null; done
t1=$(now_us)
u1=$(used_kib)
running=$("${BR[@]}" ps -q | wc -l)
read -r nmon_b psssum_b < <(pss_of berth-monitor)
tb_many=$(((t1 - t0) / 1000))
memb=$(((u1 - u0) / M))
pssb=$((psssum_b / M))
t0=$(now_us)
"${BR[@]}" rm -f $("${BR[@]}" ps -aq) >/dev/null
t1=$(now_us)
rmb=$(((t1 - t0) / 1000))
tp_many=0
memp=0
pssp=0
rmp=0
prunning=0
if [ $have_podman = 1 ]; then
	u0=$(used_kib)
	t0=$(now_us)
	for _ in $(seq "$PM"); do "${P[@]}" run -d "${PRUN[@]}" localhost/busybox sleep 600 >/dev/null; done
	t1=$(now_us)
	u1=$(used_kib)
	prunning=$("${P[@]}" ps -q | wc -l)
	read -r nmon_p psssum_p < <(pss_of conmon)
	tp_many=$(((t1 - t0) / 1000))
	memp=$(((u1 - u0) / PM))
	pssp=$((psssum_p / PM))
	t0=$(now_us)
	"${P[@]}" rm -af -t 0 >/dev/null 2>&1
	t1=$(now_us)
	rmp=$(((t1 - t0) / 1000))
fi

# rm -f of R stopped containers (run -d IMG true, all exited), one command
# each; berth's removal finishes in a detached child: its end is timed too
# (until .trash/ is empty), before podman's turn
wait_exited() { # CMD...: until no container is up
	for _ in $(seq 600); do
		[ -z "$("$@" ps -q)" ] && return 0
		sleep 0.1
	done
}
for _ in $(seq "$R"); do "${BR[@]}" run -d --network none localhost/busybox true >/dev/null; done
wait_exited "${BR[@]}"
nb_stopped=$("${BR[@]}" ps -aq | wc -l)
t0=$(now_us)
"${BR[@]}" rm -f $("${BR[@]}" ps -aq) >/dev/null
t1=$(now_us)
while [ -n "$(ls -A "$work/root/containers/.trash" 2>/dev/null)" ]; do sleep 0.01; done
t2=$(now_us)
rmsb=$(((t1 - t0) / 1000))
rmsb_bg=$(((t2 - t0) / 1000))
rmsp=0
np_stopped=0
if [ $have_podman = 1 ]; then
	for _ in $(seq "$R"); do "${P[@]}" run -d "${PRUN[@]}" localhost/busybox true >/dev/null; done
	wait_exited "${P[@]}"
	np_stopped=$("${P[@]}" ps -aq | wc -l)
	t0=$(now_us)
	"${P[@]}" rm -f $("${P[@]}" ps -aq) >/dev/null 2>&1
	t1=$(now_us)
	rmsp=$(((t1 - t0) / 1000))
fi

ratio=$(python3 -c "print(f'{$mp/$mb:.1f}' if $mb else '-')")
over=$(python3 -c "print(f'{($mb-$mrt)/1000:.2f}')")
rmratio=$(python3 -c "print(f'{$rmsp/$rmsb:.1f}' if $rmsb else '-')")
out=docs/benchmarks-engine.md
# the hand-written breakdown at the end of the file is kept
kept=$(sed -n '/^## Where the time goes/,$p' "$out" 2>/dev/null || true)
cat >"$out" <<MD
# Engine benchmarks (bench/engine.sh)

$(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r), podman $(podman --version 2>/dev/null | awk '{print $3}'),
busybox image imported into both stores (private --root/--runroot for podman,
cgroupfs manager, \`--network none\`, nofile/nproc ulimits 1024 for crun on this host).
Release build. berth: \`--network none\` is its default (no bridge yet).

Command: \`N=$N M=$M PM=$PM R=$R bench/engine.sh\` (as root, from the repository root).

## \`run --rm IMG true\`, $N runs each, interleaved

| command | median |
|---|---|
| \`berth-runtime run\` of the image's bundle (make-bundle.sh config) | $((mrt / 1000)).$(printf %03d $((mrt % 1000))) ms |
| \`berth run --rm\` | $((mb / 1000)).$(printf %03d $((mb % 1000))) ms |
| \`podman run --rm\` | $((mp / 1000)).$(printf %03d $((mp % 1000))) ms |

berth run --rm over berth-runtime run: **${over} ms**; podman / berth: **${ratio}x**.
(The engine's config is its own, Docker-like: default capabilities and
seccomp profile, /etc/hosts and resolv.conf binds, an overlay rootfs; the
runtime's is make-bundle.sh's.)

## \`rm -f\` of $R stopped containers (\`run -d IMG true\`, all exited), one command

| engine | containers | \`rm -f\` returns | all removed (berth: its detached sweeper done) |
|---|---|---|---|
| berth | $nb_stopped | ${rmsb} ms | ${rmsb_bg} ms |
| podman | $np_stopped | ${rmsp} ms | ${rmsp} ms |

podman / berth (command): **${rmratio}x**

## Monitor per running container

| | RSS | PSS |
|---|---|---|
| berth-monitor (static) | ${rss_b} KiB | ${pss_b} KiB |
| conmon | ${rss_p} KiB | ${pss_p} KiB |

## Detached containers in a loop (\`run -d IMG sleep 600\`)

| engine | containers | total time | per container | host memory / container | PSS of monitor + container / container | \`rm -f\` of all |
|---|---|---|---|---|---|---|
| berth | $M ($running running) | ${tb_many} ms | $((tb_many / M)) ms | ${memb} KiB | ${pssb} KiB | ${rmb} ms |
| podman | $PM ($prunning running) | ${tp_many} ms | $([ "$PM" -gt 0 ] && echo $((tp_many / PM)) || echo -) ms | ${memp} KiB | ${pssp} KiB | ${rmp} ms |

Host memory: MemTotal - MemAvailable after dropping the page cache, before
and after starting them, divided by the count: what a running container
costs the host that cannot be reclaimed (its processes, the kernel objects
of its cgroups, namespaces and mounts). PSS: the monitor (berth-monitor or
conmon) and its child, the container's process, summed over all of them.
MD
[ -z "$kept" ] || printf '\n%s\n' "$kept" >>"$out"
cat "$out"
