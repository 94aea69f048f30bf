#!/bin/sh
# gen-man.sh BINDIR OUTDIR: the man pages of berth (section 1) and
# berth-runtime (section 8), printed by the binaries themselves from the
# commands' own descriptors and flag tables (`berth __man CMD [SUB]`), so a
# page cannot drift from the parser. One file per page, named after its .TH
# line (aliases such as `image ls` and `images` are one page).
set -eu
bin=$1
out=$2
mkdir -p "$out"
tmp=$(mktemp "$out/.page.XXXXXX")
trap 'rm -f "$tmp"' EXIT

page() {
	"$@" >"$tmp"
	name=$(sed -n '1s/^\.TH "\([^"]*\)" "\([0-9]\)".*/\1.\2/p' "$tmp" | tr 'A-Z' 'a-z')
	[ -n "$name" ] || { echo "gen-man: no .TH line from: $*" >&2; exit 1; }
	cp "$tmp" "$out/$name"
}

# subcommand names only: `__commands` completes without listing the store
words() { "$@" 2>/dev/null | grep -v '^[:-]' || true; }

page "$bin/berth" __man
for cmd in $(words "$bin/berth" __commands ""); do
	page "$bin/berth" __man "$cmd"
	for sub in $(words "$bin/berth" __commands "$cmd" ""); do
		page "$bin/berth" __man "$cmd" "$sub"
	done
done
page "$bin/berth-runtime" __man
for cmd in $(words "$bin/berth-runtime" __complete ""); do
	page "$bin/berth-runtime" __man "$cmd"
done
