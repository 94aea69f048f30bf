/* Rootless berth: the user's namespace and its pause process (userns.h). */
#include "engine/userns.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/engine.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/idmap.h"
#include "util/xalloc.h"

/* ---- /etc/subuid ------------------------------------------------------- */

static bool parse_u32_field(const char *s, size_t len, uint32_t *out)
{
	if (len == 0 || len > 10)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

int eng_subid_parse(const char *text, const char *path, const char *user, uint32_t id,
		    eng_subid out[ENG_SUBID_MAX], size_t *n, berr *e)
{
	*n = 0;
	char idstr[16];
	snprintf(idstr, sizeof(idstr), "%u", id);
	size_t line = 0;
	for (const char *p = text; p && *p;) {
		line++;
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		const char *c1 = memchr(p, ':', len);
		const char *c2 = c1 ? memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - p)) : NULL;
		if (len && p[0] != '#' && c1) {
			size_t nl = (size_t)(c1 - p);
			bool mine =
			    (user && *user && strlen(user) == nl && !strncmp(p, user, nl)) ||
			    (strlen(idstr) == nl && !strncmp(p, idstr, nl));
			if (mine) {
				eng_subid r;
				if (!c2 ||
				    !parse_u32_field(c1 + 1, (size_t)(c2 - c1 - 1), &r.start) ||
				    !parse_u32_field(c2 + 1, len - (size_t)(c2 + 1 - p),
						     &r.count) ||
				    r.count == 0 || (uint64_t)r.start + r.count - 1 > UINT32_MAX)
					return berr_set(e, EINVAL,
							"%s:%zu: expected NAME:START:COUNT", path,
							line);
				if (*n < ENG_SUBID_MAX)
					out[(*n)++] = r;
			}
		}
		p += len;
		if (*p == '\n')
			p++;
	}
	return 0;
}

static int read_subids(const char *path, const char *user, uint32_t id,
		       eng_subid out[ENG_SUBID_MAX], size_t *n, berr *e)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	*n = 0;
	if (fs_read_file_at(AT_FDCWD, path, &text, &len, e) < 0) {
		if (e->errnum == ENOENT) {
			berr_clear(e);
			return 0;
		}
		return -1;
	}
	return eng_subid_parse(text, path, user, id, out, n, e);
}

/* ---- the pause process ------------------------------------------------- */

/* The namespaces a pause process holds, by inode: pause.pid records them so
 * that when it dies the next command can find them again in a process that
 * is still in both (a container's monitor) and rejoin them. */
typedef struct ns_ino {
	unsigned long long user, mnt;
} ns_ino;

static int ns_ino_of(pid_t pid, ns_ino *o)
{
	char p[64];
	struct stat st;
	snprintf(p, sizeof(p), "/proc/%d/ns/user", (int)pid);
	if (stat(p, &st) < 0)
		return -1;
	o->user = (unsigned long long)st.st_ino;
	snprintf(p, sizeof(p), "/proc/%d/ns/mnt", (int)pid);
	if (stat(p, &st) < 0)
		return -1;
	o->mnt = (unsigned long long)st.st_ino;
	return 0;
}

/* pause.pid: "PID STARTTICKS USERNS-INODE MNTNS-INODE" (the inodes 0 when
 * unknown). The pid is 0 unless that process still runs. */
static pid_t read_pause(const char *run_root, ns_ino *ns)
{
	_cleanup_free_ char *path = xasprintf("%s/pause.pid", run_root);
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	berr e = {0};
	*ns = (ns_ino){0};
	if (fs_read_file_at(AT_FDCWD, path, &text, &len, &e) < 0)
		return 0;
	long pid = 0;
	unsigned long long start = 0, u = 0, m = 0;
	int n = sscanf(text, "%ld %llu %llu %llu", &pid, &start, &u, &m);
	if (n < 2 || pid <= 1 || pid > INT_MAX)
		return 0;
	if (n == 4)
		*ns = (ns_ino){u, m};
	if (start == 0 || eng_proc_start((pid_t)pid) != start)
		return 0;
	return (pid_t)pid;
}

pid_t eng_userns_pause_pid(const char *run_root)
{
	ns_ino ns;
	return read_pause(run_root, &ns);
}

