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

#define BERTH_VERSION "0.1.0"
#define SPEC_VERSION  "1.2.0"

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

static const struct {
	const char *name;
	int (*fn)(rcli *, int, char **);
	const char *help;
} commands[] = {
    {"create", cmd_create, "create a container from a bundle"},
    {"start", cmd_start, "run the user process of a created container"},
    {"run", cmd_run, "create and start a container, wait for it"},
    {"state", cmd_state, "print the state of a container (JSON)"},
    {"kill", cmd_kill, "send a signal to the container's init (or --all processes)"},
    {"delete", cmd_delete, "delete a stopped container (or --force)"},
    {"exec", cmd_exec, "run a new process in a running container"},
    {"list", cmd_list, "list containers"},
    {"ps", cmd_ps, "list the processes of a container"},
    {"spec", cmd_spec, "write a default config.json"},
    {"features", cmd_features, "print the features document (JSON)"},
    {"pause", cmd_pause, "freeze every process of a container"},
    {"resume", cmd_resume, "thaw a paused container"},
    {"update", cmd_update, "change a running container's resource limits"},
    {"events", cmd_events, "stream stats and OOM events (--stats: once)"},
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: berth-runtime [--root DIR] [--log FILE] [--log-format text|json] "
		   "[--debug] COMMAND [ARGS...]\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv)
{
	rcli c = {.ctx.state_root = "/run/berth-runtime", .log_format = "text"};
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
	bool version = false, help = false, rootless = false;
	const char *criu = NULL, *rootless_s = NULL;
	const flag_def defs[] = {
	    {"root", 0, FLAG_STRING, &c.ctx.state_root},
	    {"log", 0, FLAG_STRING, &c.log_path},
	    {"log-format", 0, FLAG_STRING, &c.log_format},
	    {"debug", 0, FLAG_BOOL, &c.debug},
	    {"systemd-cgroup", 0, FLAG_BOOL, &c.ctx.systemd_cgroup},
	    {"criu", 0, FLAG_STRING, &criu},
	    {"rootless", 0, FLAG_STRING, &rootless_s},
	    {"version", 'v', FLAG_BOOL, &version},
	    {"help", 'h', FLAG_BOOL, &help},
	    {0},
	};
	(void)rootless;
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
	if (help || i >= argc) {
		usage(help ? stdout : stderr);
		return help ? 0 : 1;
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
