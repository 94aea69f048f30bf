/* berth-service: `berth system service [--time SECONDS] [URI]`, the Docker
 * Engine API on a unix socket, as `podman system service` serves it.
 *
 * The socket: URI unix:///path (default <run root>/berth.sock, i.e.
 * /run/berth/berth.sock for root), or the one systemd passes (LISTEN_FDS,
 * socket activation). Made mode 0600: its owner and root may connect; a
 * peer of any other uid is answered 403 whatever the file's mode (its
 * SO_PEERCRED is checked), so a chmod of the socket admits nobody new.
 * It exits after --time seconds without a connection (Podman's default 5;
 * 0: never), or on SIGINT/SIGTERM, and removes the socket it made. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "service.h"
#include "util/cleanup.h"
#include "util/flags.h"
#include "util/fs.h"
#include "util/xalloc.h"

static const cli_doc doc = {
    "system service",
    "[OPTIONS] [URI]",
    "Serve the Docker Engine API",
    "On a unix socket (default unix://<run root>/berth.sock: /run/berth/berth.sock for root), "
    "or on the socket systemd passes (LISTEN_FDS). Only the socket's owner and root may "
    "connect (checked per connection). Exits after --time seconds without a client (0: "
    "never), or on SIGINT/SIGTERM. Point the docker CLI, docker-compose or docker-py at it "
    "with DOCKER_HOST=unix:///run/berth/berth.sock.",
    "berth system service --time 0\nDOCKER_HOST=unix:///run/berth/berth.sock docker ps",
    CLI_ARGS_NONE};

/* systemd's socket activation: fd 3 when LISTEN_PID is us. */
static int activated_fd(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	if (!pid || !fds || atol(pid) != (long)getpid() || atoi(fds) < 1)
		return -1;
	int fd = 3;
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return -1;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return fd;
}

/* Bind path: a stale socket (no listener) is replaced, a live one refused. */
static int listen_unix(const char *path, berr *e)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(a.sun_path))
		return berr_set(e, ENAMETOOLONG, "socket path %s: longer than %zu bytes", path,
				sizeof(a.sun_path) - 1);
	memcpy(a.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return berr_sys(e, "socket");
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
		close(fd);
		return berr_set(e, EADDRINUSE, "%s: another service is listening on it", path);
	}
	close(fd);
	unlink(path); /* stale */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return berr_sys(e, "socket");
	mode_t old = umask(0177);
	int r = bind(fd, (struct sockaddr *)&a, sizeof(a));
	umask(old);
	if (r < 0 || listen(fd, 128) < 0) {
		berr_sys(e, "%s %s", r < 0 ? "bind" : "listen", path);
		close(fd);
		return -1;
	}
	return fd;
}

static int serve(cli *c, const char *uri, int idle_s)
{
	berr e;
	_cleanup_free_ char *path = NULL;
	int fd = activated_fd();
	if (fd < 0) {
		if (!uri)
			path = xasprintf("%s/berth.sock", c->run_root);
		else if (!strncmp(uri, "unix://", 7) && uri[7] == '/')
			path = xstrdup(uri + 7);
		else
			return cli_failf(
			    125,
			    "system service: URI %s: only unix:///PATH is served (a TCP "
			    "socket would admit anyone who reaches the port)",
			    uri);
		_cleanup_free_ char *dir = xstrdup(path);
		char *slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = 0;
			if (fs_mkdir_p(dir, 0700, &e) < 0)
				return cli_fail(125, &e);
		}
		if ((fd = listen_unix(path, &e)) < 0)
			return cli_fail(125, &e);
	}
	const char *tr = getenv("BERTH_API_TRACE");
	svc s = {.c = c, .owner = geteuid(), .trace = tr && *tr && strcmp(tr, "0")};
	pthread_mutex_init(&s.mu, NULL);
	pthread_cond_init(&s.started, NULL);
	clock_gettime(CLOCK_MONOTONIC, &s.last);
	/* the threads libmicrohttpd starts inherit this mask: the signals come here */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	struct MHD_Daemon *d =
	    MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
				 MHD_USE_POLL | MHD_ALLOW_UPGRADE | MHD_USE_ITC,
			     0, NULL, NULL, svc_handle, &s, MHD_OPTION_LISTEN_SOCKET, fd,
			     MHD_OPTION_NOTIFY_COMPLETED, svc_completed, &s,
			     MHD_OPTION_NOTIFY_CONNECTION, svc_connection, &s, MHD_OPTION_END);
	if (!d) {
		close(fd);
		if (path)
			unlink(path);
		return cli_failf(125, "system service: libmicrohttpd did not start on %s",
				 path ? path : "the passed socket");
	}
	for (;;) {
		struct timespec tick = {0, 250000000};
		int sig = sigtimedwait(&set, NULL, &tick);
		if (sig == SIGINT || sig == SIGTERM)
			break;
		if (idle_s <= 0)
			continue;
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		pthread_mutex_lock(&s.mu);
		bool idle = s.active == 0 && now.tv_sec - s.last.tv_sec >= idle_s;
		pthread_mutex_unlock(&s.mu);
		if (idle)
			break;
	}
	MHD_stop_daemon(d);
	svc_execs_free(&s);
	close(fd);
	if (path)
		unlink(path);
	pthread_mutex_destroy(&s.mu);
	pthread_cond_destroy(&s.started);
	return 0;
}

static int cmd_service(cli *c, int argc, char **argv)
{
	int idle = 5;
	const flag_def defs[] = {{"time", 't', FLAG_INT, &idle,
				  "Seconds without a client before it exits (0: never)", "int",
				  "5"},
				 {0}};
	int st, i = cli_flags(c, &doc, defs, argc, argv, &st);
	if (i < 0)
		return st;
	if (argc - i > 1)
		return cli_failf(125, "\"system service\" takes at most one URI");
	if (idle < 0)
		return cli_failf(125, "--time %d: not a number of seconds", idle);
	return serve(c, i < argc ? argv[i] : NULL, idle);
}

int main(int argc, char **argv)
{
	/* a build's fresh child (api_build.c), exec'd by the service */
	if (argc > 1 && !strcmp(argv[1], "__build-child"))
		api_build_child(argc - 2, argv + 2);
	cli c;
	int i = cli_front(&c, argc, argv);
	if (i < 0)
		return 125;
	/* `berth system service ...` arrives as is */
	if (i < argc && !strcmp(argv[i], "system"))
		i++;
	if (i >= argc || strcmp(argv[i], "service"))
		return cli_failf(
		    125, "usage: berth-service [--root DIR] system service [--time N] [URI]");
	if (c.ui.mode == CLI_RUN && cli_enter_store(&c) != 0)
		return 125;
	return cmd_service(&c, argc - i, argv + i);
}
