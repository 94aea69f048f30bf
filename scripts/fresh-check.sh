#!/usr/bin/env bash
# fresh-check.sh [--demo-only] [--keep]: the README's two commands on a fresh
# Debian 12 machine, as a newcomer meets them.
#
# Makes a new Debian 12 root filesystem (debootstrap --variant=minbase, plus
# make and git, as the base image has them), clones the committed HEAD of this
# checkout into /root/berth there (mode 0700, as a newcomer's home), and runs
# `make demo` and then `make test` in it. The new root is entered with
# pivot_root in a mount namespace and a pid namespace of its own (a chroot
# would refuse user namespaces, and the pid namespace ends every process the
# run started), with the host's kernel, /sys (cgroups), /dev (kvm, pts) and a
# fresh /proc, /run and /tmp. Needs root and the Debian archive.
#
#   --demo-only  run only `make demo`
#   --keep       keep the root filesystem (its path is printed)
# Environment: FRESH_MIRROR (default: the host's first Debian mirror),
# FRESH_DIR (where the root is made; default /var/tmp).
# Output of each command goes to build/fresh-check/<cmd>.log as well; the last
# line is "fresh-check: passed" or names the command that failed. Exit status:
# 0 passed, 1 a README command failed, 3 no fresh root could be made (no
# Debian mirror reachable, no debootstrap), 2 bad usage.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
demo_only=0 keep=0
for a in "$@"; do
	case "$a" in
	--demo-only) demo_only=1 ;;
	--keep) keep=1 ;;
	*)
		echo "fresh-check: unknown option $a (--demo-only, --keep)" >&2
		exit 2
		;;
	esac
done
if [ "$(id -u)" -ne 0 ]; then
	echo "fresh-check: needs root (debootstrap, mounts, pivot_root)" >&2
	exit 1
fi
if ! command -v debootstrap >/dev/null; then
	echo "fresh-check: installing debootstrap" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null ||
		{ echo "fresh-check: cannot install debootstrap" >&2; exit 3; }
fi

# The mirror the host's apt uses (deb822 or one-line sources), else Debian's.
mirror=${FRESH_MIRROR:-$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null |
	grep -oE 'https?://[^ ]+/debian/?( |$)' | head -n1 | tr -d ' ' || true)}
mirror=${mirror:-http://deb.debian.org/debian}
mirror=${mirror%/}
security=${mirror%/debian}/debian-security

logs=$top/build/fresh-check
mkdir -p "$logs"
root=$(mktemp -d "${FRESH_DIR:-/var/tmp}/berth-fresh.XXXXXX")
cleanup() {
	if [ "$keep" = 1 ]; then
		echo "fresh-check: root filesystem kept at $root" >&2
	else
		rm -rf --one-file-system "$root"
	fi
}
trap cleanup EXIT
chmod 755 "$root"

echo "fresh-check: debootstrap bookworm (minbase, make, git) from $mirror into $root" >&2
t0=$(date +%s)
if ! debootstrap --variant=minbase --include=make,git,ca-certificates bookworm "$root" "$mirror" \
	>"$logs/debootstrap.log" 2>&1; then
	echo "fresh-check: debootstrap failed: $(grep -m1 -E '^E:' "$logs/debootstrap.log" || tail -n1 "$logs/debootstrap.log")" >&2
	exit 3
fi
cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main
EOF
cp /etc/resolv.conf "$root/etc/resolv.conf"
echo "fresh-check: root ready in $(($(date +%s) - t0)) s" >&2

# A clean clone of what is committed, owned by root, under a 0700 home.
chmod 700 "$root/root"
git clone -q --no-hardlinks "$top" "$root/root/berth"

# Runs in the new mount and pid namespaces, as their pid 1: builds the new
# root's mounts, pivots into it, and runs the README's commands there.
inner() {
	local root=$1 cmds=$2
	mount --make-rprivate /
	mount --bind "$root" "$root"
	mount -t proc proc "$root/proc"
	mount --rbind /sys "$root/sys"
	mount --rbind /dev "$root/dev"
	mount -t tmpfs -o mode=755 tmpfs "$root/run"
	mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
	mkdir -p "$root/.old-root"
	cd "$root"
	pivot_root . .old-root
	umount -l /.old-root
	rmdir /.old-root
	cd /root/berth
	exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
		LANG=C.UTF-8 TERM=dumb CI="${CI:-}" bash -c "$cmds" </dev/null
}

run_cmd() { # name command
	local name=$1 cmd=$2 t=$(date +%s) rc=0
	echo "fresh-check: $cmd" >&2
	unshare --mount --pid --fork --kill-child -- bash -c "$(declare -f inner); inner \"\$@\"" inner \
		"$root" "$cmd" 2>&1 | tee "$logs/$name.log" || rc=$?
	echo "fresh-check: $cmd exited $rc after $(($(date +%s) - t)) s" >&2
	return $rc
}

run_cmd demo "make demo" || { echo "fresh-check: failed: make demo" >&2; exit 1; }
if [ "$demo_only" = 0 ]; then
	run_cmd test "make test" || { echo "fresh-check: failed: make test" >&2; exit 1; }
fi
echo "fresh-check: passed"
