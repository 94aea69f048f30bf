#!/usr/bin/env bash
# bench/net.sh [RUNS] [N] [SECONDS]: berth's container networking against Podman's
# (netavark + aardvark-dns), side by side in one run. Needs root, podman, iperf3.
#   1. `run --rm IMG true` latency, RUNS runs each (default 20, at least 10), in turn:
#      berth --network none, berth on the default network with -p, podman none,
#      podman default network with -p. Medians, p10, p90; ratios. Then the same
#      with -p on a v4-only user network and on a dual-stack one (--ipv6), for
#      berth and for podman (`podman network create --ipv6`).
#   2. N containers (default 100) started on one user network, each started with
#      `run -d` and then reaching the previous one by name (`exec wget
#      http://cI-1/`): total time per engine.
#   3. TCP throughput with iperf3 (SECONDS each, default 5, median of 3):
#      container to container on one network, host to container through a
#      published port (127.0.0.1:PORT), and a bare veth pair between two network
#      namespaces as the ceiling.
# Private stores in a temp dir; the image is a busybox rootfs plus iperf3 and its
# libraries, imported into both. Writes docs/benchmarks-net.md.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
n=${2:-100}
secs=${3:-5}
[ "$runs" -ge 10 ] || runs=10

if [ "$(id -u)" -ne 0 ]; then
	echo "bench/net.sh: needs root" >&2
	exit 1
fi
for t in podman iperf3 nft; do
	command -v $t >/dev/null || { echo "bench/net.sh: no $t" >&2; exit 1; }
done
make -j2 >/dev/null
B=$(realpath build/release/bin/berth)

mountpoint -q /sys/fs/cgroup/hugetlb || {
	mkdir -p /sys/fs/cgroup/hugetlb
	mount -t cgroup -o hugetlb none /sys/fs/cgroup/hugetlb
}

work=$(mktemp -d /tmp/berth-bench-net.XXXXXX)
mkdir -p "$work/tmpdir"
export BERTH_RUNROOT=$work/brun
BR=("$B" --root "$work/berth")
P=(podman --root "$work/storage" --runroot "$work/run" --tmpdir "$work/tmpdir"
	--cgroup-manager cgroupfs --events-backend file)
POPTS=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
IMG=localhost/berth-bench-net:1
PNET=berthbench$$
PNET4=berthbench4$$ PNET6=berthbench6$$
ns1=berth-bench-a$$ ns2=berth-bench-b$$
cleanup() {
	set +e
	"${BR[@]}" rm -f $("${BR[@]}" ps -aq 2>/dev/null) >/dev/null 2>&1
	"${BR[@]}" network rm bnet bnet4 bnet6 bridge >/dev/null 2>&1
	"${P[@]}" rm -af -t 0 >/dev/null 2>&1
	"${P[@]}" network rm -f $PNET $PNET4 $PNET6 >/dev/null 2>&1
	"${P[@]}" rmi -af >/dev/null 2>&1
	ip netns del $ns1 2>/dev/null
	ip netns del $ns2 2>/dev/null
	pkill -f "iperf3 -s -p 5299" 2>/dev/null
	sleep 1
	grep " $work" /proc/self/mountinfo | awk '{print $5}' | sort -r |
		xargs -r -n1 umount -l 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

# the image: busybox + iperf3 with the libraries it loads
scripts/make-bundle.sh "$work/bundle" >/dev/null
r=$work/bundle/rootfs
cp /usr/bin/iperf3 "$r/bin/iperf3"
for lib in $(ldd /usr/bin/iperf3 | awk '/=>/ {print $3} /ld-linux/ {print $1}'); do
	mkdir -p "$r$(dirname "$lib")"
	cp -L "$lib" "$r$lib"
done
tar -C "$r" -cf "$work/rootfs.tar" .
"${BR[@]}" import "$work/rootfs.tar" "$IMG" >/dev/null
"${P[@]}" import "$work/rootfs.tar" "$IMG" >/dev/null

now_ns() { date +%s%N; }
port=18080
declare -A t
kinds=(berth_none berth_bridge podman_none podman_bridge berth_v4net berth_ds podman_v4net
	podman_ds)
"${BR[@]}" network create bnet4 >/dev/null
"${BR[@]}" network create --ipv6 bnet6 >/dev/null
"${P[@]}" network create $PNET4 >/dev/null
"${P[@]}" network create --ipv6 $PNET6 >/dev/null
once() {
	case $1 in
	berth_v4net) "${BR[@]}" run --rm --network bnet4 -p $port:80 "$IMG" true ;;
	berth_ds) "${BR[@]}" run --rm --network bnet6 -p $port:80 "$IMG" true ;;
	podman_v4net) "${P[@]}" run --rm --network $PNET4 -p $port:80 "${POPTS[@]}" "$IMG" true ;;
	podman_ds) "${P[@]}" run --rm --network $PNET6 -p $port:80 "${POPTS[@]}" "$IMG" true ;;
	berth_none) "${BR[@]}" run --rm --network none "$IMG" true ;;
	berth_bridge) "${BR[@]}" run --rm -p $port:80 "$IMG" true ;;
	podman_none) "${P[@]}" run --rm --network none "${POPTS[@]}" "$IMG" true ;;
	podman_bridge) "${P[@]}" run --rm -p $port:80 "${POPTS[@]}" "$IMG" true ;;
	esac
}
for k in "${kinds[@]}"; do once "$k"; t[$k]=""; done # warm-up: networks made, caches warm
for ((i = 0; i < runs; i++)); do
	for k in "${kinds[@]}"; do
		t0=$(now_ns)
		once "$k"
		t1=$(now_ns)
		t[$k]+="$(((t1 - t0) / 1000)) "
	done
