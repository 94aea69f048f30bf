/* Freestanding runtime of the test guests: port I/O, COM1 output, the
 * berth exit port, boot_params and command-line access. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define COM1	  0x3f8
#define EXIT_PORT 0x501 /* berth: a write of V powers off with exit status V */

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port));
}
static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port));
}
static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline void mmio_write32(uint64_t addr, uint32_t v)
{
	*(volatile uint32_t *)addr = v;
}
static inline uint32_t mmio_read32(uint64_t addr)
{
	return *(volatile uint32_t *)addr;
}
static inline void cpu_relax(void)
{
	__asm__ volatile("pause" ::: "memory");
}

/* boot_params (the zero page) as handed over in %rsi. */
extern const uint8_t *boot_params;
static inline uint8_t bp_u8(uint32_t off)
{
	return boot_params[off];
}
static inline uint16_t bp_u16(uint32_t off)
{
	return *(const uint16_t *)(boot_params + off);
}
static inline uint32_t bp_u32(uint32_t off)
{
	return *(const uint32_t *)(boot_params + off);
}
static inline uint64_t bp_u64(uint32_t off)
{
	return *(const uint64_t *)(boot_params + off);
}

void serial_putc(char c);
void print(const char *s);
void print_hex(uint64_t v);
void print_dec(uint64_t v);
__attribute__((noreturn)) void guest_exit(uint32_t status);

/* The kernel command line from boot_params (cmd_line_ptr), "" if none. */
const char *cmdline(void);
/* Value of "key=" on the command line (up to the next space) copied into
 * buf; returns its length, or -1 if the key is absent. */
int cmdline_get(const char *key, char *buf, size_t bufsz);
/* Numeric value of "key=" (decimal or 0x hex), or def. */
uint64_t cmdline_num(const char *key, uint64_t def);

size_t str_len(const char *s);
int str_neq(const char *a, const char *b, size_t n); /* 0 if equal */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);

/* Each guest defines this; its return value is the exit status. */
int guest_main(const uint8_t *bp);
