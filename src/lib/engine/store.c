/* The container store: ids, names, the lock, container.json. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "engine/engine.h"
#include "image/store.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

eng *eng_open(const char *root, const char *run_root, berr *e)
{
	eng *g = xzalloc(sizeof(*g));
	g->ctrs_fd = g->lock_fd = g->trash_lock = g->sweeper_fd = -1;
	g->root = xstrdup(root);
	g->ctrs = xasprintf("%s/containers", root);
	g->rt_root = xasprintf("%s/runtime", run_root);
	g->rt.state_root = g->rt_root;
	if (fs_mkdir_p(g->ctrs, 0700, e) < 0 || fs_mkdir_p(g->rt_root, 0700, e) < 0 ||
	    store_check_owner(root, e) < 0)
		goto fail;
	g->ctrs_fd = open(g->ctrs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (g->ctrs_fd < 0) {
		berr_sys(e, "open %s", g->ctrs);
		goto fail;
	}
	g->lock_fd = openat(g->ctrs_fd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (g->lock_fd < 0) {
		berr_sys(e, "open %s/.lock", g->ctrs);
		goto fail;
	}
	return g;
fail:
	eng_close(g);
	return NULL;
}

void eng_close(eng *g)
{
	if (!g)
		return;
	eng_trash_flush(g);
	if (g->trash_lock >= 0)
		close(g->trash_lock); /* the sweeper's copy holds the lock on */
	if (g->ctrs_fd >= 0)
		close(g->ctrs_fd);
	if (g->lock_fd >= 0)
		close(g->lock_fd);
	strv_free(g->rt.warnings);
	free(g->root);
	free(g->ctrs);
	free(g->rt_root);
	free(g);
}

int eng_lock(eng *g, bool exclusive, berr *e)
{
	while (flock(g->lock_fd, exclusive ? LOCK_EX : LOCK_SH) < 0)
		if (errno != EINTR)
			return berr_sys(e, "lock %s/.lock", g->ctrs);
	return 0;
}

void eng_unlock(eng *g)
{
	flock(g->lock_fd, LOCK_UN);
}

