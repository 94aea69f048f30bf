/* list, ps, spec, features */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "util/cleanup.h"
#include "util/flags.h"
#include "util/fs.h"
#include "util/xalloc.h"

int cmd_list(rcli *c, int argc, char **argv)
{
	const char *format = "table";
	bool quiet = false;
	static const cli_doc doc = {"list",
				    "[command options]",
				    "lists containers started by berth-runtime with the given root",
				    NULL,
				    "berth-runtime list\nberth-runtime --root /run/x list -f json",
				    CLI_ARGS_NONE};
	const flag_def defs[] = {
	    {"format", 'f', FLAG_STRING, &format, "select one of: table or json", NULL, "table"},
	    {"quiet", 'q', FLAG_BOOL, &quiet, "display only container IDs"},
	    {0}};
	berr e;
	int i = rcli_flags(c, &doc, defs, argc, argv, &e);
	if (i == CLI_DONE)
		return 0;
	if (i < 0)
		return rcli_fail(c, &e);
	if (strcmp(format, "table") && strcmp(format, "json")) {
		berr_set(&e, EINVAL, "--format: expected table or json, got \"%s\"", format);
		return rcli_fail(c, &e);
	}
	rt_info *list = NULL;
	size_t n = 0;
	if (rt_list(&c->ctx, &list, &n, &e) < 0)
		return rcli_fail(c, &e);
	if (!strcmp(format, "json")) {
		json_object *a = json_object_new_array();
		for (size_t k = 0; k < n; k++) {
			json_object *o = json_object_new_object();
			json_object_object_add(o, "ociVersion", json_object_new_string("1.2.0"));
			json_object_object_add(o, "id", json_object_new_string(list[k].id));
			json_object_object_add(o, "pid", json_object_new_int(list[k].pid));
			json_object_object_add(
			    o, "status", json_object_new_string(rt_status_name(list[k].status)));
			json_object_object_add(o, "bundle", json_object_new_string(list[k].bundle));
			json_object_object_add(o, "rootfs", json_object_new_string(list[k].rootfs));
			json_object_object_add(o, "created",
					       json_object_new_string(list[k].created));
			json_object_object_add(o, "owner", json_object_new_string(list[k].owner));
			json_object_array_add(a, o);
		}
		printf("%s\n", json_object_to_json_string_ext(
				   a, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(a);
	} else if (quiet) {
		for (size_t k = 0; k < n; k++)
			printf("%s\n", list[k].id);
	} else {
		printf("%-20s %-8s %-10s %-40s %-31s %s\n", "ID", "PID", "STATUS", "BUNDLE",
		       "CREATED", "OWNER");
		for (size_t k = 0; k < n; k++)
			printf("%-20s %-8d %-10s %-40s %-31s %s\n", list[k].id, (int)list[k].pid,
			       rt_status_name(list[k].status), list[k].bundle, list[k].created,
			       list[k].owner);
	}
	for (size_t k = 0; k < n; k++)
		rt_info_clear(&list[k]);
	free(list);
	return 0;
}

/* `ps ID [ps options]`: run ps(1) and keep the rows of the container. */
static int ps_table(pid_t *pids, size_t n, char **ps_args, berr *e)
{
	char **argv = NULL;
	strv_push(&argv, "ps");
	if (!ps_args || !ps_args[0])
		strv_push(&argv, "-ef");
	for (size_t i = 0; ps_args && ps_args[i]; i++)
		strv_push(&argv, ps_args[i]);
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		strv_free(argv);
		return berr_sys(e, "pipe");
	}
	pid_t child = fork();
	if (child == 0) {
		dup2(p[1], STDOUT_FILENO);
		execvp("ps", argv);
		_exit(127);
	}
	strv_free(argv);
	close(p[1]);
	_cleanup_free_ char *out = NULL;
	int r = fs_read_fd(p[0], &out, NULL, e);
	close(p[0]);
	int st;
	waitpid(child, &st, 0);
	if (r < 0)
		return -1;
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		return berr_set(e, EIO, "ps failed (is procps installed?)");
	char *save = NULL;
	int pid_col = -1;
	for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (pid_col < 0) {
			_cleanup_free_ char *hdr = xstrdup(line);
			char *s2 = NULL;
			int col = 0;
			for (char *t = strtok_r(hdr, " \t", &s2); t;
			     t = strtok_r(NULL, " \t", &s2), col++)
				if (!strcmp(t, "PID"))
					pid_col = col;
			if (pid_col < 0)
				return berr_set(e, EIO, "ps output has no PID column");
			printf("%s\n", line);
			continue;
		}
		_cleanup_free_ char *row = xstrdup(line);
		char *s2 = NULL, *t = strtok_r(row, " \t", &s2);
		for (int col = 0; t && col < pid_col; col++)
			t = strtok_r(NULL, " \t", &s2);
		long pid = t ? strtol(t, NULL, 10) : -1;
		for (size_t k = 0; k < n; k++)
			if (pids[k] == pid)
				printf("%s\n", line);
	}
	return 0;
}

