/* Container lifecycle commands: stop, kill, rm, wait, restart, pause,
 * unpause, inspect, exec, prune and the monitor's `container cleanup`:
 * their flags and output over the engine's calls (engine/container.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctr.h"
#include "engine/health.h"
#include "engine/summary.h"
#include "template.h"
#include "image/image.h"
#include "spec/spec.h"
#include "util/cleanup.h"
#include "util/flags.h"
#include "util/fs.h"
#include "util/xalloc.h"

static int for_each(cli *c, int argc, char **argv, int i,
		    int (*fn)(eng *, const char *id, const char *ref, void *arg), void *arg)
{
	berr e;
	if (i >= argc)
		return cli_failf(125, "\"%s\" requires at least 1 argument", argv[0]);
	eng *g = ctr_open(c, &e);
	if (!g)
		return cli_fail(125, &e);
	int rc = 0;
	/* many refs: the store is listed once, not once per ref */
	eng_ids *ids = argc - i > 1 ? eng_ids_load(g) : NULL;
	for (; i < argc; i++) {
		char id[65];
		if (eng_lookup_in(g, ids, argv[i], id, &e) < 0) {
			rc = cli_fail(125, &e);
			continue;
		}
		int r = fn(g, id, argv[i], arg);
		if (r)
			rc = r;
	}
	eng_ids_free(ids);
	eng_close(g);
	return rc;
}

static int do_stop(eng *g, const char *id, const char *ref, void *arg)
{
	berr e;
	if (eng_container_stop(g, id, *(int *)arg, 0, NULL, &e) < 0)
		return cli_failf(125, "no such container: %s", ref);
	printf("%s\n", ref);
	return 0;
}

/* The containers of a command after its flags (ctr_select): for_each over
 * them; --all finding none is no error. */
static int for_selected(cli *c, const ctr_sel *sel, int argc, char **argv, int i,
			int (*fn)(eng *, const char *id, const char *ref, void *arg), void *arg)
{
	int st;
	char **refs = ctr_select(c, sel, argc, argv, i, &st);
	if (!refs)
		return st;
	int n = (int)strv_len(refs);
	int rc = sel->all && n == 1 ? 0 : for_each(c, n, refs, 1, fn, arg);
	strv_free(refs);
	return rc;
}

static const cli_doc stop_doc = {
    "stop",
    "[OPTIONS] CONTAINER [CONTAINER...]",
    "Stop one or more running containers",
    "Sends the container's stop signal (its image's StopSignal, else SIGTERM), and SIGKILL "
    "after the timeout.",
    "berth stop web\nberth stop -t 2 web db\nberth stop --all",
    CLI_ARGS_CONTAINERS};

int cmd_stop(cli *c, int argc, char **argv)
{
	int t = 10;
	ctr_sel sel = {.running = true};
	const flag_def defs[] = {
	    {"time", 't', FLAG_INT, &t, "Seconds to wait before killing the container", "int",
	     "10"},
	    {"timeout", 0, FLAG_INT, &t, "The same as --time", "int", "10"},
	    {"all", 'a', FLAG_BOOL, &sel.all, "Stop all running containers"},
	    {"latest", 'l', FLAG_BOOL, &sel.latest, "Act on the newest running container"},
	    {0}};
	int st, i = cli_flags(c, &stop_doc, defs, argc, argv, &st);
	if (i < 0)
		return st;
	return for_selected(c, &sel, argc, argv, i, do_stop, &t);
}

static int do_restart(eng *g, const char *id, const char *ref, void *arg)
{
	int t = *(int *)arg;
	_cleanup_free_ char *sd = cli_self_dir();
	eng_start_opts so = {.helper_dir = sd};
	eng_start_result r;
	berr e;
	int rc = eng_container_restart(g, id, t, &so, &r, &e);
	ctr_start_report(&r);
	eng_start_result_free(&r);
	if (rc < 0)
		return cli_fail(r.exit_code, &e);
	printf("%s\n", ref);
	return 0;
}

