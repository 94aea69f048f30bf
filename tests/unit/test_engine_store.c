/* engine: sizes, times, ids, users resolved inside a root, the store's
 * name/prefix lookup. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "engine/engine.h"
#include "util/fs.h"
#include "util/xalloc.h"

static void parse_size(void)
{
	int64_t v;
	CHECK(eng_parse_size("512m", &v) == 0 && v == 512LL << 20);
	CHECK(eng_parse_size("1g", &v) == 0 && v == 1LL << 30);
	CHECK(eng_parse_size("100k", &v) == 0 && v == 102400);
	CHECK(eng_parse_size("1024", &v) == 0 && v == 1024);
	CHECK(eng_parse_size("64MB", &v) == 0 && v == 64LL << 20);
	CHECK(eng_parse_size("lots", &v) < 0);
	CHECK(eng_parse_size("-1m", &v) < 0);
	CHECK(eng_parse_size("5x", &v) < 0);
}

static void times(void)
{
	char *t = eng_time_ns(1700000000123456789LL);
	CHECK_STREQ(t, "2023-11-14T22:13:20.123456789Z");
	CHECK(eng_time_parse(t) == 1700000000123456789LL);
	free(t);
	CHECK(eng_time_parse("0001-01-01T00:00:00Z") == 0);
	CHECK(eng_time_parse("garbage") == 0);
}

static void ids(void)
{
	char a[65], b[65];
	eng_new_id(a);
	eng_new_id(b);
	CHECK(strlen(a) == 64 && strspn(a, "0123456789abcdef") == 64);
	CHECK(strcmp(a, b) != 0);
}

static int mkroot(char *tmpl)
{
	if (!mkdtemp(tmpl))
		return -1;
	int root = open(tmpl, O_PATH | O_DIRECTORY | O_CLOEXEC);
	berr e;
	int d = fs_mkdir_in_root(root, "/etc", 0755, &e);
	close(d);
	return root;
}

static void users_in_root(void)
{
	char tmpl[] = "/tmp/test-engine-XXXXXX";
	int root = mkroot(tmpl);
	CHECK(root >= 0);
	int pfd = openat(root, "etc/passwd", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	const char *pw = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001:app:/home/app:/bin/sh\n";
	CHECK(write(pfd, pw, strlen(pw)) == (ssize_t)strlen(pw));
	close(pfd);
	int gfd = openat(root, "etc/group", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	const char *gr = "root:x:0:\napp:x:1001:\nwheel:x:10:root,app\nstaff:x:50:app\n";
	CHECK(write(gfd, gr, strlen(gr)) == (ssize_t)strlen(gr));
	close(gfd);
	uid_t u;
	gid_t g, *groups = NULL;
	size_t ng = 0;
	char *home = NULL;
	berr e;
	CHECK(eng_resolve_user(root, "app", &u, &g, &groups, &ng, &home, &e) == 0);
	CHECK(u == 1000 && g == 1001 && ng == 2 && groups[0] == 10 && groups[1] == 50);
	CHECK_STREQ(home, "/home/app");
	free(groups);
	free(home);
	CHECK(eng_resolve_user(root, "1000:wheel", &u, &g, &groups, &ng, &home, &e) == 0);
	CHECK(u == 1000 && g == 10);
	free(groups);
	free(home);
	CHECK(eng_resolve_user(root, "4242:77", &u, &g, &groups, &ng, &home, &e) == 0);
	CHECK(u == 4242 && g == 77 && ng == 0);
	free(groups);
	free(home);
	CHECK(eng_resolve_user(root, "ghost", &u, &g, &groups, &ng, &home, &e) < 0);
	CHECK_CONTAINS(e.msg, "unable to find user ghost");
	CHECK(eng_resolve_user(root, "app:nogroup", &u, &g, &groups, &ng, &home, &e) < 0);
	CHECK_CONTAINS(e.msg, "unable to find group nogroup");
	/* /etc/passwd as an absolute symlink stays inside the root */
	CHECK(unlinkat(root, "etc/passwd", 0) == 0);
	CHECK(symlinkat("/etc/passwd.real", root, "etc/passwd") == 0);
	CHECK(eng_resolve_user(root, "root", &u, &g, &groups, &ng, &home, &e) < 0);
	close(root);
	berr ig;
	fs_rm_rf_at(AT_FDCWD, tmpl, &ig);
}

