/* virtio-console: write a line through the transmit queue; with
 * "echo=1" on the command line, also read input and write it back. */
#include "vdrv.h"

static struct vring_mem rxmem, txmem;
static char msg[] = "hello from virtio-console\n";
static char in[64];

int guest_main(const uint8_t *bp)
{
	(void)bp;
	vdev d;
	vring rx, tx;
	uint32_t len;
	if (vdrv_find(VIRTIO_ID_CONSOLE, 0, &d) || vdrv_init(&d, 0) ||
	    vdrv_queue(&d, &rx, 0, 8, &rxmem) || vdrv_queue(&d, &tx, 1, 8, &txmem))
		return 10;
	vdrv_ready(&d);
	struct vbuf b[] = {{msg, sizeof(msg) - 1, 0}};
	vdrv_submit(&tx, b, 1);
	if (vdrv_poll(&tx, &len, 20000) < 0) {
		print("console: transmit timed out\n");
		return 2;
	}
	print("console: sent\n");
	if (cmdline_num("echo", 0)) {
		struct vbuf rb[] = {{in, sizeof(in), VRING_DESC_F_WRITE}};
		vdrv_submit(&rx, rb, 1);
		if (vdrv_poll(&rx, &len, 20000) < 0) {
			print("console: no input\n");
			return 3;
		}
		print("console: got input: ");
		for (uint32_t i = 0; i < len && i < sizeof(in); i++)
			serial_putc(in[i]);
		print("\n");
	}
	return 0;
}
