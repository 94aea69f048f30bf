#include "cli.h"

int cmd_vm(cli *c, int argc, char **argv)
{
	(void)c;
	(void)argc;
	(void)argv;
	return cli_failf(125, "vm: not built yet");
}
