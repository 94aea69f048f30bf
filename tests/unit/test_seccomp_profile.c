/* The default profile, its JSON form, and seccomp_send_listener. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "test_seccomp_child.h"
#include "util/cleanup.h"

#define CAP(c) (1ULL << (c))

static int compile_default(uint64_t caps, seccomp_prog *p)
{
	spec_seccomp s;
	berr e;
	seccomp_default_profile(caps, &s);
	int rc = seccomp_compile(&s, p, &e);
	if (rc < 0)
		fprintf(stderr, "seccomp_compile: %s\n", e.msg);
	seccomp_profile_clear(&s);
	return rc == 0;
}

static long expect_fail(long r, int err)
{
	return r == -1 && errno == err;
}

/* An ordinary program runs: fork, execve /bin/true, wait. */
static void child_runs_true(void *arg)
{
	child_install(arg);
	long pid = syscall(SYS_fork); /* clone(SIGCHLD): no namespace flags */
	if (pid < 0)
		child_exit(1);
	if (pid == 0) {
		char *argv[] = {"/bin/true", NULL}, *envp[] = {NULL};
		syscall(SYS_execve, "/bin/true", argv, envp);
		child_exit(2);
	}
	int st = 0;
	if (syscall(SYS_wait4, pid, &st, 0, NULL) != pid)
		child_exit(3);
	child_exit(WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 4);
}

static void test_default_profile_runs_a_program(void)
{
	seccomp_prog p;
	CHECK(compile_default(0, &p));
	CHECK(exited_with(run_child(child_runs_true, &p), 0));
	seccomp_prog_free(&p);
}

/* What the default profile must refuse without capabilities. */
static void child_denials(void *arg)
{
	child_install(arg);
	char buf[8];
	if (!expect_fail(syscall(SYS_kexec_load, 0, 0, NULL, 0), EPERM))
		child_exit(10);
	if (!expect_fail(syscall(SYS_open_by_handle_at, -1, NULL, 0), EPERM))
		child_exit(11);
	if (!expect_fail(syscall(SYS_add_key, "user", "k", "v", 1, -3), EPERM))
		child_exit(12);
	if (!expect_fail(syscall(SYS_syslog, 10, NULL, 0), EPERM)) /* size of the log buffer */
		child_exit(13);
	if (!expect_fail(syscall(SYS_unshare, 0), EPERM))
		child_exit(14);
	if (!expect_fail(syscall(SYS_mount, "none", "/", NULL, MS_REMOUNT, NULL), EPERM))
		child_exit(15);
	if (!expect_fail(syscall(SYS_ptrace, 0 /* TRACEME */, 0, 0, 0), EPERM))
		child_exit(16);
	/* clone with a namespace flag, clone3 -> ENOSYS (libc falls back) */
	if (!expect_fail(syscall(SYS_clone, CLONE_NEWUTS | SIGCHLD, 0, 0, 0, 0), EPERM))
		child_exit(17);
	struct clone_args ca = {.exit_signal = SIGCHLD};
	if (!expect_fail(syscall(SYS_clone3, &ca, sizeof(ca)), ENOSYS))
		child_exit(18);
	/* personality: query and PER_LINUX are fine, ADDR_NO_RANDOMIZE not */
	if (syscall(SYS_personality, 0xffffffffUL) < 0)
		child_exit(19);
	if (!expect_fail(syscall(SYS_personality, 0x0040000UL), EPERM))
		child_exit(20);
	/* and ordinary things work */
	if (syscall(SYS_getcwd, buf, 1) != -1 || errno != ERANGE)
		child_exit(21);
	/* io_uring is off */
	if (!expect_fail(syscall(SYS_io_uring_setup, 1, NULL), EPERM))
		child_exit(22);
	child_exit(0);
}

static void test_default_profile_denials(void)
{
	seccomp_prog p;
	CHECK(compile_default(0, &p));
	CHECK(exited_with(run_child(child_denials, &p), 0));
	seccomp_prog_free(&p);
}

