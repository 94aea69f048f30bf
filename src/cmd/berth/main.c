#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define BERTH_VERSION "0.1.0"

static const struct {
	const char *name;
	cli_cmd_fn fn;
	const char *help;
} commands[] = {
    {"vm", cmd_vm, "run and manage KVM micro-VMs"},
    {"pull", cmd_pull, "pull an image from a registry"},
    {"push", cmd_push, "push an image to a registry"},
    {"login", cmd_login, "log in to a registry"},
    {"logout", cmd_logout, "log out from a registry"},
    {"images", cmd_images, "list images"},
    {"image", cmd_image, "manage images (ls, rm, inspect, prune, tag, pull, push, ...)"},
    {"inspect", cmd_container_inspect, "show a container's or an image's details as JSON"},
    {"run", cmd_run, "run a command in a new container"},
    {"create", cmd_create, "create a container"},
    {"start", cmd_start, "start containers"},
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
    {"container", cmd_container, "manage containers (run, ls, rm, prune, ...)"},
    {"tag", cmd_tag, "give an image another name"},
    {"rmi", cmd_rmi, "remove images"},
    {"import", cmd_import, "make an image from a root filesystem tar"},
    {"load", cmd_load, "load images from a docker-archive or oci-archive"},
    {"save", cmd_save, "save images to a docker-archive or oci-archive"},
    {"system", cmd_system, "system check [--repair]: verify the image store"},
};

int cli_fail(int status, const berr *e)
{
	fprintf(stderr, "berth: %s\n", e->msg);
	return status;
}

int cli_failf(int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("berth: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return status;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: berth [--root DIR] [--debug] COMMAND [ARGS...]\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv)
{
	cli c = {.root = getenv("BERTH_ROOT"), .run_root = "/run/berth"};
	if (!c.root || !*c.root)
		c.root = "/var/lib/berth";
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--root") && i + 1 < argc)
			c.root = argv[++i];
		else if (!strncmp(argv[i], "--root=", 7))
			c.root = argv[i] + 7;
		else if (!strcmp(argv[i], "--debug"))
			c.debug = true;
		else if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-v")) {
			printf("berth version %s\n", BERTH_VERSION);
			return 0;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else
			return cli_failf(125, "unknown flag: %s", argv[i]);
	}
	if (i >= argc) {
		usage(stderr);
		return 125;
	}
	for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++)
		if (!strcmp(commands[k].name, argv[i]))
			return commands[k].fn(&c, argc - i, argv + i);
	return cli_failf(125, "unknown command \"%s\" (see berth --help)", argv[i]);
}
