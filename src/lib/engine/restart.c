/* Restart policies (health.h): the parse of --restart and of Go durations,
 * the record's fields, the manual-stop mark and the restart itself, done by
 * the container's monitor after the exit (it execs `berth container
 * cleanup`, which calls eng_restart_after_exit): Docker's restart manager
 * without a daemon. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/container.h"
#include "engine/healthpriv.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

#define BACKOFF_FIRST_NS (100LL * 1000000)
#define BACKOFF_MAX_NS	 (60LL * 1000000000)
#define BACKOFF_RESET_NS (10LL * 1000000000)

static const char *const restart_names[] = {"no", "always", "on-failure", "unless-stopped"};

int eng_restart_parse(const char *s, eng_restart_policy *out, berr *e)
{
	*out = (eng_restart_policy){ENG_RESTART_NO, 0};
	if (!s || !*s)
		return 0;
	const char *colon = strchr(s, ':');
	size_t n = colon ? (size_t)(colon - s) : strlen(s);
	for (int k = 0; k < 4; k++)
		if (strlen(restart_names[k]) == n && !strncmp(s, restart_names[k], n))
			out->kind = (eng_restart_kind)k;
	if (strlen(restart_names[out->kind]) != n || strncmp(s, restart_names[out->kind], n))
		return berr_set(e, EINVAL,
				"invalid restart policy \"%s\": no, always, on-failure[:MAX] or "
				"unless-stopped",
				s);
	if (!colon)
		return 0;
	if (out->kind != ENG_RESTART_ON_FAILURE)
		return berr_set(e, EINVAL,
				"invalid restart policy \"%s\": maximum retry count can only be "
				"used with 'on-failure'",
				s);
	char *end;
	errno = 0;
	long v = strtol(colon + 1, &end, 10);
	if (!colon[1] || *end || errno || v < 0 || v > INT_MAX)
		return berr_set(e, EINVAL,
				"invalid restart policy \"%s\": the maximum retry count must be "
				"a number from 0 to %d",
				s, INT_MAX);
	out->max_retries = (int)v;
	return 0;
}

int eng_duration_parse(const char *flag, const char *s, int64_t *ns, berr *e)
{
	const char *what = flag ? flag : "duration";
	if (!s || !*s)
		return berr_set(e, EINVAL, "invalid %s \"\": a duration such as 30s, 1m30s, 500ms",
				what);
	if (!strcmp(s, "0")) {
		*ns = 0;
		return 0;
	}
	static const struct {
		const char *u;
		int64_t mul;
	} units[] = {{"ns", 1},
		     {"us", 1000},
		     {"ms", 1000000},
		     {"s", 1000000000},
		     {"m", 60LL * 1000000000},
		     {"h", 3600LL * 1000000000}};
	int64_t total = 0;
	for (const char *p = s; *p;) {
		int64_t whole = 0, frac_num = 0, frac_den = 1;
		int digits = 0;
		for (; *p >= '0' && *p <= '9'; p++, digits++) {
			if (whole > (INT64_MAX - 9) / 10)
				goto bad;
			whole = whole * 10 + (*p - '0');
		}
		if (*p == '.')
			for (p++; *p >= '0' && *p <= '9'; p++, digits++)
				if (frac_den < 1000000000000LL) {
					frac_num = frac_num * 10 + (*p - '0');
					frac_den *= 10;
				}
		if (!digits)
			goto bad;
		int64_t mul = 0;
		size_t ul = 0;
		for (size_t k = 0; k < sizeof(units) / sizeof(*units); k++) {
			size_t l = strlen(units[k].u);
			if (!strncmp(p, units[k].u, l) && l > ul) {
				mul = units[k].mul;
				ul = l;
			}
		}
		/* "m" must not eat "ms" */
		if (!mul || (ul == 1 && p[0] == 'm' && p[1] == 's'))
			goto bad;
		p += ul;
		if (whole > (INT64_MAX - total) / mul)
			goto bad;
		total += whole * mul + (int64_t)((double)frac_num / (double)frac_den * (double)mul);
		if (total < 0)
			goto bad;
	}
	*ns = total;
	return 0;
bad:
	return berr_set(e, EINVAL,
			"invalid %s \"%s\": a duration such as 30s, 1m30s, 500ms (units ns, us, "
			"ms, s, m, h)",
			what, s);
}

int eng_restart_check_opts(const eng_run_opts *o, eng_restart_policy *out, berr *e)
{
	if (eng_restart_parse(o->restart, out, e) < 0)
		return berr_ctx(e, "--restart");
	if (o->rm && out->kind != ENG_RESTART_NO)
		return berr_set(e, EINVAL, "conflicting options: --restart and --rm");
	return 0;
}

