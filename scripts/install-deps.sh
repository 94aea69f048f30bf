#!/usr/bin/env bash
# Installs, with apt-get, whatever berth's build, tests and benchmarks need and
# the machine lacks. Quick when everything is present (one dpkg-query).
set -euo pipefail

# build: compiler, pkg-config, the libraries berth links
build=(build-essential pkg-config libjson-c-dev libseccomp-dev libcap-dev libarchive-dev
	libcurl4-openssl-dev libssl-dev libzstd-dev)
# tests: test runner, a busybox for bundles, peers and tools the tests drive
tests=(python3 python3-pytest busybox-static iproute2 uidmap tmux crun runc podman skopeo umoci
	docker-registry containernetworking-plugins containerd debootstrap qemu-system-x86 hyperfine
	clang-format)

want=("${build[@]}")
if [ "${1:-}" != "--build-only" ]; then
	want+=("${tests[@]}")
fi

missing=()
installed=$(dpkg-query -W -f='${Package} ${Status}\n' "${want[@]}" 2>/dev/null | awk '/ installed$/ {print $1}')
for p in "${want[@]}"; do
	grep -qx "$p" <<<"$installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: need root to apt-get install ${missing[*]}" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
