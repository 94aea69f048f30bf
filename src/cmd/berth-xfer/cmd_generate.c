/* berth generate kube CTR|POD: a Pod manifest of a berth pod or container
 * (src/lib/kube/generate.c), that berth kube play reads back. Here, in
 * berth-xfer, with the other libyaml users. */
#include <stdio.h>
#include <stdlib.h>

#include "engine/engine.h"
#include "kube/generate.h"
#include "util/cleanup.h"
#include "xfer.h"

static int generate_kube(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {
	    "generate kube",
	    "POD|CONTAINER",
	    "Print a pod or container as Kubernetes YAML",
	    "A Pod manifest: a pod's containers (not its infra) or one container, with their "
	    "image, command (the whole argv), env, workingDir and ports, and the pod's labels. "
	    "berth kube play reads it back. See docs/kube.md.",
	    "berth generate kube web > web.yaml\nberth generate kube web | berth kube play -",
	    CLI_ARGS_CONTAINERS};
	int st, first = cli_flags(c, &doc, NULL, argc, argv, &st);
	if (first < 0)
		return st;
	if (argc - first != 1)
		return cli_failf(125, "generate kube: one POD or CONTAINER");
	berr e;
	eng *g = eng_open(c->root, c->run_root, &e);
	if (!g)
		return cli_fail(125, &e);
	char *y = kube_generate(g, argv[first], &e);
	eng_close(g);
	if (!y)
		return cli_fail(125, &e);
	fputs(y, stdout);
	free(y);
	return 0;
}

int cmd_generate(cli *c, int argc, char **argv)
{
	static const cli_cmd subs[] = {
	    {"kube", generate_kube, "Print a pod or container as Kubernetes YAML"}};
	static const cli_doc doc = {"generate",
				    "COMMAND",
				    "Generate structured data from pods and containers",
				    NULL,
				    "berth generate kube web",
				    CLI_ARGS_NONE};
	return cli_subcommands(c, &doc, subs, ARRAY_SIZE(subs), argc, argv);
}