static const cli_doc restart_doc = {"restart",
				    "[OPTIONS] CONTAINER [CONTAINER...]",
				    "Restart one or more containers",
				    NULL,
				    "berth restart web",
				    CLI_ARGS_CONTAINERS};

int cmd_restart(cli *c, int argc, char **argv)
{
	int t = 10;
	ctr_sel sel = {0};
	const flag_def defs[] = {
	    {"time", 't', FLAG_INT, &t, "Seconds to wait before killing the container", "int",
	     "10"},
	    {"timeout", 0, FLAG_INT, &t, "The same as --time", "int", "10"},
	    {"latest", 'l', FLAG_BOOL, &sel.latest, "Act on the newest container"},
	    {0}};
	int st, i = cli_flags(c, &restart_doc, defs, argc, argv, &st);
	if (i < 0)
		return st;
	return for_selected(c, &sel, argc, argv, i, do_restart, &t);
}

static int do_kill(eng *g, const char *id, const char *ref, void *arg)
{
	berr e;
	if (!eng_status_live(eng_container_status(g, id, NULL)))
		return cli_failf(125, "cannot kill container %s: container is not running", ref);
	if (eng_container_kill(g, id, *(int *)arg, &e) < 0)
		return cli_fail(125, &e);
	printf("%s\n", ref);
	return 0;
}

static const cli_doc kill_doc = {
    "kill",
    "[OPTIONS] CONTAINER [CONTAINER...]",
    "Kill one or more running containers",
    "Sends SIGKILL, or the signal --signal names (KILL, SIGTERM, 15, ...).",
    "berth kill web\nberth kill -s HUP web\nberth kill --all",
    CLI_ARGS_CONTAINERS};

int cmd_kill(cli *c, int argc, char **argv)
{
	const char *sig = "KILL";
	ctr_sel sel = {.running = true};
	const flag_def defs[] = {
	    {"signal", 's', FLAG_STRING, &sig, "Signal to send to the container", "string", "KILL"},
	    {"all", 'a', FLAG_BOOL, &sel.all, "Kill all running containers"},
	    {"latest", 'l', FLAG_BOOL, &sel.latest, "Act on the newest running container"},
	    {0}};
	int st, i = cli_flags(c, &kill_doc, defs, argc, argv, &st);
	if (i < 0)
		return st;
	int n = spec_signal_from_name(sig);
	if (n <= 0)
		return cli_failf(125, "invalid signal: %s", sig);
	return for_selected(c, &sel, argc, argv, i, do_kill, &n);
}

typedef struct rm_args {
	bool force, volumes, quiet;
} rm_args;

static int do_rm(eng *g, const char *id, const char *ref, void *arg)
{
	rm_args *a = arg;
	berr e;
	eng_rm_opts o = {.force = a->force, .volumes = a->volumes};
	if (!a->force) {
		/* Docker's message names the container as it was given */
		const char *s = eng_container_status(g, id, NULL);
		if (eng_status_live(s))
			return cli_failf(
			    125,
			    "cannot remove container \"%s\": container is %s: stop the "
			    "container before removing or force remove",
			    ref, s);
	}
	if (eng_container_rm(g, id, &o, &e) < 0)
		return cli_fail(125, &e);
	if (!a->quiet)
		printf("%s\n", ref);
	return 0;
}

static const cli_doc rm_doc = {
    "rm", "[OPTIONS] CONTAINER [CONTAINER...]",		 "Remove one or more containers",
    NULL, "berth rm web\nberth rm -f web\nberth rm -af", CLI_ARGS_CONTAINERS};

int cmd_rm(cli *c, int argc, char **argv)
{
	rm_args a = {0};
	ctr_sel sel = {0};
	const flag_def defs[] = {
	    {"force", 'f', FLAG_BOOL, &a.force,
	     "Force the removal of a running container (SIGKILL)"},
	    {"volumes", 'v', FLAG_BOOL, &a.volumes,
	     "Remove the anonymous volumes of the container"},
	    {"all", 'a', FLAG_BOOL, &sel.all, "Remove all containers"},
	    {"latest", 'l', FLAG_BOOL, &sel.latest, "Act on the newest container"},
	    {0}};
	int st, i = cli_flags(c, &rm_doc, defs, argc, argv, &st);
	if (i < 0)
		return st;
	return for_selected(c, &sel, argc, argv, i, do_rm, &a);
}

