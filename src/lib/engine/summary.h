/* What `berth ps` and the Docker API show of a container (summary.c):
 * Docker's words for its state and age, its command line, and the inspect
 * document. */
#pragma once

#include <json-c/json.h>
#include <stdint.h>

#include "engine/engine.h"

/* Docker's units.HumanDuration: "Less than a second", "5 seconds",
 * "About a minute", "3 hours", "2 days". */
void eng_human_duration(int64_t ns, char *out, size_t sz);
/* "Up 5 seconds", "Up 2 minutes (Paused)", "Exited (0) 3 seconds ago",
 * "Created", "Dead" for a reconciled doc and its status (malloc'ed). */
char *eng_status_text(json_object *doc, const char *status);
/* Path and Args joined by spaces (malloc'ed). */
char *eng_command_text(json_object *doc);
/* The container's inspect document: the record reconciled, without berth's
 * private fields. NULL with e set (ENOENT: no such container). */
json_object *eng_inspect(eng *g, const char *ref, berr *e);