done

stats() { # values -> "median p10 p90" (input in us: ms out)
	python3 -c '
import sys, statistics
v = sorted(float(x) for x in sys.argv[1:])
q = lambda p: v[min(len(v) - 1, int(round(p * (len(v) - 1))))]
print(f"{statistics.median(v)/1000:.2f} {q(0.1)/1000:.2f} {q(0.9)/1000:.2f}")' "$@"
}

# 2. N containers on one network, each reaching the previous by name
chain() { # engine -> seconds
	local eng=$1 net=$2
	local -a E
	if [ "$eng" = berth ]; then E=("${BR[@]}"); else E=("${P[@]}"); fi
	local x=()
	[ "$eng" = podman ] && x=("${POPTS[@]}")
	local t0 t1
	t0=$(now_ns)
	for ((i = 1; i <= n; i++)); do
		"${E[@]}" run -d --network "$net" --name "c$i" "${x[@]}" "$IMG" \
			sh -c "mkdir -p /w && echo c$i > /w/index.html && exec httpd -f -p 80 -h /w" >/dev/null
		if [ "$i" -gt 1 ]; then
			"${E[@]}" exec "c$i" timeout 5 wget -qO- "http://c$((i - 1))/" | grep -qx "c$((i - 1))" ||
				{ echo "bench/net.sh: $eng: c$i did not reach c$((i - 1))" >&2; exit 1; }
		fi
	done
	t1=$(now_ns)
	"${E[@]}" rm -f $(seq -f 'c%g' 1 "$n") >/dev/null
	python3 -c "print(f'{($t1 - $t0) / 1e9:.2f}')"
}
"${BR[@]}" network create bnet >/dev/null
"${P[@]}" network create $PNET >/dev/null
chain_berth=$(chain berth bnet)
chain_podman=$(chain podman $PNET)

# 3. iperf3
gbps() { # iperf3 -J on stdin -> Gbit/s received; its error on stderr
	python3 -c '
import json, sys
j = json.load(sys.stdin)
if "error" in j:
    sys.exit("bench/net.sh: iperf3: " + j["error"])
print("%.2f" % (j["end"]["sum_received"]["bits_per_second"] / 1e9))'
}
med3() { python3 -c 'import sys,statistics; print(f"{statistics.median(float(x) for x in sys.argv[1:]):.2f}")' "$@"; }
iperf_pair() { # engine -> "ctr_to_ctr host_to_ctr" Gbit/s
	local eng=$1 net=$2
	local -a E
	if [ "$eng" = berth ]; then E=("${BR[@]}"); else E=("${P[@]}"); fi
	local x=()
	[ "$eng" = podman ] && x=("${POPTS[@]}")
	"${E[@]}" run -d --network "$net" --name srv -p 15201:5201 "${x[@]}" "$IMG" iperf3 -s >/dev/null
	sleep 1
	local ip
	ip=$("${E[@]}" inspect -f "{{.NetworkSettings.Networks.$net.IPAddress}}" srv)
	local a=() h=()
	for k in 1 2 3; do
		a+=("$("${E[@]}" run --rm --network "$net" "${x[@]}" "$IMG" iperf3 -c "$ip" -t "$secs" -J | gbps)")
		sleep 0.5 # the server takes the next test once it has closed the last
		h+=("$(iperf3 -c 127.0.0.1 -p 15201 -t "$secs" -J | tee "$work/iperf-$eng-$k.json" | gbps)")
		sleep 0.5
	done
	"${E[@]}" rm -f srv >/dev/null
	echo "$(med3 "${a[@]}") $(med3 "${h[@]}")"
}
read -r cc_berth hc_berth <<<"$(iperf_pair berth bnet)"
read -r cc_podman hc_podman <<<"$(iperf_pair podman $PNET)"
# the ceiling: a bare veth pair between two namespaces
ip netns add $ns1
ip netns add $ns2
ip link add vbench$$a netns $ns1 type veth peer name vbench$$b netns $ns2
ip -n $ns1 addr add 10.254.254.1/30 dev vbench$$a
ip -n $ns2 addr add 10.254.254.2/30 dev vbench$$b
ip -n $ns1 link set vbench$$a up
ip -n $ns2 link set vbench$$b up
ip netns exec $ns1 iperf3 -s -p 5299 -D
sleep 0.5
v=()
for k in 1 2 3; do v+=("$(ip netns exec $ns2 iperf3 -c 10.254.254.1 -p 5299 -t "$secs" -J | gbps)"); done
veth=$(med3 "${v[@]}")

