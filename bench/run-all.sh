#!/usr/bin/env bash
# All benchmarks, each side by side with its peer; each writes its own
# docs/benchmarks-*.md (summarised in docs/benchmarks.md). Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
for b in runtime podman pull vmm engine net rootless build api cri kube; do
	[ -x "bench/$b.sh" ] || continue
	echo "== bench/$b.sh"
	"bench/$b.sh"
done
