/* berth run / create / start: their flags, eng_create and the start
 * (ctr_start, relay.c; the launch itself is the engine's, launch.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctr.h"
#include "health_flags.h"
#include "util/flags.h"
#include "util/xalloc.h"

/* ---- run / create / start ---- */

typedef struct run_flags {
	eng_run_opts o;
	const char *entrypoint;
	char **network;
	const char *net;
	const char *pull; /* missing (default), always, never */
	health_flags health;
} run_flags;

static const cli_doc run_doc = {
    "run",
    "[OPTIONS] IMAGE [COMMAND] [ARG...]",
    "Create and run a new container from an image",
    "A missing image is pulled first (--pull). Without -d the container's output is "
    "relayed and its exit status is berth's; 125 when berth fails, 126/127 when the "
    "command cannot be run or is not found.",
    "berth run --rm -it localhost/busybox sh\n"
    "berth run -d --name web -m 256m --cpus 0.5 IMAGE CMD\n"
    "berth run --rm -v data:/var/lib/app IMAGE CMD",
    CLI_ARGS_IMAGE_CMD};
static const cli_doc create_doc = {"create",
				   "[OPTIONS] IMAGE [COMMAND] [ARG...]",
				   "Create a new container",
				   "As run, without starting it: `berth start` does.",
				   "berth create --name web IMAGE CMD\nberth start -a web",
				   CLI_ARGS_IMAGE_CMD};

