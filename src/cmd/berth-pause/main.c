/* berth-pause: the infra process of a pod (Kubernetes' `pause`, Podman's
 * catatonit in its role). It is PID 1 of the namespaces the pod's
 * containers join, so it only has to exist: it sleeps until SIGINT, SIGTERM
 * or SIGHUP ends it (exit status 0), and reaps any zombie re-parented to it
 * (a pod that shares its PID namespace). Linked statically: its image holds
 * nothing else. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: %s\nSleeps as a pod's infra process until SIGINT, SIGTERM or "
		       "SIGHUP.\n",
		       argv[0]);
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, "berth-pause: takes no arguments (got \"%s\")\n", argv[1]);
		return 2;
	}
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0) {
		perror("berth-pause: sigprocmask");
		return 1;
	}
	for (;;) {
		int sig;
		int r = sigwait(&set, &sig);
		if (r) {
			fprintf(stderr, "berth-pause: sigwait: %s\n", strerror(r));
			return 1;
		}
		if (sig != SIGCHLD)
			return 0;
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
	}
}