static int do_wait(eng *g, const char *id, const char *ref, void *arg)
{
	(void)ref;
	(void)arg;
	int code = 255;
	berr e;
	eng_container_wait(g, id, -1, &code, &e);
	printf("%d\n", code);
	fflush(stdout);
	return 0;
}

static const cli_doc wait_doc = {
    "wait",
    "[OPTIONS] CONTAINER [CONTAINER...]",
    "Block until one or more containers stop, then print their exit codes",
    NULL,
    "berth wait web",
    CLI_ARGS_CONTAINERS};

int cmd_wait(cli *c, int argc, char **argv)
{
	ctr_sel sel = {0};
	const flag_def defs[] = {
	    {"latest", 'l', FLAG_BOOL, &sel.latest, "Act on the newest container"}, {0}};
	int st, i = cli_flags(c, &wait_doc, defs, argc, argv, &st);
	if (i < 0)
		return st;
	return for_selected(c, &sel, argc, argv, i, do_wait, NULL);
}

static int do_pause(eng *g, const char *id, const char *ref, void *arg)
{
	berr e;
	if (eng_container_pause(g, id, *(bool *)arg, &e) < 0)
		return cli_fail(125, &e);
	printf("%s\n", ref);
	return 0;
}

static const cli_doc pause_doc = {"pause",
				  "[OPTIONS] CONTAINER [CONTAINER...]",
				  "Pause all processes within one or more containers",
				  NULL,
				  "berth pause web",
				  CLI_ARGS_CONTAINERS};
static const cli_doc unpause_doc = {"unpause",
				    "[OPTIONS] CONTAINER [CONTAINER...]",
				    "Unpause all processes within one or more containers",
				    NULL,
				    "berth unpause web",
				    CLI_ARGS_CONTAINERS};

static int pause_or_not(cli *c, const cli_doc *doc, int argc, char **argv, bool p)
{
	ctr_sel sel = {.running = true};
	const flag_def defs[] = {
	    {"latest", 'l', FLAG_BOOL, &sel.latest, "Act on the newest running container"}, {0}};
	int st, i = cli_flags(c, doc, defs, argc, argv, &st);
	if (i < 0)
		return st;
	return for_selected(c, &sel, argc, argv, i, do_pause, &p);
}

int cmd_pause(cli *c, int argc, char **argv)
{
	return pause_or_not(c, &pause_doc, argc, argv, true);
}

int cmd_unpause(cli *c, int argc, char **argv)
{
	return pause_or_not(c, &unpause_doc, argc, argv, false);
}

/* inspect: containers first, then images (as Docker). */
static const cli_doc inspect_doc = {
    "inspect",
    "[OPTIONS] NAME|ID [NAME|ID...]",
    "Return low-level information on containers or images",
    "Containers first, then images, as Docker looks them up.",
    "berth inspect web\nberth inspect -f '{{.State.Status}}' web\nberth inspect --type image "
    "localhost/busybox",
    CLI_ARGS_CONTAINERS};

