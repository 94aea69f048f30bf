#!/usr/bin/env python3
"""Pack a flat 64-bit test-guest image (linked at 1 MiB, 64-bit entry at
+0x200) into a bzImage with a real boot-protocol 2.15 setup header, so a
loader must parse it (Documentation/arch/x86/boot.rst).

usage: mkbzimage.py FLAT.bin INIT_SIZE OUT.bzImage [SETUP16.bin]

SETUP16.bin, if given, is real-mode setup code placed at 0x26c (where the
header's jump lands) for loaders that enter the bzImage in real mode."""
import struct
import sys

SETUP_SECTS = 1  # boot sector + 1 setup sector; payload at 0x400


def main():
    flat, init_size, out = sys.argv[1], int(sys.argv[2], 0), sys.argv[3]
    payload = open(flat, "rb").read()
    setup = bytearray(512 * (1 + SETUP_SECTS))
    kver = b"berth-test-guest\0"
    kver_off = 0x300  # in the setup sector; header field is offset - 0x200
    setup[kver_off:kver_off + len(kver)] = kver

    def put(off, fmt, v):
        struct.pack_into("<" + fmt, setup, off, v)

    put(0x1F1, "B", SETUP_SECTS)            # setup_sects
    put(0x1F4, "I", (len(payload) + 15) // 16)  # syssize (16-byte units)
    put(0x1FE, "H", 0xAA55)                 # boot_flag
    setup[0x200:0x202] = bytes([0xEB, 0x6A])  # jmp over the header (to 0x26c)
    setup[0x202:0x206] = b"HdrS"
    put(0x206, "H", 0x020F)                 # version 2.15
    put(0x20E, "H", kver_off - 0x200)       # kernel_version
    put(0x211, "B", 0x01)                   # loadflags: LOADED_HIGH
    put(0x212, "H", 0x8000)                 # setup_move_size
    put(0x214, "I", 0x100000)               # code32_start
    put(0x22C, "I", 0x7FFFFFFF)             # initrd_addr_max
    put(0x230, "I", 0x200000)               # kernel_alignment
    put(0x234, "B", 0)                      # relocatable_kernel: no (linked at 1 MiB)
    put(0x235, "B", 21)                     # min_alignment (log2)
    put(0x236, "H", 0x0003)                 # xloadflags: KERNEL_64 | CAN_BE_LOADED_ABOVE_4G
    put(0x238, "I", 2047)                   # cmdline_size
    put(0x258, "Q", 0x100000)               # pref_address
    put(0x260, "I", init_size)              # init_size
    # real-mode setup entry (0x26c): the given stub, or a hlt loop
    stub = open(sys.argv[4], "rb").read() if len(sys.argv) > 4 else bytes([0xF4, 0xEB, 0xFD])
    if 0x26C + len(stub) > kver_off:
        sys.exit("mkbzimage: real-mode setup stub too large")
    setup[0x26C:0x26C + len(stub)] = stub
    with open(out, "wb") as f:
        f.write(setup)
        f.write(payload)


if __name__ == "__main__":
    main()