static void store_lookup(void)
{
	char tmpl[] = "/tmp/test-engine-XXXXXX";
	CHECK(mkdtemp(tmpl));
	char *run = xasprintf("%s/run", tmpl);
	berr e;
	eng *g = eng_open(tmpl, run, &e);
	CHECK(g);
	char id[65], found[65];
	eng_new_id(id);
	CHECK(mkdirat(g->ctrs_fd, id, 0700) == 0);
	json_object *d = json_object_new_object();
	json_object_object_add(d, "Id", json_object_new_string(id));
	json_object_object_add(d, "Name", json_object_new_string("/web"));
	CHECK(eng_save(g, id, d, &e) == 0);
	json_object_put(d);
	CHECK(eng_name_take(g, "web", id, &e) == 0);
	char other[65];
	eng_new_id(other);
	CHECK(eng_name_take(g, "web", other, &e) < 0 && e.errnum == EEXIST && strstr(e.msg, id));
	CHECK(eng_lookup(g, "web", found, &e) == 0 && !strcmp(found, id));
	char pre[9];
	memcpy(pre, id, 8);
	pre[8] = 0;
	CHECK(eng_lookup(g, pre, found, &e) == 0 && !strcmp(found, id));
	CHECK(eng_lookup(g, id, found, &e) == 0);
	CHECK(eng_lookup(g, "nope", found, &e) < 0 && e.errnum == ENOENT);
	CHECK(eng_lookup(g, "../x", found, &e) < 0);
	CHECK(eng_name_used(g, "web", found));
	CHECK(!eng_name_used(g, "db", found));
	char *n = eng_new_name(g);
	CHECK(n && strchr(n, '_') && strcmp(n, "web"));
	free(n);
	/* only the owner drops a name; a link to a gone container is stale */
	eng_name_drop(g, "web", other);
	CHECK(eng_name_used(g, "web", found));
	CHECK(eng_name_take(g, "stale", other, &e) == 0);
	CHECK(!eng_name_used(g, "stale", found));
	CHECK(eng_name_take(g, "stale", id, &e) == 0 && eng_name_used(g, "stale", found) &&
	      !strcmp(found, id));
	eng_name_drop(g, "stale", id);
	CHECK(!eng_name_used(g, "stale", found));
	CHECK(eng_name_take(g, "../x", id, &e) < 0 && e.errnum == EINVAL);
	/* a container with no record yet is not listed */
	char id2[65];
	eng_new_id(id2);
	CHECK(mkdirat(g->ctrs_fd, id2, 0700) == 0);
	char **ids = eng_list(g);
	CHECK(strv_len(ids) == 1 && !strcmp(ids[0], id));
	strv_free(ids);
	/* created (no monitor yet) is "created"; an exit file makes it exited */
	json_object *doc = eng_load(g, id, &e);
	CHECK(doc);
	CHECK_STREQ(eng_reconcile(g, id, doc), "created");
	char *ex = eng_path(g, id, "exit");
	CHECK(fs_write_atomic(ex, "3 1700000000000000000\n", 22, 0600, false, &e) == 0);
	CHECK_STREQ(eng_reconcile(g, id, doc), "exited");
	json_object *st = json_object_object_get(doc, "State");
	CHECK(json_object_get_int(json_object_object_get(st, "ExitCode")) == 3);
	CHECK_STREQ(json_object_get_string(json_object_object_get(st, "FinishedAt")),
		    "2023-11-14T22:13:20.000000000Z");
	free(ex);
	/* running with a dead monitor pid: exited 255 */
	json_object_object_add(st, "Status", json_object_new_string("running"));
	json_object_object_add(st, "MonitorPid", json_object_new_int(0x7ffffff0));
	json_object_object_add(st, "MonitorStart", json_object_new_int(12345));
	char *ex2 = eng_path(g, id, "exit");
	CHECK(unlink(ex2) == 0);
	free(ex2);
	CHECK_STREQ(eng_reconcile(g, id, doc), "exited");
	CHECK(json_object_get_int(json_object_object_get(st, "ExitCode")) == 255);
	json_object_put(doc);
	eng_close(g);
	berr ig;
	fs_rm_rf_at(AT_FDCWD, tmpl, &ig);
	free(run);
}

CHECK_MAIN(parse_size, times, ids, users_in_root, store_lookup)
