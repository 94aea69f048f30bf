/* The virtio split-queue walk over guest memory the guest wrote: a 16-byte
 * header sets up the queue (size, features, ring addresses, memory size), the
 * rest of the input is guest RAM from address 0. The device side then does
 * what virtio-blk/net/console do: pop every chain, read what the driver
 * offers, write into what it lets us write, push, decide on an interrupt.
 * Guest RAM is an exact-size heap block, so ASan catches any access beyond
 * it, and every loop here is bounded. */
#include "fuzz.h"
#include "vmm/virtio/virtqueue.h"

struct hdr {
	uint8_t size_log2; /* QueueNum = 1 << (x % 10): 1..512 (512 is refused) */
	uint8_t features;  /* bit 0 event_idx, bit 1 indirect */
	uint8_t mem_log2;  /* guest RAM = 4 KiB << (x % 5) */
	uint8_t spare;
	uint32_t desc, avail, used; /* ring addresses (anything: checked) */
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hdr h;
	if (size < sizeof(h))
		return 0;
	memcpy(&h, data, sizeof(h));
	data += sizeof(h);
	size -= sizeof(h);

	vm_mem m = {.size = (uint64_t)4096 << (h.mem_log2 % 5)};
	m.host = xzalloc(m.size);
	memcpy(m.host, data, size < m.size ? size : m.size);

	vq q;
	vq_reset(&q);
	berr e = {0};
	uint32_t num = 1u << (h.size_log2 % 10);
	if (vq_check_size(num, &e) < 0)
		goto out;
	q.size = (uint16_t)num;
	q.event_idx = h.features & 1;
	q.indirect = h.features & 2;
	q.desc_gpa = h.desc;
	q.avail_gpa = h.avail;
	q.used_gpa = h.used;
	if (vq_check_rings(&q, &m, &e) < 0)
		goto out;
	q.ready = true;

	static vq_chain c; /* 4 KiB of segments: not on the stack */
	uint8_t buf[512];
	/* a queue never yields more than size chains per avail idx the driver
	 * published; twice that bounds the loop whatever the guest does */
	for (uint32_t round = 0; round < 2u * q.size + 2; round++) {
		bool avail = vq_has_avail(&q, &m);
		int r = vq_pop(&q, &m, &c, &e);
		if (r < 0) {
			if (!q.broken || !e.msg[0])
				fuzz_die("vq_pop refused a chain without breaking the queue", &e);
			break;
		}
		if (r == 0) {
			if (avail && !q.broken)
				fuzz_die("vq_has_avail said yes, vq_pop found nothing", NULL);
			break;
		}
		if (c.n_out + c.n_in > VQ_MAX_SIZE || c.head >= q.size)
			fuzz_die("chain out of bounds", NULL);
		uint64_t out_len = 0, in_len = 0;
		for (uint32_t i = 0; i < c.n_out; i++)
			out_len += c.seg[i].len;
		for (uint32_t i = c.n_out; i < (uint32_t)c.n_out + c.n_in; i++)
			in_len += c.seg[i].len;
		if (out_len != c.out_len || in_len != c.in_len)
			fuzz_die("chain lengths do not add up", NULL);
		/* read the request header and its tail, as a block device would */
		size_t got = vq_chain_read(&c, 0, buf, sizeof(buf));
		if (got > c.out_len || got > sizeof(buf))
			fuzz_die("vq_chain_read read more than the chain holds", NULL);
		if (c.out_len > 16)
			(void)vq_chain_read(&c, c.out_len - 16, buf, 16);
		size_t put = vq_chain_write(&c, c.in_len > 1 ? 1 : 0, buf, sizeof(buf));
		if (put > c.in_len)
			fuzz_die("vq_chain_write wrote more than the chain holds", NULL);
		if (vq_push(&q, &m, c.head, (uint32_t)put, &e) < 0)
			fuzz_die("vq_push refused the head vq_pop gave", &e);
		(void)vq_should_interrupt(&q, &m);
	}
out:
	free(m.host);
	return 0;
}
