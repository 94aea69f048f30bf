/* virtqueue.c driven directly over a malloc'ed guest memory: well-formed
 * chains, indirect tables, and every way a guest can break a chain. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "vmm/virtio/virtqueue.h"

#define MEM_SIZE  (1u << 20)
#define DESC_GPA  0x1000
#define AVAIL_GPA 0x2000
#define USED_GPA  0x3000
#define IND_GPA	  0x4000
#define BUF_GPA	  0x10000

typedef struct env {
	vm_mem mem;
	vq q;
	vq_chain c;
	berr e;
} env;

static env *env_new(uint16_t size)
{
	env *t = calloc(1, sizeof(*t));
	t->mem.host = aligned_alloc(4096, MEM_SIZE);
	memset(t->mem.host, 0, MEM_SIZE);
	t->mem.size = MEM_SIZE;
	vq_reset(&t->q);
	t->q.size = size;
	t->q.desc_gpa = DESC_GPA;
	t->q.avail_gpa = AVAIL_GPA;
	t->q.used_gpa = USED_GPA;
	t->q.indirect = true;
	if (vq_check_rings(&t->q, &t->mem, &t->e) == 0)
		t->q.ready = true;
	return t;
}

static void env_free(env *t)
{
	free(t->mem.host);
	free(t);
}

static void set_desc(env *t, uint64_t table, uint16_t i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	vq_desc d = {addr, len, flags, next};
	memcpy(t->mem.host + table + 16u * i, &d, 16);
}

static uint16_t rd16(env *t, uint64_t gpa)
{
	uint16_t v;
	memcpy(&v, t->mem.host + gpa, 2);
	return v;
}

static void wr16(env *t, uint64_t gpa, uint16_t v)
{
	memcpy(t->mem.host + gpa, &v, 2);
}

/* Driver side: put head in the next avail slot and publish it. */
static void publish(env *t, uint16_t head)
{
	uint16_t idx = rd16(t, AVAIL_GPA + 2);
	wr16(t, AVAIL_GPA + 4 + 2u * (idx % t->q.size), head);
	wr16(t, AVAIL_GPA + 2, (uint16_t)(idx + 1));
}

static int expect_refused(env *t, const char *msg);

static void test_sizes(void)
{
	berr e;
	CHECK(vq_check_size(0, &e) < 0);
	CHECK_CONTAINS(e.msg, "queue size 0");
	CHECK(vq_check_size(100, &e) < 0);
	CHECK_CONTAINS(e.msg, "not a power of two");
	CHECK(vq_check_size(512, &e) < 0);
	CHECK_CONTAINS(e.msg, "exceeds QueueNumMax");
	CHECK(vq_check_size(1000, &e) < 0);
	CHECK_CONTAINS(e.msg, "exceeds QueueNumMax");
	CHECK(vq_check_size(1, &e) == 0);
	CHECK(vq_check_size(256, &e) == 0);
}

static void test_ring_placement(void)
{
	env *t = env_new(8);
	CHECK(t->q.ready);
	vq q = t->q;
	q.desc_gpa = MEM_SIZE - 64; /* 8 descriptors need 128 bytes */
	CHECK(vq_check_rings(&q, &t->mem, &t->e) < 0);
	CHECK_CONTAINS(t->e.msg, "descriptor table");
	q = t->q;
	q.used_gpa = UINT64_MAX - 3; /* 4-aligned, wraps */
	CHECK(vq_check_rings(&q, &t->mem, &t->e) < 0);
	CHECK_CONTAINS(t->e.msg, "outside guest memory");
	q = t->q;
	q.avail_gpa = AVAIL_GPA + 1;
	CHECK(vq_check_rings(&q, &t->mem, &t->e) < 0);
	CHECK_CONTAINS(t->e.msg, "misaligned");
	q = t->q;
	q.size = 6;
	CHECK(vq_check_rings(&q, &t->mem, &t->e) < 0);
	CHECK_CONTAINS(t->e.msg, "not a power of two");
	env_free(t);
}