static void child_with_caps(void *arg)
{
	child_install(arg);
	if (syscall(SYS_unshare, 0) != 0) /* CAP_SYS_ADMIN */
		child_exit(10);
	if (syscall(SYS_syslog, 10, NULL, 0) <= 0) /* CAP_SYSLOG */
		child_exit(11);
	/* CAP_SYS_PTRACE: read our own memory through process_vm_readv */
	long src = 0x1234abcd, dst = 0;
	struct iovec l = {&dst, sizeof(dst)}, r = {&src, sizeof(src)};
	if (syscall(SYS_process_vm_readv, syscall(SYS_getpid), &l, 1, &r, 1, 0) != sizeof(dst) ||
	    dst != src)
		child_exit(12);
	/* with CAP_SYS_ADMIN clone3 is allowed (here: fails on a bad size) */
	if (!expect_fail(syscall(SYS_clone3, NULL, 0), EINVAL))
		child_exit(13);
	if (!expect_fail(syscall(SYS_kexec_load, 0, 0, NULL, 0), EPERM)) /* still no boot cap */
		child_exit(14);
	child_exit(0);
}

static void test_default_profile_capabilities(void)
{
	seccomp_prog p;
	CHECK(compile_default(CAP(CAP_SYS_ADMIN) | CAP(CAP_SYSLOG) | CAP(CAP_SYS_PTRACE), &p));
	CHECK(exited_with(run_child(child_with_caps, &p), 0));
	seccomp_prog_free(&p);

	spec_seccomp s;
	seccomp_default_profile(CAP(CAP_SYS_MODULE) | CAP(CAP_SYS_TIME) | CAP(CAP_SYS_BOOT), &s);
	_cleanup_free_ char *json = seccomp_profile_json(&s);
	CHECK_CONTAINS(json, "\"finit_module\"");
	CHECK_CONTAINS(json, "\"clock_settime\"");
	CHECK_CONTAINS(json, "\"reboot\"");
	seccomp_profile_clear(&s);
	seccomp_default_profile(0, &s);
	free(json);
	json = seccomp_profile_json(&s);
	CHECK(!strstr(json, "\"reboot\"") && !strstr(json, "\"mount\"") &&
	      !strstr(json, "\"ptrace\""));
	seccomp_profile_clear(&s);
}

static void test_default_profile_json(void)
{
	spec_seccomp s;
	seccomp_default_profile(0, &s);
	_cleanup_free_ char *text = seccomp_profile_json(&s);
	json_object *o = json_tokener_parse(text), *v;
	CHECK(o);
	CHECK(json_object_object_get_ex(o, "defaultAction", &v));
	CHECK_STREQ(json_object_get_string(v), "SCMP_ACT_ERRNO");
	CHECK(json_object_object_get_ex(o, "defaultErrnoRet", &v) && json_object_get_int(v) == 1);
	CHECK(json_object_object_get_ex(o, "architectures", &v) &&
	      json_object_array_length(v) == 3);
	CHECK(json_object_object_get_ex(o, "syscalls", &v));
	size_t names = 0, personality = 0;
	bool clone_masked = false, clone3_enosys = false;
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		json_object *r = json_object_array_get_idx(v, i), *n, *a;
		json_object_object_get_ex(r, "names", &n);
		names += json_object_array_length(n);
		const char *first = json_object_get_string(json_object_array_get_idx(n, 0));
		if (!strcmp(first, "personality"))
			personality++;
		if (!strcmp(first, "clone") && json_object_object_get_ex(r, "args", &a)) {
			json_object *a0 = json_object_array_get_idx(a, 0), *x;
			json_object_object_get_ex(a0, "value", &x);
			clone_masked = json_object_get_uint64(x) == 2114060288ULL;
			json_object_object_get_ex(a0, "op", &x);
			clone_masked = clone_masked &&
				       !strcmp(json_object_get_string(x), "SCMP_CMP_MASKED_EQ");
		}
		if (!strcmp(first, "clone3") && json_object_object_get_ex(r, "errnoRet", &a))
			clone3_enosys = json_object_get_int(a) == ENOSYS;
	}
	json_object_put(o);
	printf("default profile: %zu syscall names in %zu rules\n", names, s.n_rules);
	CHECK(names > 300);
	CHECK(personality == 5);
	CHECK(clone_masked && clone3_enosys);
	seccomp_profile_clear(&s);
}

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

struct timed {
	seccomp_prog *p;
	int wfd;
};

