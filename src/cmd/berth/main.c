#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "util/cleanup.h"

#define BERTH_VERSION "0.1.0"

static const cli_cmd commands[] = {
    {"vm", cmd_vm, "run and manage KVM micro-VMs"},
    {"pull", cli_xfer, "pull an image from a registry"},
    {"push", cli_xfer, "push an image to a registry"},
    {"login", cli_xfer, "log in to a registry"},
    {"logout", cli_xfer, "log out from a registry"},
    {"images", cmd_images, "list images"},
    {"image", cmd_image, "manage images (ls, rm, inspect, prune, tag, pull, push, ...)"},
    {"inspect", cmd_container_inspect, "show a container's or an image's details as JSON"},
    {"run", cmd_run, "run a command in a new container"},
    {"create", cmd_create, "create a container"},
    {"start", cmd_start, "start containers"},
    {"attach", cmd_attach, "attach this terminal to a running container"},
    {"stop", cmd_stop, "stop containers"},
    {"restart", cmd_restart, "restart containers"},
    {"kill", cmd_kill, "send a signal to containers"},
    {"rm", cmd_rm, "remove containers"},
    {"ps", cmd_ps, "list containers"},
    {"logs", cmd_logs, "show a container's logs"},
    {"exec", cmd_exec, "run a command in a running container"},
    {"wait", cmd_wait, "wait for containers to exit, print their exit codes"},
    {"pause", cmd_pause, "pause containers"},
    {"unpause", cmd_unpause, "unpause containers"},
    {"stats", cmd_stats, "show containers' resource usage"},
    {"top", cmd_top, "show a container's processes"},
    {"cp", cmd_cp, "copy files between a container and the host"},
    {"volume", cmd_volume, "manage volumes (create, ls, inspect, rm, prune)"},
    {"container", cmd_container, "manage containers (run, ls, rm, prune, ...)"},
    {"tag", cmd_tag, "give an image another name"},
    {"rmi", cmd_rmi, "remove images"},
    {"import", cli_xfer, "make an image from a root filesystem tar"},
    {"load", cli_xfer, "load images from a docker-archive or oci-archive"},
    {"save", cli_xfer, "save images to a docker-archive or oci-archive"},
    {"system", cli_xfer, "system check [--repair] | prune: verify or clean the image store"},
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: berth [--root DIR] [--debug] COMMAND [ARGS...]\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv)
{
	cli c;
	int i = cli_globals(&c, argc, argv);
	if (i < argc && (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-v"))) {
		printf("berth version %s\n", BERTH_VERSION);
		return 0;
	}
	if (i < argc && (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (i < argc && argv[i][0] == '-')
		return cli_failf(125, "unknown flag: %s", argv[i]);
	if (i >= argc) {
		usage(stderr);
		return 125;
	}
	return cli_dispatch(&c, commands, ARRAY_SIZE(commands), argc - i, argv + i);
}
