/* berth kube check: read a Kubernetes manifest into the model
 * (src/lib/kube) and list its objects, or name the first error; kube play
 * and kube down: its pods made and removed (src/lib/kube/play.c). Here, in
 * berth-xfer, so that only these commands load libyaml. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/engine.h"
#include "kube/model.h"
#include "kube/play.h"
#include "kube/play_svc.h"
#include "kube/yaml.h"
#include "util/cleanup.h"
#include "util/xalloc.h"
#include "xfer.h"

/* The whole of fd, up to one byte more than the model reads (so that a
 * larger input is refused by ky_parse with its size named). */
static char *read_bounded(int fd, const char *name, size_t *len, berr *e)
{
	size_t cap = 65536, n = 0, max = (size_t)KY_MAX_BYTES + 1;
	char *buf = xmalloc(cap);
	for (;;) {
		if (n == cap) {
			cap = cap * 2 > max ? max : cap * 2;
			buf = xrealloc(buf, cap);
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			berr_sys(e, "read %s", name);
			free(buf);
			return NULL;
		}
		n += (size_t)r;
		if (!r || n == max)
			break;
	}
	*len = n;
	return buf;
}

static void print_obj(const kube_obj *o)
{
	printf("%s ", kube_kind_name(o->kind));
	if (o->meta.namespace) {
		cli_print_clean(stdout, o->meta.namespace);
		putchar('/');
	}
	cli_print_clean(stdout, o->meta.name);
	putchar('\n');
}

/* The manifest at path (- standard input), parsed; NULL with *rc set and
 * the error printed. */
static kube_file *kube_load(const char *path, int *rc)
{
	bool in = !strcmp(path, "-");
	const char *name = in ? "<stdin>" : path;
	_cleanup_close_ int fd = in ? -1 : open(path, O_RDONLY | O_CLOEXEC);
	if (!in && fd < 0) {
		*rc = cli_failf(125, "open %s: %s", path, strerror(errno));
		return NULL;
	}
	berr e = {0};
	size_t len = 0;
	_cleanup_free_ char *data = read_bounded(in ? STDIN_FILENO : fd, name, &len, &e);
	kube_file *f = data ? kube_parse(data, len, name, &e) : NULL;
	if (!f)
		*rc = cli_fail(125, &e);
	return f;
}

static int kube_check(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {
	    "kube check",
	    "FILE|-",
	    "Check a Kubernetes YAML file and list its objects",
	    "Reads the objects berth kube play runs (Pod, Deployment, Service, ConfigMap, Secret, "
	    "PersistentVolumeClaim) and prints one line per object, KIND [NAMESPACE/]NAME, or "
	    "the first error with its line and the field's path; a kind or field berth does not "
	    "support is an error. - reads standard input.",
	    "berth kube check app.yaml\nkubectl create deployment web --image=nginx "
	    "--dry-run=client -o yaml | berth kube check -",
	    CLI_ARGS_FILES};
	int st, first = cli_flags(c, &doc, NULL, argc, argv, &st);
	if (first < 0)
		return st;
	if (argc - first != 1)
		return cli_failf(125, "kube check: one FILE (or - for standard input)");
	int rc = 0;
	kube_file *f = kube_load(argv[first], &rc);
	if (!f)
		return rc;
	for (size_t i = 0; i < f->n_objs; i++)
		print_obj(&f->objs[i]);
	kube_file_free(f);
	return 0;
}

static int down_file(cli *c, const kube_file *f, bool volumes)
{
	berr e;
	eng *g = eng_open(c->root, c->run_root, &e);
	if (!g)
		return cli_fail(125, &e);
	char **removed = NULL;
	int r = kube_down(g, f, volumes, &removed, &e);
	for (size_t i = 0; removed && removed[i]; i++) {
		cli_print_clean(stdout, removed[i]);
		putchar('\n');
	}
	strv_free(removed);
	eng_close(g);
	return r < 0 ? cli_fail(125, &e) : 0;
}

/* Play f (loaded): pull what is missing and try again; the pods made
 * printed. */