static void child_timed_install(void *arg)
{
	struct timed *t = arg;
	double t0 = now_us(); /* vDSO: no syscall */
	child_install(t->p);
	double dt = now_us() - t0;
	child_exit(syscall(SYS_write, t->wfd, &dt, sizeof(dt)) == sizeof(dt) ? 0 : 1);
}

/* Not a benchmark: prints compile vs install cost for the lead's information;
 * checks only that the warnings are the syscalls this libseccomp lacks. */
static void test_default_profile_cost_and_warnings(void)
{
	seccomp_prog p;
	double t0 = now_us();
	CHECK(compile_default(CAP(CAP_SYS_ADMIN), &p));
	double compile = now_us() - t0;
	int pfd[2];
	CHECK(pipe2(pfd, O_CLOEXEC) == 0);
	struct timed t = {&p, pfd[1]};
	int st = run_child(child_timed_install, &t);
	double install = -1;
	ssize_t n = read(pfd[0], &install, sizeof(install));
	close(pfd[0]);
	close(pfd[1]);
	CHECK(exited_with(st, 0) && n == sizeof(install));
	printf("default profile: %zu BPF insns, compile %.0f us, install %.0f us\n", p.len, compile,
	       install);
	for (size_t i = 0; p.warnings && p.warnings[i]; i++) {
		CHECK_CONTAINS(p.warnings[i], "unknown syscall");
		printf("  warning: %s\n", p.warnings[i]);
	}
	seccomp_prog_free(&p);
}

/* ---- compared with Podman's profile (containers-common) --------------- */

static bool allows(const spec_seccomp *s, const char *name)
{
	for (size_t i = 0; i < s->n_rules; i++)
		for (size_t k = 0; s->rules[i].action == SECCOMP_ACT_ALLOW && s->rules[i].names[k];
		     k++)
			if (!strcmp(s->rules[i].names[k], name))
				return true;
	return false;
}

/* What Podman allows to everyone and berth grants only with a capability
 * (or, for keyctl, never: the keyring is not namespaced, as Docker). */
static const char *const gated_on_purpose[] = {"clone",
					       "clone3",
					       "fsconfig",
					       "fsmount",
					       "fsopen",
					       "fspick",
					       "get_mempolicy",
					       "keyctl",
					       "mbind",
					       "mount",
					       "mount_setattr",
					       "move_mount",
					       "open_tree",
					       "pidfd_getfd",
					       "pivot_root",
					       "process_vm_readv",
					       "process_vm_writev",
					       "ptrace",
					       "reboot",
					       "set_mempolicy",
					       "setns",
					       "syslog",
					       "umount",
					       "umount2",
					       "unshare",
					       NULL};

static void test_default_profile_vs_podman(void)
{
	const char *path = "/usr/share/containers/seccomp.json";
	if (access(path, R_OK) != 0) {
		printf("skip: %s not installed (containers-common)\n", path);
		return;
	}
	json_object *podman = json_object_from_file(path), *calls;
	CHECK(podman && json_object_object_get_ex(podman, "syscalls", &calls));
	spec_seccomp none, all;
	seccomp_default_profile(0, &none);
	seccomp_default_profile(~0ULL, &all);
	size_t denied = 0, bad = 0;
	for (size_t i = 0; i < json_object_array_length(calls); i++) {
		json_object *r = json_object_array_get_idx(calls, i), *v, *names;
		json_object_object_get_ex(r, "action", &v);
		const char *act = json_object_get_string(v);
		bool conditional = (json_object_object_get_ex(r, "includes", &v) &&
				    json_object_object_length(v) > 0) ||
				   (json_object_object_get_ex(r, "excludes", &v) &&
				    json_object_object_length(v) > 0) ||
				   (json_object_object_get_ex(r, "args", &v) && v &&
				    json_object_array_length(v) > 0);
		json_object_object_get_ex(r, "names", &names);
		for (size_t k = 0; k < json_object_array_length(names); k++) {
			const char *n = json_object_get_string(json_object_array_get_idx(names, k));
			if (!conditional && !strcmp(act, "SCMP_ACT_ERRNO")) {
				/* Podman always denies it: so must we, whatever the caps */
				denied++;
				if (allows(&all, n)) {
					fprintf(stderr, "podman denies %s, berth allows it\n", n);
					bad++;
				}
			}
			if (!conditional && !strcmp(act, "SCMP_ACT_ALLOW") && !allows(&none, n)) {
				bool known = false;
				for (const char *const *g = gated_on_purpose; *g; g++)
					known = known || !strcmp(*g, n);
				if (!known) {
					fprintf(stderr, "podman allows %s, berth denies it\n", n);
					bad++;
				}
			}
		}
	}
	json_object_put(podman);
	seccomp_profile_clear(&none);
	seccomp_profile_clear(&all);
	CHECK(denied > 20);
	CHECK(bad == 0);
}

