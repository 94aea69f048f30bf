/* lsm/procfs: redirect-proof /proc access; lsm: detection, labels. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "lsm/lsm.h"
#include "lsm/procfs.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

static char *read_sub(int root, const char *sub)
{
	berr e;
	_cleanup_close_ int fd = procfs_openat(root, sub, O_RDONLY, &e);
	if (fd < 0) {
		fprintf(stderr, "%s\n", e.msg);
		return NULL;
	}
	char *s = NULL;
	size_t len;
	if (fs_read_fd(fd, &s, &len, &e) < 0)
		return NULL;
	return s;
}

static void test_procfs_reads_through_self(void)
{
	berr e;
	_cleanup_close_ int root = procfs_root_open(&e);
	CHECK(root >= 0);
	_cleanup_free_ char *status = read_sub(root, "self/status");
	char want[64];
	snprintf(want, sizeof(want), "\nPid:\t%d\n", getpid());
	CHECK_CONTAINS(status, want);
	_cleanup_free_ char *tstatus = read_sub(root, "thread-self/status");
	snprintf(want, sizeof(want), "\nPid:\t%ld\n", (long)syscall(SYS_gettid));
	CHECK_CONTAINS(tstatus, want);
	_cleanup_free_ char *ostype = read_sub(root, "sys/kernel/ostype");
	CHECK_STREQ(ostype, "Linux\n");

	/* the /proc-path flavour and the one-shot helpers */
	_cleanup_close_ int root2 = procfs_root_at("/proc", &e);
	CHECK(root2 >= 0);
	_cleanup_free_ char *again = read_sub(root2, "self/status");
	CHECK_CONTAINS(again, "Pid:");
	_cleanup_close_ int fd = procfs_open("self/oom_score_adj", O_RDWR, &e);
	CHECK(fd >= 0);
	_cleanup_free_ char *adj = NULL;
	size_t len;
	CHECK(fs_read_fd(fd, &adj, &len, &e) == 0);
	adj[strcspn(adj, "\n")] = '\0';
	CHECK(procfs_write("self/oom_score_adj", adj, &e) == 0); /* rewrite the same value */
}

static void test_procfs_refuses_links_and_escapes(void)
{
	berr e;
	_cleanup_close_ int root = procfs_root_open(&e);
	CHECK(root >= 0);
	static const struct {
		const char *sub;
		int err;
	} bad[] = {
	    {"mounts", ELOOP},		     /* symlink to self/mounts */
	    {"self/exe", ELOOP},	     /* magic link */
	    {"self/root/etc/passwd", ELOOP}, /* magic link mid-path */
	    {"self/cwd", ELOOP},
	    {"../etc/passwd", EXDEV}, /* RESOLVE_BENEATH */
	    {"/etc/passwd", EXDEV},
	    {"self/../../etc", EXDEV},
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int fd = procfs_openat(root, bad[i].sub, O_RDONLY, &e);
		if (fd >= 0)
			close(fd);
		CHECK(fd == -1);
		if (e.errnum != bad[i].err)
			fprintf(stderr, "%s: %s\n", bad[i].sub, e.msg);
		CHECK(e.errnum == bad[i].err);
	}
	CHECK(procfs_openat(root, "mounts", O_RDONLY, &e) == -1);
	CHECK_STREQ(e.msg, "open /proc/mounts: Too many levels of symbolic links");
}

static void test_procfs_root_must_be_procfs(void)
{
	berr e;
	char dir[] = "/tmp/berth-procfs-XXXXXX";
	CHECK(mkdtemp(dir));
	int fd = procfs_root_at(dir, &e);
	rmdir(dir);
	CHECK(fd == -1);
	CHECK_CONTAINS(e.msg, "is not a procfs");
	/* a directory inside procfs is not its root */
	CHECK(procfs_root_at("/proc/sys", &e) == -1);
	CHECK_CONTAINS(e.msg, "/proc/sys is not the root of a procfs");
	CHECK(procfs_root_at("/nonexistent-berth", &e) == -1);
	CHECK_CONTAINS(e.msg, "open /nonexistent-berth");
}

