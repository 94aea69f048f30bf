#!/usr/bin/env bash
# The newcomer's demo: a busybox image made from the bundled busybox, then a
# container from it with `berth run` (a private store, removed afterwards).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$PWD/build/release/bin/berth
dir=$(mktemp -d /tmp/berth-demo.XXXXXX)
export BERTH_RUNROOT=$dir/run
cleanup() {
	"$bin" --root "$dir/root" rm -f $("$bin" --root "$dir/root" ps -aq 2>/dev/null) >/dev/null 2>&1 || true
	"$bin" --root "$dir/root" network rm bridge >/dev/null 2>&1 || true
	rm -rf "$dir"
}
trap cleanup EXIT
scripts/make-bundle.sh "$dir/bundle" >/dev/null
tar -C "$dir/bundle/rootfs" -cf "$dir/busybox.tar" .
echo "+ berth import busybox.tar localhost/busybox"
"$bin" --root "$dir/root" import "$dir/busybox.tar" localhost/busybox
echo "+ berth run --rm localhost/busybox sh -c '...'"
"$bin" --root "$dir/root" run --rm localhost/busybox \
	sh -c 'echo "hello from a berth container: pid $$, hostname $(hostname)"; id
		ip -4 -o addr show eth0 | awk "{print \"address \" \$4 \" on the default network\"}"'