static void test_normal_chain(void)
{
	env *t = env_new(8);
	memcpy(t->mem.host + BUF_GPA, "hello", 5);
	set_desc(t, DESC_GPA, 3, BUF_GPA, 5, VIRTQ_DESC_F_NEXT, 5);
	set_desc(t, DESC_GPA, 5, BUF_GPA + 0x100, 3, VIRTQ_DESC_F_NEXT, 1);
	set_desc(t, DESC_GPA, 1, BUF_GPA + 0x200, 16, VIRTQ_DESC_F_WRITE, 0);
	CHECK(vq_pop(&t->q, &t->mem, &t->c, &t->e) == 0); /* empty */
	publish(t, 3);
	CHECK(vq_has_avail(&t->q, &t->mem));
	CHECK(vq_pop(&t->q, &t->mem, &t->c, &t->e) == 1);
	CHECK(t->c.head == 3);
	CHECK(t->c.n_out == 2 && t->c.n_in == 1);
	CHECK(t->c.out_len == 8 && t->c.in_len == 16);
	char buf[16] = {0};
	CHECK(vq_chain_read(&t->c, 2, buf, sizeof(buf)) == 6); /* short at the end */
	CHECK(memcmp(buf, "llo", 3) == 0);
	CHECK(vq_chain_write(&t->c, 14, "xyz", 3) == 2);
	CHECK(memcmp(t->mem.host + BUF_GPA + 0x200 + 14, "xy", 2) == 0);
	CHECK(vq_push(&t->q, &t->mem, 3, 16, &t->e) == 0);
	CHECK(rd16(t, USED_GPA + 2) == 1);
	uint32_t id, len;
	memcpy(&id, t->mem.host + USED_GPA + 4, 4);
	memcpy(&len, t->mem.host + USED_GPA + 8, 4);
	CHECK(id == 3 && len == 16);
	CHECK(vq_should_interrupt(&t->q, &t->mem));
	wr16(t, AVAIL_GPA, VIRTQ_AVAIL_F_NO_INTERRUPT);
	CHECK(!vq_should_interrupt(&t->q, &t->mem));
	CHECK(vq_pop(&t->q, &t->mem, &t->c, &t->e) == 0);
	CHECK(!t->q.broken);
	env_free(t);
}

static void test_wraparound(void)
{
	env *t = env_new(4);
	set_desc(t, DESC_GPA, 0, BUF_GPA, 8, 0, 0);
	/* many rounds over a 4-entry ring and across the 16-bit idx wrap */
	wr16(t, AVAIL_GPA + 2, 65530);
	t->q.last_avail = 65530;
	t->q.used_idx = 65530;
	for (int i = 0; i < 20; i++) {
		publish(t, 0);
		CHECK(vq_pop(&t->q, &t->mem, &t->c, &t->e) == 1);
		CHECK(vq_push(&t->q, &t->mem, 0, 0, &t->e) == 0);
	}
	CHECK(rd16(t, USED_GPA + 2) == (uint16_t)(65530 + 20));
	env_free(t);
}

