#!/usr/bin/env bash
# bench/kube.sh [RUNS]: `berth kube play` against `podman kube play`: a
# Deployment of 3 busybox httpd replicas (each serving its pod's name).
# berth: with a NodePort Service, from the play's start until every replica
# has answered through the Service's published port on 127.0.0.1 (HTTP, a
# new connection each time, polled). podman: it publishes a Service's port
# in every pod (a second replica's bind fails), so the same file without the
# Service, until every replica has answered at its pod's address (the
# addresses looked up after the play returns, that lookup's time taken off).
# Then `kube down` (not timed). RUNS (default 5) runs each, alternating; one
# warm-up each first. Medians and the podman/berth ratio into
# docs/benchmarks-kube.md (its section replaced). Needs root; podman's pod
# infra needs catatonit (scripts/install-deps.sh). Private stores in a temp dir for both; podman's
# default nofile ulimit lowered (containers.conf) as bench/podman.sh does, as
# crun may not raise it here.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
[ "$(id -u)" -eq 0 ] || { echo "bench/kube.sh: needs root" >&2; exit 1; }
command -v curl >/dev/null || { echo "bench/kube.sh: no curl" >&2; exit 1; }
make -j2 >/dev/null
B=$(realpath build/release/bin/berth)
work=$(mktemp -d /tmp/berth-bench-kube.XXXXXX)
export BERTH_RUNROOT=$work/run
BR=("$B" --root "$work/root")
have_podman=0
command -v podman >/dev/null && command -v catatonit >/dev/null && have_podman=1
mkdir -p "$work/ptmp"
printf '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n' >"$work/containers.conf"
export CONTAINERS_CONF=$work/containers.conf
P=(podman --root "$work/proot" --runroot "$work/prun" --tmpdir "$work/ptmp"
	--cgroup-manager=cgroupfs --events-backend file)