void eng_restart_of(json_object *doc, eng_restart_policy *out)
{
	*out = (eng_restart_policy){ENG_RESTART_NO, 0};
	const char *n = eng_doc_str(doc, "HostConfig.RestartPolicy.Name");
	for (int k = 0; n && k < 4; k++)
		if (!strcmp(n, restart_names[k]))
			out->kind = (eng_restart_kind)k;
	int64_t m = eng_doc_int(doc, "HostConfig.RestartPolicy.MaximumRetryCount");
	out->max_retries = m > 0 && m <= INT_MAX ? (int)m : 0;
}

/* ---- the manual-stop mark ---- */

static char *mark_path(const char *id)
{
	return xasprintf("%s/stopped", id);
}

void eng_manual_stop_mark(eng *g, const char *id)
{
	_cleanup_free_ char *p = mark_path(id);
	int fd = openat(g->ctrs_fd, p, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
}

void eng_manual_stop_clear(eng *g, const char *id)
{
	_cleanup_free_ char *p = mark_path(id);
	unlinkat(g->ctrs_fd, p, 0);
}

bool eng_manual_stop_marked(eng *g, const char *id)
{
	_cleanup_free_ char *p = mark_path(id);
	return faccessat(g->ctrs_fd, p, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

/* ---- the restart ---- */

static json_object *state_of(json_object *doc)
{
	json_object *st;
	if (!json_object_object_get_ex(doc, "State", &st)) {
		st = json_object_new_object();
		json_object_object_add(doc, "State", st);
	}
	return st;
}

/* Save doc's restart fields under the lock (a concurrent rm has moved the
 * directory: nothing comes back). */
static int save_locked(eng *g, const char *id, json_object *doc, berr *e)
{
	if (eng_lock(g, true, e) < 0)
		return -1;
	int r = eng_save(g, id, doc, e);
	eng_unlock(g);
	return r;
}

static void sleep_ns(int64_t ns)
{
	struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
	}
}

int eng_restart_after_exit(eng *g, const char *id, const char *helper_dir, bool *restarted, berr *e)
{
	*restarted = false;
	json_object *doc = eng_load(g, id, e);
	if (!doc)
		return -1;
	eng_restart_policy pol;
	eng_restart_of(doc, &pol);
	const char *status = eng_reconcile(g, id, doc);
	int code = (int)eng_doc_int(doc, "State.ExitCode");
	int count = (int)eng_doc_int(doc, "RestartCount");
	bool go = pol.kind != ENG_RESTART_NO && !strcmp(status, "exited") &&
		  !eng_manual_stop_marked(g, id);
	if (go && pol.kind == ENG_RESTART_ON_FAILURE)
		go = code != 0 && (pol.max_retries == 0 || count < pol.max_retries);
	if (!go) {
		json_object_put(doc);
		return 0;
	}
	/* Docker's back-off: 100 ms, doubled each time, at most a minute,
	 * back to 100 ms after a run of 10 s or more */
	int64_t ran = eng_time_parse(eng_doc_str(doc, "State.FinishedAt")) -
		      eng_time_parse(eng_doc_str(doc, "State.StartedAt"));
	int64_t delay = eng_doc_int(doc, "RestartDelay");
	if (ran >= BACKOFF_RESET_NS || delay <= 0)
		delay = BACKOFF_FIRST_NS;
	else
		delay = delay * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : delay * 2;
	json_object *st = state_of(doc);
	json_object_object_add(doc, "RestartDelay", json_object_new_int64(delay));
	json_object_object_add(st, "Restarting", json_object_new_boolean(1));
	if (save_locked(g, id, doc, e) < 0) {
		json_object_put(doc);
		return -1;
	}
	/* the wait, in steps that notice a stop by the user */
	for (int64_t left = delay; left > 0; left -= 20000000) {
		if (eng_manual_stop_marked(g, id))
			break;
		sleep_ns(left < 20000000 ? left : 20000000);
	}
	json_object_put(doc);
	if (eng_lock(g, true, e) < 0)
		return -1;
	doc = eng_load(g, id, e);
	if (!doc) {
		eng_unlock(g);
		return e->errnum == ENOENT ? 0 : -1; /* removed meanwhile */
	}
	st = state_of(doc);
	json_object_object_add(st, "Restarting", json_object_new_boolean(0));
	bool stopped = eng_manual_stop_marked(g, id);
	if (!stopped)
		json_object_object_add(doc, "RestartCount", json_object_new_int(count + 1));
	int r = eng_save(g, id, doc, e);
	eng_unlock(g);
	json_object_put(doc);
	if (r < 0 || stopped)
		return r;
	eng_start_opts so = {.helper_dir = helper_dir, .policy_restart = true};
	eng_start_result res;
	r = eng_container_start(g, id, &so, &res, e);
	eng_start_result_free(&res);
	if (r < 0)
		return berr_ctx(e, "restart (policy %s)", restart_names[pol.kind]);
	*restarted = true;
	return 0;
}
