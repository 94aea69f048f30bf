/* berth network create|ls|inspect|rm|prune|connect|disconnect and berth
 * port, as Docker's. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctr.h"
#include "engine/network.h"
#include "template.h"
#include "util/cleanup.h"
#include "util/flags.h"
#include "util/xalloc.h"

#define NET_OPEN(c, g)                                                                             \
	berr e;                                                                                    \
	_cleanup_eng_ eng *g = ctr_open(c, &e);                                                    \
	if (!g)                                                                                    \
		return cli_fail(125, &e);

static void strv_freep(char ***p)
{
	strv_free(*p);
}

static int net_create(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {
	    "network create",
	    "[OPTIONS] NETWORK",
	    "Create a network",
	    "A bridge network with NAT to the outside and name resolution between its "
	    "containers. Without --subnet berth picks one that overlaps no host route.",
	    "berth network create app\nberth network create --subnet 10.90.0.0/24 --internal db",
	    CLI_ARGS_NONE};
	eng_net_opts o = {0};
	__attribute__((cleanup(strv_freep))) char **subnets = NULL, **gateways = NULL,
						  **ranges = NULL;
	const flag_def defs[] = {
	    {"driver", 'd', FLAG_STRING, &o.driver, "Driver (bridge)", "string", "bridge"},
	    {"subnet", 0, FLAG_LIST, &subnets, "Subnet in CIDR form (once per IP family)", "CIDR"},
	    {"gateway", 0, FLAG_LIST, &gateways,
	     "Gateway address (default: the first; once per IP family)", "IP"},
	    {"ip-range", 0, FLAG_LIST, &ranges,
	     "Allocate addresses from this part of the subnet (once per IP family)", "CIDR"},
	    {"internal", 0, FLAG_BOOL, &o.internal, "No traffic to or from outside the network"},
	    {"ipv6", 0, FLAG_BOOL, &o.ipv6,
	     "Dual-stack: an IPv6 subnet too (a ULA /64 unless --subnet gives one)"},
	    {"disable-dns", 0, FLAG_BOOL, &o.disable_dns, "No name resolution on the network"},
	    {"label", 0, FLAG_LIST, &o.labels, "Set a label (repeatable)", "KEY=VALUE"},
	    {"opt", 'o', FLAG_LIST, &o.options, "Driver option (repeatable)", "KEY=VALUE"},
	    {0}};
	int st, i = cli_flags(c, &doc, defs, argc, argv, &st);
	if (i < 0)
		return st;
	if (argc - i != 1)
		return cli_failf(125, "\"network create\" requires exactly 1 argument (a name)");
	o.name = argv[i];
	/* paired by family, as Docker: an address with ':' is IPv6 */
	struct {
		char **v;
		const char *flag, **v4, **v6;
	} fam[] = {{subnets, "--subnet", &o.subnet, &o.subnet6},
		   {gateways, "--gateway", &o.gateway, &o.gateway6},
		   {ranges, "--ip-range", &o.ip_range, &o.ip_range6}};
	for (size_t f = 0; f < sizeof(fam) / sizeof(fam[0]); f++)
		for (char **v = fam[f].v; v && *v; v++) {
			const char **slot = strchr(*v, ':') ? fam[f].v6 : fam[f].v4;
			if (*slot)
				return cli_failf(125, "%s %s: at most one per IP family (have %s)",
						 fam[f].flag, *v, *slot);
			*slot = *v;
		}
	NET_OPEN(c, g);
	json_object *rec = eng_net_create(g, &o, &e);
	if (!rec)
		return cli_fail(125, &e);
	printf("%s\n", json_object_get_string(json_object_object_get(rec, "Id")));
	json_object_put(rec);
	return 0;
}

static const char *jstr_(json_object *o, const char *k)
{
	json_object *v;
	return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : "";
}

