/* virtio 1.x devices over virtio-mmio (version 2). Each *_create allocates a
 * virtio-mmio window and interrupt line (vm_alloc_mmio_slot, which records
 * `virtio_mmio.device=512@0xBASE:GSI` for the kernel command line), registers
 * the device with the core and hooks its queue notifications to the event
 * loop. Call them after the machine's memory exists and before the kernel
 * command line is finalised. On failure nothing stays registered, except if
 * vm_add_device succeeded (then the core owns the half-set-up device and
 * destroys it with the machine). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"
#include "vmm/device.h"

/* Raw disk image at path (opened O_CLOEXEC, O_RDONLY if read_only). The
 * capacity is the file size rounded down to 512-byte sectors. */
int virtio_blk_create(vm *m, const char *path, bool read_only, berr *e);

/* Attach to tap interface tap_name (created if missing, which needs
 * CAP_NET_ADMIN) with a 12-byte virtio_net_hdr. mac NULL: a locally
 * administered address 02:be:xx:xx:xx:xx derived from the tap name. */
int virtio_net_create(vm *m, const char *tap_name, const uint8_t *mac, berr *e);

/* One console port: guest output goes to out_fd, in_fd (or -1) feeds the
 * guest. The fds are borrowed: the caller keeps them open for the VM's
 * lifetime and closes them. */
int virtio_console_create(vm *m, int in_fd, int out_fd, berr *e);

/* Entropy from getrandom(). */
int virtio_rng_create(vm *m, berr *e);
