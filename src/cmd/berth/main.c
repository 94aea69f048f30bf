#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "cli.h"
#include "util/cleanup.h"

#include "util/version.h"

static const cli_cmd commands[] = {
    {"vm", cmd_vm, "Run and manage KVM micro-VMs"},
    {"pull", cli_xfer, "Pull an image from a registry"},
    {"push", cli_xfer, "Push an image to a registry"},
    {"login", cli_xfer, "Log in to a registry"},
    {"logout", cli_xfer, "Log out from a registry"},
    {"images", cmd_images, "List images"},
    {"image", cmd_image, "Manage images (ls, rm, inspect, prune, tag, pull, push, ...)"},
    {"inspect", cmd_container_inspect, "Show a container's or an image's details as JSON"},
    {"run", cmd_run, "Run a command in a new container"},
    {"create", cmd_create, "Create a container"},
    {"start", cmd_start, "Start containers"},
    {"attach", cmd_attach, "Attach this terminal to a running container"},
    {"stop", cmd_stop, "Stop containers"},
    {"restart", cmd_restart, "Restart containers"},
    {"kill", cmd_kill, "Send a signal to containers"},
    {"rm", cmd_rm, "Remove containers"},
    {"ps", cmd_ps, "List containers"},
    {"logs", cmd_logs, "Show a container's logs"},
    {"exec", cmd_exec, "Run a command in a running container"},
    {"wait", cmd_wait, "Wait for containers to exit, print their exit codes"},
    {"pause", cmd_pause, "Pause containers"},
    {"unpause", cmd_unpause, "Unpause containers"},
    {"stats", cmd_stats, "Show containers' resource usage"},
    {"top", cmd_top, "Show a container's processes"},
    {"update", cmd_update, "Update the resource limits and restart policy of containers"},
    {"rename", cmd_rename, "Rename a container"},
    {"cp", cmd_cp, "Copy files between a container and the host"},
    {"diff", cmd_diff, "Inspect changes to files or directories on a container's filesystem"},
    {"commit", cli_xfer, "Create a new image from a container's changes"},
    {"export", cli_xfer, "Export a container's filesystem as a tar archive"},
    {"build", cli_xfer, "Build an image from a Dockerfile"},
    {"builder", cli_xfer, "Manage the build cache (prune)"},
    {"history", cmd_history, "Show the history of an image"},
    {"volume", cmd_volume, "Manage volumes (create, ls, inspect, rm, prune)"},
    {"pod", cmd_pod, "Manage pods (create, ls, inspect, start, stop, rm, ...)"},
    {"network", cmd_network,
     "Manage networks (create, ls, inspect, rm, prune, connect, disconnect)"},
    {"port", cmd_port, "List a container's published ports"},
    {"container", cmd_container, "Manage containers (run, ls, rm, prune, ...)"},
    {"healthcheck", cmd_healthcheck, "Run a container's health check (run)"},
    {"tag", cmd_tag, "Give an image another name"},
    {"rmi", cmd_rmi, "Remove images"},
    {"import", cli_xfer, "Make an image from a root filesystem tar"},
    {"load", cli_xfer, "Load images from a docker-archive or oci-archive"},
    {"save", cli_xfer, "Save images to a docker-archive or oci-archive"},
    {"system", cli_xfer, "Verify or clean the image store (check, prune)"},
    {"kube", cli_xfer, "Run Kubernetes YAML (check, play, down, scale, sync)"},
    {"generate", cli_xfer, "Generate Kubernetes YAML of a pod or container (kube)"},
    {"completion", cmd_completion, "Print a shell completion script (bash, zsh, fish)"},
    {"info", cmd_info, "Display system-wide information"},
    {"version", cmd_version, "Show the version information"},
};

static const cli_doc berth_doc = {
    "",
    "[OPTIONS] COMMAND",
    "A container and micro-VM engine",
    "berth runs OCI containers without a daemon (each container has a small monitor) and "
    "KVM micro-VMs. The store is under --root (default /var/lib/berth, or $BERTH_ROOT); "
    "runtime state under $BERTH_RUNROOT (default /run/berth).\n"
    "Exit status: 125 when berth itself fails, 126 when the command cannot be run, 127 "
    "when it is not found, else the container's.",
    "berth run --rm -it localhost/busybox sh\n"
    "berth ps -a\n"
    "berth help run",
    CLI_ARGS_NONE,
};

static void top_help(cli *c, FILE *f, bool man)
{
	flag_def defs[CLI_NGLOBAL];
	cli_global_defs(c, defs);
	cli_sub subs[CLI_MAX_SUBS];
	size_t n = cli_subs_of(commands, ARRAY_SIZE(commands), subs);
	if (man)
		cli_print_man(f, c->ui.prog, &berth_doc, defs, subs, n);
	else
		cli_print_help(f, c->ui.prog, &berth_doc, defs, subs, n);
}

int cmd_version(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {"version",
				    "",
				    "Show the version information",
				    "As Docker prints it: the client's version, the C compiler "
				    "it was built with, the OS and architecture.",
				    "berth version",
				    CLI_ARGS_NONE};
	int st;
	if (cli_flags(c, &doc, NULL, argc, argv, &st) < 0)
		return st;
	struct utsname u;
	const char *arch = uname(&u) < 0		   ? "unknown"
			   : !strcmp(u.machine, "x86_64")  ? "amd64"
			   : !strcmp(u.machine, "aarch64") ? "arm64"
							   : u.machine;
	printf("Client:\n"
	       " Version:           %s\n"
	       " API version:       n/a (no API service)\n"
	       " C compiler:        gcc %s\n"
	       " OS/Arch:           linux/%s\n",
	       BERTH_VERSION, __VERSION__, arch);
	return 0;
}

int main(int argc, char **argv)
{
	cli c;
	int i = cli_front(&c, argc, argv);
	if (i < 0)
		return 125;
	c.ui.complete = c.commands_only ? NULL : cli_complete_store;
	c.ui.opaque = &c;
	/* `berth help CMD [SUB]` completes as the command path does */
	if (c.ui.mode == CLI_COMPLETE && i < argc - 1 && !strcmp(argv[i], "help"))
		i++;
	if (c.ui.mode == CLI_COMPLETE && i >= argc - 1) {
		/* the command word itself */
		const char *cur = i < argc ? argv[i] : "";
		if (cur[0] == '-') {
			flag_def defs[CLI_NGLOBAL];
			cli_global_defs(&c, defs);
			cli_complete_flags(stdout, defs, cur);
		} else {
			cli_sub subs[CLI_MAX_SUBS];
			size_t n = cli_subs_of(commands, ARRAY_SIZE(commands), subs);
			cli_complete_subs(stdout, subs, n, cur);
		}
		return 0;
	}
	if (c.version && c.ui.mode == CLI_RUN) {
		printf("berth version %s\n", BERTH_VERSION);
		return 0;
	}
	if (c.help || i >= argc) {
		/* no command: the help on stderr, status 125 */
		bool asked = c.help || c.ui.mode != CLI_RUN;
		top_help(&c, asked ? stdout : stderr, c.ui.mode == CLI_MAN);
		return asked ? 0 : 125;
	}
	if (argv[i][0] == '-')
		return cli_failf(125, "unknown flag: %s", argv[i]);
	if (c.ui.mode == CLI_RUN && cli_enter_store(&c) != 0)
		return 125;
	return cli_dispatch(&c, commands, ARRAY_SIZE(commands), argc - i, argv + i);
}
