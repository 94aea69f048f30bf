#!/usr/bin/env bash
# The newcomer's demo: a busybox bundle, then a container from it.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/release/bin/berth-runtime
dir=$(mktemp -d /tmp/berth-demo.XXXXXX)
trap 'rm -rf "$dir"' EXIT
scripts/make-bundle.sh "$dir" sh -c 'echo "hello from a berth container: pid $$, hostname $(hostname)"; id'
echo "+ berth-runtime run --bundle $dir demo-$$"
"$bin" run --bundle "$dir" "demo-$$"
