/* The berth exit port (I/O port 0x501, 4 ports wide so a 32-bit OUT fits):
 * a 1-, 2- or 4-byte write of V at 0x501 powers the VM off with exit status
 * V (above 255: 255, so no failure reads as success). Reads return
 * all-ones. Test guests use it; QEMU's isa-debug-exit sits at the same port
 * for comparison runs (QEMU reports (V << 1) | 1). */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "util/xalloc.h"
#include "vmm/machine.h"

static void exitport_read(vm_device *d, uint64_t off, uint8_t *data, uint32_t size)
{
	(void)d;
	(void)off;
	memset(data, 0xff, size);
}

static void exitport_write(vm_device *d, uint64_t off, const uint8_t *data, uint32_t size)
{
	if (off != 0)
		return;
	uint32_t v = 0;
	memcpy(&v, data, size <= 4 ? size : 4);
	int status = v > 255 ? 255 : (int)v;
	char why[64];
	snprintf(why, sizeof(why), "guest powered off with status %u", v);
	vm_request_stop_kind(d->machine, status, VMM_EXIT_POWEROFF, why);
}

static void exitport_destroy(vm_device *d)
{
	free(d);
}

static const vm_device_ops exitport_ops = {
    .name = "exit-port",
    .read = exitport_read,
    .write = exitport_write,
    .destroy = exitport_destroy,
};

int exitport_create(vm *m, berr *e)
{
	vm_device *d = xzalloc(sizeof(*d));
	*d = (vm_device){.ops = &exitport_ops, .base = VMM_EXIT_PORT, .len = 4, .is_pio = true};
	if (vm_add_device(m, d, e) < 0) {
		free(d);
		return -1;
	}
	return 0;
}
