#include "vdrv.h"

uint64_t vdrv_ms(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (((uint64_t)hi << 32) | lo) / 1000000; /* 1 GHz assumed */
}

/* Parse a number: decimal or 0x hex, optional K/M suffix. */
static const char *parse_num(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		for (;; s++) {
			int d = *s >= '0' && *s <= '9'	 ? *s - '0'
				: *s >= 'a' && *s <= 'f' ? *s - 'a' + 10
				: *s >= 'A' && *s <= 'F' ? *s - 'A' + 10
							 : -1;
			if (d < 0)
				break;
			v = v * 16 + (uint64_t)d;
		}
	} else {
		for (; *s >= '0' && *s <= '9'; s++)
			v = v * 10 + (uint64_t)(*s - '0');
	}
	if (*s == 'K' || *s == 'k')
		v <<= 10, s++;
	else if (*s == 'M' || *s == 'm')
		v <<= 20, s++;
	*out = v;
	return s;
}

int vdrv_find(uint32_t id, int n, vdev *d)
{
	static const char key[] = "virtio_mmio.device=";
	const uint64_t kl = sizeof(key) - 1;
	const char *s = cmdline();
	int seen = 0;
	while (*s) {
		while (*s == ' ')
			s++;
		if (!str_neq(s, key, kl)) {
			uint64_t size, base, irq = 0;
			const char *p = parse_num(s + kl, &size);
			if (*p == '@') {
				p = parse_num(p + 1, &base);
				if (*p == ':')
					p = parse_num(p + 1, &irq);
				vdev t = {base, (uint32_t)irq, 0, 0};
				if (vd_read(&t, VM_MAGIC) == 0x74726976 &&
				    vd_read(&t, VM_VERSION) == 2) {
					t.id = vd_read(&t, VM_DEVICE_ID);
					if (t.id == id && seen++ == n) {
						*d = t;
						return 0;
					}
				}
			}
		}
		while (*s && *s != ' ')
			s++;
	}
	print("vdrv: no virtio device of type ");
	print_dec(id);
	print(" on the command line: ");
	print(cmdline());
	print("\n");
	return -1;
}

int vdrv_init(vdev *d, uint64_t want)
{
	vd_write(d, VM_STATUS, 0);
	vd_write(d, VM_STATUS, ST_ACK);
	vd_write(d, VM_STATUS, ST_ACK | ST_DRIVER);
	vd_write(d, VM_DEV_FEAT_SEL, 0);
	uint64_t feat = vd_read(d, VM_DEV_FEAT);
	vd_write(d, VM_DEV_FEAT_SEL, 1);
	feat |= (uint64_t)vd_read(d, VM_DEV_FEAT) << 32;
	if (!(feat & (1ull << F_VERSION_1))) {
		print("vdrv: device does not offer VERSION_1\n");
		return -1;
	}
	d->features = (want | (1ull << F_VERSION_1)) & feat;
	vd_write(d, VM_DRV_FEAT_SEL, 0);
	vd_write(d, VM_DRV_FEAT, (uint32_t)d->features);
	vd_write(d, VM_DRV_FEAT_SEL, 1);
	vd_write(d, VM_DRV_FEAT, (uint32_t)(d->features >> 32));
	vd_write(d, VM_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
	if (!(vd_read(d, VM_STATUS) & ST_FEATURES_OK)) {
		print("vdrv: FEATURES_OK not accepted\n");
		return -1;
	}
	return 0;
}

int vdrv_queue(vdev *d, vring *r, uint16_t qi, uint16_t size, struct vring_mem *m)
{
	memset(m, 0, sizeof(*m));
	vd_write(d, VM_QUEUE_SEL, qi);
	uint32_t max = vd_read(d, VM_QUEUE_NUM_MAX);
	if (max == 0 || size > VRING_MAX) {
		print("vdrv: queue not available\n");
		return -1;
	}
	if (size > max)
		size = (uint16_t)max;
	r->d = d;
	r->qi = qi;
	r->size = size;
	r->next_desc = 0;
	r->last_used = 0;
	r->last_isr = 0;
	r->m = m;
	uint64_t desc = (uint64_t)m->desc, avail = (uint64_t)&m->avail_flags,
		 used = (uint64_t)&m->used_flags;
	vd_write(d, VM_QUEUE_NUM, size);
	vd_write(d, VM_QUEUE_DESC_LO, (uint32_t)desc);
	vd_write(d, VM_QUEUE_DESC_HI, (uint32_t)(desc >> 32));
	vd_write(d, VM_QUEUE_AVAIL_LO, (uint32_t)avail);
	vd_write(d, VM_QUEUE_AVAIL_HI, (uint32_t)(avail >> 32));
	vd_write(d, VM_QUEUE_USED_LO, (uint32_t)used);
	vd_write(d, VM_QUEUE_USED_HI, (uint32_t)(used >> 32));
	vd_write(d, VM_QUEUE_READY, 1);
	if (vd_read(d, VM_QUEUE_READY) != 1) {
		print("vdrv: QueueReady not accepted\n");
		return -1;
	}
	return 0;
}

void vdrv_ready(vdev *d)
{
	vd_write(d, VM_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
}

uint16_t vdrv_submit(vring *r, const struct vbuf *b, int n)
{
	uint16_t head = r->next_desc;
	for (int i = 0; i < n; i++) {
		uint16_t k = r->next_desc;
		r->next_desc = (uint16_t)((k + 1) % r->size);
		struct vring_desc *dsc = &r->m->desc[k];
		dsc->addr = (uint64_t)b[i].addr;
		dsc->len = b[i].len;
		dsc->flags = b[i].flags;
		if (i + 1 < n) {
			dsc->flags |= VRING_DESC_F_NEXT;
			dsc->next = r->next_desc;
		} else {
			dsc->next = 0;
		}
	}
	uint16_t idx = r->m->avail_idx;
	r->m->avail_ring[idx % r->size] = head;
	barrier(); /* descriptors and ring entry before the index (x86: TSO) */
	r->m->avail_idx = (uint16_t)(idx + 1);
	barrier();
	vd_write(r->d, VM_QUEUE_NOTIFY, r->qi);
	return head;
}

int vdrv_poll(vring *r, uint32_t *len, uint32_t ms)
{
	uint64_t end = vdrv_ms() + ms;
	while (*(volatile uint16_t *)&r->m->used_idx == r->last_used) {
		if (vdrv_ms() > end)
			return -1;
		cpu_relax();
	}
	barrier();
	*len = r->m->used_ring[r->last_used % r->size].len;
	r->last_used++;
	r->last_isr = vd_read(r->d, VM_INT_STATUS);
	vd_write(r->d, VM_INT_ACK, r->last_isr);
	return 0;
}

uint8_t vdrv_cfg8(vdev *d, uint32_t off)
{
	return *(volatile uint8_t *)(d->base + VM_CONFIG + off);
}

uint32_t vdrv_cfg32(vdev *d, uint32_t off)
{
	return vd_read(d, VM_CONFIG + off);
}
