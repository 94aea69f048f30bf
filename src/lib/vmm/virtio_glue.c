/* The virtio devices the configuration asks for (src/lib/vmm/virtio/). */
#include "vmm/machine.h"

int vmm_create_virtio(vm *m, berr *e)
{
	if (m->cfg.ndisks || m->cfg.tap || m->cfg.virtio_console)
		return berr_set(e, 0, "virtio devices are not built in yet");
	return 0;
}
