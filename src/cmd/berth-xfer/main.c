#include <stdio.h>
#include <string.h>

#include "util/cleanup.h"
#include "xfer.h"

static const cli_cmd commands[] = {
    {"pull", cmd_pull, NULL},	    {"push", cmd_push, NULL},
    {"login", cmd_login, NULL},	    {"logout", cmd_logout, NULL},
    {"import", cmd_import, NULL},   {"load", cmd_load, NULL},
    {"save", cmd_save, NULL},	    {"system", cmd_system, NULL},
    {"commit", cmd_commit, NULL},   {"export", cmd_export, NULL},
    {"kube", cmd_kube, NULL},	    {"generate", cmd_generate, NULL},
    {"build", cmd_build, NULL},	    {"pause-image", cmd_pause_image, NULL},
    {"builder", cmd_builder, NULL},
};

int main(int argc, char **argv)
{
	cli c;
	int i = cli_front(&c, argc, argv);
	if (i < 0)
		return 125;
	if (!c.commands_only) {
		c.ui.complete = cli_complete_images_only;
		c.ui.opaque = &c;
	}
	if (i < argc && argv[i][0] == '-')
		return cli_failf(125, "unknown flag: %s", argv[i]);
	/* `berth image pull ...` arrives as is */
	if (i < argc && !strcmp(argv[i], "image"))
		i++;
	if (i >= argc)
		return cli_failf(
		    125, "usage: berth-xfer [--root DIR] pull|push|login|logout|"
			 "import|load|save|system|commit|export|kube|generate|build ARGS...");
	/* kube reads a file, never the store */
	if (c.ui.mode == CLI_RUN && strcmp(argv[i], "kube") && cli_enter_store(&c) != 0)
		return 125;
	return cli_dispatch(&c, commands, ARRAY_SIZE(commands), argc - i, argv + i);
}
