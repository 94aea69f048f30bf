/* virtio-blk (virtio 1.2, 5.2) on a raw image file. Requests are served on
 * the event loop thread with plain pread/pwrite: simple and correct, one
 * request at a time. */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/xalloc.h"
#include "vmm/virtio/virtio.h"
#include "vmm/virtio/virtio_mmio.h"

#define VIRTIO_BLK_F_SEG_MAX	  2
#define VIRTIO_BLK_F_RO		  5
#define VIRTIO_BLK_F_BLK_SIZE	  6
#define VIRTIO_BLK_F_FLUSH	  9
#define VIRTIO_BLK_F_DISCARD	  13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

#define VIRTIO_BLK_T_IN		  0
#define VIRTIO_BLK_T_OUT	  1
#define VIRTIO_BLK_T_FLUSH	  4
#define VIRTIO_BLK_T_GET_ID	  8
#define VIRTIO_BLK_T_DISCARD	  11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

#define VIRTIO_BLK_S_OK	    0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

#define SECTOR		512u
#define ID_BYTES	20
#define MAX_RANGE_SECTS (1u << 22)	  /* 2 GiB per discard / write-zeroes segment */
#define SIZE_MAX_SEG	65536u		  /* size_max: bytes per data segment */
#define SEG_MAX		(VQ_MAX_SIZE - 2) /* header and status take two */
/* Largest read or write we serve (size_max * seg_max, rounded up): bounds the
 * time one request keeps the event loop busy. */
#define MAX_REQ_BYTES (16u << 20)

/* Config space offsets (5.2.4). */
#define CFG_CAPACITY	     0
#define CFG_SIZE_MAX	     8
#define CFG_SEG_MAX	     12
#define CFG_BLK_SIZE	     20
#define CFG_MAX_DISCARD_SECT 36
#define CFG_MAX_DISCARD_SEG  40
#define CFG_DISCARD_ALIGN    44
#define CFG_MAX_WZ_SECT	     48
#define CFG_MAX_WZ_SEG	     52
#define CFG_WZ_MAY_UNMAP     56
#define CFG_LEN		     60

typedef struct blk {
	virtio_dev v; /* first */
	int fd;
	bool ro;
	uint64_t sectors;
	char id[ID_BYTES];
} blk;

struct req_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

struct range {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;
};

static void put32(blk *b, uint32_t off, uint32_t val)
{
	memcpy(b->v.config + off, &val, 4);
}

/* Move `len` bytes between the file at `pos` and the chain's segments
 * [first, first+count), starting `skip` bytes into them. */
static int do_io(blk *b, const vq_chain *c, uint32_t first, uint32_t count, uint64_t skip,
		 uint64_t len, uint64_t pos, bool write)
{
	for (uint32_t i = first; i < first + count && len; i++) {
		const vq_seg *s = &c->seg[i];
		if (skip >= s->len) {
			skip -= s->len;
			continue;
		}
		uint8_t *p = s->p + skip;
		uint64_t n = s->len - skip;
		skip = 0;
		if (n > len)
			n = len;
		while (n) {
			ssize_t r = write ? pwrite(b->fd, p, n, (off_t)pos)
					  : pread(b->fd, p, n, (off_t)pos);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				return -1; /* error, or EOF: the file shrank under us */
			p += r;
			n -= (uint64_t)r;
			len -= (uint64_t)r;
			pos += (uint64_t)r;
		}
	}
	return len ? -1 : 0;
}

static bool in_range(const blk *b, uint64_t sector, uint64_t count)
{
	return sector <= b->sectors && count <= b->sectors - sector;
}

static uint8_t do_ranges(blk *b, vq_chain *c, bool zeroes)
{
	struct range r;
	uint64_t data = c->out_len - sizeof(struct req_hdr);
	if (b->ro) {
		vm_guest_error(b->v.dev.machine, "virtio-blk: %s on a read-only disk",
			       zeroes ? "write-zeroes" : "discard");
		return VIRTIO_BLK_S_IOERR;
	}
	if (data != sizeof(r)) /* max_discard_seg = max_write_zeroes_seg = 1 */
		return VIRTIO_BLK_S_UNSUPP;
	vq_chain_read(c, sizeof(struct req_hdr), &r, sizeof(r));
	if (r.num_sectors > MAX_RANGE_SECTS || !in_range(b, r.sector, r.num_sectors))
		return VIRTIO_BLK_S_IOERR;
	int mode = FALLOC_FL_KEEP_SIZE | (zeroes ? FALLOC_FL_ZERO_RANGE : FALLOC_FL_PUNCH_HOLE);
	off_t off = (off_t)(r.sector * SECTOR), len = (off_t)r.num_sectors * SECTOR;
	if (len == 0)
		return VIRTIO_BLK_S_OK;
	if (fallocate(b->fd, mode, off, len) == 0)
		return VIRTIO_BLK_S_OK;
	if (zeroes && errno == EOPNOTSUPP &&
	    fallocate(b->fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, off, len) == 0)
		return VIRTIO_BLK_S_OK;
	return VIRTIO_BLK_S_IOERR;
}

