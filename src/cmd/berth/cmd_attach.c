/* berth attach: this terminal's stdio to a running container's main process
 * through its monitor's attach.sock (one client at a time: a second one is
 * refused by the monitor). Unlike run, attach never sends the "I clean up"
 * frame: after the exit the monitor runs its own cleanup (and --rm). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctr.h"
#include "util/flags.h"

int ctr_attach(eng *g, const char *ref, const char *id, const ctr_attach_opts *a)
{
	berr e;
	json_object *doc = eng_load(g, id, &e);
	if (!doc)
		return cli_fail(125, &e);
	const char *s = eng_reconcile(g, id, doc);
	bool tty = ctr_bool(doc, "Config.Tty");
	bool open_stdin = ctr_bool(doc, "Config.OpenStdin");
	int rc = 0;
	if (!strcmp(s, "paused"))
		rc = cli_failf(125, "You cannot attach to a paused container, unpause it first");
	else if (strcmp(s, "running"))
		rc = cli_failf(125, "You cannot attach to a stopped container, start it first");
	json_object_put(doc);
	if (rc)
		return rc;
	ctr_relay_opts ro = {.id = id, .in = open_stdin && !a->no_stdin, .tty = tty};
	/* docker attach: signals are proxied, but not to a tty container
	 * (there the terminal sends ^C as a byte) */
	if (a->sig_proxy && !tty)
		ro.g = g;
	if (ro.in && ctr_parse_detach_keys(a->detach_keys ? a->detach_keys : "ctrl-p,ctrl-q",
					   ro.keys, &ro.nkeys, &e) < 0)
		return cli_fail(125, &e);
	int sock = ctr_attach_sock(g, id, &e);
	if (sock < 0) {
		/* the monitor is gone: it exited meanwhile */
		if (e.errnum == ENOENT || e.errnum == ECONNREFUSED)
			return cli_failf(125, "You cannot attach to a stopped container, start "
					      "it first");
		return cli_fail(125, &e);
	}
	int status = ctr_relay(sock, &ro);
	close(sock);
	if (status == CTR_RELAY_DETACHED)
		return 0;
	if (status == CTR_RELAY_BUSY)
		return cli_failf(125,
				 "container %s already has an attached client (berth allows "
				 "one at a time)",
				 ref);
	if (status == CTR_RELAY_GONE) {
		/* the connection ended without the exit frame: the record's */
		int code = ctr_wait_exit(g, id, 2000);
		return code < 0 ? cli_failf(125, "lost the connection to %s's monitor", ref) : code;
	}
	return status;
}

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
