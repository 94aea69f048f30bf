/* virtio-blk: write a pattern to sectors 2..3, read it back (through an
 * indirect descriptor table when offered), flush. Negotiates EVENT_IDX too
 * (this polling driver kicks every time, which the spec allows). On a read-only disk
 * (VIRTIO_BLK_F_RO) the write must come back VIRTIO_BLK_S_IOERR.
 * Pattern byte i of sector s: (uint8_t)(s * 31 + i * 7 + 1). */
#include "vdrv.h"

#define BLK_F_RO 5
#define T_IN	 0
#define T_OUT	 1
#define T_FLUSH	 4
#define T_GET_ID 8

struct req {
	uint32_t type, reserved;
	uint64_t sector;
};

static struct vring_mem qmem;
static struct vring_desc itable[3] __attribute__((aligned(16)));
static struct req hdr;
static uint8_t wbuf[1024], rbuf[1024], id[21];
static volatile uint8_t status;

static int request(vring *r, uint32_t type, uint64_t sector, void *data, uint32_t len, int indirect)
{
	hdr = (struct req){type, 0, sector};
	status = 0xff;
	uint16_t dflags = type == T_OUT ? 0 : VRING_DESC_F_WRITE;
	uint32_t used;
	if (indirect) {
		itable[0] = (struct vring_desc){(uint64_t)&hdr, sizeof(hdr), VRING_DESC_F_NEXT, 1};
		itable[1] = (struct vring_desc){(uint64_t)data, len,
						(uint16_t)(dflags | VRING_DESC_F_NEXT), 2};
		itable[2] = (struct vring_desc){(uint64_t)&status, 1, VRING_DESC_F_WRITE, 0};
		struct vbuf b[] = {{itable, sizeof(itable), VRING_DESC_F_INDIRECT}};
		vdrv_submit(r, b, 1);
	} else if (len) {
		struct vbuf b[] = {{&hdr, sizeof(hdr), 0},
				   {data, len, dflags},
				   {(const void *)&status, 1, VRING_DESC_F_WRITE}};
		vdrv_submit(r, b, 3);
	} else {
		struct vbuf b[] = {{&hdr, sizeof(hdr), 0},
				   {(const void *)&status, 1, VRING_DESC_F_WRITE}};
		vdrv_submit(r, b, 2);
	}
	if (vdrv_poll(r, &used, 20000) < 0) {
		print("blk: request timed out\n");
		return -1;
	}
	return status;
}

int guest_main(const uint8_t *bp)
{
	(void)bp;
	vdev d;
	vring r;
	if (vdrv_find(VIRTIO_ID_BLOCK, 0, &d) ||
	    vdrv_init(&d, 1ull << F_INDIRECT_DESC | 1ull << F_EVENT_IDX | 1ull << BLK_F_RO) ||
	    vdrv_queue(&d, &r, 0, 16, &qmem))
		return 10;
	vdrv_ready(&d);
	uint64_t cap = vdrv_cfg32(&d, 0) | (uint64_t)vdrv_cfg32(&d, 4) << 32;
	int ro = (d.features >> BLK_F_RO) & 1;
	print("blk: capacity ");
	print_dec(cap);
	print(ro ? " sectors, read-only" : " sectors");
	print((d.features >> F_EVENT_IDX) & 1 ? ", event idx\n" : "\n");

	if (request(&r, T_GET_ID, 0, id, 20, 0) == 0) {
		print("blk: id ");
		print((const char *)id);
		print("\n");
	}
	for (int i = 0; i < 1024; i++)
		wbuf[i] = (uint8_t)((2 + i / 512) * 31 + (i % 512) * 7 + 1);
	int st = request(&r, T_OUT, 2, wbuf, sizeof(wbuf), 0);
	if (ro) {
		if (st != 1) {
			print("blk: write to read-only disk returned ");
			print_dec((uint64_t)st);
			print("\n");
			return 3;
		}
		print("blk: write to read-only disk failed with IOERR\n");
		return 0;
	}
	if (st != 0) {
		print("blk: write failed\n");
		return 2;
	}
	print("blk: write ok\n");
	int indirect = (d.features >> F_INDIRECT_DESC) & 1;
	if (request(&r, T_IN, 2, rbuf, sizeof(rbuf), indirect) != 0) {
		print("blk: read failed\n");
		return 4;
	}
	for (int i = 0; i < 1024; i++)
		if (rbuf[i] != wbuf[i]) {
			print("blk: read back differs at byte ");
			print_dec((uint64_t)i);
			print("\n");
			return 5;
		}
	print(indirect ? "blk: read back ok (indirect)\n" : "blk: read back ok\n");
	if (request(&r, T_FLUSH, 0, 0, 0, 0) != 0) {
		print("blk: flush failed\n");
		return 6;
	}
	print("blk: flush ok\n");
	return 0;
}