static int net_ls(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {"network ls", "[OPTIONS]",		 "List networks",
				    NULL,	  "berth network ls -q", CLI_ARGS_NONE};
	bool quiet = false;
	const char *format = NULL;
	const flag_def defs[] = {
	    {"quiet", 'q', FLAG_BOOL, &quiet, "Only display network ids"},
	    {"format", 0, FLAG_STRING, &format, "Format the output with a Go template", "string"},
	    {0}};
	int st, i = cli_flags(c, &doc, defs, argc, argv, &st);
	if (i < 0)
		return st;
	NET_OPEN(c, g);
	/* the default network is listed from the start, as Docker's */
	berr ig;
	eng_net_ensure_default(g, &ig);
	char **names = eng_net_names(g);
	if (!quiet && !format)
		printf("%-14s %-20s %-8s %s\n", "NETWORK ID", "NAME", "DRIVER", "SCOPE");
	for (char **n = names; *n; n++) {
		json_object *r = eng_net_load(g, *n, NULL, &ig);
		if (!r)
			continue;
		if (format) {
			if (tmpl_render(format, r, stdout, &e) < 0) {
				json_object_put(r);
				strv_free(names);
				return cli_fail(125, &e);
			}
			putchar('\n');
		} else if (quiet) {
			printf("%.12s\n", jstr_(r, "Id"));
		} else {
			printf("%-14.12s %-20s %-8s %s\n", jstr_(r, "Id"), *n, jstr_(r, "Driver"),
			       jstr_(r, "Scope"));
		}
		json_object_put(r);
	}
	strv_free(names);
	return 0;
}

static int net_inspect(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {"network inspect",
				    "[OPTIONS] NETWORK [NETWORK...]",
				    "Display detailed information on one or more networks",
				    NULL,
				    "berth network inspect -f '{{.IPAM}}' app",
				    CLI_ARGS_NONE};
	const char *format = NULL;
	const flag_def defs[] = {
	    {"format", 'f', FLAG_STRING, &format, "Format the output with a Go template", "string"},
	    {0}};
	int st, i = cli_flags(c, &doc, defs, argc, argv, &st);
	if (i < 0)
		return st;
	if (i >= argc)
		return cli_failf(125, "\"network inspect\" requires at least 1 argument");
	NET_OPEN(c, g);
	json_object *arr = json_object_new_array();
	int rc = 0;
	for (; i < argc; i++) {
		berr ig;
		if (!strcmp(argv[i], ENG_NET_DEFAULT))
			eng_net_ensure_default(g, &ig);
		json_object *o = eng_net_load(g, argv[i], NULL, &e);
		if (!o) {
			rc = cli_fail(1, &e);
			continue;
		}
		/* Docker's Containers entries: no berth bookkeeping */
		json_object *cs;
		if (json_object_object_get_ex(o, "Containers", &cs)) {
			json_object_object_foreach(cs, k, v)
			{
				(void)k;
				json_object_object_del(v, "BerthActive");
				json_object_object_del(v, "BerthAliases");
			}
		}
		json_object_object_del(o, "BerthDNS");
		json_object_array_add(arr, o);
	}
	if (tmpl_print_array(format, arr, 0, &e) < 0)
		rc = cli_fail(125, &e);
	json_object_put(arr);
	return rc;
}

static int net_rm(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {
	    "network rm", "[OPTIONS] NETWORK [NETWORK...]", "Remove one or more networks",
	    NULL,	  "berth network rm app",	    CLI_ARGS_NONE};
	bool force = false;
	const flag_def defs[] = {{"force", 'f', FLAG_BOOL, &force, "A missing network is no error"},
				 {0}};
	int st, i = cli_flags(c, &doc, defs, argc, argv, &st);
	if (i < 0)
		return st;
	if (i >= argc)
		return cli_failf(125, "\"network rm\" requires at least 1 argument");
	NET_OPEN(c, g);
	int rc = 0;
	for (; i < argc; i++) {
		/* the default network may go when unused (made again on first
		 * use; Docker refuses): the way to leave no bridge behind */
		if (!strcmp(argv[i], "none") || !strcmp(argv[i], "host")) {
			rc = cli_failf(1, "%s is a pre-defined network and cannot be removed",
				       argv[i]);
			continue;
		}
		if (eng_net_remove(g, argv[i], &e) < 0) {
			if (!(force && e.errnum == ENOENT))
				rc = cli_fail(1, &e);
			continue;
		}
		printf("%s\n", argv[i]);
	}
	return rc;
}

