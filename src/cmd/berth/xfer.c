/* Handing the transfer commands to berth-xfer (see cli.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

static char *xfer_path(void)
{
	_cleanup_free_ char *dir = cli_self_dir();
	return xasprintf("%s/berth-xfer", dir);
}

int cli_xfer(cli *c, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	_cleanup_free_ char *path = xfer_path();
	fflush(NULL);
	execv(path, c->argv);
	return cli_failf(125, "exec %s: %s (it is installed next to berth)", path, strerror(errno));
}

int cli_xfer_pull(cli *c, const char *ref)
{
	const char *args[] = {"pull", ref, NULL};
	return cli_xfer_run(c, args);
}

int cli_xfer_run(cli *c, const char *const *args)
{
	_cleanup_free_ char *path = xfer_path();
	size_t n = 0;
	while (args[n])
		n++;
	if (n > 16)
		return cli_failf(125, "berth-xfer: too many arguments");
	char *av[20] = {path, "--root", (char *)c->root};
	for (size_t k = 0; k < n; k++)
		av[3 + k] = (char *)args[k];
	av[3 + n] = NULL;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return cli_failf(125, "fork: %s", strerror(errno));
	if (pid == 0) {
		/* stdout stays the container's */
		dup2(STDERR_FILENO, STDOUT_FILENO);
		execv(path, av);
		fprintf(stderr, "berth: exec %s: %s\n", path, strerror(errno));
		_exit(125);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return cli_failf(125, "waitpid: %s", strerror(errno));
	return WIFEXITED(st) ? WEXITSTATUS(st) : 125;
}