static int write_pause(const char *run_root, pid_t pid, berr *e)
{
	_cleanup_free_ char *path = xasprintf("%s/pause.pid", run_root);
	unsigned long long start = eng_proc_start(pid);
	ns_ino ns;
	if (start == 0 || ns_ino_of(pid, &ns) < 0)
		return berr_set(e, ESRCH, "the pause process %d exited", (int)pid);
	char buf[128];
	int len =
	    snprintf(buf, sizeof(buf), "%d %llu %llu %llu\n", (int)pid, start, ns.user, ns.mnt);
	return fs_write_atomic(path, buf, (size_t)len, 0600, false, e);
}

/* A process of the caller's, other than itself, still in both namespaces
 * of a dead pause process (a running container's monitor), or 0. One pass
 * over /proc. */
static pid_t find_survivor(const ns_ino *want)
{
	if (want->user == 0 || want->mnt == 0)
		return 0;
	DIR *d = opendir("/proc");
	if (!d)
		return 0;
	pid_t found = 0, self = getpid();
	uid_t me = geteuid();
	struct dirent *de;
	while (!found && (de = readdir(d)) != NULL) {
		char *end = NULL;
		long pid = strtol(de->d_name, &end, 10);
		if (*end || pid <= 1 || pid > INT_MAX || pid == self)
			continue;
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, 0) < 0 || st.st_uid != me)
			continue;
		ns_ino ns;
		if (ns_ino_of((pid_t)pid, &ns) == 0 && ns.user == want->user && ns.mnt == want->mnt)
			found = (pid_t)pid;
	}
	closedir(d);
	return found;
}

/* Run a setuid helper (newuidmap PID 0 ID 1 IN START COUNT...); its stderr
 * becomes the error. */
static int run_map_helper(const char *helper, pid_t pid, uint32_t own, const eng_subid *r, size_t n,
			  berr *e)
{
	char *argv[4 + 3 * (ENG_SUBID_MAX + 1) + 1];
	char nums[3 * (ENG_SUBID_MAX + 1) + 1][16];
	size_t a = 0, k = 0;
	argv[a++] = (char *)helper;
	snprintf(nums[k], 16, "%d", (int)pid);
	argv[a++] = nums[k++];
	uint32_t inside = 1;
	uint32_t trip[ENG_SUBID_MAX + 1][3];
	trip[0][0] = 0, trip[0][1] = own, trip[0][2] = 1;
	for (size_t i = 0; i < n; i++) {
		trip[i + 1][0] = inside, trip[i + 1][1] = r[i].start, trip[i + 1][2] = r[i].count;
		if ((uint64_t)inside + r[i].count > UINT32_MAX)
			return berr_set(e, EINVAL, "%s: subordinate ranges too large", helper);
		inside += r[i].count;
	}
	for (size_t i = 0; i <= n; i++)
		for (int j = 0; j < 3; j++) {
			snprintf(nums[k], 16, "%u", trip[i][j]);
			argv[a++] = nums[k++];
		}
	argv[a] = NULL;
	int errp[2];
	if (pipe2(errp, O_CLOEXEC) < 0)
		return berr_sys(e, "pipe");
	pid_t h = fork();
	if (h < 0) {
		close(errp[0]);
		close(errp[1]);
		return berr_sys(e, "fork %s", helper);
	}
	if (h == 0) {
		dup2(errp[1], 2);
		execvp(helper, argv);
		dprintf(2, "%s", strerror(errno));
		_exit(127);
	}
	close(errp[1]);
	char msg[512];
	ssize_t got = fs_read_full(errp[0], msg, sizeof(msg) - 1);
	close(errp[0]);
	msg[got > 0 ? got : 0] = 0;
	for (char *c = msg; *c; c++)
		if (*c == '\n')
			*c = *(c + 1) ? ' ' : 0;
	int st = 0;
	while (waitpid(h, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
		return berr_set(e, ENOENT, "%s not found (%s): install the uidmap package", helper,
				msg);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return berr_set(e, EPERM, "%s %d: %s", helper, (int)pid, *msg ? msg : "failed");
	return 0;
}

static int write_proc(pid_t pid, const char *file, const char *text, berr *e)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return berr_sys(e, "open %s", path);
	int r = fs_write_all(fd, text, strlen(text));
	int err = errno;
	close(fd);
	if (r < 0)
		return berr_errno(e, err, "write %s", path);
	return 0;
}

/* The pause process: unshare, say so, wait to be mapped, then hold the
 * namespaces. Never returns. */
static _Noreturn void pause_main(int in, int out, bool fresh)
{
	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	int32_t msg[2] = {(int32_t)getpid(), 0};
	if (fresh)
		msg[1] = unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0 ? errno : 0;
	if (fs_write_all(out, msg, sizeof(msg)) < 0 || msg[1])
		_exit(1);
	char go = 0;
	if (fs_read_full(in, &go, 1) != 1 || go != 'g')
		_exit(1);
	setsid();
	if (chdir("/") < 0)
		_exit(1);
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_NAME, "berth-pause", 0, 0, 0);
	close(in);
	close(out);
	for (;;)
		pause();
}

