#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli_common.h"
#include "util/flags.h"
#include "util/xalloc.h"

#include "util/version.h"
#define SPEC_VERSION "1.2.0"

static void log_line(rcli *c, const char *level, const char *msg)
{
	if (!c->log_path || !*c->log_path)
		return;
	int fd = open(c->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	char ts[64];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return;
	}
	if (c->log_format && !strcmp(c->log_format, "json")) {
		fprintf(f, "{\"level\":\"%s\",\"msg\":\"", level);
		for (const char *p = msg; *p; p++) {
			if (*p == '"' || *p == '\\')
				fprintf(f, "\\%c", *p);
			else if ((unsigned char)*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
		fprintf(f, "\",\"time\":\"%s\"}\n", ts);
	} else {
		fprintf(f, "time=\"%s\" level=%s msg=\"%s\"\n", ts, level, msg);
	}
	fclose(f);
}

int rcli_fail(rcli *c, const berr *e)
{
	rcli_warnings(c);
	fputs("berth-runtime: ", stderr);
	cli_print_clean(stderr, e->msg); /* config values, hook output: outside text */
	fputc('\n', stderr);
	log_line(c, "error", e->msg);
	return 1;
}

void rcli_warnings(rcli *c)
{
	for (size_t i = 0; c->ctx.warnings && c->ctx.warnings[i]; i++) {
		fputs("berth-runtime: warning: ", stderr);
		cli_print_clean(stderr, c->ctx.warnings[i]);
		fputc('\n', stderr);
		log_line(c, "warning", c->ctx.warnings[i]);
	}
	strv_free(c->ctx.warnings);
	c->ctx.warnings = NULL;
}

static const cli_prog runtime_prog = {"berth-runtime", "berth-runtime Manual", 8, true};

int rcli_usage(const cli_doc *d, berr *e)
{
	return berr_set(e, EINVAL, "usage: berth-runtime %s %s", d->name, d->usage);
}

int rcli_flags(rcli *c, const cli_doc *d, const flag_def *defs, int argc, char **argv, berr *e)
{
	int i = cli_leaf(&c->ui, d, defs, argc, argv, e);
	if (i == CLI_BAD) {
		char m[sizeof(e->msg)];
		snprintf(m, sizeof(m), "%s", e->msg);
		berr_set(e, EINVAL, "%s (see 'berth-runtime %s --help')", m, d->name);
		return -1;
	}
	return i;
}

static const struct {
	const char *name;
	int (*fn)(rcli *, int, char **);
	const char *help;
} commands[] = {
    {"create", cmd_create, "create a container"},
    {"start", cmd_start, "executes the user defined process in a created container"},
    {"run", cmd_run, "create and run a container"},
    {"state", cmd_state, "output the state of a container"},
    {"kill", cmd_kill,
     "kill sends the specified signal (default: SIGTERM) to the container's "
     "init process"},
    {"delete", cmd_delete, "delete any resources held by the container"},
    {"exec", cmd_exec, "execute new process inside the container"},
    {"list", cmd_list, "lists containers started by berth-runtime with the given root"},
    {"ps", cmd_ps, "ps displays the processes running inside a container"},
    {"spec", cmd_spec, "create a new specification file"},
    {"features", cmd_features, "show the enabled features"},
    {"pause", cmd_pause, "pause suspends all processes inside the container"},
    {"resume", cmd_resume, "resumes all processes that have been previously paused"},
    {"update", cmd_update, "update container resource constraints"},
    {"events", cmd_events, "display container events such as OOM notifications and stats"},
};

static const cli_doc runtime_doc = {
    "",
    "[global options] command [command options] [arguments...]",
    "Open Container Initiative runtime",
    "berth-runtime is a command line client for running applications packaged according to "
    "the Open Container Initiative (OCI) format, with runc's command line, so that Podman, "
    "containerd and Kubernetes can drive it.\n"
    "Containers are configured using bundles: a directory with a specification file named "
    "\"config.json\" and a root filesystem. State lives under --root.",
    "berth-runtime spec\nberth-runtime run --bundle /tmp/b c1\nberth-runtime list",
    CLI_ARGS_NONE};

static void top_help(rcli *c, const flag_def *defs)
{
	cli_sub subs[CLI_MAX_SUBS];
	size_t n = 0;
	for (; n < sizeof(commands) / sizeof(commands[0]) && n < CLI_MAX_SUBS; n++)
		subs[n] = (cli_sub){commands[n].name, commands[n].help};
	if (c->ui.mode == CLI_COMPLETE)
		return;
	if (c->ui.mode == CLI_MAN)
		cli_print_man(stdout, &runtime_prog, &runtime_doc, defs, subs, n);
	else
		cli_print_help(stdout, &runtime_prog, &runtime_doc, defs, subs, n);
}

/* The meta words (help, __complete, __man, __parse) before the command. */
static int meta_word(rcli *c, int argc, char **argv, int i)
{
	static const struct {
		const char *word;
		enum cli_mode mode;
	} meta[] = {{"help", CLI_HELP},
		    {"__complete", CLI_COMPLETE},
		    {"__man", CLI_MAN},
		    {"__parse", CLI_PARSE}};
	for (size_t k = 0; i < argc && k < sizeof(meta) / sizeof(meta[0]); k++)
		if (!strcmp(argv[i], meta[k].word)) {
			c->ui.mode = meta[k].mode;
			return i + 1;
		}
	return i;
}

int main(int argc, char **argv)
{
	rcli c = {.ctx.state_root = "/run/berth-runtime",
		  .log_format = "text",
		  .ui = {.prog = &runtime_prog}};
	/* rootless: $XDG_RUNTIME_DIR/berth-runtime as runc uses its own there */
	char rootless_root[256];
	if (geteuid() != 0) {
		const char *xdg = getenv("XDG_RUNTIME_DIR");
		if (xdg && *xdg)
			snprintf(rootless_root, sizeof(rootless_root), "%s/berth-runtime", xdg);
		else
			snprintf(rootless_root, sizeof(rootless_root), "/tmp/berth-runtime-%u",
				 (unsigned)geteuid());
		c.ctx.state_root = rootless_root;
	}
	bool version = false, help = false;
	const char *criu = NULL, *rootless_s = NULL;
	const flag_def defs[] = {
	    {"root", 0, FLAG_STRING, &c.ctx.state_root,
	     "root directory for storage of container state", NULL, "/run/berth-runtime"},
	    {"log", 0, FLAG_STRING, &c.log_path, "set the log file to write berth-runtime logs to"},
	    {"log-format", 0, FLAG_STRING, &c.log_format, "set the log format ('text' or 'json')",
	     NULL, "text"},
	    {"debug", 0, FLAG_BOOL, &c.debug, "enable debug logging"},
	    {"systemd-cgroup", 0, FLAG_BOOL, &c.ctx.systemd_cgroup,
	     "enable systemd cgroup support, expects cgroupsPath to be of form "
	     "\"slice:prefix:name\""},
	    {"criu", 0, FLAG_STRING, &criu, "path to the criu binary (accepted, unused)"},
	    {"rootless", 0, FLAG_STRING, &rootless_s,
	     "ignore cgroup permission errors ('true', 'false', or 'auto') (accepted)", NULL,
	     "auto"},
	    {"version", 'v', FLAG_BOOL, &version, "print the version"},
	    {"help", 'h', FLAG_BOOL, &help, "show help"},
	    {0},
	};
	berr e;
	int i = flags_parse(defs, argc, argv, 1, &e);
	if (i < 0)
		return rcli_fail(&c, &e);
	if (strcmp(c.log_format, "text") && strcmp(c.log_format, "json")) {
		berr_set(&e, EINVAL, "--log-format: expected text or json, got \"%s\"",
			 c.log_format);
		c.log_format = "text";
		return rcli_fail(&c, &e);
	}
	if (version) {
		printf("berth-runtime version %s\nspec: %s\n", BERTH_VERSION, SPEC_VERSION);
		return 0;
	}
	i = meta_word(&c, argc, argv, i);
	if (c.ui.mode == CLI_COMPLETE && i >= argc - 1) {
		const char *cur = i < argc ? argv[i] : "";
		for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++)
			if (!strncmp(commands[k].name, cur, strlen(cur)))
				printf("%s\n", commands[k].name);
		if (cur[0] == '-')
			cli_complete_flags(stdout, defs, cur);
		return 0;
	}
	if (help || i >= argc) {
		top_help(&c, defs);
		return help || c.ui.mode != CLI_RUN ? 0 : 1;
	}
	for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++)
		if (!strcmp(commands[k].name, argv[i])) {
			int r = commands[k].fn(&c, argc - i, argv + i);
			rcli_warnings(&c);
			return r;
		}
	berr_set(&e, EINVAL, "unknown command \"%s\" (see berth-runtime --help)", argv[i]);
	return rcli_fail(&c, &e);
}
