#!/usr/bin/env bash
# Installs, with apt-get, whatever berth's build, tests and benchmarks need and
# the machine lacks, and says what it installs. Quick when everything is
# present (one dpkg-query). A package that cannot be installed is named in one
# line on stderr, and the script exits 1.
#   install-deps.sh              build, demo, tests and benchmarks
#   install-deps.sh --demo       what `make demo` needs (the build, busybox, python3)
#   install-deps.sh --build-only what `make` needs
set -euo pipefail

# build: compiler, pkg-config, the libraries berth links (libyaml: berth kube;
# libmicrohttpd: berth-service, the Docker API of `berth system service`);
# musl-tools builds berth-monitor and berth-init against musl (the Makefile
# says why; without it they are static glibc)
build=(build-essential pkg-config libjson-c-dev libseccomp-dev libcap-dev libarchive-dev libyaml-dev
	libcurl4-openssl-dev libssl-dev libzstd-dev libmnl-dev libnftables-dev musl-tools libmicrohttpd-dev)
# demo: the bundled busybox image and the script that writes its config
demo=(busybox-static python3)
# tests: test runner, a busybox for bundles, peers and tools the tests drive
# (procps: ps for berth-runtime ps; a minbase system has none; clang and
# libclang-rt-14-dev: the libFuzzer harnesses, tests/fuzz/; docker.io: dockerd
# driving berth-runtime, tests/integration/test_client_docker.py, which starts
# a private daemon of its own: the package's own system daemon is not started;
# man-db and groff-base render the man pages, zsh and fish load the completion
# scripts: tests/integration/test_cli_help.py; networking, docs/networking.md:
# nftables (the tests list berth's table), aardvark-dns (names on user
# networks), netavark (Podman's own network stack, its side of bench/net.sh),
# catatonit (the init of Podman's pod infra containers: podman kube play in bench/kube.sh),
# iperf3, slirp4netns and passt (rootless), curl (published ports); bpftrace:
# bench/trace-start.sh; buildah: the peer of berth build, tests/integration/test_build_peers.py
# and bench/build.sh; python3-docker (docker-py) and docker-compose: clients of
# berth's Docker API, tests/integration/test_api_*.py; python3-grpcio,
# python3-protobuf and python3-grpc-tools: the CRI client of
# tests/integration/test_cri.py and bench/cri.sh, tests/cri/api.proto compiled at test time;
# python3-yaml: reading what berth generate kube writes, test_kube_service.py)
tests=(python3 python3-pytest busybox-static procps iproute2 uidmap fuse-overlayfs tmux crun runc podman skopeo
	umoci docker-registry containernetworking-plugins containerd docker.io debootstrap
	qemu-system-x86 hyperfine clang-format clang libclang-rt-14-dev man-db groff-base zsh fish
	nftables aardvark-dns netavark catatonit iperf3 slirp4netns passt curl bpftrace buildah python3-docker
	docker-compose python3-grpcio python3-protobuf python3-grpc-tools python3-yaml)

want=("${build[@]}")
case "${1:-}" in
--build-only) ;;
--demo) want+=("${demo[@]}") ;;
"") want+=("${demo[@]}" "${tests[@]}") ;;
*)
	echo "install-deps: unknown option $1 (--build-only, --demo or none)" >&2
	exit 2
	;;
esac

# dpkg-query exits 1 when a named package is unknown to dpkg (never installed):
# that is an answer here, not a failure.
installed=$(dpkg-query -W -f='${Package} ${Status}\n' "${want[@]}" 2>/dev/null | awk '/ installed$/ {print $1}' || true)
missing=()
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
log=$(mktemp /tmp/berth-install-deps.XXXXXX)
# docker.io's postinst would start a system dockerd (a bridge and iptables
# rules on the host); where no policy-rc.d exists, one that denies just that
# service, for this install only.
policy=""
if [ ! -e /usr/sbin/policy-rc.d ] && [[ " ${missing[*]} " == *" docker.io "* ]]; then
	policy=/usr/sbin/policy-rc.d
	printf '#!/bin/sh\n# berth install-deps: do not start docker.io'"'"'s daemon\n[ "$1" = docker ] && exit 101\nexit 0\n' >"$policy"
	chmod 755 "$policy"
fi
trap 'rm -f "$log" ${policy:+"$policy"}' EXIT
if ! apt-get update -qq >"$log" 2>&1; then
	echo "install-deps: apt-get update failed: $(grep -m1 -E '^(E|W):' "$log" || tail -n1 "$log")" >&2
	exit 1
fi
if apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
	exit 0
fi
# One transaction failed: find the package that cannot be installed, so the
# line names it rather than apt's last words.
for p in "${missing[@]}"; do
	if ! apt-get install -y -qq --no-install-recommends "$p" >"$log" 2>&1; then
		echo "install-deps: cannot install $p: $(grep -m1 -E '^E:' "$log" || tail -n1 "$log")" >&2
		exit 1
	fi
done
echo "install-deps: apt-get install ${missing[*]} failed: $(grep -m1 -E '^E:' "$log" || tail -n1 "$log")" >&2
exit 1