int cmd_container_inspect(cli *c, int argc, char **argv)
{
	const char *type = NULL, *format = NULL;
	ctr_sel sel = {0};
	const flag_def defs[] = {
	    {"type", 0, FLAG_STRING, &type, "Only this type: container or image", "string"},
	    {"format", 'f', FLAG_STRING, &format, "Format the output with a Go template", "string"},
	    {"latest", 'l', FLAG_BOOL, &sel.latest, "Act on the newest container"},
	    {0}};
	berr e;
	int st, i = cli_flags(c, &inspect_doc, defs, argc, argv, &st);
	if (i < 0)
		return st;
	if (type && !strcmp(type, "image"))
		return cmd_inspect(c, argc, argv);
	char *one[3], lid[65];
	if (ctr_select_one(c, &sel, &argc, &argv, &i, one, lid, &st) < 0)
		return st;
	if (i >= argc)
		return cli_failf(125, "\"inspect\" requires at least 1 argument");
	eng *g = ctr_open(c, &e);
	if (!g)
		return cmd_inspect(c, argc, argv);
	json_object *arr = json_object_new_array();
	bool all = true;
	for (int k = i; k < argc; k++) {
		json_object *doc = eng_inspect(g, argv[k], &e); /* the API's too */
		if (doc) {
			json_object_array_add(arr, doc);
		} else {
			all = false;
		}
	}
	eng_close(g);
	if (!all || (type && strcmp(type, "container"))) {
		json_object_put(arr);
		if (type && !strcmp(type, "container"))
			return cli_failf(125, "no such container: %s", argv[i]);
		return cmd_inspect(c, argc, argv);
	}
	int rc = 0;
	if (tmpl_print_array(format, arr, JSON_C_TO_STRING_SPACED, &e) < 0)
		rc = cli_fail(125, &e);
	json_object_put(arr);
	return rc;
}

/* berth container cleanup [--rm|--] ID: run by the monitor after the exit. */
static int cmd_cleanup(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {
	    "container cleanup",
	    "[--rm] CONTAINER",
	    "Clean up after a container's exit (run by its monitor)",
	    "Deletes the runtime state and unmounts the root; --rm removes the container "
	    "and its anonymous volumes.",
	    NULL,
	    CLI_ARGS_CONTAINERS};
	bool rm = false;
	const flag_def defs[] = {{"rm", 0, FLAG_BOOL, &rm, "Remove the container too (run --rm)"},
				 {0}};
	int st, i = cli_flags(c, &doc, defs, argc, argv, &st);
	if (i < 0)
		return st;
	if (i + 1 != argc)
		return 125;
	berr e;
	eng *g = ctr_open(c, &e);
	if (!g)
		return cli_fail(125, &e);
	/* --rm: anonymous volumes go too, as with docker run --rm */
	int r = rm ? eng_remove(g, argv[i], true, &e) : eng_cleanup(g, argv[i], &e);
	/* then its restart policy (health.h): this process, the monitor
	 * exec'ed, waits out the back-off and starts it under a new monitor */
	bool again = false;
	if (r == 0 && !rm) {
		_cleanup_free_ char *sd = cli_self_dir();
		r = eng_restart_after_exit(g, argv[i], sd, &again, &e);
	}
	eng_close(g);
	return r < 0 ? 125 : 0;
}

/* The fd a threaded berth passes to its helpers (monitor-child,
 * exec-child), or -1. */
static int helper_fd(const char *s)
{
	char *end;
	long fd = strtol(s, &end, 10);
	return *s && !*end && fd >= 3 && fd <= 65535 ? (int)fd : -1;
}

static int cmd_monitor_child(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {
	    "container monitor-child",
	    "[-i] CONTAINER FD",
	    "Launch a container's monitor (run by a threaded berth, the API service)",
	    "Forks the monitor-to-be, which creates the container and execs berth-monitor; "
	    "reports on FD as the start expects (see engine/launch.c).",
	    NULL,
	    CLI_ARGS_CONTAINERS};
	bool interactive = false;
	const flag_def defs[] = {
	    {"interactive", 'i', FLAG_BOOL, &interactive, "Keep the container's stdin open"}, {0}};
	int st, i = cli_flags(c, &doc, defs, argc, argv, &st);
	if (i < 0)
		return st;
	if (i + 2 != argc)
		return 125;
	int fd = helper_fd(argv[i + 1]);
	if (fd < 0)
		return 125;
	berr e;
	eng *g = ctr_open(c, &e);
	int r = -1;
	if (g) {
		_cleanup_free_ char *sd = cli_self_dir();
		r = eng_monitor_launch(g, argv[i], interactive, fd, sd, &e);
		eng_close(g);
	}
	if (r < 0) {
		char line[1300];
		snprintf(line, sizeof(line), "E %d %s\n", e.errnum, e.msg);
		fs_write_all(fd, line, strlen(line));
		return 125;
	}
	return 0;
}

