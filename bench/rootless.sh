#!/usr/bin/env bash
# bench/rootless.sh: rootless `berth run --rm --network none IMG true` against
# rootless `podman run --rm --network none IMG true` as the same unprivileged
# account (made here: useradd, a subuid/subgid range, /run/user/UID; removed at
# the end), the same busybox tar loaded into both stores as that account. W
# warm-up runs, then N runs each, interleaved; medians and the ratio. Then the
# first command's cost: the pause process (user + mount namespace, newuidmap,
# newgidmap) is killed before each of F runs, so the run makes it again (berth
# and podman alike). Writes docs/benchmarks-rootless.md. Needs root (to make the
# account), podman, newuidmap.
#   N=20 W=3 F=10 bench/rootless.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-20}
W=${W:-3}
F=${F:-10}
[ "$(id -u)" = 0 ] || { echo "bench/rootless.sh: needs root (it makes the account)" >&2; exit 1; }
for t in podman newuidmap runuser useradd; do
	command -v $t >/dev/null || { echo "bench/rootless.sh: no $t" >&2; exit 1; }
done
make -j2 >/dev/null

read -r load0 _ </proc/loadavg
acct=brb$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')
work=$(mktemp -d /tmp/berth-bench-rootless.XXXXXX)
chmod 755 "$work"
added=0
cleanup() {
	set +e
	if [ $added = 1 ]; then
		# the account's processes (its pause processes, podman's too), by pid
		for _ in 1 2 3 4 5; do
			pids=$(ps -o pid= -U "$uid" | tr -d ' ')
			[ -n "$pids" ] || break
			kill -9 $pids 2>/dev/null
			sleep 0.2
		done
		userdel -r "$acct" >/dev/null 2>&1
		sed -i "/^$acct:/d" /etc/subuid /etc/subgid
		rm -rf "/run/user/$uid"
	fi
	rm -rf "$work"
}
trap cleanup EXIT

# the account, with a range after every existing one (as tests/integration/rootless_helpers.py)
start=$(cat /etc/subuid /etc/subgid 2>/dev/null |
	awk -F: 'NF == 3 {e = $2 + $3; if (e > m) m = e} END {print (m > 1000000 ? m : 1000000)}')
useradd -m -s /bin/sh "$acct"
uid=$(id -u "$acct")
added=1
echo "$acct:$start:65536" >>/etc/subuid
echo "$acct:$start:65536" >>/etc/subgid
mkdir -p /run/user
install -d -m 700 -o "$acct" -g "$(id -g "$acct")" "/run/user/$uid"

# binaries and image where the account can read them
mkdir "$work/bin"
cp build/release/bin/berth build/release/bin/berth-monitor build/release/bin/berth-xfer \
	build/release/bin/berth-init build/release/bin/berth-runtime "$work/bin/"
