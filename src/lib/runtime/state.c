#include "runtime/state.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

int st_open_root(const char *root, bool create, berr *e)
{
	if (create && fs_mkdir_p(root, 0700, e) < 0)
		return berr_ctx(e, "state root");
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return berr_sys(e, "open state root %s", root);
	return fd;
}

int st_create_dir(int rootfd, const char *id, berr *e)
{
	if (mkdirat(rootfd, id, 0700) < 0) {
		if (errno == EEXIST)
			return berr_set(e, EEXIST, "container with id \"%s\" already exists", id);
		return berr_sys(e, "mkdir state directory %s", id);
	}
	int fd = openat(rootfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		berr_sys(e, "open state directory %s", id);
		unlinkat(rootfd, id, AT_REMOVEDIR);
		return -1;
	}
	/* Held until create finishes: `state` sees "creating" while it is. */
	if (flock(fd, LOCK_EX) < 0) {
		berr_sys(e, "lock state directory %s", id);
		close(fd);
		unlinkat(rootfd, id, AT_REMOVEDIR);
		return -1;
	}
	return fd;
}

int st_open_dir(int rootfd, const char *id, berr *e)
{
	int fd = openat(rootfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return berr_set(e, ENOENT, "container \"%s\" does not exist", id);
		return berr_sys(e, "open state directory %s", id);
	}
	return fd;
}

int st_remove_dir(int rootfd, const char *id, berr *e)
{
	return fs_rm_rf_at(rootfd, id, e);
}

static const char *jstr(json_object *o, const char *k)
{
	json_object *v;
	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static char *jdup(json_object *o, const char *k)
{
	const char *s = jstr(o, k);
	return s ? xstrdup(s) : NULL;
}

int st_write(int dirfd, const st_record *r, berr *e)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(r->id));
	json_object_object_add(o, "pid", json_object_new_int(r->pid));
	json_object_object_add(o, "pid_start", json_object_new_uint64(r->pid_start));
	json_object_object_add(o, "bundle", json_object_new_string(r->bundle));
	json_object_object_add(o, "rootfs", json_object_new_string(r->rootfs));
	json_object_object_add(o, "created", json_object_new_string(r->created));
	json_object_object_add(o, "owner", json_object_new_string(r->owner ? r->owner : ""));
	json_object_object_add(o, "own_pidns", json_object_new_boolean(r->own_pidns));
	json_object_object_add(o, "start_config", json_object_new_boolean(r->start_config));
	if (r->cgroup)
		json_object_object_add(o, "cgroup", json_object_new_string(r->cgroup));
	json_object *ann = json_object_new_array();
	for (size_t i = 0; r->annotations && r->annotations[i]; i++)
		json_object_array_add(ann, json_object_new_string(r->annotations[i]));
	json_object_object_add(o, "annotations", ann);
	size_t len;
	const char *s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
	int ret = fs_write_atomic_at(dirfd, STATE_FILE, s, len, 0600, false, e);
	json_object_put(o);
	return ret;
}

int st_read(int dirfd, st_record *r, berr *e)
{
	_cleanup_free_ char *text = NULL;
	memset(r, 0, sizeof(*r));
	if (fs_read_file_at(dirfd, STATE_FILE, &text, NULL, e) < 0)
		return e->errnum == ENOENT ? 0 : -1;
	json_object *o = json_tokener_parse(text);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return berr_set(e, EINVAL, "%s: corrupt state file", STATE_FILE);
	}
	json_object *v;
	r->id = jdup(o, "id");
	r->bundle = jdup(o, "bundle");
	r->rootfs = jdup(o, "rootfs");
	r->created = jdup(o, "created");
	r->owner = jdup(o, "owner");
	r->cgroup = jdup(o, "cgroup");
	if (json_object_object_get_ex(o, "pid", &v))
		r->pid = json_object_get_int(v);
	if (json_object_object_get_ex(o, "pid_start", &v))
		r->pid_start = json_object_get_uint64(v);
	if (json_object_object_get_ex(o, "own_pidns", &v))
		r->own_pidns = json_object_get_boolean(v);
	r->start_config =
	    !json_object_object_get_ex(o, "start_config", &v) || json_object_get_boolean(v);
	if (json_object_object_get_ex(o, "annotations", &v) &&
	    json_object_is_type(v, json_type_array)) {
		strv_builder b = strvb_from(r->annotations);
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			const char *a = json_object_get_string(json_object_array_get_idx(v, i));
			if (a)
				strvb_push(&b, a);
		}
		r->annotations = strvb_take(&b);
	}
	json_object_put(o);
	if (!r->id || !r->bundle || r->pid <= 0) {
		st_record_clear(r);
		return berr_set(e, EINVAL, "%s: corrupt state file", STATE_FILE);
	}
	return 1;
}