static int cmd_exec_child(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {
	    "container exec-child",
	    "-- SOCKET FLAGS USER CWD N_ENV ENV... CONTAINER ARGS...",
	    "Run an exec for a threaded berth (started by the API service)",
	    "The arguments are the engine's (engine/exec.c): the process runs with this "
	    "command's stdio, its pid and terminal go back on SOCKET, and this command ends "
	    "as the process did.",
	    NULL,
	    CLI_ARGS_NONE};
	const flag_def defs[] = {{0}};
	int st, i = cli_flags(c, &doc, defs, argc, argv, &st);
	if (i < 0)
		return st;
	if (argc - i < 1)
		return 125;
	int fd = helper_fd(argv[i]);
	if (fd < 0)
		return 125;
	berr e;
	eng *g = ctr_open(c, &e);
	if (!g)
		return cli_fail(125, &e);
	int r = eng_exec_child(g, fd, argc - i - 1, argv + i + 1);
	eng_close(g);
	return r;
}

static int cmd_sweep(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {
	    "container sweep",
	    "",
	    "Purge removed containers' leftovers (run by a threaded berth, the API service)",
	    "What `rm` moved to the store's .trash: runtime state, cgroups, the root's mount, "
	    "files.",
	    NULL,
	    CLI_ARGS_NONE};
	const flag_def defs[] = {{0}};
	int st, i = cli_flags(c, &doc, defs, argc, argv, &st);
	if (i < 0)
		return st;
	if (i != argc)
		return 125;
	berr e;
	eng *g = ctr_open(c, &e);
	if (!g)
		return cli_fail(125, &e);
	eng_trash_sweep(g);
	eng_close(g);
	return 0;
}

static int cmd_prune(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {
	    "container prune",	     "[OPTIONS]",  "Remove all stopped containers", NULL,
	    "berth container prune", CLI_ARGS_NONE};
	bool force = false;
	const flag_def defs[] = {
	    {"force", 'f', FLAG_BOOL, &force, "Do not prompt for confirmation (berth never does)"},
	    {0}};
	int st, i = cli_flags(c, &doc, defs, argc, argv, &st);
	if (i < 0)
		return st;
	if (i < argc)
		return cli_failf(125, "\"container prune\" accepts no arguments");
	berr e;
	eng *g = ctr_open(c, &e);
	if (!g)
		return cli_fail(125, &e);
	char **ids = eng_container_prune(g);
	for (char **p = ids; *p; p++)
		printf("%s\n", *p);
	strv_free(ids);
	eng_close(g);
	return 0;
}

static const cli_doc exec_doc = {
    "exec",
    "[OPTIONS] CONTAINER COMMAND [ARG...]",
    "Execute a command in a running container",
    NULL,
    "berth exec web ls /\nberth exec -it web sh\nberth exec -l cat /etc/hostname",
    CLI_ARGS_CONTAINER_CMD};