int cmd_ps(rcli *c, int argc, char **argv)
{
	const char *format = "table";
	static const cli_doc doc = {"ps",
				    "[command options] <container-id> [ps options]",
				    "ps displays the processes running inside a container",
				    "Without --format json, the ps options go to ps(1).",
				    "berth-runtime ps c1\nberth-runtime ps -f json c1",
				    CLI_ARGS_NONE};
	const flag_def defs[] = {
	    {"format", 'f', FLAG_STRING, &format, "select one of: table or json", NULL, "table"},
	    {0}};
	berr e;
	int i = rcli_flags(c, &doc, defs, argc, argv, &e);
	if (i == CLI_DONE)
		return 0;
	if (i < 0)
		return rcli_fail(c, &e);
	if (i >= argc) {
		rcli_usage(&doc, &e);
		return rcli_fail(c, &e);
	}
	pid_t *pids = NULL;
	size_t n = 0;
	if (rt_pids(&c->ctx, argv[i], &pids, &n, &e) < 0)
		return rcli_fail(c, &e);
	int r = 0;
	if (!strcmp(format, "json")) {
		printf("[");
		for (size_t k = 0; k < n; k++)
			printf("%s%d", k ? "," : "", (int)pids[k]);
		printf("]\n");
	} else if (ps_table(pids, n, &argv[i + 1], &e) < 0) {
		r = rcli_fail(c, &e);
	}
	free(pids);
	return r;
}

int cmd_spec(rcli *c, int argc, char **argv)
{
	const char *bundle = ".";
	bool rootless = false;
	static const cli_doc doc = {
	    "spec",
	    "[command options]",
	    "create a new specification file",
	    "The spec command creates the new specification file named \"config.json\" for the "
	    "bundle, with a default process (sh) and the default namespaces, mounts and "
	    "capabilities.",
	    "berth-runtime spec\nberth-runtime spec --rootless -b /tmp/b",
	    CLI_ARGS_NONE};
	const flag_def defs[] = {{"bundle", 'b', FLAG_STRING, &bundle,
				  "path to the root of the bundle directory", NULL, "."},
				 {"rootless", 0, FLAG_BOOL, &rootless,
				  "generate a configuration for a rootless container"},
				 {0}};
	berr e;
	int i = rcli_flags(c, &doc, defs, argc, argv, &e);
	if (i == CLI_DONE)
		return 0;
	if (i < 0)
		return rcli_fail(c, &e);
	_cleanup_close_ int dfd = open(bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		berr_sys(&e, "--bundle %s", bundle);
		return rcli_fail(c, &e);
	}
	if (faccessat(dfd, "config.json", F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		berr_set(&e, EEXIST, "%s/config.json exists: remove it first", bundle);
		return rcli_fail(c, &e);
	}
	_cleanup_free_ char *json = spec_default_json(rootless);
	if (fs_write_atomic_at(dfd, "config.json", json, strlen(json), 0644, false, &e) < 0)
		return rcli_fail(c, &e);
	return 0;
}

int cmd_features(rcli *c, int argc, char **argv)
{
	static const cli_doc doc = {
	    "features",
	    "",
	    "show the enabled features",
	    "The features document (JSON) as the OCI runtime spec defines it.",
	    "berth-runtime features",
	    CLI_ARGS_NONE};
	berr e;
	int i = rcli_flags(c, &doc, NULL, argc, argv, &e);
	if (i == CLI_DONE)
		return 0;
	if (i < 0)
		return rcli_fail(c, &e);
	_cleanup_free_ char *json = spec_features_json();
	printf("%s\n", json);
	return 0;
}