static int net_prune(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {"network prune",
				    "[OPTIONS]",
				    "Remove every user network no container uses",
				    NULL,
				    "berth network prune -f",
				    CLI_ARGS_NONE};
	bool force = false;
	const flag_def defs[] = {
	    {"force", 'f', FLAG_BOOL, &force, "Do not prompt for confirmation (berth never does)"},
	    {0}};
	int st, i = cli_flags(c, &doc, defs, argc, argv, &st);
	if (i < 0)
		return st;
	NET_OPEN(c, g);
	char **names = eng_net_names(g);
	int rc = 0;
	bool first = true;
	for (char **n = names; *n; n++) {
		if (!strcmp(*n, ENG_NET_DEFAULT))
			continue;
		if (eng_net_remove(g, *n, &e) == 0) {
			if (first)
				printf("Deleted Networks:\n");
			first = false;
			printf("%s\n", *n);
		} else if (e.errnum != EBUSY) {
			rc = cli_fail(1, &e);
		}
	}
	strv_free(names);
	return rc;
}

static int net_connect(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {"network connect",
				    "[OPTIONS] NETWORK CONTAINER",
				    "Connect a container to a network",
				    "A running container gets the new interface at once.",
				    "berth network connect --alias db app web",
				    CLI_ARGS_NONE};
	const char *ip = NULL, *ip6 = NULL;
	char **aliases = NULL;
	const flag_def defs[] = {
	    {"ip", 0, FLAG_STRING, &ip, "IPv4 address", "IP"},
	    {"ip6", 0, FLAG_STRING, &ip6, "IPv6 address (a --ipv6 network)", "IP"},
	    {"alias", 0, FLAG_LIST, &aliases, "Another name on the network (repeatable)", "NAME"},
	    {0}};
	int st, i = cli_flags(c, &doc, defs, argc, argv, &st);
	if (i < 0)
		return st;
	if (argc - i != 2) {
		strv_free(aliases);
		return cli_failf(125, "\"network connect\" requires exactly 2 arguments");
	}
	NET_OPEN(c, g);
	int rc = 0;
	if (eng_net_connect(g, argv[i + 1], argv[i], ip, ip6, aliases, &e) < 0)
		rc = cli_fail(1, &e);
	strv_free(aliases);
	return rc;
}

static int net_disconnect(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {"network disconnect",
				    "[OPTIONS] NETWORK CONTAINER",
				    "Disconnect a container from a network",
				    NULL,
				    "berth network disconnect app web",
				    CLI_ARGS_NONE};
	bool force = false;
	const flag_def defs[] = {{"force", 'f', FLAG_BOOL, &force, "(accepted, as Docker's)"}, {0}};
	int st, i = cli_flags(c, &doc, defs, argc, argv, &st);
	if (i < 0)
		return st;
	if (argc - i != 2)
		return cli_failf(125, "\"network disconnect\" requires exactly 2 arguments");
	NET_OPEN(c, g);
	if (eng_net_disconnect(g, argv[i + 1], argv[i], &e) < 0)
		return cli_fail(1, &e);
	return 0;
}

int cmd_network(cli *c, int argc, char **argv)
{
	static const cli_cmd subs[] = {
	    {"create", net_create, "Create a network"},
	    {"ls", net_ls, "List networks"},
	    {"list", net_ls, "List networks"},
	    {"inspect", net_inspect, "Display detailed information on networks"},
	    {"rm", net_rm, "Remove networks"},
	    {"remove", net_rm, "Remove networks"},
	    {"prune", net_prune, "Remove unused networks"},
	    {"connect", net_connect, "Connect a container to a network"},
	    {"disconnect", net_disconnect, "Disconnect a container from a network"}};
	static const cli_doc doc = {
	    "network",
	    "COMMAND",
	    "Manage networks",
	    NULL,
	    "berth network create app\nberth run --network app --name web IMAGE",
	    CLI_ARGS_NONE};
	return cli_subcommands(c, &doc, subs, ARRAY_SIZE(subs), argc, argv);
}