/* A fake /proc on tmpfs mounted over a directory (in a private mount
 * namespace of a child, so the host sees nothing). */
static void test_procfs_refuses_tmpfs_posing_as_proc(void)
{
	char dir[] = "/tmp/berth-procfs-XXXXXX";
	CHECK(mkdtemp(dir));
	fflush(NULL);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
			_exit(2);
		if (mount("tmpfs", dir, "tmpfs", 0, "mode=755") < 0)
			_exit(3);
		berr e;
		int fd = procfs_root_at(dir, &e);
		_exit(fd == -1 && strstr(e.msg, "is not a procfs") ? 0 : 1);
	}
	int st;
	CHECK(waitpid(pid, &st, 0) == pid);
	rmdir(dir);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* CVE-2025-52881 shape: a procfs file bind-mounted over another procfs
 * file. The naive path follows the mount; ours must not. */
static void test_procfs_overmount_is_not_followed(void)
{
	struct utsname u;
	CHECK(uname(&u) == 0);
	fflush(NULL);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
			_exit(2);
		if (mount("/proc/sys/kernel/ostype", "/proc/sys/kernel/osrelease", NULL, MS_BIND,
			  NULL) < 0)
			_exit(3);
		berr e;
		char *s = NULL;
		size_t len;
		/* the attack works on the plain path ... */
		if (fs_read_file_at(AT_FDCWD, "/proc/sys/kernel/osrelease", &s, &len, &e) < 0 ||
		    strcmp(s, "Linux\n"))
			_exit(4);
		free(s);
		/* ... a fresh procfs has no overmount at all ... */
		int root = procfs_root_open(&e);
		if (root < 0)
			_exit(5);
		s = read_sub(root, "sys/kernel/osrelease");
		if (!s || strncmp(s, u.release, strlen(u.release)))
			_exit(6);
		free(s);
		close(root);
		/* ... and from /proc, the clone drops it or NO_XDEV refuses it */
		root = procfs_root_at("/proc", &e);
		if (root < 0)
			_exit(7);
		int fd = procfs_openat(root, "sys/kernel/osrelease", O_RDONLY, &e);
		if (fd >= 0) {
			s = NULL;
			if (fs_read_fd(fd, &s, &len, &e) < 0 ||
			    strncmp(s, u.release, strlen(u.release)))
				_exit(8);
			free(s);
		} else if (e.errnum != EXDEV) {
			_exit(9);
		}
		close(root);
		/* the last fallback, a plain /proc fd: RESOLVE_NO_XDEV refuses */
		root = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (procfs_openat(root, "sys/kernel/osrelease", O_RDONLY, &e) != -1 ||
		    e.errnum != EXDEV)
			_exit(10);
		if ((fd = procfs_openat(root, "sys/kernel/ostype", O_RDONLY, &e)) < 0)
			_exit(11); /* ... while a file without a mount on it opens */
		close(fd);
		_exit(0);
	}
	int st;
	CHECK(waitpid(pid, &st, 0) == pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		fprintf(stderr, "child status 0x%x\n", st);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* ---- lsm ----------------------------------------------------------------- */

static void put(int dir, const char *path, const char *text)
{
	_cleanup_close_ int fd = openat(dir, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || fs_write_all(fd, text, strlen(text)) < 0)
		abort();
}

static void test_lsm_detect_fake_sysfs(void)
{
	char dir[] = "/tmp/berth-lsm-XXXXXX";
	CHECK(mkdtemp(dir));
	berr e;
	_cleanup_close_ int d = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	lsm_host h;
	lsm_detect_at(dir, &h);
	bool none = !h.apparmor && !h.selinux;
	int fd = fs_mkdir_in_root(d, "kernel/security/apparmor", 0755, &e);
	close(fd);
	fd = fs_mkdir_in_root(d, "module/apparmor/parameters", 0755, &e);
	close(fd);
	put(d, "module/apparmor/parameters/enabled", "N\n");
	lsm_detect_at(dir, &h);
	bool disabled = !h.apparmor;
	put(d, "module/apparmor/parameters/enabled", "Y\n");
	lsm_detect_at(dir, &h);
	bool enabled = h.apparmor && !h.selinux;
	fd = fs_mkdir_in_root(d, "fs/selinux", 0755, &e);
	close(fd);
	put(d, "fs/selinux/enforce", "1");
	lsm_detect_at(dir, &h);
	bool both = h.apparmor && h.selinux;
	fs_rm_rf_at(AT_FDCWD, dir, &e);
	CHECK(none && disabled && enabled && both);
}

static void test_lsm_missing_on_host_is_a_warning(void)
{
	lsm_host h;
	lsm_detect(&h);
	if (h.apparmor || h.selinux) {
		printf("skip: this host has AppArmor or SELinux enabled\n");
		return;
	}
	char **w = NULL;
	berr e;
	CHECK(lsm_apply_exec_label(NULL, "", &w, &e) == 0 && w == NULL);
	CHECK(lsm_apply_exec_label("berth-default", "system_u:system_r:container_t:s0", &w, &e) ==
	      0);
	CHECK(w && w[0] && w[1] && !w[2]);
	CHECK_STREQ(w[0], "apparmor profile \"berth-default\" requested but AppArmor is not "
			  "enabled on this host");
	CHECK_STREQ(w[1], "selinux label \"system_u:system_r:container_t:s0\" requested but "
			  "SELinux is not enabled on this host");
	strv_free(w);
}

static void test_lsm_write_goes_to_thread_attr(void)
{
	/* Pretend the host has the LSMs: the write path is taken, and on a
	 * kernel without them the kernel's refusal comes back with context. */
	lsm_host real;
	lsm_detect(&real);
	if (real.apparmor || real.selinux) {
		printf("skip: would change this host's exec label\n");
		return;
	}
	berr e;
	_cleanup_close_ int root = procfs_root_open(&e);
	CHECK(root >= 0);
	lsm_host fake = {.apparmor = true, .selinux = true};
	char **w = NULL;
	CHECK(lsm_apply_exec_label_at(root, &fake, "prof", NULL, &w, &e) == -1 && !w);
	CHECK_CONTAINS(e.msg, "apparmor profile \"prof\": ");
	CHECK_CONTAINS(e.msg, "/proc/thread-self/attr/");
	CHECK(lsm_apply_exec_label_at(root, &fake, NULL, "u:r:t:s0", &w, &e) == -1 && !w);
	CHECK_CONTAINS(e.msg, "selinux label \"u:r:t:s0\": write /proc/thread-self/attr/exec");
}

static void test_lsm_mount_label(void)
{
	lsm_host se = {.selinux = true}, none = {0};
	const char *l = "system_u:object_r:container_file_t:s0:c1,c2";
	_cleanup_free_ char *a = lsm_set_mount_label("mode=755,size=65536k", l, &se);
	CHECK_STREQ(a, "mode=755,size=65536k,context=\"system_u:object_r:container_file_t:s0:c1,"
		       "c2\"");
	_cleanup_free_ char *b = lsm_set_mount_label(NULL, l, &se);
	CHECK_STREQ(b, "context=\"system_u:object_r:container_file_t:s0:c1,c2\"");
	_cleanup_free_ char *c = lsm_set_mount_label("mode=755", l, &none);
	CHECK_STREQ(c, "mode=755");
	CHECK(lsm_set_mount_label(NULL, NULL, &se) == NULL);
	CHECK(lsm_set_mount_label(NULL, l, &none) == NULL);
}

CHECK_MAIN(test_procfs_reads_through_self, test_procfs_refuses_links_and_escapes,
	   test_procfs_root_must_be_procfs, test_procfs_refuses_tmpfs_posing_as_proc,
	   test_procfs_overmount_is_not_followed, test_lsm_detect_fake_sysfs,
	   test_lsm_missing_on_host_is_a_warning, test_lsm_write_goes_to_thread_attr,
	   test_lsm_mount_label)