chmod 755 "$work/bin" "$work/bin"/*
scripts/make-bundle.sh "$work/bundle" >/dev/null
tar -C "$work/bundle/rootfs" --numeric-owner -cf "$work/busybox.tar" .
chmod 644 "$work/busybox.tar"
rm -rf "$work/bundle"
install -d -m 700 -o "$acct" "$work/out"

# what runs as the account, timing itself (no runuser in the samples)
cat >"$work/inner.sh" <<'INNER'
set -euo pipefail
B=$BIN/berth
P=(podman --cgroup-manager=cgroupfs --events-backend=file --storage-driver=overlay)
PRUN=(--network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
now_us() { local t=${EPOCHREALTIME/./}; echo $((10#$t)); }
berth_pause() { cut -d' ' -f1 "$XDG_RUNTIME_DIR/berth/pause.pid"; }
podman_pause() { cat "$XDG_RUNTIME_DIR/libpod/tmp/pause.pid"; }
kill_wait() { # PID: kill -9 and wait until it is gone
	kill -9 "$1"
	while [ -e "/proc/$1" ]; do sleep 0.01; done
}

"$B" import "$TAR" localhost/busybox >/dev/null
"${P[@]}" import "$TAR" localhost/busybox >/dev/null 2>>"$OUT/podman.log"
for _ in $(seq "$W"); do
	"$B" run --rm --network none localhost/busybox true
	"${P[@]}" run --rm "${PRUN[@]}" localhost/busybox true 2>>"$OUT/podman.log"
done
: >"$OUT/t-berth"
: >"$OUT/t-podman"
for _ in $(seq "$N"); do
	t0=$(now_us)
	"$B" run --rm --network none localhost/busybox true
	t1=$(now_us)
	echo $((t1 - t0)) >>"$OUT/t-berth"
	t0=$(now_us)
	"${P[@]}" run --rm "${PRUN[@]}" localhost/busybox true 2>>"$OUT/podman.log"
	t1=$(now_us)
	echo $((t1 - t0)) >>"$OUT/t-podman"
done
# the first command: no pause process yet
: >"$OUT/f-berth"
: >"$OUT/f-podman"
: >"$OUT/f-berth-images"
for _ in $(seq "$F"); do
	kill_wait "$(berth_pause)"
	t0=$(now_us)
	"$B" images >/dev/null
	t1=$(now_us)
	echo $((t1 - t0)) >>"$OUT/f-berth-images"
	kill_wait "$(berth_pause)"
	t0=$(now_us)
	"$B" run --rm --network none localhost/busybox true
	t1=$(now_us)
	echo $((t1 - t0)) >>"$OUT/f-berth"
	kill_wait "$(podman_pause)"
	t0=$(now_us)
	"${P[@]}" run --rm "${PRUN[@]}" localhost/busybox true 2>>"$OUT/podman.log"
	t1=$(now_us)
	echo $((t1 - t0)) >>"$OUT/f-podman"
done
: >"$OUT/w-berth-images"
for _ in $(seq "$F"); do
	t0=$(now_us)
	"$B" images >/dev/null
	t1=$(now_us)
	echo $((t1 - t0)) >>"$OUT/w-berth-images"
done
"${P[@]}" info --format '{{.Store.GraphDriverName}} {{.Host.CgroupManager}} {{.Host.OCIRuntime.Name}}' >"$OUT/podman-info" 2>/dev/null
INNER

(cd /tmp && runuser -u "$acct" -- env -i HOME="/home/$acct" USER="$acct" LOGNAME="$acct" \
	PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin XDG_RUNTIME_DIR="/run/user/$uid" \
	BIN="$work/bin" TAR="$work/busybox.tar" OUT="$work/out" N="$N" W="$W" F="$F" \
	bash "$work/inner.sh")

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print int((a[NR/2]+a[NR/2+1])/2)}'; }
ms() { printf '%d.%03d ms' $(($1 / 1000)) $(($1 % 1000)); }
mb=$(median <"$work/out/t-berth")
mp=$(median <"$work/out/t-podman")
fb=$(median <"$work/out/f-berth")
fp=$(median <"$work/out/f-podman")
fbi=$(median <"$work/out/f-berth-images")
wbi=$(median <"$work/out/w-berth-images")
ratio=$(python3 -c "print(f'{$mp/$mb:.1f}')")
fratio=$(python3 -c "print(f'{$fp/$fb:.1f}')")
read -r pdriver pcgm pruntime <"$work/out/podman-info" || true

out=docs/benchmarks-rootless.md
cat >"$out" <<MD
# Rootless benchmarks (bench/rootless.sh)

$(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r), podman $(podman --version | awk '{print $3}')
($pruntime, storage driver $pdriver in the user namespace, cgroup manager $pcgm),
release build of berth. One unprivileged account made for the run (useradd, one
subuid/subgid range of 65536, /run/user/UID as logind would make it; no systemd on
this host), the same busybox tar imported into both of its stores; both engines run
as that account with \`--network none\` (rootless networking is not measured here).
The samples are taken by a script running as the account (no runuser in them).

Command: \`N=$N W=$W F=$F bench/rootless.sh\` (as root, from the repository root; it
makes and removes the account).

Podman's flags: \`--cgroup-manager=cgroupfs\` (no systemd user session),
\`--events-backend=file\` (no journald), \`--storage-driver=overlay\` (its default
here is vfs: no fuse-overlayfs installed, native overlay in the user namespace
works on this kernel), \`--ulimit nofile=1024:1024 --ulimit nproc=1024:1024\` (as
in bench/engine.sh: root podman's crun needs them on this host; rootless runs
without them too, and they cost nothing measurable). berth needs none.
Load average when the run started: $load0 (other work on the host counts).

## \`run --rm --network none IMG true\`, $W warm-up, then $N runs each, interleaved

| command | median |
|---|---|
| \`berth run --rm\` (rootless) | $(ms "$mb") |
| \`podman run --rm\` (rootless) | $(ms "$mp") |

podman / berth: **${ratio}x** (the issue's target: at least 7x).

## The first command: making the pause process

The pause process is killed (kill -9, waited for) before each of $F samples, so
the command makes the user namespace again: fork, unshare, newuidmap and
newgidmap, pause.pid.

| command | first (no pause process), median | warm, median |
|---|---|---|
| \`berth images\` | $(ms "$fbi") | $(ms "$wbi") |
| \`berth run --rm\` | $(ms "$fb") | $(ms "$mb") |
| \`podman run --rm\` | $(ms "$fp") | $(ms "$mp") |

Pause process creation costs berth about $(ms $((fbi > wbi ? fbi - wbi : 0))) (\`images\`
first minus warm); podman / berth for a first run: **${fratio}x**.
MD
cat "$out"