int cmd_exec(cli *c, int argc, char **argv)
{
	bool inter = false, tty = false, detach = false;
	char **env = NULL;
	const char *user = NULL, *wd = NULL;
	ctr_sel sel = {.running = true};
	const flag_def defs[] = {
	    {"interactive", 'i', FLAG_BOOL, &inter, "Keep STDIN open"},
	    {"tty", 't', FLAG_BOOL, &tty, "Allocate a pseudo-TTY"},
	    {"detach", 'd', FLAG_BOOL, &detach, "Run the command in the background"},
	    {"env", 'e', FLAG_LIST, &env, "Set an environment variable (repeatable)", "NAME=VALUE"},
	    {"user", 'u', FLAG_STRING, &user, "Run as this user", "USER[:GROUP]"},
	    {"workdir", 'w', FLAG_STRING, &wd, "Working directory inside the container", "DIR"},
	    {"latest", 'l', FLAG_BOOL, &sel.latest,
	     "Run in the newest running container (no CONTAINER then)"},
	    {0}};
	berr e;
	int rc = 125;
	eng *g = NULL;
	char **av = NULL;
	int st, i = cli_flags(c, &exec_doc, defs, argc, argv, &st);
	if (i < 0) {
		rc = st;
		goto out;
	}
	/* --latest: the newest running container takes the place of CONTAINER */
	char **latest = sel.latest ? ctr_select(c, &sel, i, argv, i, &st) : NULL;
	if (sel.latest && !latest) {
		rc = st;
		goto out;
	}
	for (int k = 0; k < argc; k++) {
		if (k == i && latest)
			strv_push(&av, latest[1]);
		strv_push(&av, argv[k]);
	}
	if (latest && i == argc)
		strv_push(&av, latest[1]);
	strv_free(latest);
	int ac = (int)strv_len(av);
	if (i + 1 >= ac) {
		rc = cli_failf(125, "\"exec\" requires at least 2 arguments");
		goto out;
	}
	g = ctr_open(c, &e);
	char id[65];
	if (!g || eng_lookup(g, av[i], id, &e) < 0) {
		rc = cli_fail(125, &e);
		goto out;
	}
	const char *s = eng_container_status(g, id, NULL);
	if (!s || strcmp(s, "running")) {
		rc = cli_failf(125, "container %s is not running", av[i]);
		goto out;
	}
	eng_exec_opts o = {.args = av + i + 1,
			   .env = env,
			   .cwd = wd,
			   .user = user,
			   .tty = tty,
			   .detach = detach,
			   .stdio = {-1, -1, -1}};
	int status = 0;
	if (eng_container_exec(g, id, &o, &status, &e) < 0)
		cli_fail(status, &e);
	rc = status;
out:
	eng_close(g);
	strv_free(env);
	strv_free(av);
	return rc;
}

int cmd_ps(cli *c, int argc, char **argv);
int cmd_logs(cli *c, int argc, char **argv);

int cmd_container(cli *c, int argc, char **argv)
{
	static const cli_cmd sub[] = {
	    {"run", cmd_run, "Run a command in a new container"},
	    {"create", cmd_create, "Create a container"},
	    {"start", cmd_start, "Start containers"},
	    {"stop", cmd_stop, "Stop containers"},
	    {"restart", cmd_restart, "Restart containers"},
	    {"kill", cmd_kill, "Send a signal to containers"},
	    {"rm", cmd_rm, "Remove containers"},
	    {"wait", cmd_wait, "Wait for containers to exit"},
	    {"attach", cmd_attach, "Attach to a running container"},
	    {"pause", cmd_pause, "Pause containers"},
	    {"unpause", cmd_unpause, "Unpause containers"},
	    {"inspect", cmd_container_inspect, "Show containers' details"},
	    {"exec", cmd_exec, "Run a command in a running container"},
	    {"ps", cmd_ps, "List containers"},
	    {"ls", cmd_ps, "List containers"},
	    {"list", cmd_ps, "List containers"},
	    {"logs", cmd_logs, "Show a container's logs"},
	    {"prune", cmd_prune, "Remove all stopped containers"},
	    {"cleanup", cmd_cleanup, "After a container's exit (run by its monitor)"},
	    {"probe", cmd_probe, "Run a container's probes (started by berth)"},
	    {"monitor-child", cmd_monitor_child, "Launch a container's monitor (started by berth)"},
	    {"exec-child", cmd_exec_child, "Run an exec for a threaded berth (started by berth)"},
	    {"sweep", cmd_sweep, "Purge removed containers' leftovers (started by berth)"},
	    {"stats", cmd_stats, "Show containers' resource usage"},
	    {"top", cmd_top, "Show a container's processes"},
	    {"update", cmd_update, "Update containers' resource limits and restart policy"},
	    {"rename", cmd_rename, "Rename a container"},
	    {"cp", cmd_cp, "Copy files between a container and the host"}};
	static const cli_doc doc = {"container",
				    "COMMAND",
				    "Manage containers",
				    NULL,
				    "berth container ls -a\nberth container prune",
				    CLI_ARGS_NONE};
	return cli_subcommands(c, &doc, sub, ARRAY_SIZE(sub), argc, argv);
}
