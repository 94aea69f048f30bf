/* berth attach: its flags; the attach is ctr_attach (relay.c) over the
 * engine's eng_container_attach: this terminal's stdio to a running
 * container's main process through its monitor's attach.sock (one client
 * at a time). Unlike run, attach never sends the "I clean up" frame: after
 * the exit the monitor runs its own cleanup (and --rm). */

#include "ctr.h"
#include "util/flags.h"

int cmd_attach(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {
	    "attach",
	    "[OPTIONS] CONTAINER",
	    "Attach local standard input, output, and error streams to a running container",
	    "ctrl-p,ctrl-q (or --detach-keys) detaches and leaves the container running.",
	    "berth attach web\nberth attach --no-stdin web",
	    CLI_ARGS_CONTAINERS};
	ctr_attach_opts a = {.sig_proxy = true};
	ctr_sel sel = {.running = true};
	const flag_def defs[] = {
	    {"no-stdin", 0, FLAG_BOOL, &a.no_stdin, "Do not attach STDIN"},
	    {"sig-proxy", 0, FLAG_BOOL, &a.sig_proxy,
	     "Proxy the signals berth gets to the container", NULL, "true"},
	    {"detach-keys", 0, FLAG_STRING, &a.detach_keys, "Key sequence that detaches", "string",
	     "ctrl-p,ctrl-q"},
	    {"latest", 'l', FLAG_BOOL, &sel.latest, "Act on the newest running container"},
	    {0}};
	berr e;
	char *one[3], lid[65];
	int st, i = cli_flags(c, &doc, defs, argc, argv, &st);
	if (i < 0 || ctr_select_one(c, &sel, &argc, &argv, &i, one, lid, &st) < 0)
		return st;
	if (i + 1 != argc)
		return cli_failf(125, "\"attach\" requires exactly 1 argument");
	eng *g = ctr_open(c, &e);
	char id[65];
	if (!g || eng_lookup(g, argv[i], id, &e) < 0) {
		eng_close(g);
		return cli_fail(125, &e);
	}
	int rc = ctr_attach(g, argv[i], id, &a);
	eng_close(g);
	return rc;
}
