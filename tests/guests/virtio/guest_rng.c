/* virtio-rng: read 64 bytes, check they are not all zero. */
#include "vdrv.h"

static struct vring_mem qmem;
static uint8_t buf[64];

int guest_main(const uint8_t *bp)
{
	(void)bp;
	vdev d;
	vring r;
	uint32_t len;
	if (vdrv_find(VIRTIO_ID_RNG, 0, &d) || vdrv_init(&d, 0) || vdrv_queue(&d, &r, 0, 8, &qmem))
		return 10;
	vdrv_ready(&d);
	struct vbuf b[] = {{buf, 32, VRING_DESC_F_WRITE}, {buf + 32, 32, VRING_DESC_F_WRITE}};
	vdrv_submit(&r, b, 2);
	if (vdrv_poll(&r, &len, 20000) < 0) {
		print("rng: timed out\n");
		return 2;
	}
	int nonzero = 0;
	for (int i = 0; i < 64; i++)
		nonzero += buf[i] != 0;
	print("rng: got ");
	print_dec(len);
	print(" bytes, ");
	print_dec((uint64_t)nonzero);
	print(" non-zero, first ");
	print_hex(*(uint64_t *)buf);
	print(", interrupt status ");
	print_dec(r.last_isr);
	print("\n");
	if (vd_read(&d, VM_INT_STATUS) != 0) {
		print("rng: InterruptACK did not clear the status\n");
		return 4;
	}
	return len == 64 && nonzero > 0 && (r.last_isr & 1) ? 0 : 3;
}
