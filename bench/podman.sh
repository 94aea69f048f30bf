#!/usr/bin/env bash
# bench/podman.sh [RUNS] [N]: Podman with berth-runtime against Podman with crun.
#   1. latency of `podman --runtime R run --rm --network none IMG true`, RUNS runs per
#      runtime (default 20, at least 15), alternating berth, crun, berth, ...; one
#      warm-up run each first. Median, p10, p90 and the berth/crun ratio of the medians.
#   2. host memory per running container: N (default 10) detached `sleep` containers
#      per runtime; RSS (VmRSS) of conmon, of the container's processes and of any
#      runtime process still alive; per-container figure = sum / N.
# Podman uses a private store in a temp dir (--root/--runroot/--tmpdir), cgroupfs and
# the file events backend; the image is a busybox rootfs tar imported with `podman
# import`. Writes docs/benchmarks-podman.md (date, machine, exact commands). Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
n=${2:-10}
[ "$runs" -ge 15 ] || runs=15

if [ "$(id -u)" -ne 0 ]; then
	echo "bench/podman.sh: needs root" >&2
	exit 1
fi
command -v podman >/dev/null || { echo "bench/podman.sh: no podman" >&2; exit 1; }
make -j2 >/dev/null
berth=$(realpath build/release/bin/berth-runtime)
crun=$(command -v crun || true)

# crun refuses this hybrid setup while cgroup2 lists hugetlb: give it a v1 hierarchy
mountpoint -q /sys/fs/cgroup/hugetlb || {
	mkdir -p /sys/fs/cgroup/hugetlb
	mount -t cgroup -o hugetlb none /sys/fs/cgroup/hugetlb
}

work=$(mktemp -d /tmp/berth-bench-podman.XXXXXX)
mkdir -p "$work/tmpdir"
P=(podman --root "$work/storage" --runroot "$work/run" --tmpdir "$work/tmpdir"
	--cgroup-manager cgroupfs --events-backend file)
OPTS=(--network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
IMG=localhost/berth-bench-busybox:1
cleanup() {
	"${P[@]}" rm -af -t 0 >/dev/null 2>&1 || true
	"${P[@]}" rmi -af >/dev/null 2>&1 || true
	grep " $work" /proc/self/mountinfo | awk '{print $5}' | sort -r |
		xargs -r -n1 umount -l 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

scripts/make-bundle.sh "$work/bundle" >/dev/null
tar -C "$work/bundle/rootfs" -cf "$work/rootfs.tar" .
"${P[@]}" import "$work/rootfs.tar" "$IMG" >/dev/null

runtimes=("$berth")
[ -n "$crun" ] && runtimes+=("$crun")

now_ns() { date +%s%N; }
declare -A times
for rt in "${runtimes[@]}"; do
	"${P[@]}" --runtime "$rt" run --rm "${OPTS[@]}" "$IMG" true # warm-up
	times[$rt]=""
done
for ((i = 0; i < runs; i++)); do
	for rt in "${runtimes[@]}"; do
		t0=$(now_ns)
		"${P[@]}" --runtime "$rt" run --rm "${OPTS[@]}" "$IMG" true
		t1=$(now_ns)
		times[$rt]+="$(((t1 - t0) / 1000)) "
	done
done

stats() { # microseconds list -> "median p10 p90" in ms
	python3 -c '
import sys, statistics
v = sorted(int(x) for x in sys.argv[1:])
q = lambda p: v[min(len(v) - 1, int(round(p * (len(v) - 1))))]
print(f"{statistics.median(v)/1000:.1f} {q(0.1)/1000:.1f} {q(0.9)/1000:.1f}")' "$@"
}

rss_kib() { # pid -> VmRSS in KiB (0 if gone)
	awk '/^VmRSS:/ {print $2; f=1} END {if (!f) print 0}' "/proc/$1/status" 2>/dev/null || echo 0
}

declare -A mem
for rt in "${runtimes[@]}"; do
	ids=()
	for ((i = 0; i < n; i++)); do
		ids+=("$("${P[@]}" --runtime "$rt" run -d "${OPTS[@]}" "$IMG" sleep 1000)")
	done
	sleep 1
	conmon=0 ctr=0 rtproc=0
	for id in "${ids[@]}"; do
		cpid=$("${P[@]}" inspect --format '{{.State.ConmonPid}}' "$id")
		ppid=$("${P[@]}" inspect --format '{{.State.Pid}}' "$id")
		conmon=$((conmon + $(rss_kib "$cpid")))
		# the container's processes: init and its descendants
		for p in $ppid $(pgrep -P "$ppid" || true); do ctr=$((ctr + $(rss_kib "$p"))); done
	done
	# runtime processes that stayed alive (exe is the runtime binary)
	alive=0
	for d in /proc/[0-9]*; do
		if [ "$(readlink "$d/exe" 2>/dev/null)" = "$(realpath "$rt")" ]; then
			alive=$((alive + 1))
			rtproc=$((rtproc + $(rss_kib "${d#/proc/}")))
		fi
	done
	mem[$rt]="$conmon $ctr $rtproc $alive"
	"${P[@]}" rm -f -t 0 "${ids[@]}" >/dev/null
done

date_s=$(date -u '+%Y-%m-%d %H:%M UTC')
cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
machine="$(uname -sr), $(nproc) CPUs ($cpu), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM"
pver=$(podman --version)
out=docs/benchmarks-podman.md
{
	echo "# Podman: berth-runtime vs crun"
	echo
	echo "- Date: $date_s"
	echo "- Machine: $machine"
	echo "- $pver; conmon $(conmon --version 2>/dev/null | head -1 | awk '{print $3}');" \
		"berth-runtime: release build ($(git rev-parse --short HEAD));" \
		"crun: ${crun:+$($crun --version | head -1)}"
	echo "- Command: \`bench/podman.sh $runs $n\`; each run is"
	echo "  \`${P[*]/$work/TMP} --runtime RUNTIME run --rm ${OPTS[*]} $IMG true\`"
	echo "  (private store in a temp dir; image = busybox rootfs via \`podman import\`)."
	echo
	echo "## podman run --rm latency ($runs runs each, alternating, after one warm-up)"
	echo
	echo "| runtime | median ms | p10 ms | p90 ms |"
	echo "|---|---|---|---|"
	for rt in "${runtimes[@]}"; do
		read -r med p10 p90 <<<"$(stats ${times[$rt]})"
		echo "| $(basename "$rt") | $med | $p10 | $p90 |"
		eval "med_$(basename "$rt" | tr -c 'a-z\n' _)=$med"
	done
	if [ -n "$crun" ]; then
		echo
		echo "Ratio of medians berth-runtime / crun: $(python3 -c "print(f'{$med_berth_runtime/$med_crun:.2f}')")"
	fi
	echo
	echo "## Host memory per running container ($n detached \`sleep 1000\` each)"
	echo
	echo "| runtime | conmon RSS / ctr | container RSS / ctr | runtime processes alive (RSS) | total / ctr |"
	echo "|---|---|---|---|---|"
	for rt in "${runtimes[@]}"; do
		read -r c k r a <<<"${mem[$rt]}"
		echo "| $(basename "$rt") | $((c / n)) KiB | $((k / n)) KiB | $a ($r KiB) | $(((c + k + r) / n)) KiB |"
	done
	echo
	for rt in "${runtimes[@]}"; do
		read -r c k r a <<<"${mem[$rt]}"
		echo "- $(basename "$rt"): $a runtime process(es) alive with $n containers running" \
			"(conmon is the per-container helper; the container's init is the user's process)."
	done
} >"$out"
cat "$out"
