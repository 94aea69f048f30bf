#!/usr/bin/env bash
# bench/build.sh: `berth build` against `podman build` (buildah's engine),
# the same Containerfile (2 RUN + 1 COPY over the busybox base), the same base
# image (berth's docker-archive of it loaded into podman's private store),
# interleaved, N runs each, medians and ratios of: a cold build (--no-cache,
# both), a rebuild after a change to the COPYed file (the RUN before the COPY
# from the cache, the COPY and the RUN after it run again: counted in the
# output, the bench fails otherwise) and a fully cached rebuild (every step
# from the cache, counted too). Writes docs/benchmarks-build.md. Needs root;
# podman optional (berth alone then).
#   N=10 bench/build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-10}
[ "$(id -u)" = 0 ] || { echo "bench/build.sh: needs root" >&2; exit 1; }
make -j2 >/dev/null
B=$PWD/build/release/bin/berth
read -r load0 _ </proc/loadavg
work=$(mktemp -d /tmp/berth-bench-build.XXXXXX)
export BERTH_RUNROOT=$work/run
BR=("$B" --root "$work/root")
# crun refuses this host's hybrid cgroups ("drop all controllers from
# cgroupv2"): podman build runs its RUN steps with runc (its default OCI
# isolation); chroot isolation is measured once too (PISO=chroot to use it)
PISO=${PISO:-oci}
P=(podman --root "$work/proot" --runroot "$work/prun" --tmpdir "$work/ptmp"
	--cgroup-manager=cgroupfs --events-backend=file --storage-driver=overlay --runtime runc)
