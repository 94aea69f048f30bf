#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "seccomp/seccomp.h"
#include "util/fs.h"
#include "util/xalloc.h"

static char dir[64];

static void profile(spec_seccomp *s, int err)
{
	static char *names[] = {"mkdirat", NULL};
	static spec_seccomp_rule rule;
	rule = (spec_seccomp_rule){
	    .names = names, .action = SECCOMP_ACT_ERRNO, .errno_ret = {true, (uint64_t)err}};
	*s = (spec_seccomp){
	    .present = true, .default_action = SECCOMP_ACT_ALLOW, .rules = &rule, .n_rules = 1};
}

static void setup(void)
{
	berr e;
	strcpy(dir, "/tmp/berth-sccache-XXXXXX");
	if (!mkdtemp(dir))
		abort();
	fs_rm_rf_at(AT_FDCWD, dir, &e);
}

static void teardown(void)
{
	berr e;
	fs_rm_rf_at(AT_FDCWD, dir, &e);
}

static bool same(const seccomp_prog *a, const seccomp_prog *b)
{
	return a->len == b->len && a->flags == b->flags &&
	       !memcmp(a->insns, b->insns, a->len * sizeof(struct sock_filter));
}

static void test_hit_equals_fresh_compile(void)
{
	setup();
	spec_seccomp s;
	profile(&s, 38);
	berr e;
	seccomp_prog fresh, first, second;
	CHECK(seccomp_compile(&s, &fresh, &e) == 0);
	CHECK(seccomp_compile_cached(&s, "{\"k\":1}", dir, &first, &e) == 0);
	CHECK(seccomp_compile_cached(&s, "{\"k\":1}", dir, &second, &e) == 0);
	CHECK(same(&fresh, &first));
	CHECK(same(&fresh, &second));
	struct stat st;
	CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700);
	seccomp_prog_free(&fresh);
	seccomp_prog_free(&first);
	seccomp_prog_free(&second);
	teardown();
}

static void test_other_key_is_not_served(void)
{
	setup();
	spec_seccomp a, b;
	berr e;
	seccomp_prog pa, pb, fresh_b;
	profile(&a, 38);
	CHECK(seccomp_compile_cached(&a, "{\"k\":1}", dir, &pa, &e) == 0);
	/* a different profile under a different key compiles anew */
	profile(&b, 1);
	CHECK(seccomp_compile_cached(&b, "{\"k\":2}", dir, &pb, &e) == 0);
	CHECK(seccomp_compile(&b, &fresh_b, &e) == 0);
	CHECK(same(&pb, &fresh_b));
	CHECK(!same(&pa, &pb));
	seccomp_prog_free(&pa);
	seccomp_prog_free(&pb);
	seccomp_prog_free(&fresh_b);
	teardown();
}

static void test_corrupt_or_untrusted_cache_ignored(void)
{
	setup();
	spec_seccomp s;
	profile(&s, 38);
	berr e;
	seccomp_prog p, fresh;
	CHECK(seccomp_compile_cached(&s, "{\"k\":1}", dir, &p, &e) == 0);
	seccomp_prog_free(&p);
	/* truncate every cache file: the next call must recompile */
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "for f in %s/*.bpf; do head -c 40 $f > $f.t && mv $f.t $f; done",
		 dir);
	CHECK(system(cmd) == 0);
	CHECK(seccomp_compile_cached(&s, "{\"k\":1}", dir, &p, &e) == 0);
	CHECK(seccomp_compile(&s, &fresh, &e) == 0);
	CHECK(same(&p, &fresh));
	seccomp_prog_free(&p);
	/* a group/world-accessible cache dir is not trusted (still compiles) */
	CHECK(chmod(dir, 0777) == 0);
	CHECK(seccomp_compile_cached(&s, "{\"k\":1}", dir, &p, &e) == 0);
	CHECK(same(&p, &fresh));
	seccomp_prog_free(&p);
	seccomp_prog_free(&fresh);
	teardown();
}

CHECK_MAIN(test_hit_equals_fresh_compile, test_other_key_is_not_served,
	   test_corrupt_or_untrusted_cache_ignored)