static int parse_run(cli *c, const cli_doc *doc, int argc, char **argv, run_flags *f, int *first,
		     int *status)
{
	memset(f, 0, sizeof(*f));
	f->o.entrypoint = NULL;
	const flag_def defs[] = {
	    {"detach", 'd', FLAG_BOOL, &f->o.detach, "Run in the background, print the ID"},
	    {"interactive", 'i', FLAG_BOOL, &f->o.interactive, "Keep STDIN open"},
	    {"tty", 't', FLAG_BOOL, &f->o.tty, "Allocate a pseudo-TTY"},
	    {"rm", 0, FLAG_BOOL, &f->o.rm, "Remove the container when it exits"},
	    {"name", 0, FLAG_STRING, &f->o.name, "Assign a name to the container", "string"},
	    {"env", 'e', FLAG_LIST, &f->o.env, "Set an environment variable (repeatable)",
	     "NAME=VALUE"},
	    {"env-file", 0, FLAG_LIST, &f->o.env_files, "Read environment variables from a file",
	     "FILE"},
	    {"workdir", 'w', FLAG_STRING, &f->o.workdir, "Working directory inside the container",
	     "DIR"},
	    {"user", 'u', FLAG_STRING, &f->o.user, "Run as this user", "USER[:GROUP]"},
	    {"entrypoint", 0, FLAG_STRING, &f->entrypoint, "Overwrite the image's ENTRYPOINT",
	     "string"},
	    {"volume", 'v', FLAG_LIST, &f->o.volumes, "Bind mount or volume (repeatable)",
	     "[SRC:]DST[:OPTS]"},
	    {"tmpfs", 0, FLAG_LIST, &f->o.tmpfs,
	     "A tmpfs mount: DST[:size=,mode=,ro,exec,...] (default rw,noexec,nosuid,nodev)",
	     "DST[:OPTS]"},
	    {"mount", 0, FLAG_LIST, &f->o.mounts, "Mount: type=bind|volume|tmpfs,... (repeatable)",
	     "SPEC"},
	    {"read-only", 0, FLAG_BOOL, &f->o.read_only, "Mount the root filesystem read-only"},
	    {"hostname", 'h', FLAG_STRING, &f->o.hostname, "Container host name", "string"},
	    {"memory", 'm', FLAG_STRING, &f->o.memory, "Memory limit (k, m, g)", "bytes"},
	    {"cpus", 0, FLAG_STRING, &f->o.cpus, "Number of CPUs", "decimal"},
	    {"pids-limit", 0, FLAG_STRING, &f->o.pids_limit, "Limit the number of processes",
	     "int"},
	    {"cap-add", 0, FLAG_LIST, &f->o.cap_add, "Add a Linux capability (repeatable)", "CAP"},
	    {"cap-drop", 0, FLAG_LIST, &f->o.cap_drop, "Drop a Linux capability (repeatable)",
	     "CAP"},
	    {"privileged", 0, FLAG_BOOL, &f->o.privileged, "Give extended privileges"},
	    {"security-opt", 0, FLAG_LIST, &f->o.security_opt,
	     "Security option: seccomp=FILE|unconfined, no-new-privileges, ...", "OPT"},
	    {"network", 0, FLAG_STRING, &f->net,
	     "Network: bridge (the default network), NAME, none, host, container:ID", "string",
	     "bridge"},
	    {"net", 0, FLAG_STRING, &f->net, "The same as --network", "string", "bridge"},
	    {"publish", 'p', FLAG_LIST, &f->o.publish, "Publish a port (repeatable)",
	     "[IP:][HOSTPORT:]PORT[/PROTO]"},
	    {"publish-all", 'P', FLAG_BOOL, &f->o.publish_all,
	     "Publish every exposed port to a free host port"},
	    {"expose", 0, FLAG_LIST, &f->o.expose, "Expose a port (repeatable)", "PORT[/PROTO]"},
	    {"ip", 0, FLAG_STRING, &f->o.ip, "IPv4 address on the network", "IP"},
	    {"ip6", 0, FLAG_STRING, &f->o.ip6, "IPv6 address on the network (--ipv6 ones)", "IP"},
	    {"mac-address", 0, FLAG_STRING, &f->o.mac, "MAC address on the network", "MAC"},
	    {"network-alias", 0, FLAG_LIST, &f->o.net_aliases,
	     "Another name on the network (repeatable)", "NAME"},
	    {"dns", 0, FLAG_LIST, &f->o.dns, "DNS server (repeatable)", "IP"},
	    {"dns-search", 0, FLAG_LIST, &f->o.dns_search, "DNS search domain (repeatable)",
	     "DOMAIN"},
	    {"dns-option", 0, FLAG_LIST, &f->o.dns_opts, "DNS resolver option (repeatable)", "OPT"},
	    {"add-host", 0, FLAG_LIST, &f->o.add_hosts,
	     "A line in /etc/hosts (repeatable; IP host-gateway: the network's gateway)",
	     "NAME:IP"},
	    {"init", 0, FLAG_BOOL, &f->o.init, "Run an init (berth-init) as PID 1"},
	    {"ulimit", 0, FLAG_LIST, &f->o.ulimits, "Resource limit (repeatable)",
	     "NAME=SOFT[:HARD]"},
	    {"pull", 0, FLAG_STRING, &f->pull, "Pull the image: missing, always, never", "string",
	     "missing"},
	    {"log-driver", 0, FLAG_STRING, &f->o.log_driver, "Logging driver: json-file or none",
	     "string", "json-file"},
	    {"log-opt", 0, FLAG_LIST, &f->o.log_opts, "Log driver option: max-size, max-file",
	     "KEY=VALUE"},
	    {"ipc", 0, FLAG_STRING, &f->o.ipc,
	     "IPC namespace: private, shareable, none, host, container:NAME|ID", "mode", "private"},
	    {"pid", 0, FLAG_STRING, &f->o.pid, "PID namespace: private, host, container:NAME|ID",
	     "mode", "private"},
	    {"uts", 0, FLAG_STRING, &f->o.uts, "UTS namespace: private, host, container:NAME|ID",
	     "mode", "private"},
	    {"cgroup-parent", 0, FLAG_STRING, &f->o.cgroup_parent,
	     "The cgroup the container's cgroup goes under", "path"},
	    {"label", 'l', FLAG_LIST, &f->o.labels, "Set a label on the container (repeatable)",
	     "KEY[=VALUE]"},
	    {"pod", 0, FLAG_STRING, &f->o.pod,
	     "Put the container into this pod (its namespaces, network, cgroup)", "NAME|ID"},
	    {"userns", 0, FLAG_STRING, &f->o.userns,
	     "User namespace: host (shared), keep-id[:uid=U,gid=G] (rootless: you inside)", "mode",
	     "host"},
	    {"uidmap", 0, FLAG_LIST, &f->o.uidmaps,
	     "A uid range of a new user namespace (repeatable; rootless: ids of your namespace)",
	     "CONTAINER:HOST:SIZE"},
	    {"gidmap", 0, FLAG_LIST, &f->o.gidmaps,
	     "A gid range of a new user namespace (repeatable; default: --uidmap's)",
	     "CONTAINER:HOST:SIZE"},
	    HEALTH_FLAG_DEFS(&f->health),
	    {0},
	};
	int i = cli_flags(c, doc, defs, argc, argv, status);
	if (i < 0)
		return -1;
	berr e;
	if (health_flags_apply(&f->health, &f->o, &e) < 0) {
		*status = cli_fail(125, &e);
		return -1;
	}
	for (int k = 1; k < i; k++)
		if (!strcmp(argv[k], "--entrypoint") || !strncmp(argv[k], "--entrypoint=", 13))
			f->o.entrypoint_set = true;
	f->o.entrypoint = f->entrypoint;
	f->o.network = f->net;
	if (i >= argc) {
		*status = cli_failf(125, "\"%s\" requires at least 1 argument (an image)", argv[0]);
		cli_see_help(stderr, c->ui.prog, doc);
		return -1;
	}
	f->o.image = argv[i];
	f->o.command = i + 1 < argc ? argv + i + 1 : NULL;
	*first = i;
	return 0;
}

static void free_run(run_flags *f)
{
	strv_free(f->o.env);
	strv_free(f->o.env_files);
	strv_free(f->o.volumes);
	strv_free(f->o.mounts);
	strv_free(f->o.cap_add);
	strv_free(f->o.cap_drop);
	strv_free(f->o.security_opt);
	strv_free(f->o.ulimits);
	strv_free(f->o.log_opts);
	strv_free(f->o.uidmaps);
	strv_free(f->o.tmpfs);
	strv_free(f->o.gidmaps);
	strv_free(f->o.labels);
	health_flags_free(&f->health);
}

