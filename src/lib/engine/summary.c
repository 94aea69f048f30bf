/* The words of `ps` and the Docker API: the contract is in summary.h. */
#include "engine/summary.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/xalloc.h"

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void eng_human_duration(int64_t ns, char *out, size_t sz)
{
	int64_t s = ns / 1000000000;
	if (s < 1)
		snprintf(out, sz, "Less than a second");
	else if (s == 1)
		snprintf(out, sz, "1 second");
	else if (s < 60)
		snprintf(out, sz, "%lld seconds", (long long)s);
	else if (s / 60 == 1)
		snprintf(out, sz, "About a minute");
	else if (s < 3600)
		snprintf(out, sz, "%lld minutes", (long long)(s / 60));
	else if (s / 3600 == 1)
		snprintf(out, sz, "About an hour");
	else if (s < 48 * 3600)
		snprintf(out, sz, "%lld hours", (long long)(s / 3600));
	else
		snprintf(out, sz, "%lld days", (long long)(s / 86400));
}

static json_object *at(json_object *o, const char *a, const char *b)
{
	json_object *v = NULL;
	if (!o || !json_object_object_get_ex(o, a, &v))
		return NULL;
	if (b && !json_object_object_get_ex(v, b, &v))
		return NULL;
	return v;
}

char *eng_status_text(json_object *doc, const char *s)
{
	char d[64];
	if (!strcmp(s, "running") || !strcmp(s, "paused")) {
		eng_human_duration(now_ns() - eng_time_parse(json_object_get_string(
						  at(doc, "State", "StartedAt"))),
				   d, sizeof(d));
		/* Docker's health words after the age */
		const char *h =
		    json_object_get_string(at(at(doc, "State", "Health"), "Status", NULL));
		const char *hw = !h || !strcmp(s, "paused") ? ""
				 : !strcmp(h, "healthy")    ? " (healthy)"
				 : !strcmp(h, "unhealthy")  ? " (unhealthy)"
				 : !strcmp(h, "starting")   ? " (health: starting)"
							    : "";
		return xasprintf("Up %s%s%s", d, !strcmp(s, "paused") ? " (Paused)" : "", hw);
	}
	if (!strcmp(s, "restarting")) {
		long long code = json_object_get_int64(at(doc, "State", "ExitCode"));
		int64_t f = eng_time_parse(json_object_get_string(at(doc, "State", "FinishedAt")));
		eng_human_duration(f > 0 ? now_ns() - f : 0, d, sizeof(d));
		return xasprintf("Restarting (%lld) %s ago", code, d);
	}
	if (!strcmp(s, "exited")) {
		long long code = json_object_get_int64(at(doc, "State", "ExitCode"));
		int64_t f = eng_time_parse(json_object_get_string(at(doc, "State", "FinishedAt")));
		if (f <= 0)
			return xasprintf("Exited (%lld)", code);
		eng_human_duration(now_ns() - f, d, sizeof(d));
		return xasprintf("Exited (%lld) %s ago", code, d);
	}
	return xstrdup(!strcmp(s, "dead") ? "Dead" : "Created");
}

char *eng_command_text(json_object *doc)
{
	json_object *p = at(doc, "Path", NULL), *a = at(doc, "Args", NULL);
	size_t len = p ? strlen(json_object_get_string(p)) : 0, n = 0;
	if (a && json_object_is_type(a, json_type_array))
		n = json_object_array_length(a);
	for (size_t i = 0; i < n; i++)
		len += 1 + strlen(json_object_get_string(json_object_array_get_idx(a, i)));
	char *s = xzalloc(len + 1), *w = s;
	if (p)
		w = stpcpy(w, json_object_get_string(p));
	for (size_t i = 0; i < n; i++) {
		*w++ = ' ';
		w = stpcpy(w, json_object_get_string(json_object_array_get_idx(a, i)));
	}
	return s;
}

json_object *eng_inspect(eng *g, const char *ref, berr *e)
{
	char id[65];
	if (eng_lookup(g, ref, id, e) < 0)
		return NULL;
	json_object *doc = eng_load(g, id, e);
	if (!doc)
		return NULL;
	eng_reconcile(g, id, doc);
	json_object *st = at(doc, "State", NULL);
	if (st) /* berth's own bookkeeping */
		json_object_object_del(st, "MonitorStart");
	return doc;
}
