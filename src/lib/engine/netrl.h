/* Rootless `berth run` networking (pasta / slirp4netns, net/rootless.h):
 * the modes of HostConfig.NetworkMode and the tool process of a container.
 *
 * The tool runs per container, started by eng_net_attach (the monitor-to-be,
 * between create and start). Its "PID STARTTICKS TOOL" goes to
 * <container dir>/netrl; eng_net_detach (the cleanup after the exit, rm)
 * kills it and removes the file; `berth system check` finds a tool whose
 * container is not running (a kill -9 of the monitor) and --repair kills it.
 * slirp4netns also dies with the monitor (its exit fd is one of the fds the
 * monitor holds); pasta outlives its netns, so the file is what stops it. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <sys/types.h>

#include "engine/engine.h"
#include "engine/network.h"

/* "pasta", "slirp4netns" (optionally with ":OPTIONS"): the tool's name,
 * else NULL. */
const char *eng_net_rl_tool(const char *mode);

/* The attach and detach of a container whose NetworkMode is a rootless
 * tool's (see network.h for the callers' contract). */
int eng_net_rl_attach(eng *g, const char *id, json_object *doc, pid_t pid, eng_net_hold *hold,
		      berr *e);
int eng_net_rl_detach(eng *g, const char *id, berr *e);

/* system check: tools of containers that are not running. */
void eng_net_rl_check(eng *g, bool repair, char ***garbage, char ***repaired);
