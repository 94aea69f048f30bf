/* Misbehaves towards the virtio-rng device the way `mode=` asks, then
 * checks that the device stopped (DEVICE_NEEDS_RESET) or refused, and that
 * after a reset it works again. The VMM must neither crash nor hang and
 * must report what the guest did wrong.
 *   loop         desc.next points back at itself
 *   oob          buffer address past the end of guest memory
 *   hugelen      buffer length 0xffffffff
 *   zerolen      buffer length 0
 *   qsize        QueueNum 100 (not a power of two)
 *   qsizebig     QueueNum 1024 (> QueueNumMax)
 *   ready_early  QueueReady before FEATURES_OK
 *   driver_ok    DRIVER_OK without FEATURES_OK
 *   nofeat       FEATURES_OK without VIRTIO_F_VERSION_1
 *   availjump    avail idx advanced by 100 (> queue size)
 *   indirect_self an indirect table whose entry points at the table itself */
#include "virtio/vdrv.h"

static struct vring_mem qmem;
static struct vring_desc itable[2] __attribute__((aligned(16)));
static uint8_t buf[64];

static int is(const char *mode, const char *m)
{
	return !str_neq(mode, m, str_len(m) + 1);
}

/* Put one raw descriptor at 0 and publish it. */
static void raw_chain(vring *r, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	r->m->desc[0] = (struct vring_desc){addr, len, flags, next};
	r->m->avail_ring[r->m->avail_idx % r->size] = 0;
	barrier();
	r->m->avail_idx++;
	barrier();
	vd_write(r->d, VM_QUEUE_NOTIFY, r->qi);
}

static int works_after_reset(vdev *d)
{
	vring r;
	uint32_t len;
	if (vdrv_init(d, 0) || vdrv_queue(d, &r, 0, 8, &qmem))
		return 0;
	vdrv_ready(d);
	struct vbuf b[] = {{buf, sizeof(buf), VRING_DESC_F_WRITE}};
	vdrv_submit(&r, b, 1);
	return vdrv_poll(&r, &len, 20000) == 0 && len == sizeof(buf);
}

int guest_main(const uint8_t *bp)
{
	(void)bp;
	char mode[32];
	vdev d;
	vring r;
	uint32_t len;
	if (cmdline_get("mode", mode, sizeof(mode)) <= 0 || vdrv_find(VIRTIO_ID_RNG, 0, &d))
		return 10;
	print("hostile: ");
	print(mode);
	print("\n");

	if (is(mode, "ready_early")) {
		vd_write(&d, VM_STATUS, 0);
		vd_write(&d, VM_STATUS, ST_ACK | ST_DRIVER);
		vd_write(&d, VM_QUEUE_SEL, 0);
		vd_write(&d, VM_QUEUE_READY, 1);
	} else if (is(mode, "driver_ok")) {
		vd_write(&d, VM_STATUS, 0);
		vd_write(&d, VM_STATUS, ST_ACK | ST_DRIVER);
		vd_write(&d, VM_STATUS, ST_ACK | ST_DRIVER | ST_DRIVER_OK);
	} else if (is(mode, "nofeat")) {
		vd_write(&d, VM_STATUS, 0);
		vd_write(&d, VM_STATUS, ST_ACK | ST_DRIVER);
		vd_write(&d, VM_DRV_FEAT_SEL, 1);
		vd_write(&d, VM_DRV_FEAT, 0);
		vd_write(&d, VM_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
	} else if (is(mode, "qsize") || is(mode, "qsizebig")) {
		if (vdrv_init(&d, 0))
			return 11;
		vd_write(&d, VM_QUEUE_SEL, 0);
		vd_write(&d, VM_QUEUE_NUM, is(mode, "qsize") ? 100 : 1024);
		vd_write(&d, VM_QUEUE_READY, 1);
		if (vd_read(&d, VM_QUEUE_READY)) {
			print("hostile: bad queue size accepted\n");
			return 2;
		}
	} else {
		if (vdrv_init(&d, 1ull << F_INDIRECT_DESC) || vdrv_queue(&d, &r, 0, 8, &qmem))
			return 11;
		vdrv_ready(&d);
		uint64_t ok = (uint64_t)buf;
		if (is(mode, "loop"))
			raw_chain(&r, ok, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 0);
		else if (is(mode, "oob"))
			raw_chain(&r, 0xfff00000000ull, 16, VRING_DESC_F_WRITE, 0);
		else if (is(mode, "hugelen"))
			raw_chain(&r, ok, 0xffffffff, VRING_DESC_F_WRITE, 0);
		else if (is(mode, "zerolen"))
			raw_chain(&r, ok, 0, VRING_DESC_F_WRITE, 0);
		else if (is(mode, "indirect_self")) {
			itable[0] = (struct vring_desc){(uint64_t)itable, sizeof(itable),
							VRING_DESC_F_INDIRECT, 0};
			itable[1] = (struct vring_desc){ok, 16, VRING_DESC_F_WRITE, 0};
			raw_chain(&r, (uint64_t)itable, sizeof(itable), VRING_DESC_F_INDIRECT, 0);
		} else if (is(mode, "availjump")) {
			r.m->desc[0] = (struct vring_desc){ok, 16, VRING_DESC_F_WRITE, 0};
			r.m->avail_idx = 100;
			barrier();
			vd_write(&d, VM_QUEUE_NOTIFY, 0);
		} else {
			print("hostile: unknown mode\n");
			return 12;
		}
		if (vdrv_poll(&r, &len, 2000) == 0) {
			print("hostile: device used the bad chain\n");
			return 3;
		}
		for (uint64_t end = vdrv_ms() + 5000; vdrv_ms() < end;)
			if (vd_read(&d, VM_STATUS) & ST_NEEDS_RESET)
				break;
	}
	uint32_t st = vd_read(&d, VM_STATUS);
	print("hostile: status ");
	print_hex(st);
	print(st & ST_NEEDS_RESET ? " (DEVICE_NEEDS_RESET)\n" : "\n");
	if (!works_after_reset(&d)) {
		print("hostile: device dead after reset\n");
		return 4;
	}
	print("hostile: device works after reset\n");
	return 0;
}