void eng_new_id(char out[65])
{
	unsigned char b[32];
	size_t got = 0;
	while (got < sizeof(b)) {
		ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
		if (n > 0)
			got += (size_t)n;
	}
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

char *eng_new_name(eng *g)
{
	static const char *const adj[] = {"brave", "calm",  "eager",  "fancy", "gentle", "happy",
					  "jolly", "keen",  "lucid",  "merry", "nifty",	 "proud",
					  "quiet", "sharp", "tender", "vivid", "witty",	 "zen"};
	static const char *const noun[] = {
	    "albatross",  "barge",   "buoy", "dinghy", "ferry",	 "harbor",   "jetty",	"keel",
	    "lighthouse", "mooring", "pier", "quay",   "rudder", "schooner", "tugboat", "wharf"};
	for (;;) {
		unsigned char r[3];
		if (getrandom(r, sizeof(r), 0) != sizeof(r))
			continue;
		char *n = xasprintf("%s_%s%s", adj[r[0] % ARRAY_SIZE(adj)],
				    noun[r[1] % ARRAY_SIZE(noun)], "");
		char id[65];
		if (!eng_name_used(g, n, id))
			return n;
		free(n);
		n = xasprintf("%s_%s%u", adj[r[0] % ARRAY_SIZE(adj)], noun[r[1] % ARRAY_SIZE(noun)],
			      r[2]);
		if (!eng_name_used(g, n, id))
			return n;
		free(n);
	}
}

static bool is_id(const char *s)
{
	if (strlen(s) != 64)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

char **eng_list(eng *g)
{
	strv_builder v = strvb_from(xzalloc(sizeof(char *)));
	int fd = openat(g->ctrs_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return strvb_take(&v);
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return strvb_take(&v);
	}
	struct dirent *de;
	while ((de = readdir(d)))
		if (is_id(de->d_name) && faccessat(g->ctrs_fd, de->d_name, F_OK, 0) == 0) {
			char p[300];
			snprintf(p, sizeof(p), "%s/container.json", de->d_name);
			if (faccessat(g->ctrs_fd, p, F_OK, 0) == 0)
				strvb_push(&v, de->d_name);
		}
	closedir(d);
	return strvb_take(&v);
}

char *eng_path(eng *g, const char *id, const char *name)
{
	return xasprintf("%s/%s/%s", g->ctrs, id, name);
}

json_object *eng_load(eng *g, const char *id, berr *e)
{
	char p[80];
	snprintf(p, sizeof(p), "%s/container.json", id);
	_cleanup_free_ char *txt = NULL;
	size_t len;
	if (fs_read_file_at(g->ctrs_fd, p, &txt, &len, e) < 0)
		return NULL;
	json_object *doc = json_tokener_parse(txt);
	if (!doc || !json_object_is_type(doc, json_type_object)) {
		json_object_put(doc);
		berr_set(e, EINVAL, "%s/%s: not a container record", g->ctrs, p);
		return NULL;
	}
	return doc;
}

int eng_save(eng *g, const char *id, json_object *doc, berr *e)
{
	int dfd = openat(g->ctrs_fd, id, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return berr_sys(e, "open %s/%s", g->ctrs, id);
	const char *txt = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN);
	int r = fs_write_atomic_at(dfd, "container.json", txt, strlen(txt), 0600, false, e);
	close(dfd);
	return r;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

eng_ids *eng_ids_load(eng *g)
{
	eng_ids *l = xzalloc(sizeof(*l));
	l->ids = eng_list(g);
	l->n = strv_len(l->ids);
	qsort(l->ids, l->n, sizeof(char *), cmp_str);
	return l;
}

void eng_ids_free(eng_ids *l)
{
	if (!l)
		return;
	strv_free(l->ids);
	free(l);
}

static bool has_record(eng *g, const char *id)
{
	char p[80];
	snprintf(p, sizeof(p), "%s/container.json", id);
	return faccessat(g->ctrs_fd, p, F_OK, 0) == 0;
}

int eng_lookup_in(eng *g, const eng_ids *l, const char *ref, char id[65], berr *e)
{
	if (!*ref || strchr(ref, '/'))
		return berr_set(e, ENOENT, "no such container: %s", ref);
	if (is_id(ref) && has_record(g, ref)) {
		snprintf(id, 65, "%s", ref);
		return 0;
	}
	if (eng_name_used(g, ref, id))
		return 0;
	eng_ids *own = l ? NULL : eng_ids_load(g);
	if (own)
		l = own;
	/* the first id not below ref; a second one with the prefix after it
	 * makes ref ambiguous */
	size_t lo = 0, hi = l->n, len = strlen(ref);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(l->ids[mid], ref) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	int n = 0;
	for (size_t k = lo; k < l->n && k < lo + 2 && !strncmp(l->ids[k], ref, len); k++)
		if (n++ == 0)
			snprintf(id, 65, "%s", l->ids[k]);
	eng_ids_free(own);
	/* listed before an earlier removal of the same batch: gone now */
	if (n == 1 && !has_record(g, id))
		n = 0;
	if (n == 1)
		return 0;
	if (n > 1)
		return berr_set(e, EINVAL, "container id prefix \"%s\" is ambiguous", ref);
	return berr_set(e, ENOENT, "no such container: %s", ref);
}

int eng_lookup(eng *g, const char *ref, char id[65], berr *e)
{
	return eng_lookup_in(g, NULL, ref, id, e);
}

unsigned long long eng_proc_start(pid_t pid)
{
	if (pid <= 0)
		return 0;
	char p[64], buf[1024];
	snprintf(p, sizeof(p), "/proc/%d/stat", pid);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	char *s = strrchr(buf, ')');
	if (!s)
		return 0;
	/* after ")": field 3 (state) ... field 22 (starttime) */
	char state = s[2];
	if (state == 'Z' || state == 'X')
		return 0;
	s += 2;
	for (int f = 3; f < 22 && s; f++) {
		s = strchr(s, ' ');
		if (s)
			s++;
	}
	return s ? strtoull(s, NULL, 10) : 0;
}

char *eng_time_ns(int64_t ns)
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;
	gmtime_r(&t, &tm);
	char b[64];
	size_t n = strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(b + n, sizeof(b) - n, ".%09lldZ", (long long)(ns % 1000000000));
	return xstrdup(b);
}

char *eng_time_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return eng_time_ns((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec);
}

int64_t eng_time_parse(const char *s)
{
	if (!s)
		return 0;
	struct tm tm = {0};
	const char *r = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!r)
		return 0;
	time_t secs = timegm(&tm);
	if (secs <= 0) /* "0001-01-01T00:00:00Z": never */
		return 0;
	int64_t ns = (int64_t)secs * 1000000000;
	if (*r == '.') {
		int64_t frac = 0, scale = 100000000;
		for (r++; *r >= '0' && *r <= '9'; r++, scale /= 10)
			frac += (*r - '0') * scale;
		ns += frac;
	}
	return ns;
}