PB=(build --layers --isolation "$PISO" --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
have_podman=0
command -v podman >/dev/null && command -v runc >/dev/null && have_podman=1

cleanup() {
	set +e
	if [ $have_podman = 1 ]; then
		(cd "$work" && "${P[@]}" system reset -f >/dev/null 2>&1)
	fi
	grep -o "$work[^ ]*" /proc/self/mountinfo 2>/dev/null | sort -r | while read -r m; do
		umount -l "$m" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/ptmp" "$work/ctx"

scripts/make-bundle.sh "$work/bundle" >/dev/null
tar -C "$work/bundle/rootfs" -cf "$work/rootfs.tar" .
"${BR[@]}" import "$work/rootfs.tar" localhost/busybox >/dev/null
"${BR[@]}" save -o "$work/busybox.tar" localhost/busybox
if [ $have_podman = 1 ]; then
	(cd "$work" && "${P[@]}" pull "docker-archive:$work/busybox.tar" >/dev/null 2>&1)
	bid=$("${BR[@]}" image inspect localhost/busybox | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Id"])')
	pid=$(cd "$work" && "${P[@]}" image inspect --format '{{.Id}}' localhost/busybox)
	[ "$bid" = "sha256:$pid" ] || { echo "bench/build.sh: base image $bid in berth, $pid in podman" >&2; exit 1; }
fi

cat >"$work/ctx/Containerfile" <<'CF'
FROM localhost/busybox
RUN echo one > /one
COPY app.txt /app/app.txt
RUN wc -c /app/app.txt > /app/size
CMD ["cat", "/app/size"]
CF
echo v0 >"$work/ctx/app.txt"

now_us() { local t=${EPOCHREALTIME/./}; echo $((10#$t)); }
median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print int((a[NR/2]+a[NR/2+1])/2)}'; }
ms() { awk -v u="$1" 'BEGIN {printf "%.1f ms", u / 1000}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.1f", a / b; else print "-"}'; }

# one build; its time appended to $work/t-$1, its output kept in $work/out;
# want: how many steps must come from the cache (- for any)
sample() {
	local name=$1 want=$2
	shift 2
	local t0 t1 hits
	t0=$(now_us)
	(cd "$work" && "$@" >"$work/out" 2>&1) || { cat "$work/out" >&2; exit 1; }
	t1=$(now_us)
	echo $((t1 - t0)) >>"$work/t-$name"
	hits=$(grep -c -- "--> Using cache" "$work/out" || true)
	if [ "$want" != - ] && [ "$hits" != "$want" ]; then
		echo "bench/build.sh: $name: $hits steps from the cache, expected $want:" >&2
		cat "$work/out" >&2
		exit 1
	fi
	echo "$hits" >"$work/hits-$name"
}
berth_build() { "${BR[@]}" build -t localhost/app "$@" "$work/ctx"; }
podman_build() { "${P[@]}" "${PB[@]}" -t localhost/app "$@" "$work/ctx"; }

# warm-up: the cache of the first RUN exists for the "change" builds
for _ in 1 2; do
	berth_build >/dev/null
	[ $have_podman = 1 ] && (cd "$work" && podman_build >/dev/null 2>&1)
done
for i in $(seq "$N"); do
	sample berth-cold 0 berth_build --no-cache
	[ $have_podman = 1 ] && sample podman-cold 0 podman_build --no-cache
	echo "v$i $RANDOM" >"$work/ctx/app.txt" # a change: the COPY and the RUN after it again
	sample berth-change 1 berth_build
	[ $have_podman = 1 ] && sample podman-change 1 podman_build
	sample berth-cached 4 berth_build
	[ $have_podman = 1 ] && sample podman-cached 4 podman_build
done
out_b=$("${BR[@]}" run --rm --network none localhost/app)
[ "$out_b" = "$(wc -c <"$work/ctx/app.txt") /app/app.txt" ] || {
	echo "bench/build.sh: the built image printed '$out_b'" >&2
	exit 1
}

for k in cold change cached; do
	eval "b_$k=\$(median <\"$work/t-berth-$k\")"
	if [ $have_podman = 1 ]; then eval "p_$k=\$(median <\"$work/t-podman-$k\")"; else eval "p_$k=0"; fi
done
read -r load1 _ </proc/loadavg
met() { awk -v r="$1" -v t="$2" 'BEGIN {print (r >= t) ? "met" : "**not met**"}'; }
rc=$(ratio "$p_cold" "$b_cold")
rch=$(ratio "$p_change" "$b_change")
rca=$(ratio "$p_cached" "$b_cached")
under=$(awk -v u="$b_cached" 'BEGIN {print (u < 50000) ? "met" : "**not met**"}')

out=docs/benchmarks-build.md
# the hand-written breakdown at the end of the file is kept
kept=$(sed -n '/^## Where the time goes/,$p' "$out" 2>/dev/null || true)
cat >"$out" <<MD
# Build benchmarks (bench/build.sh)

$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(uname -r), podman $(podman --version 2>/dev/null | awk '{print $3}')
(buildah's engine; private --root/--runroot/--tmpdir, overlay storage, cgroupfs manager,
\`--isolation $PISO\` with runc: crun refuses this host's hybrid cgroups; nofile/nproc
ulimits 1024). Release build of berth. Load average at the start: $load0, at the end: $load1
(other work on the host counts).

Command: \`N=$N bench/build.sh\` (as root, from the repository root).

The Containerfile (the same for both; the base image is berth's docker-archive of the
make-bundle.sh busybox, loaded into podman's store: the same image ID):

\`\`\`
$(cat "$work/ctx/Containerfile")
\`\`\`

Interleaved, $N runs of each, medians:

| build | berth build | podman build | podman / berth | target |
|---|---:|---:|---:|---|
| cold (\`--no-cache\`, both) | $(ms "$b_cold") | $(ms "$p_cold") | **${rc}x** | >= 3x: $(met "$rc" 3) |
| after a change to app.txt (the first RUN cached; COPY, RUN, CMD run) | $(ms "$b_change") | $(ms "$p_change") | **${rch}x** | only the steps after the COPY run: met (counted) |
| fully cached (all 4 steps after FROM cached) | $(ms "$b_cached") | $(ms "$p_cached") | **${rca}x** | >= 10x: $(met "$rca" 10), < 50 ms: $under |

"Cold" is \`--no-cache\` on a store that has the base image (the same for both);
every sample's output is checked for the number of \` --> Using cache\` lines
(0, 1 and 4: the bench fails otherwise), and the last image is run by berth.
MD
[ -n "$kept" ] && printf '\n%s\n' "$kept" >>"$out"
cat "$out"
