#include "rt.h"

const uint8_t *boot_params;

void *memset(void *d, int c, size_t n)
{
	uint8_t *p = d;
	while (n--)
		*p++ = (uint8_t)c;
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	uint8_t *p = d;
	const uint8_t *q = s;
	while (n--)
		*p++ = *q++;
	return d;
}

size_t str_len(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

int str_neq(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return 1;
	return 0;
}

void serial_putc(char c)
{
	/* wait (bounded) for THR empty */
	for (int i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); i++)
		cpu_relax();
	outb(COM1, (uint8_t)c);
}

void print(const char *s)
{
	while (*s)
		serial_putc(*s++);
}

void print_hex(uint64_t v)
{
	char b[19];
	b[0] = '0';
	b[1] = 'x';
	for (int i = 0; i < 16; i++)
		b[2 + i] = "0123456789abcdef"[(v >> (60 - 4 * i)) & 0xf];
	b[18] = 0;
	print(b);
}

void print_dec(uint64_t v)
{
	char b[21];
	int i = 20;
	b[i] = 0;
	do {
		b[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	print(b + i);
}

void guest_exit(uint32_t status)
{
	outl(EXIT_PORT, status);
	for (;;)
		__asm__ volatile("cli; hlt");
}

const char *cmdline(void)
{
	uint64_t p =
	    bp_u32(0x228) | ((uint64_t)bp_u32(0x0c8) << 32); /* cmd_line_ptr, ext_cmd_line_ptr */
	return p ? (const char *)p : "";
}

int cmdline_get(const char *key, char *buf, size_t bufsz)
{
	const char *s = cmdline();
	size_t kl = str_len(key);
	while (*s) {
		while (*s == ' ')
			s++;
		if (!str_neq(s, key, kl) && s[kl] == '=') {
			s += kl + 1;
			size_t n = 0;
			while (s[n] && s[n] != ' ' && n + 1 < bufsz) {
				buf[n] = s[n];
				n++;
			}
			buf[n] = 0;
			return (int)n;
		}
		while (*s && *s != ' ')
			s++;
	}
	return -1;
}

uint64_t cmdline_num(const char *key, uint64_t def)
{
	char b[32];
	if (cmdline_get(key, b, sizeof(b)) <= 0)
		return def;
	uint64_t v = 0;
	const char *p = b;
	if (p[0] == '0' && p[1] == 'x') {
		for (p += 2; *p; p++) {
			int d = *p >= '0' && *p <= '9'	 ? *p - '0'
				: *p >= 'a' && *p <= 'f' ? *p - 'a' + 10
							 : -1;
			if (d < 0)
				return def;
			v = v * 16 + (uint64_t)d;
		}
		return v;
	}
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return def;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	return v;
}

void rt_start(const uint8_t *bp);
void rt_start(const uint8_t *bp)
{
	boot_params = bp;
	guest_exit((uint32_t)guest_main(bp));
}
