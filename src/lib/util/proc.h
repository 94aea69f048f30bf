/* What a process knows of itself. */
#pragma once

#include <stdbool.h>

/* Whether other threads run in this process. A fork then copies locks
 * they may hold (an allocator's, a library's), so the child must do
 * nothing but async-signal-safe calls up to an exec. */
bool proc_is_threaded(void);