read -r bn_med bn_p10 bn_p90 <<<"$(stats ${t[berth_none]})"
read -r bb_med bb_p10 bb_p90 <<<"$(stats ${t[berth_bridge]})"
read -r pn_med pn_p10 pn_p90 <<<"$(stats ${t[podman_none]})"
read -r pb_med pb_p10 pb_p90 <<<"$(stats ${t[podman_bridge]})"
read -r b4_med b4_p10 b4_p90 <<<"$(stats ${t[berth_v4net]})"
read -r b6_med b6_p10 b6_p90 <<<"$(stats ${t[berth_ds]})"
read -r p4_med p4_p10 p4_p90 <<<"$(stats ${t[podman_v4net]})"
read -r p6_med p6_p10 p6_p90 <<<"$(stats ${t[podman_ds]})"
ratio() { python3 -c "print(f'{$1/$2:.1f}')"; }
pct() { python3 -c "print(f'{100*$1/$2:.0f}')"; }
date_s=$(date -u '+%Y-%m-%d %H:%M UTC')
cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
machine="$(uname -sr), $(nproc) CPUs ($cpu), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM"
out=docs/benchmarks-net.md
{
	echo "# Networking: berth against Podman (netavark)"
	echo
	echo "- Date: $date_s; machine: $machine; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "- $(podman --version) with $(/usr/lib/podman/netavark --version 2>/dev/null | head -1);" \
		"berth release build ($(git rev-parse --short HEAD)); $(iperf3 --version | head -1 | cut -d' ' -f1-2)"
	echo "- Command: \`bench/net.sh $runs $n $secs\`; private stores in a temp dir; image: busybox + iperf3."
	echo "  Podman: \`${P[*]/$work/TMP} run --rm ${POPTS[*]} [-p $port:80 | --network none] IMG true\`."
	echo
	echo "## run --rm IMG true ($runs runs each, in turn, after a warm-up)"
	echo
	echo "| engine, network | median ms | p10 | p90 |"
	echo "|---|---|---|---|"
	echo "| berth --network none | $bn_med | $bn_p10 | $bn_p90 |"
	echo "| berth default network, -p $port:80 | $bb_med | $bb_p10 | $bb_p90 |"
	echo "| podman --network none | $pn_med | $pn_p10 | $pn_p90 |"
	echo "| podman default network, -p $port:80 | $pb_med | $pb_p10 | $pb_p90 |"
	echo
	echo "- podman / berth on the default network with a port: **$(ratio "$pb_med" "$bb_med")x** (target: at least 10x)"
	echo "- berth's cost of the network and port: **$(python3 -c "print(f'{$bb_med-$bn_med:.2f}')") ms** (target: at most 5 ms);" \
		"podman's: $(python3 -c "print(f'{$pb_med-$pn_med:.1f}')") ms"
	echo
	echo "## run --rm -p $port:80 IMG true on a user network: v4-only against dual-stack (--ipv6)"
	echo
	echo "| engine, network | median ms | p10 | p90 |"
	echo "|---|---|---|---|"
	echo "| berth, v4-only user network | $b4_med | $b4_p10 | $b4_p90 |"
	echo "| berth, dual-stack network (--ipv6) | $b6_med | $b6_p10 | $b6_p90 |"
	echo "| podman, v4-only user network | $p4_med | $p4_p10 | $p4_p90 |"
	echo "| podman, dual-stack network (--ipv6) | $p6_med | $p6_p10 | $p6_p90 |"
	echo
	echo "- berth's cost of IPv6 (dual-stack against v4-only): **$(python3 -c "print(f'{$b6_med-$b4_med:.2f}')") ms**;" \
		"podman's: $(python3 -c "print(f'{$p6_med-$p4_med:.1f}')") ms"
	echo "- podman / berth on the dual-stack network: **$(ratio "$p6_med" "$b6_med")x**"
	echo
	echo "## $n containers on one network, each reaching the previous by name"
	echo
	echo "| engine | total s | per container ms |"
	echo "|---|---|---|"
	echo "| berth | $chain_berth | $(python3 -c "print(f'{1000*$chain_berth/$n:.1f}')") |"
	echo "| podman | $chain_podman | $(python3 -c "print(f'{1000*$chain_podman/$n:.1f}')") |"
	echo
	echo "podman / berth: **$(ratio "$chain_podman" "$chain_berth")x**"
	echo
	echo "## TCP throughput, iperf3 -t $secs (median of 3), Gbit/s"
	echo
	echo "| path | berth | podman | berth / podman |"
	echo "|---|---|---|---|"
	echo "| container to container, one network | $cc_berth | $cc_podman | $(ratio "$cc_berth" "$cc_podman") |"
	echo "| host to container, published port on 127.0.0.1 | $hc_berth | $hc_podman | $(ratio "$hc_berth" "$hc_podman") |"
	echo "| bare veth pair, two namespaces (ceiling) | $veth | | |"
	echo
	echo "berth container to container: $(pct "$cc_berth" "$veth")% of the bare veth (target: within 10%)."
} >"$out"
cat "$out"