/* Fork (twice, so the pause process is nobody's child here and no
 * waitpid(-1) of ours can reap it) and return its pid, unshared (fresh) or
 * in the caller's namespaces, waiting for 'g' on *go_fd. */
static pid_t spawn_pause(int *go_fd, bool fresh, berr *e)
{
	int to[2], from[2];
	if (pipe2(to, O_CLOEXEC) < 0)
		return berr_sys(e, "pipe"), -1;
	if (pipe2(from, O_CLOEXEC) < 0) {
		close(to[0]);
		close(to[1]);
		return berr_sys(e, "pipe"), -1;
	}
	pid_t mid = fork();
	if (mid < 0) {
		berr_sys(e, "fork");
		goto fail;
	}
	if (mid == 0) {
		int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (nul >= 0)
			for (int fd = 0; fd < 3; fd++)
				dup2(nul, fd);
		if (dup2(to[0], 3) < 0 || dup2(from[1], 4) < 0)
			_exit(1);
		close_range(5, ~0U, 0);
		pid_t p = fork();
		if (p < 0)
			_exit(1);
		if (p == 0)
			pause_main(3, 4, fresh);
		_exit(0);
	}
	close(to[0]);
	close(from[1]);
	int st = 0;
	while (waitpid(mid, &st, 0) < 0 && errno == EINTR)
		;
	int32_t msg[2] = {0, -1};
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
	    fs_read_full(from[0], msg, sizeof(msg)) != sizeof(msg) || msg[0] <= 1) {
		berr_set(e, EIO, "starting the pause process failed");
		close(from[0]);
		close(to[1]); /* a pause process that got this far reads EOF and exits */
		return -1;
	}
	close(from[0]);
	if (msg[1] != 0) {
		close(to[1]);
		return berr_errno(e, msg[1], "unshare user and mount namespaces"), -1;
	}
	*go_fd = to[1];
	return (pid_t)msg[0];
fail:
	close(to[0]);
	close(to[1]);
	close(from[0]);
	close(from[1]);
	return -1;
}

static int map_ids(pid_t pid, uid_t uid, gid_t gid, eng_userns *u, berr *e)
{
	struct passwd *pw = getpwuid(uid);
	const char *name = pw ? pw->pw_name : NULL;
	eng_subid su[ENG_SUBID_MAX], sg[ENG_SUBID_MAX];
	size_t nu = 0, ng = 0;
	if (read_subids("/etc/subuid", name, uid, su, &nu, e) < 0 ||
	    read_subids("/etc/subgid", name, uid, sg, &ng, e) < 0)
		return -1;
	if (nu == 0 || ng == 0) {
		char m[64];
		snprintf(m, sizeof(m), "0 %u 1\n", (unsigned)uid);
		if (write_proc(pid, "uid_map", m, e) < 0)
			return -1;
		if (write_proc(pid, "setgroups", "deny", e) < 0)
			return -1;
		snprintf(m, sizeof(m), "0 %u 1\n", (unsigned)gid);
		if (write_proc(pid, "gid_map", m, e) < 0)
			return -1;
		u->single = true;
		u->n_uids = u->n_gids = 1;
		u->warning = xasprintf("%s has no range for %s: single-uid mode (files that "
				       "images give to other users become yours; add "
				       "\"%s:100000:65536\" to /etc/subuid and /etc/subgid)",
				       nu == 0 ? "/etc/subuid" : "/etc/subgid",
				       name ? name : "this user", name ? name : "USER");
		return 0;
	}
	if (run_map_helper("newuidmap", pid, uid, su, nu, e) < 0 ||
	    run_map_helper("newgidmap", pid, gid, sg, ng, e) < 0)
		return -1;
	u->n_uids = 1, u->n_gids = 1;
	for (size_t i = 0; i < nu; i++)
		u->n_uids += su[i].count;
	for (size_t i = 0; i < ng; i++)
		u->n_gids += sg[i].count;
	return 0;
}

/* A pause process: with u, in new namespaces mapped as u says; without, in
 * the caller's (after rejoining those of a dead one). */