port_b=31081
port_p=31082
cleanup() {
	"${BR[@]}" kube down "$work/berth.yaml" >/dev/null 2>&1 || true
	[ $have_podman = 1 ] && {
		"${P[@]}" kube down "$work/podman.yaml" >/dev/null 2>&1 || true
		"${P[@]}" pod rm -af -t 0 >/dev/null 2>&1 || true
		"${P[@]}" rm -af -t 0 >/dev/null 2>&1 || true
		"${P[@]}" network rm -f podman-default-kube-network >/dev/null 2>&1 || true
		"${P[@]}" rmi -af >/dev/null 2>&1 || true
	}
	"${BR[@]}" network rm bridge >/dev/null 2>&1 || true
	grep " $work" /proc/self/mountinfo | awk '{print $5}' | sort -r |
		xargs -r -n1 umount -l 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

scripts/make-bundle.sh "$work/bundle" >/dev/null
tar -C "$work/bundle/rootfs" -cf "$work/rootfs.tar" .
"${BR[@]}" import "$work/rootfs.tar" localhost/busybox >/dev/null
[ $have_podman = 1 ] && "${P[@]}" import --change "ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin" \
	"$work/rootfs.tar" localhost/busybox >/dev/null

manifest() { # PORT
	cat <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: kbench}
spec:
  replicas: 3
  selector: {matchLabels: {app: kbench}}
  template:
    metadata: {labels: {app: kbench}}
    spec:
      containers:
      - name: web
        image: localhost/busybox
        imagePullPolicy: Never
        command: [sh, -c, 'mkdir -p /www; echo \$ME > /www/index.html; exec httpd -f -p 8080 -h /www']
        env:
        - name: ME
          valueFrom: {fieldRef: {fieldPath: metadata.name}}
        ports: [{containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: kbench}
spec:
  type: NodePort
  selector: {app: kbench}
  ports: [{port: 8080, targetPort: 8080, nodePort: $1}]
YAML
}
manifest $port_b >"$work/berth.yaml"
# podman publishes a containerPort on the host too: not in its file
manifest $port_p | sed -e '/^---$/,$d' -e '/containerPort/d' >"$work/podman.yaml"

now_ns() { date +%s%N; }
# One play, timed from inside one python (its own start not counted): the
# play command, then (podman) the pods' addresses looked up (that time taken
# off), then polled until 3 distinct answers (at most 60 s); prints ms.
timed() { # PORT|lookup  PLAY-ARGV...
	python3 - "$@" <<'PY'
import subprocess, sys, time, urllib.request
mode, play = sys.argv[1], sys.argv[2:]
t0 = time.monotonic()
subprocess.run(play, check=True, stdout=subprocess.DEVNULL)
skip = 0.0
if mode == "lookup":  # podman: the pods' addresses
    l0 = time.monotonic()
    p = play[:play.index("kube")]
    pods = subprocess.run(p + ["pod", "ps", "-q"], check=True, capture_output=True,
                          text=True).stdout.split()
    infra = subprocess.run(p + ["pod", "inspect", "-f", "{{.InfraContainerID}}"] + pods,
                           check=True, capture_output=True, text=True).stdout.split()
    ips = subprocess.run(p + ["inspect", "-f",
                              "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}"] + infra,
                         check=True, capture_output=True, text=True).stdout.split()
    urls = [f"http://{ip}:8080/" for ip in ips]
    skip = time.monotonic() - l0
else:
    urls = [f"http://127.0.0.1:{mode}/"]
seen = set()
end = time.monotonic() + 60
while len(seen) < 3 and time.monotonic() < end:
    for u in urls:
        try:
            with urllib.request.urlopen(u, timeout=1) as r:
                seen.add(r.read().decode().strip())
        except OSError:
            time.sleep(0.002)
if len(seen) < 3:
    sys.exit(f"only {sorted(seen)} answered at {urls}")
print(int((time.monotonic() - t0 - skip) * 1000))
PY
}
one_berth() {
	timed $port_b "${BR[@]}" kube play "$work/berth.yaml"
	"${BR[@]}" kube down "$work/berth.yaml" >/dev/null
}
one_podman() {
	timed lookup "${P[@]}" kube play "$work/podman.yaml"
	"${P[@]}" kube down "$work/podman.yaml" >/dev/null
}
one_berth >/dev/null # warm-up
[ $have_podman = 1 ] && one_podman >/dev/null
tb=() tp=()
for ((i = 0; i < runs; i++)); do
	tb+=("$(one_berth)")
	[ $have_podman = 1 ] && tp+=("$(one_podman)")
done
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
mb=$(median "${tb[@]}")
load=$(cut -d' ' -f1-3 /proc/loadavg)
section=$(
	echo "## kube play with a Service (bench/kube.sh)"
	echo
	echo "A Deployment of 3 busybox httpd replicas: from the play's start until all 3"
	echo "have answered (a new connection per request, polled; timed inside one python"
	echo "process that runs the play, its start not counted). berth: with a NodePort"
	echo "Service, through 127.0.0.1:NODEPORT; podman: without the Service (it publishes"
	echo "a Service's port in each pod: the second replica's bind fails), at each pod's"
	echo "address. $runs runs each, alternating, after one warm-up each; release build,"
	echo "private stores; podman with catatonit, nofile ulimit 1024 (containers.conf)."
	echo "$(date -u +%F), $(nproc) CPUs, load $load at the end. Reproduce: \`bench/kube.sh $runs\`."
	echo
	echo "| | median ms | runs (ms) |"
	echo "| --- | ---: | --- |"
	echo "| berth kube play | $mb | ${tb[*]} |"
	if [ $have_podman = 1 ]; then
		mp=$(median "${tp[@]}")
		echo "| podman kube play ($(podman --version | awk '{print $3}')) | $mp | ${tp[*]} |"
		echo
		echo "podman/berth (medians): **$(python3 -c "print(f'{$mp/$mb:.1f}')")**"
	else
		echo
		echo "podman not measured: podman or catatonit missing."
	fi
)
echo "$section"
out=docs/benchmarks-kube.md
# this section replaced (to the next "## " heading or the end), the rest kept
awk -v sec="$section" '
	/^## kube play with a Service/ { print sec; print ""; skip = 1; done = 1; next }
	skip && /^## / { skip = 0 }
	!skip { print }
	END { if (!done) print "\n" sec }' "$out" >"$out.tmp"
mv "$out.tmp" "$out"
echo "bench/kube.sh: wrote $out"
