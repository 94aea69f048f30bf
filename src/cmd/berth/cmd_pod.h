/* berth pod: the subcommands that act on a pod's containers (cmd_pod_life.c),
 * for cmd_pod.c's table. */
#pragma once

#include "cli.h"

int pod_start(cli *c, int argc, char **argv);
int pod_stop(cli *c, int argc, char **argv);
int pod_kill(cli *c, int argc, char **argv);
int pod_restart(cli *c, int argc, char **argv);
int pod_pause(cli *c, int argc, char **argv);
int pod_unpause(cli *c, int argc, char **argv);
/* cmd_pod_extra.c */
int pod_top(cli *c, int argc, char **argv);
int pod_stats(cli *c, int argc, char **argv);
int pod_logs(cli *c, int argc, char **argv);
