/* run/create's --restart, --health-* and berth's --probe flags
 * (cmd_health.c). */
#pragma once

#include "engine/engine.h"
#include "engine/health.h"

typedef struct health_flags {
	const char *restart;
	const char *cmd, *interval, *timeout, *retries, *start_period;
	bool none;	     /* --no-healthcheck */
	char **probe_specs;  /* --probe (berth's own) */
	const char *hook;    /* --readiness-hook, a shell line */
	eng_probe probes[5]; /* the health check's, then --probe's */
	size_t n;
	char **argvs[6]; /* the commands and paths made (strv), health_flags_free */
	char *hook_argv[4];
} health_flags;

#define HEALTH_FLAG_DEFS(h)                                                                        \
	{"restart",                                                                                \
	 0,                                                                                        \
	 FLAG_STRING,                                                                              \
	 &(h)->restart,                                                                            \
	 "Restart policy: no, always, on-failure[:MAX], unless-stopped",                           \
	 "string",                                                                                 \
	 "no"},                                                                                    \
	    {"health-cmd", 0, FLAG_STRING, &(h)->cmd, "Command to check health (a shell line)",    \
	     "string"},                                                                            \
	    {"health-interval",                                                                    \
	     0,                                                                                    \
	     FLAG_STRING,                                                                          \
	     &(h)->interval,                                                                       \
	     "Time between running the check (ms|s|m|h)",                                          \
	     "duration",                                                                           \
	     "30s"},                                                                               \
	    {"health-timeout",                                                                     \
	     0,                                                                                    \
	     FLAG_STRING,                                                                          \
	     &(h)->timeout,                                                                        \
	     "Maximum time to allow one check to run (ms|s|m|h)",                                  \
	     "duration",                                                                           \
	     "30s"},                                                                               \
	    {"health-retries",                                                                     \
	     0,                                                                                    \
	     FLAG_STRING,                                                                          \
	     &(h)->retries,                                                                        \
	     "Consecutive failures needed to report unhealthy",                                    \
	     "int",                                                                                \
	     "3"},                                                                                 \
	    {"health-start-period",                                                                \
	     0,                                                                                    \
	     FLAG_STRING,                                                                          \
	     &(h)->start_period,                                                                   \
	     "Start period for the container to initialize (ms|s|m|h)",                            \
	     "duration",                                                                           \
	     "0s"},                                                                                \
	    {"no-healthcheck", 0, FLAG_BOOL, &(h)->none,                                           \
	     "Disable any container-specified HEALTHCHECK"},                                       \
	    {"probe",                                                                              \
	     0,                                                                                    \
	     FLAG_LIST,                                                                            \
	     &(h)->probe_specs,                                                                    \
	     "A probe (berth's own), comma-separated: role= liveness, readiness, "                 \
	     "startup or health; one of exec= (a shell line, last), http= PORT[/PATH], "           \
	     "tcp= PORT; interval=, timeout=, initial-delay=, start-period=, "                     \
	     "failure-threshold=, success-threshold= (repeatable)",                                \
	     "SPEC"},                                                                              \
	{                                                                                          \
		"readiness-hook", 0, FLAG_STRING, &(h)->hook,                                      \
		    "A shell line run when the readiness changes (the container's ID as $0)",      \
		    "string"                                                                       \
	}

/* The flags into o (o->probes, o->readiness_hook point into h). */
int health_flags_apply(health_flags *h, eng_run_opts *o, berr *e);
void health_flags_free(health_flags *h);
