/* Benchmark guest: linked with head.S built with EARLY_MARK, its first
 * instructions write '!' to COM1 (the harness times its arrival on stdout);
 * then it powers off with status 0. */
#include "rt.h"

int guest_main(const uint8_t *bp)
{
	(void)bp;
	outb(COM1, '\n');
	return 0;
}
