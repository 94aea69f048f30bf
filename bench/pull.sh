#!/usr/bin/env bash
# Pull + unpack of one image from a local docker-registry: berth vs podman.
#
#   bench/pull.sh            (RUNS=5 by default; BERTH=build/release/bin/berth)
#
# The image is the debootstrap'ed Debian bookworm minbase root filesystem in
# /var/cache/berth-test/bookworm (made by the integration tests, or here when
# debootstrap reaches a mirror), else a busybox root filesystem. It is imported
# with berth (one gzip layer) and pushed to a docker-registry on 127.0.0.1.
# Each run starts from an empty store on a fresh ext4 (berth --root, podman
# --root/--runroot, overlay driver); berth and podman alternate. Prints per-run times, medians
# and the ratio podman/berth.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
BERTH=${BERTH:-build/release/bin/berth}
[ -x "$BERTH" ] || { echo "build first: make" >&2; exit 1; }
for t in docker-registry podman; do
	command -v $t >/dev/null || { echo "pull.sh: $t is not installed" >&2; exit 1; }
done

W=$(mktemp -d /tmp/berth-bench-pull.XXXXXX)
REGPID=
cleanup() {
	[ -n "$REGPID" ] && kill "$REGPID" 2>/dev/null && wait "$REGPID" 2>/dev/null || true
	grep -o " $W[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$W/registry.yml" <<YML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $W/registry
http:
  addr: 127.0.0.1:$PORT
YML
docker-registry serve "$W/registry.yml" >"$W/registry.log" 2>&1 &
REGPID=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/v2/" >/dev/null && break; sleep 0.05; done

DEB=/var/cache/berth-test/bookworm
if [ ! -e "$DEB/etc/debian_version" ] && command -v debootstrap >/dev/null; then
	mkdir -p /var/cache/berth-test
	debootstrap --variant=minbase bookworm "$DEB.tmp" >"$W/debootstrap.log" 2>&1 &&
		mv "$DEB.tmp" "$DEB" || rm -rf "$DEB.tmp"
fi
if [ -e "$DEB/etc/debian_version" ]; then
	NAME="debian:bookworm (debootstrap minbase)"
	tar -C "$DEB" --numeric-owner -cf "$W/rootfs.tar" .
else
	NAME="busybox (debootstrap unavailable)"
	mkdir -p "$W/bb/bin" && cp /usr/bin/busybox "$W/bb/bin/" && ln -s busybox "$W/bb/bin/sh"
	tar -C "$W/bb" -cf "$W/rootfs.tar" .
fi
REF=127.0.0.1:$PORT/bench/image:1
"$BERTH" --root "$W/seed" import "$W/rootfs.tar" bench:1 >/dev/null
"$BERTH" --root "$W/seed" push -q bench:1 "$REF" >/dev/null
SIZE=$(du -sb "$W/seed/image/blobs" | cut -f1)
rm -rf "$W/seed" "$W/rootfs.tar"

# Every run gets a fresh, journaled ext4 (a loop-mounted image file). Back to
# back runs on one directory tree mostly measure the previous run's rm -rf:
# on an ext4 without a journal (this machine's root) the inode allocator scans
# past inodes freed in the last 60-300 s (recently_deleted()), which made
# either tool 3-5x slower depending on which block group it landed in.
now() { date +%s.%N; }
fresh_fs() {
	mountpoint -q "$W/mnt" && umount "$W/mnt"
	mkfs.ext4 -q -F "$W/fs.img" >/dev/null
	mount -o loop "$W/fs.img" "$W/mnt"
	sync
}
truncate -s 4G "$W/fs.img"
mkdir -p "$W/mnt"
b_times=() p_times=()
for i in $(seq "$RUNS"); do
	fresh_fs
	t0=$(now)
	"$BERTH" --root "$W/mnt/b" pull -q "$REF" >/dev/null
	t1=$(now)
	b_times+=("$(echo "$t1 - $t0" | bc)")
	[ -e "$W/mnt/b/image/layers" ] || { echo "berth pull left no layers" >&2; exit 1; }

	fresh_fs
	t0=$(now)
	podman --root "$W/mnt/p/root" --runroot "$W/mnt/p/run" --storage-driver overlay \
		pull -q --tls-verify=false "$REF" >/dev/null
	t1=$(now)
	p_times+=("$(echo "$t1 - $t0" | bc)")
	grep -o " $W/mnt/[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
	printf 'run %d: berth %.3fs  podman %.3fs\n' "$i" "${b_times[-1]}" "${p_times[-1]}"
done
umount "$W/mnt"

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
mb=$(median "${b_times[@]}")
mp=$(median "${p_times[@]}")
echo "image: $NAME, compressed $((SIZE / 1000000)) MB, $RUNS runs each, alternating"
printf 'median berth  %.3fs\nmedian podman %.3fs\nratio podman/berth %.2fx\n' "$mb" "$mp" \
	"$(echo "$mp / $mb" | bc -l)"