void st_record_clear(st_record *r)
{
	free(r->id);
	free(r->bundle);
	free(r->rootfs);
	free(r->created);
	free(r->owner);
	free(r->cgroup);
	strv_free(r->annotations);
	memset(r, 0, sizeof(*r));
}

uint64_t st_pid_start_time(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = fs_read_full(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	char *p = strrchr(buf, ')'); /* comm may hold spaces and parens */
	if (!p || p[1] != ' ')
		return 0;
	char state = p[2];
	if (state == 'Z' || state == 'X')
		return 0;
	/* After ") " come fields 3.. ; starttime is field 22. */
	p += 2;
	for (int field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		if (!p)
			return 0;
		p++;
	}
	return strtoull(p, NULL, 10);
}

bool st_process_alive(const st_record *r)
{
	if (r->pid <= 0)
		return false;
	uint64_t t = st_pid_start_time(r->pid);
	return t != 0 && t == r->pid_start;
}

enum rt_status st_status(int dirfd, const st_record *r, bool have_record)
{
	if (!have_record) {
		/* create holds the lock while it works; without it this is debris */
		if (flock(dirfd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK)
			return RT_CREATING;
		flock(dirfd, LOCK_UN);
		return RT_STOPPED;
	}
	if (!st_process_alive(r))
		return RT_STOPPED;
	/* recorded while the init still sets up: create or run holds the lock
	 * until it is done */
	if (flock(dirfd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK)
		return RT_CREATING;
	flock(dirfd, LOCK_UN);
	if (faccessat(dirfd, EXEC_SOCK, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return RT_CREATED;
	return RT_RUNNING;
}

const char *rt_status_name(enum rt_status s)
{
	switch (s) {
	case RT_CREATING:
		return "creating";
	case RT_CREATED:
		return "created";
	case RT_RUNNING:
		return "running";
	case RT_PAUSED:
		return "paused";
	case RT_STOPPED:
		break;
	}
	return "stopped";
}

char *st_now_rfc3339(void)
{
	struct timespec ts;
	struct tm tm;
	char buf[64];
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, sizeof(buf) - n, ".%09ldZ", ts.tv_nsec);
	return xstrdup(buf);
}

char *st_spec_state_json(const st_record *r, enum rt_status s)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "ociVersion", json_object_new_string("1.2.0"));
	json_object_object_add(o, "id", json_object_new_string(r->id));
	json_object_object_add(o, "status", json_object_new_string(rt_status_name(s)));
	json_object_object_add(o, "pid", json_object_new_int(s == RT_STOPPED ? 0 : r->pid));
	json_object_object_add(o, "bundle", json_object_new_string(r->bundle));
	json_object *ann = json_object_new_object();
	for (size_t i = 0; r->annotations && r->annotations[i]; i++) {
		const char *eq = strchr(r->annotations[i], '=');
		_cleanup_free_ char *k =
		    xstrndup(r->annotations[i],
			     eq ? (size_t)(eq - r->annotations[i]) : strlen(r->annotations[i]));
		json_object_object_add(ann, k, json_object_new_string(eq ? eq + 1 : ""));
	}
	json_object_object_add(o, "annotations", ann);
	char *s_ = xstrdup(json_object_to_json_string_ext(
	    o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return s_;
}