/* ---- seccomp_send_listener --------------------------------------------- */

static void test_send_listener(void)
{
	char dir[] = "/tmp/berth-seccomp-XXXXXX";
	CHECK(mkdtemp(dir));
	_cleanup_free_ char *path = NULL;
	if (asprintf(&path, "%s/agent.sock", dir) < 0)
		abort();
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	strcpy(sa.sun_path, path);
	_cleanup_close_ int srv = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int ok =
	    srv >= 0 && bind(srv, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(srv, 1) == 0;
	/* any fd stands in for the listener: the agent must get the same file */
	_cleanup_close_ int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	berr e;
	const char *state = "{\"ociVersion\":\"1.2.0\",\"id\":\"c1\",\"status\":\"creating\","
			    "\"pid\":4242,\"bundle\":\"/b\",\"annotations\":{\"a\":\"b\"}}";
	if (ok && seccomp_send_listener(path, fd, state, "MKNOD=/dev/null", &e) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		ok = 0;
	}
	_cleanup_close_ int conn = ok ? accept4(srv, NULL, NULL, SOCK_CLOEXEC) : -1;
	char buf[4096] = {0};
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl = {0};
	struct iovec iov = {buf, sizeof(buf) - 1};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = ctl.b,
			    .msg_controllen = sizeof(ctl.b)};
	ssize_t n = conn >= 0 ? recvmsg(conn, &mh, MSG_CMSG_CLOEXEC) : -1;
	unlink(path);
	rmdir(dir);
	CHECK(ok && n > 0);
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	CHECK(cm && cm->cmsg_type == SCM_RIGHTS);
	_cleanup_close_ int got = -1;
	memcpy(&got, CMSG_DATA(cm), sizeof(int));
	struct stat a, b;
	CHECK(fstat(got, &a) == 0 && fstat(fd, &b) == 0);
	CHECK(a.st_ino == b.st_ino && a.st_dev == b.st_dev);

	json_object *o = json_tokener_parse(buf), *v, *st;
	CHECK(o);
	CHECK(json_object_object_get_ex(o, "ociVersion", &v) &&
	      !strcmp(json_object_get_string(v), "1.2.0"));
	CHECK(json_object_object_get_ex(o, "fds", &v) && json_object_array_length(v) == 1 &&
	      !strcmp(json_object_get_string(json_object_array_get_idx(v, 0)), "seccompFd"));
	CHECK(json_object_object_get_ex(o, "pid", &v) && json_object_get_int(v) == 4242);
	CHECK(json_object_object_get_ex(o, "metadata", &v) &&
	      !strcmp(json_object_get_string(v), "MKNOD=/dev/null"));
	CHECK(json_object_object_get_ex(o, "state", &st) &&
	      json_object_object_get_ex(st, "id", &v) && !strcmp(json_object_get_string(v), "c1"));
	json_object_put(o);

	/* errors name the socket */
	CHECK(seccomp_send_listener("/nonexistent-berth/agent.sock", fd, state, NULL, &e) == -1);
	CHECK_CONTAINS(e.msg, "connect to listenerPath /nonexistent-berth/agent.sock");
	CHECK(seccomp_send_listener(path, fd, "{\"id\":1}", NULL, &e) == -1);
	CHECK_CONTAINS(e.msg, "missing ociVersion");
}

CHECK_MAIN(test_default_profile_runs_a_program, test_default_profile_denials,
	   test_default_profile_capabilities, test_default_profile_json,
	   test_default_profile_cost_and_warnings, test_default_profile_vs_podman,
	   test_send_listener)