static int play_file(cli *c, const kube_file *f, const char *network, bool no_start, bool replace)
{
	int rc = 0;
	_cleanup_free_ char *sd = cli_self_dir();
	/* the readiness hook: this store's `berth kube sync` */
	_cleanup_free_ char *root = realpath(c->root, NULL);
	_cleanup_free_ char *rr = xasprintf("BERTH_RUNROOT=%s", c->run_root);
	_cleanup_free_ char *berth = xasprintf("%s/berth", sd);
	char *hook[] = {"/usr/bin/env", rr,	berth, "--root", root ? root : (char *)c->root,
			"kube",		"sync", NULL};
	kube_play_opts o = {
	    .helper_dir = sd, .network = network, .no_start = no_start, .sync_hook = hook};
	if (replace)
		rc = down_file(c, f, false);
	for (int attempt = 0; !rc; attempt++) {
		berr e;
		eng *g = eng_open(c->root, c->run_root, &e);
		if (!g) {
			rc = cli_fail(125, &e);
			break;
		}
		kube_play_result r;
		int p = kube_play(g, f, &o, &r, &e);
		eng_close(g);
		if (!p) {
			for (size_t i = 0; r.warnings && r.warnings[i]; i++)
				fprintf(stderr, "berth: warning: %s\n", r.warnings[i]);
			for (size_t i = 0; r.pods && r.pods[i]; i++) {
				cli_print_clean(stdout, r.pods[i]);
				putchar('\n');
			}
			kube_play_result_free(&r);
			break;
		}
		/* an image to make or pull, then again (a bounded number of times) */
		if (attempt < 16 && r.pause_missing) {
			_cleanup_free_ char *pause = xasprintf("%s/berth-pause", sd);
			char *av[] = {"pause-image", pause, NULL};
			rc = cmd_pause_image(c, 2, av);
		} else if (attempt < 16 && r.missing_image) {
			char *av[] = {"pull", r.missing_image, NULL};
			rc = cmd_pull(c, 2, av); /* its error is the one line */
		} else {
			rc = cli_fail(125, &e);
		}
		kube_play_result_free(&r);
		if (rc) {
			rc = 125;
			break;
		}
	}
	return rc;
}

static int kube_play_cmd(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {
	    "kube play",
	    "[OPTIONS] FILE|-",
	    "Make the pods of a Kubernetes YAML file",
	    "Each Pod becomes a berth pod of its name, each Deployment of N replicas the pods "
	    "NAME-0 .. NAME-(N-1); a container is POD-CONTAINER; init containers run first, in "
	    "order. The pods join the network kube-NAME (made; or --network), where their names "
	    "and each Service's name resolve; a Service's ports are published on the host "
	    "(nodePort, else port) and spread over its ready pods. Images are pulled when "
	    "missing. Everything is labelled " KUBE_OWNER_LABEL "=KIND/NAME, which kube down "
	    "removes. A failure leaves nothing made. See docs/kube.md.",
	    "berth kube play app.yaml\nberth kube play --replace app.yaml",
	    CLI_ARGS_FILES};
	bool replace = false, no_start = false;
	const char *network = NULL;
	const flag_def defs[] = {
	    {"replace", 0, FLAG_BOOL, &replace,
	     "Remove what an earlier play of the file made first"},
	    {"network", 0, FLAG_STRING, &network, "The pods' network", "NAME"},
	    {"no-start", 0, FLAG_BOOL, &no_start,
	     "Create the pods, do not start them (nor run init containers, nor publish)"},
	    {0}};
	int st, first = cli_flags(c, &doc, defs, argc, argv, &st);
	if (first < 0)
		return st;
	if (argc - first != 1)
		return cli_failf(125, "kube play: one FILE (or - for standard input)");
	int rc = 0;
	kube_file *f = kube_load(argv[first], &rc);
	if (!f)
		return rc;
	rc = play_file(c, f, network, no_start, replace);
	kube_file_free(f);
	return rc;
}

static int kube_scale_cmd(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {
	    "kube scale",
	    "--replicas N [--network NAME] DEPLOYMENT FILE|-",
	    "Play a file with a Deployment's replicas changed",
	    "kube play of FILE with DEPLOYMENT's spec.replicas set to N (0..1000): the pods "
	    "NAME-N and up removed, the missing ones made, the others kept; the Services' "
	    "backends follow. The file is not changed: a later kube play of it plays its own "
	    "replicas.",
	    "berth kube scale --replicas 5 web app.yaml",
	    CLI_ARGS_FILES};
	const char *reps = NULL, *network = NULL;
	const flag_def defs[] = {{"replicas", 0, FLAG_STRING, &reps, "The number of pods", "N"},
				 {"network", 0, FLAG_STRING, &network,
				  "The pods' network (as the play was given)", "NAME"},
				 {0}};
	int st, first = cli_flags(c, &doc, defs, argc, argv, &st);
	if (first < 0)
		return st;
	if (argc - first != 2)
		return cli_failf(125, "kube scale: DEPLOYMENT and FILE (or - for standard input)");
	char *end = NULL;
	long n = reps ? strtol(reps, &end, 10) : -1;
	if (!reps || !*reps || *end || n < 0 || n > 1000)
		return cli_failf(125,
				 "kube scale: --replicas: a number from 0 to 1000 is needed%s%s",
				 reps ? ", not " : "", reps ? reps : "");
	int rc = 0;
	kube_file *f = kube_load(argv[first + 1], &rc);
	if (!f)
		return rc;
	kube_obj *d = NULL;
	for (size_t i = 0; i < f->n_objs && !d; i++)
		if (f->objs[i].kind == KUBE_DEPLOYMENT &&
		    !strcmp(f->objs[i].meta.name, argv[first]))
			d = &f->objs[i];
	if (!d) {
		rc = cli_failf(125, "kube scale: %s: no Deployment \"%s\"", argv[first + 1],
			       argv[first]);
	} else {
		d->u.deploy.replicas = (int)n;
		rc = play_file(c, f, network, false, false);
	}
	kube_file_free(f);
	return rc;
}

