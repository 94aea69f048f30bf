/* The virtio devices the configuration asks for (src/lib/vmm/virtio/):
 * rng always, one blk per disk, net on the tap, the console on request. */
#include "vmm/machine.h"
#include "vmm/virtio/virtio.h"

int vmm_create_virtio(vm *m, berr *e)
{
	if (virtio_rng_create(m, e) < 0)
		return -1;
	for (unsigned i = 0; i < m->cfg.ndisks; i++)
		if (virtio_blk_create(m, m->cfg.disks[i].path, m->cfg.disks[i].read_only, e) < 0)
			return berr_ctx(e, "disk %s", m->cfg.disks[i].path);
	if (m->cfg.tap && virtio_net_create(m, m->cfg.tap, NULL, e) < 0)
		return berr_ctx(e, "net %s", m->cfg.tap);
	if (m->cfg.virtio_console &&
	    virtio_console_create(m, m->cfg.console_in, m->cfg.console_out, e) < 0)
		return berr_ctx(e, "virtio-console");
	return 0;
}
