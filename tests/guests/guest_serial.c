/* Prints a known text over COM1 and powers off with status 0. */
#include "rt.h"

int guest_main(const uint8_t *bp)
{
	(void)bp;
	print("guest_serial: hello from a berth guest\n");
	for (int i = 1; i <= 3; i++) {
		print("line ");
		print_dec((uint64_t)i);
		print(" of 3\n");
	}
	print("guest_serial: done\n");
	return 0;
}
