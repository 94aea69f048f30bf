/* Just enough of the i8042 keyboard controller for a guest to reboot:
 * command 0xFE on port 0x64 (pulse the reset line) stops the VM with
 * status 0. Ports 0x60 (data), 0x61 (system control B) and 0x64 (status)
 * read as 0: no data, input buffer empty, so drivers see an idle
 * controller instead of all-ones garbage. */
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"
#include "vmm/machine.h"

#define I8042_BASE	0x60
#define I8042_CMD_OFF	4 /* port 0x64 */
#define I8042_CMD_RESET 0xfe

static void i8042_read(vm_device *d, uint64_t off, uint8_t *data, uint32_t size)
{
	(void)d;
	(void)off;
	memset(data, 0, size);
}

static void i8042_write(vm_device *d, uint64_t off, const uint8_t *data, uint32_t size)
{
	(void)size;
	if (off == I8042_CMD_OFF && data[0] == I8042_CMD_RESET)
		vm_request_stop_kind(d->machine, 0, VMM_EXIT_RESET, "guest reset (i8042)");
}

static void i8042_destroy(vm_device *d)
{
	free(d);
}

static const vm_device_ops i8042_ops = {
    .name = "i8042",
    .read = i8042_read,
    .write = i8042_write,
    .destroy = i8042_destroy,
};

int i8042_create(vm *m, berr *e)
{
	vm_device *d = xzalloc(sizeof(*d));
	*d = (vm_device){.ops = &i8042_ops, .base = I8042_BASE, .len = 5, .is_pio = true};
	if (vm_add_device(m, d, e) < 0) {
		free(d);
		return -1;
	}
	return 0;
}