static int make_pause(const char *run_root, eng_userns *u, berr *e)
{
	int go = -1;
	pid_t pid = spawn_pause(&go, u != NULL, e);
	if (pid < 0)
		return -1;
	if (u && map_ids(pid, geteuid(), getegid(), u, e) < 0)
		goto fail;
	if (fs_write_all(go, "g", 1) < 0) {
		berr_sys(e, "start the pause process");
		goto fail;
	}
	close(go);
	go = -1;
	if (write_pause(run_root, pid, e) < 0)
		goto fail;
	if (u)
		u->created = true;
	return (int)pid;
fail:
	if (go >= 0)
		close(go);
	kill(pid, SIGKILL);
	if (u) {
		free(u->warning);
		u->warning = NULL;
	}
	return -1;
}

static int join(pid_t pid, berr *e)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d/ns/user", (int)pid);
	_cleanup_close_ int ufd = open(p, O_RDONLY | O_CLOEXEC);
	if (ufd < 0)
		return berr_sys(e, "open %s", p);
	snprintf(p, sizeof(p), "/proc/%d/ns/mnt", (int)pid);
	_cleanup_close_ int mfd = open(p, O_RDONLY | O_CLOEXEC);
	if (mfd < 0)
		return berr_sys(e, "open %s", p);
	char cwd[PATH_MAX];
	bool have_cwd = getcwd(cwd, sizeof(cwd)) != NULL;
	if (setns(ufd, CLONE_NEWUSER) < 0)
		return berr_sys(e, "setns: user namespace of the pause process %d", (int)pid);
	if (setns(mfd, CLONE_NEWNS) < 0)
		return berr_sys(e, "setns: mount namespace of the pause process %d", (int)pid);
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		return berr_sys(e, "setresuid 0 in the user namespace");
	/* the host's supplementary groups are not ours in here (fails harmlessly
	 * in single-uid mode, where setgroups is denied) */
	(void)setgroups(0, NULL);
	if (!have_cwd || chdir(cwd) < 0) {
		if (chdir("/") < 0)
			return berr_sys(e, "chdir /");
	}
	return 0;
}

static void count_ids(eng_userns *u)
{
	idmap *m = xzalloc(sizeof(*m));
	berr e = {0};
	if (idmap_read_self("uid", m, &e) == 0)
		u->n_uids = idmap_size(m);
	if (idmap_read_self("gid", m, &e) == 0)
		u->n_gids = idmap_size(m);
	u->single = u->n_uids <= 1;
	free(m);
}

int eng_userns_enter(const char *run_root, eng_userns *out, berr *e)
{
	memset(out, 0, sizeof(*out));
	if (idmap_in_userns() || geteuid() == 0)
		return 0;
	if (fs_mkdir_p(run_root, 0700, e) < 0)
		return berr_ctx(e, "run root");
	struct stat st;
	if (stat(run_root, &st) < 0)
		return berr_sys(e, "stat %s", run_root);
	if (st.st_uid != geteuid() || (st.st_mode & 077))
		return berr_set(
		    e, EPERM, "%s: not a private directory of uid %u (mode %o, owner %u)", run_root,
		    (unsigned)geteuid(), (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid);
	_cleanup_free_ char *lp = xasprintf("%s/pause.lock", run_root);
	_cleanup_close_ int lfd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lfd < 0)
		return berr_sys(e, "open %s", lp);
	while (flock(lfd, LOCK_EX) < 0)
		if (errno != EINTR)
			return berr_sys(e, "flock %s", lp);
	ns_ino held;
	pid_t pid = read_pause(run_root, &held);
	if (pid > 0 && join(pid, e) == 0) {
		count_ids(out);
		return 0;
	}
	if (pid > 0 && eng_userns_pause_pid(run_root) == pid)
		return -1; /* alive but not joinable: the error says why */
	berr_clear(e);
	/* the pause process died (kill -9) while containers still run in its
	 * namespaces: rejoin them through a survivor, as Podman does through
	 * conmon, and hold them again; a new namespace would not see those
	 * containers' mounts nor be allowed into their processes */
	pid_t old = find_survivor(&held);
	if (old > 0 && join(old, e) == 0) {
		count_ids(out);
		if (make_pause(run_root, NULL, e) < 0)
			return berr_ctx(e, "holding the namespaces of process %d again", (int)old);
		return 0;
	}
	berr_clear(e);
	pid = make_pause(run_root, out, e);
	if (pid < 0)
		return -1;
	if (join(pid, e) < 0) {
		kill(pid, SIGKILL);
		eng_userns_clear(out);
		return -1;
	}
	return 0;
}

void eng_userns_clear(eng_userns *u)
{
	free(u->warning);
	memset(u, 0, sizeof(*u));
}