static int kube_down_cmd(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {
	    "kube down",
	    "[OPTIONS] FILE|-",
	    "Remove the pods a kube play of the file made",
	    "The pods (and their containers and volumes) labelled " KUBE_OWNER_LABEL
	    "=KIND/NAME for an object of the file, the Services' published ports and the "
	    "play's network; the pods' names are printed. The PersistentVolumeClaims' volumes "
	    "stay unless --volumes (or --force, as Podman names it).",
	    "berth kube down app.yaml\nberth kube down --volumes app.yaml",
	    CLI_ARGS_FILES};
	bool volumes = false, force = false;
	const flag_def defs[] = {
	    {"volumes", 0, FLAG_BOOL, &volumes, "Remove the PersistentVolumeClaims' volumes too"},
	    {"force", 0, FLAG_BOOL, &force, "The same as --volumes (Podman's name)"},
	    {0}};
	int st, first = cli_flags(c, &doc, defs, argc, argv, &st);
	if (first < 0)
		return st;
	if (argc - first != 1)
		return cli_failf(125, "kube down: one FILE (or - for standard input)");
	int rc = 0;
	kube_file *f = kube_load(argv[first], &rc);
	if (!f)
		return rc;
	rc = down_file(c, f, volumes || force);
	kube_file_free(f);
	return rc;
}

/* kube sync NETWORK NAME SELECTOR PORTS [NAME SELECTOR PORTS ...] [CONTAINER]:
 * the readiness hook of a Service's pods (play_svc.h); CONTAINER is what
 * the prober appends, not needed. */
static int kube_sync_cmd(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {
	    "kube sync",
	    "NETWORK SERVICE SELECTOR PORTS [SERVICE SELECTOR PORTS ...] [CONTAINER]",
	    "Set a Service's backends to its ready pods",
	    "The readiness hook kube play gives the containers of the pods a Service selects: "
	    "the Service's published ports (PORTS: tcp:HOSTPORT:TARGETPORT,...) are spread "
	    "over the pods whose labels match SELECTOR (K=V,...) and whose containers are all "
	    "ready, at their address on NETWORK. Prints nothing.",
	    "berth kube sync kube-web web app=web tcp:30080:80",
	    CLI_ARGS_NONE};
	int st, first = cli_flags(c, &doc, NULL, argc, argv, &st);
	if (first < 0)
		return st;
	int n = argc - first - 1;
	if (n < 3)
		return cli_failf(125, "kube sync: NETWORK SERVICE SELECTOR PORTS");
	berr e;
	eng *g = eng_open(c->root, c->run_root, &e);
	if (!g)
		return cli_fail(125, &e);
	int rc = 0;
	for (int i = first + 1; i + 3 <= argc && !rc; i += 3) {
		kube_svc_rt s;
		size_t ready = 0;
		if (kube_svc_from_args(argv + i, &s, &e) < 0 ||
		    kube_svc_sync(g, argv[first], &s, &ready, &e) < 0)
			rc = cli_fail(125, &e);
		kube_svc_rt_free(&s);
	}
	eng_close(g);
	return rc;
}

int cmd_kube(cli *c, int argc, char **argv)
{
	static const cli_cmd subs[] = {
	    {"check", kube_check, "Check a Kubernetes YAML file and list its objects"},
	    {"play", kube_play_cmd, "Make the pods of a Kubernetes YAML file"},
	    {"down", kube_down_cmd, "Remove the pods a kube play of the file made"},
	    {"scale", kube_scale_cmd, "Play a file with a Deployment's replicas changed"},
	    {"sync", kube_sync_cmd, "Set a Service's backends to its ready pods"}};
	static const cli_doc doc = {
	    "kube",	  "COMMAND", "Run Kubernetes YAML", NULL, "berth kube check app.yaml",
	    CLI_ARGS_NONE};
	return cli_subcommands(c, &doc, subs, ARRAY_SIZE(subs), argc, argv);
}
