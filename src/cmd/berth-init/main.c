/* berth-init: the `--init` process (tini's role). Bind-mounted read-only at
 * /dev/init in the container and run as its pid 1:
 *     /dev/init -- CMD ARGS...
 * It starts CMD as its child, forwards the signals it gets to it, reaps
 * every zombie re-parented to it, and exits with CMD's status (128+N for
 * a signal). Linked statically (no libc in the image is assumed). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int i = 1;
	if (i < argc && !strcmp(argv[i], "--"))
		i++;
	if (i >= argc) {
		fprintf(stderr, "usage: berth-init -- COMMAND [ARG...]\n");
		return 125;
	}
	sigset_t all, old;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid_t child = fork();
	if (child < 0) {
		perror("berth-init: fork");
		return 125;
	}
	if (child == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		setpgid(0, 0);
		execvp(argv[i], argv + i);
		fprintf(stderr, "berth-init: exec %s: %s\n", argv[i], strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	}
	for (;;) {
		siginfo_t si;
		struct timespec ts = {1, 0};
		int sig = sigtimedwait(&all, &si, &ts);
		if (sig > 0 && sig != SIGCHLD)
			kill(child, sig);
		int st;
		pid_t w;
		while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
			if (w == child)
				return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		}
	}
}
