/* Terminals: a pty made inside the container (its own devpts), the master
 * handed to the caller over --console-socket (SCM_RIGHTS, as runc does) or
 * to the runtime itself, which then proxies the caller's terminal. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "runtime/internal.h"
#include "runtime/sync.h"
#include "util/cleanup.h"
#include "util/fs.h"

int term_open_pty(const spec_process *p, int *slave_out, berr *e)
{
	_cleanup_close_ int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return berr_sys(e, "process.terminal: open /dev/ptmx");
	if (unlockpt(master) < 0)
		return berr_sys(e, "process.terminal: unlockpt");
	/* The peer by ioctl, not by a path name a container could swap. */
	int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0)
		return berr_sys(e, "process.terminal: open pty peer");
	if (p->has_console_size) {
		struct winsize ws = {.ws_row = (unsigned short)p->console_height,
				     .ws_col = (unsigned short)p->console_width};
		if (ioctl(slave, TIOCSWINSZ, &ws) < 0) {
			close(slave);
			return berr_sys(e, "process.consoleSize: set window size");
		}
	}
	*slave_out = slave;
	return take_fd(&master);
}

int term_send_master(int sock, int master, berr *e)
{
	if (sync_send(sock, SYNC_PTY, 0, "/dev/ptmx", master) < 0)
		return berr_sys(e, "send pty master over the console socket");
	return 0;
}

/* /dev/console in the container becomes the pty, as in runc. Whatever is
 * there (a symlink planted by the image: CVE-2025-52565) is replaced by a
 * plain file, opened without following links and checked, and the pty is
 * mounted over that fd. */
static int bind_console(int slave, berr *e)
{
	_cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return berr_sys(e, "open /");
	char name[16];
	_cleanup_close_ int dev =
	    fs_parent_in_root(root, "/dev/console", name, sizeof(name), true, e);
	if (dev < 0)
		return berr_ctx(e, "/dev/console");
	struct stat st;
	if (fstatat(dev, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode) &&
	    !S_ISCHR(st.st_mode) && unlinkat(dev, name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0)
		return berr_sys(e, "replace /dev/console");
	_cleanup_close_ int devdir = openat(dev, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (devdir < 0)
		return berr_sys(e, "open /dev");
	int f = openat(devdir, name, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (f >= 0)
		close(f);
	else if (errno != EEXIST && errno != ENXIO && errno != EIO)
		return berr_sys(e, "create /dev/console");
	_cleanup_close_ int target = openat(devdir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (target < 0 || fstat(target, &st) < 0)
		return berr_sys(e, "open /dev/console");
	if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode))
		return berr_set(e, EPERM, "/dev/console is neither a file nor a device");
	if (mount(fs_fd_path(slave).s, fs_fd_path(target).s, NULL, MS_BIND, NULL) < 0)
		return berr_sys(e, "bind the pty on /dev/console");
	return 0;
}

int term_make_controlling(int slave, bool console, berr *e)
{
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		return berr_sys(e, "process.terminal: set controlling terminal");
	for (int fd = 0; fd < 3; fd++)
		if (dup2(slave, fd) < 0)
			return berr_sys(e, "process.terminal: dup2");
	if (console && bind_console(slave, e) < 0)
		return berr_ctx(e, "process.terminal");
	return 0;
}

static void copy_once(int from, int to, bool *eof)
{
	char buf[16384];
	ssize_t n = read(from, buf, sizeof(buf));
	if (n <= 0) {
		if (n == 0 || (errno != EINTR && errno != EAGAIN))
			*eof = true;
		return;
	}
	if (fs_write_all(to, buf, (size_t)n) < 0)
		*eof = true;
}

int term_attach_and_wait(int master, pid_t child, int pidfd, int *status, berr *e)
{
	struct termios saved;
	bool raw = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
	if (raw) {
		struct termios t = saved;
		cfmakeraw(&t);
		tcsetattr(STDIN_FILENO, TCSANOW, &t);
		struct winsize ws;
		if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
			ioctl(master, TIOCSWINSZ, &ws);
	}
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGWINCH);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigprocmask(SIG_BLOCK, &set, &old);
	_cleanup_close_ int sfd = signalfd(-1, &set, SFD_CLOEXEC);
	bool in_eof = false, out_eof = false, exited = false;
	while (!exited) {
		struct pollfd p[4] = {{.fd = in_eof ? -1 : STDIN_FILENO, .events = POLLIN},
				      {.fd = out_eof ? -1 : master, .events = POLLIN},
				      {.fd = pidfd, .events = POLLIN},
				      {.fd = sfd, .events = POLLIN}};
		if (poll(p, 4, -1) < 0) {
			if (errno == EINTR)
				continue;
			berr_sys(e, "poll");
			break;
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR))
			copy_once(STDIN_FILENO, master, &in_eof);
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR))
			copy_once(master, STDOUT_FILENO, &out_eof);
		if (p[3].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				struct winsize ws;
				if (si.ssi_signo == SIGWINCH) {
					if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
						ioctl(master, TIOCSWINSZ, &ws);
				} else {
					kill(child, (int)si.ssi_signo);
				}
			}
		}
		if (p[2].revents & POLLIN)
			exited = true;
	}
	/* Drain what the process wrote before it exited. */
	for (bool eof = out_eof; !eof;) {
		struct pollfd p = {.fd = master, .events = POLLIN};
		if (poll(&p, 1, 0) <= 0)
			break;
		copy_once(master, STDOUT_FILENO, &eof);
	}
	int r = 0;
	if (waitpid(child, status, 0) < 0)
		r = berr_sys(e, "wait for container process");
	if (raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return r;
}
