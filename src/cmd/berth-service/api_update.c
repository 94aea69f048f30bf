/* POST /containers/{id}/rename, /update and /resize: one engine call each
 * (eng_container_rename, eng_container_update, eng_container_resize). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/container.h"
#include "engine/engine.h"
#include "service.h"
#include "util/xalloc.h"

void api_container_rename(req *q, resp *r)
{
	const char *name = req_arg(q, "name");
	if (!name || !*name) {
		resp_error(r, 400, "rename: the query parameter name is required");
		return;
	}
	char id[65];
	eng *g = svc_open_ctr(q, r, id);
	if (!g)
		return;
	berr e;
	if (eng_container_rename(g, id, name, &e) < 0)
		resp_error(r, status_of_errno(e.errnum), "%s", e.msg);
	else
		r->status = 204;
	eng_close(g);
}

/* docker update's body (Docker's UpdateConfig: Resources + RestartPolicy)
 * keys berth applies; the others must be unset. */
static const char *const update_keys[] = {"Memory",	   "MemorySwap", "NanoCpus",  "CpuShares",
					  "CpuQuota",	   "CpuPeriod",	 "PidsLimit", "BlkioWeight",
					  "RestartPolicy", NULL};

/* An integer field (absent or null: 0); -1 after answering 400. */
static int int_field(json_object *body, const char *k, int64_t *out, resp *r)
{
	json_object *v = NULL;
	*out = 0;
	if (!json_object_object_get_ex(body, k, &v) || !v)
		return 0;
	if (!json_object_is_type(v, json_type_int)) {
		resp_error(r, 400, "%s: not an integer", k);
		return -1;
	}
	errno = 0;
	*out = json_object_get_int64(v);
	if (errno) {
		resp_error(r, 400, "%s: out of range", k);
		return -1;
	}
	return 0;
}

void api_container_update(req *q, resp *r)
{
	json_object *body = q->body ? json_tokener_parse(q->body) : json_object_new_object();
	if (!body || !json_object_is_type(body, json_type_object)) {
		resp_error(r, 400, "update: the body is not a JSON object");
		json_object_put(body);
		return;
	}
	eng_update_opts o = {0};
	char *restart = NULL;
	json_object *pl = NULL;
	bool pids_given = json_object_object_get_ex(body, "PidsLimit", &pl) && pl;
	if (svc_known_only(body, update_keys, "", r) < 0 ||
	    int_field(body, "Memory", &o.memory, r) < 0 ||
	    int_field(body, "MemorySwap", &o.memory_swap, r) < 0 ||
	    int_field(body, "NanoCpus", &o.nano_cpus, r) < 0 ||
	    int_field(body, "CpuShares", &o.cpu_shares, r) < 0 ||
	    int_field(body, "CpuQuota", &o.cpu_quota, r) < 0 ||
	    int_field(body, "CpuPeriod", &o.cpu_period, r) < 0 ||
	    int_field(body, "PidsLimit", &o.pids_limit, r) < 0 ||
	    int_field(body, "BlkioWeight", &o.blkio_weight, r) < 0)
		goto out;
	/* PidsLimit: null leaves it, 0 or -1 is no limit (Docker's API) */
	if (pids_given && o.pids_limit <= 0)
		o.pids_limit = -1;
	json_object *rp = NULL;
	if (json_object_object_get_ex(body, "RestartPolicy", &rp) && rp) {
		const char *n = eng_doc_str(rp, "Name");
		int64_t mx = eng_doc_int(rp, "MaximumRetryCount");
		if (n && *n)
			restart = mx > 0 ? xasprintf("%s:%lld", n, (long long)mx) : xstrdup(n);
	}
	o.restart = restart;
	char id[65];
	eng *g = svc_open_ctr(q, r, id);
	if (!g)
		goto out;
	berr e;
	if (eng_container_update(g, id, &o, &e) < 0) {
		resp_error(r, status_of_errno(e.errnum), "%s", e.msg);
	} else {
		r->json = json_object_new_object();
		json_object_object_add(r->json, "Warnings", json_object_new_array());
	}
	eng_close(g);
out:
	free(restart);
	json_object_put(body);
}

void api_container_resize(req *q, resp *r)
{
	const char *h = req_arg(q, "h"), *w = req_arg(q, "w");
	char *eh = NULL, *ew = NULL;
	long rows = h ? strtol(h, &eh, 10) : 0, cols = w ? strtol(w, &ew, 10) : 0;
	if (!h || !w || *eh || *ew || rows <= 0 || cols <= 0 || rows > 65535 || cols > 65535) {
		resp_error(r, 400, "resize: h and w must be numbers from 1 to 65535");
		return;
	}
	char id[65];
	eng *g = svc_open_ctr(q, r, id);
	if (!g)
		return;
	berr e;
	if (eng_container_resize(g, id, (unsigned)rows, (unsigned)cols, &e) < 0)
		resp_error(r, e.errnum == EBUSY ? 409 : status_of_errno(e.errnum), "%s", e.msg);
	else
		r->status = 200;
	eng_close(g);
}