static int64_t blk_request(virtio_dev *v, vq_chain *c, berr *e)
{
	blk *b = (blk *)v;
	struct req_hdr h;
	if (vq_chain_read(c, 0, &h, sizeof(h)) != sizeof(h))
		return berr_set(e, 0, "request header shorter than %zu bytes", sizeof(h));
	if (c->in_len < 1)
		return berr_set(e, 0, "request (type %u) without a writable status byte", h.type);
	uint64_t in_data = c->in_len - 1; /* the status byte is the last one */
	uint64_t out_data = c->out_len - sizeof(h);
	uint8_t status = VIRTIO_BLK_S_OK;

	uint64_t data = h.type == VIRTIO_BLK_T_IN    ? in_data
			: h.type == VIRTIO_BLK_T_OUT ? out_data
						     : 0;
	if (data > MAX_REQ_BYTES) {
		vm_guest_error(v->dev.machine,
			       "virtio-blk: request of %llu bytes exceeds size_max * seg_max",
			       (unsigned long long)data);
		vq_chain_write(c, in_data, &(uint8_t){VIRTIO_BLK_S_IOERR}, 1);
		return 1;
	}
	switch (h.type) {
	case VIRTIO_BLK_T_IN:
		if (in_data % SECTOR || !in_range(b, h.sector, in_data / SECTOR) ||
		    do_io(b, c, c->n_out, c->n_in, 0, in_data, h.sector * SECTOR, false) < 0)
			status = VIRTIO_BLK_S_IOERR;
		break;
	case VIRTIO_BLK_T_OUT:
		if (b->ro) {
			vm_guest_error(v->dev.machine,
				       "virtio-blk: write to a read-only disk (sector %llu)",
				       (unsigned long long)h.sector);
			status = VIRTIO_BLK_S_IOERR;
		} else if (out_data % SECTOR || !in_range(b, h.sector, out_data / SECTOR) ||
			   do_io(b, c, 0, c->n_out, sizeof(h), out_data, h.sector * SECTOR, true) <
			       0) {
			status = VIRTIO_BLK_S_IOERR;
		}
		break;
	case VIRTIO_BLK_T_FLUSH:
		if (!b->ro && fdatasync(b->fd) < 0)
			status = VIRTIO_BLK_S_IOERR;
		break;
	case VIRTIO_BLK_T_GET_ID: {
		/* 20 bytes expected; a larger buffer is zero-filled, within reason */
		uint8_t id[ID_BYTES + SECTOR] = {0};
		memcpy(id, b->id, ID_BYTES);
		if (in_data > sizeof(id))
			status = VIRTIO_BLK_S_IOERR;
		else
			vq_chain_write(c, 0, id, in_data);
		break;
	}
	case VIRTIO_BLK_T_DISCARD:
		status = do_ranges(b, c, false);
		break;
	case VIRTIO_BLK_T_WRITE_ZEROES:
		status = do_ranges(b, c, true);
		break;
	default:
		status = VIRTIO_BLK_S_UNSUPP;
	}
	vq_chain_write(c, in_data, &status, 1);
	/* Like QEMU, the used length is the whole writable area, status byte
	 * included (it is the last byte); drivers read the status. */
	return (int64_t)c->in_len;
}

static void blk_notify(virtio_dev *v, uint16_t qi)
{
	virtio_dev_process(v, qi, blk_request);
}

static void blk_destroy(virtio_dev *v)
{
	blk *b = (blk *)v;
	if (b->fd >= 0)
		close(b->fd);
}

static const virtio_dev_ops blk_ops = {
    .name = "virtio-blk",
    .device_id = VIRTIO_ID_BLOCK,
    .num_queues = 1,
    .queue_notify = blk_notify,
    .destroy = blk_destroy,
};

int virtio_blk_create(vm *m, const char *path, bool read_only, berr *e)
{
	_cleanup_close_ int fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0)
		return berr_sys(e, "virtio-blk: open %s", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return berr_sys(e, "virtio-blk: fstat %s", path);
	if (!S_ISREG(st.st_mode))
		return berr_set(e, 0, "virtio-blk: %s: not a regular file", path);
	if (st.st_size < (off_t)SECTOR)
		return berr_set(e, 0, "virtio-blk: %s: smaller than one sector", path);
	/* One writer or many readers per image, across VMs (and within one). */
	if (flock(fd, (read_only ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			return berr_set(e, errno, "virtio-blk: %s: in use by another VM (%s)", path,
					read_only ? "opened for writing" : "locked");
		return berr_sys(e, "virtio-blk: flock %s", path);
	}

	blk *b = xzalloc(sizeof(*b));
	virtio_dev_init(&b->v, &blk_ops);
	b->fd = take_fd(&fd);
	b->ro = read_only;
	b->sectors = (uint64_t)st.st_size / SECTOR;
	snprintf(b->id, sizeof(b->id), "berth%llx", (unsigned long long)st.st_ino);

	b->v.device_features =
	    BIT64(VIRTIO_BLK_F_SEG_MAX) | BIT64(VIRTIO_BLK_F_BLK_SIZE) | BIT64(VIRTIO_BLK_F_FLUSH);
	if (read_only)
		b->v.device_features |= BIT64(VIRTIO_BLK_F_RO);
	else
		b->v.device_features |=
		    BIT64(VIRTIO_BLK_F_DISCARD) | BIT64(VIRTIO_BLK_F_WRITE_ZEROES);
	memcpy(b->v.config + CFG_CAPACITY, &b->sectors, 8);
	put32(b, CFG_SIZE_MAX, SIZE_MAX_SEG);
	put32(b, CFG_SEG_MAX, SEG_MAX);
	put32(b, CFG_BLK_SIZE, SECTOR);
	put32(b, CFG_MAX_DISCARD_SECT, MAX_RANGE_SECTS);
	put32(b, CFG_MAX_DISCARD_SEG, 1);
	put32(b, CFG_DISCARD_ALIGN, 1);
	put32(b, CFG_MAX_WZ_SECT, MAX_RANGE_SECTS);
	put32(b, CFG_MAX_WZ_SEG, 1);
	b->v.config[CFG_WZ_MAY_UNMAP] = 1;
	b->v.config_len = CFG_LEN;

	if (virtio_dev_register(&b->v, m, e) < 0) {
		if (!b->v.dev.machine)
			virtio_dev_free(&b->v);
		return berr_ctx(e, "%s", path);
	}
	return 0;
}
