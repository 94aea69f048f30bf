/* The front end's side of start and attach: this terminal (raw mode, its
 * size) and this process's signals (SIGWINCH, the proxied ones) around the
 * engine's relay (src/lib/engine/attach.c), which polls a signalfd made
 * here; and the printing of what a start or an attach reports. One place
 * for run, start (-a) and attach. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include "ctr.h"
#include "util/cleanup.h"

static const int proxied[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

static bool term_size(uint16_t *rows, uint16_t *cols)
{
	struct winsize ws;
	if (ioctl(0, TIOCGWINSZ, &ws) < 0)
		return false;
	*rows = ws.ws_row;
	*cols = ws.ws_col;
	return true;
}

/* The signalfd is readable: a resize, or a signal for the container. */
static void on_signal(void *arg, eng_attach_event *ev)
{
	int sfd = *(int *)arg;
	struct signalfd_siginfo si;
	if (read(sfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return;
	if ((int)si.ssi_signo == SIGWINCH)
		ev->resize = term_size(&ev->rows, &ev->cols);
	else
		ev->signal = (int)si.ssi_signo;
}

/* Relay on sock, or with sock -1 attach (eng_container_attach): *status.
 * The signals stay blocked afterwards, as a handler that swallows them
 * would (one arriving late must not kill us half-way through a cleanup);
 * what is pending then goes unseen. */
static int relay_io(eng *g, const char *id, int sock, const ctr_io *io, int *status, berr *e)
{
	eng_attach_opts o = {.in_fd = io->in ? 0 : -1,
			     .out_fd = 1,
			     .err_fd = 2,
			     .eof_closes = io->eof_closes,
			     .sig_proxy = io->sig_proxy,
			     .event_fd = -1,
			     .hup_fd = -1};
	if (io->keys && eng_parse_detach_keys(io->keys, o.keys, &o.nkeys, e) < 0)
		return -1;
	struct termios saved;
	bool raw = false;
	/* raw only when our input goes there (as Docker): otherwise ^C must
	 * stay a signal, or nothing could stop us */
	if (io->tty && io->in && isatty(0) && tcgetattr(0, &saved) == 0) {
		struct termios t = saved;
		cfmakeraw(&t);
		raw = tcsetattr(0, TCSANOW, &t) == 0;
	}
	sigset_t set;
	sigemptyset(&set);
	if (io->tty) {
		sigaddset(&set, SIGWINCH);
		term_size(&o.rows, &o.cols);
	}
	for (size_t k = 0; k < sizeof(proxied) / sizeof(proxied[0]); k++) {
		if (io->sig_proxy) {
			/* like docker's sig-proxy: what we get, the container gets */
			sigaddset(&set, proxied[k]);
		} else if (proxied[k] == SIGINT || proxied[k] == SIGTERM) {
			/* ^C and a kill stop us even when we were started with
			 * them ignored (an asynchronous job of a shell without
			 * job control inherits SIGINT ignored), as Docker's
			 * runtime does */
			struct sigaction dfl = {.sa_handler = SIG_DFL};
			sigaction(proxied[k], &dfl, NULL);
		}
	}
	int sfd = -1;
	if (io->tty || io->sig_proxy) {
		sigprocmask(SIG_BLOCK, &set, NULL);
		sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
		if (sfd >= 0) {
			o.event_fd = sfd;
			o.on_event = on_signal;
			o.arg = &sfd;
		}
	}
	int r = 0;
	if (sock >= 0)
		*status = eng_attach_relay(g, id, sock, &o);
	else
		r = eng_container_attach(g, id, &o, status, e);
	if (sfd >= 0)
		close(sfd);
	if (raw)
		tcsetattr(0, TCSANOW, &saved);
	return r;
}

int ctr_relay(eng *g, const char *id, int sock, const ctr_io *io)
{
	int status = ENG_ATTACH_GONE;
	berr e;
	if (relay_io(g, id, sock, io, &status, &e) < 0)
		cli_fail(0, &e);
	return status;
}

void ctr_start_report(const eng_start_result *r)
{
	for (size_t i = 0; r->warnings && r->warnings[i]; i++)
		fprintf(stderr, "berth: warning: %s\n", r->warnings[i]);
	if (r->attach_lost)
		cli_fail(0, &r->attach_err);
}

int ctr_start(eng *g, const char *id, bool attach, bool interactive)
{
	_cleanup_free_ char *sd = cli_self_dir();
	eng_start_opts so = {.helper_dir = sd, .attach = attach, .interactive = interactive};
	eng_start_result r;
	berr e;
	if (eng_container_start(g, id, &so, &r, &e) < 0) {
		ctr_start_report(&r);
		cli_fail(0, &e);
		eng_start_result_free(&r);
		return r.exit_code;
	}
	ctr_start_report(&r);
	if (r.attach_fd < 0) {
		eng_start_result_free(&r);
		return 0;
	}
	bool tty = r.tty;
	/* docker run -it: ctrl-p,ctrl-q detaches (the monitor then cleans up) */
	ctr_io io = {.in = interactive,
		     .tty = tty,
		     .eof_closes = true,
		     .sig_proxy = true,
		     .keys = interactive && tty ? "ctrl-p,ctrl-q" : NULL};
	int status = ctr_relay(g, id, r.attach_fd, &io);
	return eng_container_release(g, id, &r, status);
}

int ctr_attach(eng *g, const char *ref, const char *id, const ctr_attach_opts *a)
{
	berr e;
	json_object *doc = eng_load(g, id, &e);
	if (!doc)
		return cli_fail(125, &e);
	bool tty = eng_doc_bool(doc, "Config.Tty");
	bool open_stdin = eng_doc_bool(doc, "Config.OpenStdin");
	json_object_put(doc);
	ctr_io io = {.in = open_stdin && !a->no_stdin,
		     .tty = tty,
		     /* docker attach: signals are proxied, but not to a tty
		      * container (there the terminal sends ^C as a byte) */
		     .sig_proxy = a->sig_proxy && !tty};
	if (io.in)
		io.keys = a->detach_keys ? a->detach_keys : "ctrl-p,ctrl-q";
	int status;
	if (relay_io(g, id, -1, &io, &status, &e) < 0)
		return cli_fail(125, &e);
	if (status == ENG_ATTACH_DETACHED)
		return 0;
	if (status == ENG_ATTACH_BUSY)
		return cli_failf(125,
				 "container %s already has an attached client (berth allows "
				 "one at a time)",
				 ref);
	if (status == ENG_ATTACH_GONE)
		return cli_failf(125, "lost the connection to %s's monitor", ref);
	return status;
}
