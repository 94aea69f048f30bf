#!/usr/bin/env bash
# bench/cri.sh [RUNS]: the CRI pod start with berth-runtime against runc, the
# same private containerd (its CRI plugin, runtimes `berth` and `runc`, both
# io.containerd.runc.v2): RunPodSandbox to the container's first output in the
# kubelet's log file, RUNS runs per handler (default 5), alternating, after a
# warm-up run each; medians and their ratio. The driver is tests/cri/bench_cri.py
# (the setup of tests/integration/test_cri.py). Writes the "## CRI" section of
# docs/benchmarks-kube.md (the rest of that file is kept). Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
if [ "$(id -u)" -ne 0 ]; then
	echo "bench/cri.sh: needs root (containerd)" >&2
	exit 1
fi
make -j2 >/dev/null
table=$(/usr/bin/python3 tests/cri/bench_cri.py build/release/bin "$runs")
echo "$table"
out=docs/benchmarks-kube.md
section=$(
	cat <<MD
## CRI

RunPodSandbox to the container's first output (CreateContainer + StartContainer
of \`echo\`, its line in the kubelet's log file), berth-runtime against runc under
the same containerd $(containerd --version | awk '{print $3}') (runc $(runc --version | awk 'NR==1 {print $3}')),
CNI bridge network, $runs runs each, alternating, after one warm-up each.
$(date -u +%Y-%m-%d), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg) at the end.
Reproduce: \`bench/cri.sh $runs\`.

$table
MD
)
if [ -f "$out" ]; then
	# the "## CRI" section replaced (to the next "## " heading or the end), the rest kept
	awk -v sec="$section" '
		/^## CRI$/ { print sec; skip = 1; done = 1; next }
		skip && /^## / { skip = 0 }
		!skip { print }
		END { if (!done) print "\n" sec }' "$out" >"$out.tmp"
	mv "$out.tmp" "$out"
else
	printf '# Benchmarks: Kubernetes\n\n%s\n' "$section" >"$out"
fi
echo "bench/cri.sh: wrote $out"