static void test_indirect_chain(void)
{
	env *t = env_new(8);
	set_desc(t, IND_GPA, 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	set_desc(t, IND_GPA, 1, BUF_GPA + 0x100, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	set_desc(t, IND_GPA, 2, BUF_GPA + 0x400, 1, VIRTQ_DESC_F_WRITE, 0);
	set_desc(t, DESC_GPA, 0, IND_GPA, 3 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	publish(t, 0);
	CHECK(vq_pop(&t->q, &t->mem, &t->c, &t->e) == 1);
	CHECK(t->c.n_out == 1 && t->c.n_in == 2 && t->c.in_len == 513);
	env_free(t);

	/* direct buffers first, then an indirect table continuing the chain */
	t = env_new(8);
	set_desc(t, IND_GPA, 0, BUF_GPA + 0x100, 512, VIRTQ_DESC_F_WRITE, 0);
	set_desc(t, DESC_GPA, 4, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 6);
	set_desc(t, DESC_GPA, 6, IND_GPA, 16, VIRTQ_DESC_F_INDIRECT, 0);
	publish(t, 4);
	CHECK(vq_pop(&t->q, &t->mem, &t->c, &t->e) == 1);
	CHECK(t->c.head == 4 && t->c.n_out == 1 && t->c.n_in == 1 && t->c.in_len == 512);
	env_free(t);

	/* INDIRECT together with NEXT is not allowed */
	t = env_new(8);
	set_desc(t, DESC_GPA, 0, IND_GPA, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	publish(t, 0);
	CHECK(expect_refused(t, "also has NEXT set"));
	env_free(t);
}

/* Pop one chain that must be refused with `msg`; the queue is then broken
 * and stays quiet. */
static int expect_refused(env *t, const char *msg)
{
	if (vq_pop(&t->q, &t->mem, &t->c, &t->e) != -1)
		return 0;
	if (!strstr(t->e.msg, msg)) {
		fprintf(stderr, "got \"%s\", want \"%s\"\n", t->e.msg, msg);
		return 0;
	}
	return t->q.broken && vq_pop(&t->q, &t->mem, &t->c, &t->e) == 0;
}

static void test_loop(void)
{
	env *t = env_new(8);
	set_desc(t, DESC_GPA, 0, BUF_GPA, 8, VIRTQ_DESC_F_NEXT, 1);
	set_desc(t, DESC_GPA, 1, BUF_GPA, 8, VIRTQ_DESC_F_NEXT, 0);
	publish(t, 0);
	CHECK(expect_refused(t, "longer than queue size 8 (loop?)"));
	env_free(t);
	t = env_new(8);
	set_desc(t, DESC_GPA, 2, BUF_GPA, 8, VIRTQ_DESC_F_NEXT, 2); /* self loop */
	publish(t, 2);
	CHECK(expect_refused(t, "loop?"));
	env_free(t);
}

static void test_next_out_of_range(void)
{
	env *t = env_new(8);
	set_desc(t, DESC_GPA, 0, BUF_GPA, 8, VIRTQ_DESC_F_NEXT, 8);
	publish(t, 0);
	CHECK(expect_refused(t, "next 8 out of range"));
	env_free(t);
	t = env_new(8);
	publish(t, 9);
	CHECK(expect_refused(t, "names descriptor 9"));
	env_free(t);
}

static void test_out_of_memory(void)
{
	env *t = env_new(8);
	set_desc(t, DESC_GPA, 0, MEM_SIZE - 4, 8, 0, 0);
	publish(t, 0);
	CHECK(expect_refused(t, "outside guest memory"));
	env_free(t);
	t = env_new(8); /* gpa + len wraps around 2^64 */
	set_desc(t, DESC_GPA, 0, UINT64_MAX - 0xf, 0x20, 0, 0);
	publish(t, 0);
	CHECK(expect_refused(t, "outside guest memory"));
	env_free(t);
	t = env_new(8);
	set_desc(t, DESC_GPA, 0, UINT64_MAX, 1, 0, 0);
	publish(t, 0);
	CHECK(expect_refused(t, "outside guest memory"));
	env_free(t);
}

static void test_lengths(void)
{
	env *t = env_new(8);
	set_desc(t, DESC_GPA, 0, BUF_GPA, 0xffffffff, VIRTQ_DESC_F_WRITE, 0);
	publish(t, 0);
	CHECK(expect_refused(t, "outside guest memory"));
	env_free(t);
	t = env_new(8);
	set_desc(t, DESC_GPA, 0, BUF_GPA, 0, 0, 0);
	publish(t, 0);
	CHECK(expect_refused(t, "length 0"));
	env_free(t);
}

static void test_order(void)
{
	env *t = env_new(8);
	set_desc(t, DESC_GPA, 0, BUF_GPA, 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	set_desc(t, DESC_GPA, 1, BUF_GPA, 8, 0, 0);
	publish(t, 0);
	CHECK(expect_refused(t, "device-readable descriptor 1 after a device-writable"));
	env_free(t);
}

static void test_avail_jump(void)
{
	env *t = env_new(8);
	set_desc(t, DESC_GPA, 0, BUF_GPA, 8, 0, 0);
	wr16(t, AVAIL_GPA + 2, 9);
	CHECK(expect_refused(t, "avail idx jumped from 0 to 9"));
	env_free(t);
	t = env_new(8);
	wr16(t, AVAIL_GPA + 2, 0xffff); /* "backwards" is a jump too */
	CHECK(expect_refused(t, "avail idx jumped"));
	env_free(t);
}

static void test_indirect_errors(void)
{
	env *t = env_new(8);
	/* indirect table that contains itself: nested indirect */
	set_desc(t, IND_GPA, 0, IND_GPA, 32, VIRTQ_DESC_F_INDIRECT, 0);
	set_desc(t, DESC_GPA, 0, IND_GPA, 32, VIRTQ_DESC_F_INDIRECT, 0);
	publish(t, 0);
	CHECK(expect_refused(t, "nested indirect"));
	env_free(t);

	t = env_new(8); /* loop inside an indirect table */
	set_desc(t, IND_GPA, 0, BUF_GPA, 8, VIRTQ_DESC_F_NEXT, 1);
	set_desc(t, IND_GPA, 1, BUF_GPA, 8, VIRTQ_DESC_F_NEXT, 0);
	set_desc(t, DESC_GPA, 0, IND_GPA, 32, VIRTQ_DESC_F_INDIRECT, 0);
	publish(t, 0);
	CHECK(expect_refused(t, "loop?"));
	env_free(t);

	t = env_new(8);
	set_desc(t, DESC_GPA, 0, IND_GPA, 20, VIRTQ_DESC_F_INDIRECT, 0);
	publish(t, 0);
	CHECK(expect_refused(t, "not a non-zero multiple of 16"));
	env_free(t);

	t = env_new(8);
	set_desc(t, DESC_GPA, 0, IND_GPA, 16 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	publish(t, 0);
	CHECK(expect_refused(t, "exceeds queue size"));
	env_free(t);

	t = env_new(8);
	set_desc(t, DESC_GPA, 0, MEM_SIZE - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
	publish(t, 0);
	CHECK(expect_refused(t, "indirect table"));
	env_free(t);

	t = env_new(8);
	t->q.indirect = false;
	set_desc(t, DESC_GPA, 0, IND_GPA, 32, VIRTQ_DESC_F_INDIRECT, 0);
	publish(t, 0);
	CHECK(expect_refused(t, "not negotiated"));
	env_free(t);
}

static void test_event_idx(void)
{
	env *t = env_new(8);
	t->q.event_idx = true;
	set_desc(t, DESC_GPA, 0, BUF_GPA, 8, 0, 0);
	uint64_t used_event = AVAIL_GPA + 4 + 2 * 8, avail_event = USED_GPA + 4 + 8 * 8;
	wr16(t, used_event, 1); /* interrupt me when used idx passes 1 */
	for (int i = 0; i < 3; i++) {
		publish(t, 0);
		CHECK(vq_pop(&t->q, &t->mem, &t->c, &t->e) == 1);
		CHECK(rd16(t, avail_event) == i + 1);
		CHECK(vq_push(&t->q, &t->mem, 0, 0, &t->e) == 0);
		bool want = i == 0 /* first is always signalled */ || i == 1; /* 1 in (1, 2] */
		CHECK(vq_should_interrupt(&t->q, &t->mem) == want);
	}
	env_free(t);
}

/* Random descriptor tables and avail rings: every pop must terminate and
 * either succeed with in-bounds segments or fail cleanly. */
static void test_fuzz(void)
{
	srand(12345);
	env *t = env_new(16);
	int ok = 0, refused = 0;
	for (int iter = 0; iter < 20000; iter++) {
		t->q.size = (uint16_t)(1u << (rand() % 5));
		t->q.broken = false;
		t->q.indirect = rand() & 1;
		t->q.event_idx = rand() & 1;
		t->q.last_avail = (uint16_t)rand();
		for (int i = 0; i < 16; i++) {
			uint64_t addr;
			switch (rand() % 4) {
			case 0:
				addr = (uint64_t)rand() % MEM_SIZE;
				break;
			case 1:
				addr = UINT64_MAX - (uint64_t)(rand() % 64);
				break;
			case 2:
				addr = IND_GPA + 16u * (uint64_t)(rand() % 4);
				break;
			default:
				addr = BUF_GPA + (uint64_t)(rand() % 4096);
			}
			uint32_t len =
			    rand() % 3 ? (uint32_t)(rand() % 256) : (uint32_t)rand() * 2u;
			uint16_t flags = (uint16_t)(rand() % 8);
			set_desc(t, DESC_GPA, (uint16_t)i, addr, len, flags,
				 (uint16_t)(rand() % 20));
			set_desc(t, IND_GPA, (uint16_t)i, addr, len, flags,
				 (uint16_t)(rand() % 20));
		}
		for (int i = 0; i < 16; i++)
			wr16(t, AVAIL_GPA + 4 + 2 * i, (uint16_t)(rand() % 20));
		wr16(t, AVAIL_GPA + 2, (uint16_t)(t->q.last_avail + rand() % 40));
		for (int n = 0; n < 64; n++) {
			int r = vq_pop(&t->q, &t->mem, &t->c, &t->e);
			if (r <= 0) {
				refused += r < 0;
				break;
			}
			ok++;
			CHECK(t->c.n_out + t->c.n_in <= t->q.size);
			for (int s = 0; s < t->c.n_out + t->c.n_in; s++) {
				const vq_seg *g = &t->c.seg[s];
				CHECK(g->p >= t->mem.host && g->len > 0 &&
				      (uint64_t)(g->p - t->mem.host) + g->len <= MEM_SIZE);
			}
			CHECK(vq_push(&t->q, &t->mem, t->c.head, 0, &t->e) == 0);
		}
	}
	CHECK(ok > 100 && refused > 100); /* both paths exercised */
	env_free(t);
}

CHECK_MAIN(test_sizes, test_ring_placement, test_normal_chain, test_wraparound, test_indirect_chain,
	   test_loop, test_next_out_of_range, test_out_of_memory, test_lengths, test_order,
	   test_avail_jump, test_indirect_errors, test_event_idx, test_fuzz)
