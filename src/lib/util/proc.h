/* What a process knows of itself. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Whether other threads run in this process. A fork then copies locks
 * they may hold (an allocator's, a library's), so the child must do
 * nothing but async-signal-safe calls up to an exec. */
bool proc_is_threaded(void);

/* name beside this process's executable ("/usr/bin/berth" for "berth" run
 * from /usr/bin/berth-service) into buf of n bytes; false when
 * /proc/self/exe cannot be read or the path does not fit. */
bool proc_sibling(const char *name, char *buf, size_t n);