static int run_or_create(cli *c, int argc, char **argv, bool run)
{
	run_flags f;
	berr e;
	int first;
	int rc = 125;
	eng *g = NULL;
	char *sd = NULL, *initp = NULL, *warning = NULL;
	if (parse_run(c, run ? &run_doc : &create_doc, argc, argv, &f, &first, &rc) < 0)
		goto out;
	if (f.o.detach && f.o.rm && !run) {
		/* fine: create --rm */
	}
	g = ctr_open(c, &e);
	if (!g) {
		rc = cli_fail(125, &e);
		goto out;
	}
	sd = cli_self_dir();
	initp = xasprintf("%s/berth-init", sd);
	char id[65];
	/* Docker's --pull: missing (pull when not in the store), always, never */
	const char *pull = f.pull ? f.pull : "missing";
	if (strcmp(pull, "missing") && strcmp(pull, "always") && strcmp(pull, "never")) {
		rc = cli_failf(125, "--pull: invalid value \"%s\" (missing, always, never)", pull);
		goto out;
	}
	if (!strcmp(pull, "always") && (rc = cli_xfer_pull(c, f.o.image)) != 0) {
		rc = 125;
		goto out;
	}
	bool missing = false;
	f.o.image_missing = &missing;
	f.o.warning = &warning;
	int made = eng_create(g, &f.o, initp, id, &e);
	if (made < 0 && missing && !strcmp(pull, "missing")) {
		fprintf(stderr, "Unable to find image '%s' locally\n", f.o.image);
		if (cli_xfer_pull(c, f.o.image) != 0) {
			rc = 125;
			goto out;
		}
		made = eng_create(g, &f.o, initp, id, &e);
	}
	if (made < 0) {
		rc = cli_fail(125, &e);
		goto out;
	}
	if (warning)
		fprintf(stderr, "berth: warning: %s\n", warning);
	if (!run) {
		printf("%s\n", id);
		rc = 0;
		goto out;
	}
	if (f.o.detach) {
		rc = ctr_start(g, id, false, false);
		if (rc == 0)
			printf("%s\n", id);
		else {
			berr ig;
			eng_remove(g, id, true, &ig);
		}
	} else {
		rc = ctr_start(g, id, true, f.o.interactive);
	}
out:
	free(sd);
	free(initp);
	free(warning);
	eng_close(g);
	free_run(&f);
	return rc;
}

int cmd_run(cli *c, int argc, char **argv)
{
	return run_or_create(c, argc, argv, true);
}

int cmd_create(cli *c, int argc, char **argv)
{
	return run_or_create(c, argc, argv, false);
}

static const cli_doc start_doc = {
    "start", "[OPTIONS] CONTAINER [CONTAINER...]",   "Start one or more stopped containers",
    NULL,    "berth start web\nberth start -ai web", CLI_ARGS_CONTAINERS};

int cmd_start(cli *c, int argc, char **argv)
{
	bool attach = false, inter = false;
	const flag_def defs[] = {
	    {"attach", 'a', FLAG_BOOL, &attach, "Attach STDOUT/STDERR and forward signals"},
	    {"interactive", 'i', FLAG_BOOL, &inter, "Attach the container's STDIN"},
	    {0}};
	berr e;
	int st, i = cli_flags(c, &start_doc, defs, argc, argv, &st);
	if (i < 0)
		return st;
	if (i >= argc)
		return cli_failf(125, "\"start\" requires at least 1 argument");
	eng *g = ctr_open(c, &e);
	if (!g)
		return cli_fail(125, &e);
	int rc = 0;
	for (; i < argc; i++) {
		char id[65];
		if (eng_lookup(g, argv[i], id, &e) < 0) {
			rc = cli_fail(125, &e);
			continue;
		}
		json_object *doc = eng_load(g, id, &e);
		const char *s = doc ? eng_reconcile(g, id, doc) : "exited";
		bool running = !strcmp(s, "running") || !strcmp(s, "paused");
		bool dead = !strcmp(s, "dead");
		json_object_put(doc);
		if (dead) {
			rc = cli_failf(125,
				       "container %s is dead (its creation was interrupted): "
				       "remove it",
				       argv[i]);
			continue;
		}
		if (running) {
			/* docker start -a on a running container attaches */
			if (attach) {
				ctr_attach_opts ao = {.sig_proxy = true, .no_stdin = !inter};
				rc = ctr_attach(g, argv[i], id, &ao);
			} else {
				printf("%s\n", argv[i]);
			}
			continue;
		}
		int r = ctr_start(g, id, attach, inter);
		if (attach)
			rc = r;
		else if (r)
			rc = r;
		else
			printf("%s\n", argv[i]);
	}
	eng_close(g);
	return rc;
}
