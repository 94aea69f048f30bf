#!/bin/sh
# Build the freestanding test guests into build/guests/:
#   NAME.elf      ELF64 "vmlinux" (PT_LOAD at 1 MiB, e_entry = 64-bit entry)
#   NAME.bzImage  the same image behind a boot-protocol 2.15 setup header
# A guest is tests/guests/guest_NAME.c, or tests/guests/DIR/guest_NAME.c,
# which is linked with the other (non guest_*) .c files of DIR, plus the
# runtime (rt.c) and entry code (head.S) here. Outputs are replaced
# atomically, so concurrent runs are safe.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-$root/build/guests}
mkdir -p "$out"
CC=${CC:-gcc}
CFLAGS="-std=gnu17 -ffreestanding -nostdlib -nostdinc -isystem $(gcc -print-file-name=include) \
 -mgeneral-regs-only -mno-red-zone -fno-pic -fno-pie -O2 -Wall -Wextra -Werror \
 -fno-stack-protector -fno-asynchronous-unwind-tables -fcf-protection=none -I$here"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
$CC $CFLAGS -mcmodel=small -c -o "$tmp/head.o" "$here/head.S"
# guest_bench marks its first instruction (see head.S, bench/vmm.sh)
$CC $CFLAGS -mcmodel=small -DEARLY_MARK -c -o "$tmp/head_mark.o" "$here/head.S"
$CC $CFLAGS -mcmodel=small -c -o "$tmp/rt.o" "$here/rt.c"
$CC $CFLAGS -c -o "$tmp/setup16.o" "$here/setup16.S"
objcopy -O binary -j .text "$tmp/setup16.o" "$tmp/setup16.bin"

build_one() { # src extra-objs...
	src=$1; shift
	name=$(basename "$src" .c)
	$CC $CFLAGS -mcmodel=small -c -o "$tmp/$name.o" "$src"
	head="$tmp/head.o"
	[ "$name" = guest_bench ] && head="$tmp/head_mark.o"
	ld -nostdlib -static -no-pie --no-warn-rwx-segments -z max-page-size=0x1000 -z noexecstack \
		-T "$here/guest.ld" -o "$tmp/$name.elf" "$head" "$tmp/$name.o" "$@" "$tmp/rt.o"
	objcopy -O binary "$tmp/$name.elf" "$tmp/$name.bin"
	end=$(nm "$tmp/$name.elf" | awk '$3 == "_end" { print $1 }')
	init_size=$(( 0x$end - 0x100000 ))
	python3 "$here/mkbzimage.py" "$tmp/$name.bin" "$init_size" "$tmp/$name.bzImage" "$tmp/setup16.bin"
	mv -f "$tmp/$name.elf" "$out/$name.elf"
	mv -f "$tmp/$name.bzImage" "$out/$name.bzImage"
}

for src in "$here"/guest_*.c; do
	build_one "$src"
done
for dir in "$here"/*/; do
	[ -d "$dir" ] || continue
	ls "$dir"guest_*.c >/dev/null 2>&1 || continue
	objs=""
	for lib in "$dir"*.c; do
		case $(basename "$lib") in guest_*) continue ;; esac
		o="$tmp/lib_$(basename "$dir")_$(basename "$lib" .c).o"
		$CC $CFLAGS -mcmodel=small -I"$dir" -c -o "$o" "$lib"
		objs="$objs $o"
	done
	for src in "$dir"guest_*.c; do
		# shellcheck disable=SC2086
		CFLAGS="$CFLAGS -I$dir" build_one "$src" $objs
	done
done
