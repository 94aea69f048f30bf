#!/usr/bin/env bash
# make-bundle.sh DIR: an OCI bundle with a busybox root filesystem (from
# Debian's busybox-static) and berth-runtime's default config.json, with
# terminal off and args as given (default: sh -c 'echo hello from berth').
set -euo pipefail
dir=$1
shift || true
bin=${BERTH_RUNTIME:-$(dirname "$0")/../build/release/bin/berth-runtime}
mkdir -p "$dir/rootfs"/{bin,sbin,etc,proc,sys,dev,tmp,root,usr/bin,usr/sbin}
cp /bin/busybox "$dir/rootfs/bin/busybox"
for applet in $("$dir/rootfs/bin/busybox" --list); do
	[ -e "$dir/rootfs/bin/$applet" ] || ln -s busybox "$dir/rootfs/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$dir/rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$dir/rootfs/etc/group"
rm -f "$dir/config.json"
"$bin" spec --bundle "$dir"
python3 - "$dir/config.json" "$@" <<'PY'
import json, sys
path, args = sys.argv[1], sys.argv[2:]
c = json.load(open(path))
c["process"]["terminal"] = False
c["process"]["args"] = args or ["sh", "-c", "echo hello from berth"]
json.dump(c, open(path, "w"), indent=2)
PY