/* "0.0.0.0:8080->80/tcp, ..." (Docker's PORTS), malloc'ed; "" when none. */
char *ctr_ports_text(json_object *doc)
{
	json_object *ns, *ports;
	strv_builder b = {0};
	if (json_object_object_get_ex(doc, "NetworkSettings", &ns) &&
	    json_object_object_get_ex(ns, "Ports", &ports)) {
		json_object_object_foreach(ports, key, arr)
		{
			for (size_t i = 0; json_object_is_type(arr, json_type_array) &&
					   i < json_object_array_length(arr);
			     i++) {
				json_object *p = json_object_array_get_idx(arr, i);
				const char *hip = jstr_(p, "HostIp");
				bool v6 = strchr(hip, ':') != NULL;
				strvb_push_take(&b, xasprintf("%s%s%s:%s->%s", v6 ? "[" : "", hip,
							      v6 ? "]" : "", jstr_(p, "HostPort"),
							      key));
			}
		}
	}
	char **v = strvb_take(&b);
	size_t len = 1;
	for (char **s = v; s && *s; s++)
		len += strlen(*s) + 2;
	char *out = xzalloc(len);
	for (char **s = v; s && *s; s++) {
		if (s != v)
			strcat(out, ", ");
		strcat(out, *s);
	}
	strv_free(v);
	return out;
}

int cmd_port(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {"port",
				    "CONTAINER [PRIVATE_PORT[/PROTO]]",
				    "List port mappings or a specific mapping for the container",
				    NULL,
				    "berth port web\nberth port web 80/tcp",
				    CLI_ARGS_CONTAINERS};
	int st, i = cli_flags(c, &doc, NULL, argc, argv, &st);
	if (i < 0)
		return st;
	if (argc - i < 1 || argc - i > 2)
		return cli_failf(125, "\"port\" requires 1 or 2 arguments");
	NET_OPEN(c, g);
	char id[65];
	if (eng_lookup(g, argv[i], id, &e) < 0)
		return cli_fail(1, &e);
	json_object *doc_ = eng_load(g, id, &e);
	if (!doc_)
		return cli_fail(1, &e);
	const char *status = eng_reconcile(g, id, doc_);
	_cleanup_free_ char *want = NULL;
	if (argc - i == 2)
		want = strchr(argv[i + 1], '/') ? xstrdup(argv[i + 1])
						: xasprintf("%s/tcp", argv[i + 1]);
	json_object *ns, *ports;
	bool found = false;
	if (strcmp(status, "running") && strcmp(status, "paused")) {
		/* a stopped container publishes nothing */
	} else if (json_object_object_get_ex(doc_, "NetworkSettings", &ns) &&
		   json_object_object_get_ex(ns, "Ports", &ports)) {
		json_object_object_foreach(ports, key, arr)
		{
			if (want && strcmp(want, key))
				continue;
			for (size_t k = 0; json_object_is_type(arr, json_type_array) &&
					   k < json_object_array_length(arr);
			     k++) {
				json_object *p = json_object_array_get_idx(arr, k);
				const char *hip = jstr_(p, "HostIp");
				const char *l = strchr(hip, ':') ? "[" : "",
					   *r = strchr(hip, ':') ? "]" : "";
				if (want)
					printf("%s%s%s:%s\n", l, hip, r, jstr_(p, "HostPort"));
				else
					printf("%s -> %s%s%s:%s\n", key, l, hip, r,
					       jstr_(p, "HostPort"));
				found = true;
			}
		}
	}
	json_object_put(doc_);
	if (want && !found)
		return cli_failf(1, "no public port '%s' published for %s", want, argv[i]);
	return 0;
}
