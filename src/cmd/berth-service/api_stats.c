/* GET /containers/{id}/stats: Docker's stats JSON from the engine's sample
 * (eng_container_stats_full). stream (the default): one object a second,
 * each with the one before it as precpu_stats, until the client goes or
 * the container stops; stream=0: one object, its precpu a second before
 * (what docker stats --no-stream computes its CPU % from); with
 * one-shot=1 at once, without precpu. A container that is not running
 * gives one object of zeros, as Docker. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/container.h"
#include "engine/engine.h"
#include "service.h"
#include "util/fs.h"
#include "util/xalloc.h"

static void add_u64(json_object *o, const char *k, uint64_t v)
{
	json_object_object_add(o, k, json_object_new_uint64(v));
}

static json_object *cpu_json(const eng_stats_full *s)
{
	json_object *c = json_object_new_object(), *u = json_object_new_object(),
		    *t = json_object_new_object();
	add_u64(u, "total_usage", s ? s->base.cpu_ns : 0);
	if (s && s->percpu)
		json_object_object_add(u, "percpu_usage", json_object_get(s->percpu));
	add_u64(u, "usage_in_kernelmode", s ? s->cpu_kernel_ns : 0);
	add_u64(u, "usage_in_usermode", s ? s->cpu_user_ns : 0);
	json_object_object_add(c, "cpu_usage", u);
	if (s) {
		add_u64(c, "system_cpu_usage", s->system_ns);
		add_u64(c, "online_cpus", s->online_cpus);
	}
	add_u64(t, "periods", s ? s->periods : 0);
	add_u64(t, "throttled_periods", s ? s->throttled_periods : 0);
	add_u64(t, "throttled_time", s ? s->throttled_ns : 0);
	json_object_object_add(c, "throttling_data", t);
	return c;
}

/* runc's {major, minor, op, value} list as Docker's */
static json_object *blkio_list(json_object *runc)
{
	if (!runc || !json_object_is_type(runc, json_type_array))
		return NULL;
	json_object *a = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(runc); i++) {
		json_object *x = json_object_array_get_idx(runc, i), *o = json_object_new_object();
		add_u64(o, "major", (uint64_t)eng_doc_int(x, "major"));
		add_u64(o, "minor", (uint64_t)eng_doc_int(x, "minor"));
		const char *op = eng_doc_str(x, "op");
		json_object_object_add(o, "op", json_object_new_string(op ? op : ""));
		add_u64(o, "value", (uint64_t)eng_doc_int(x, "value"));
		json_object_array_add(a, o);
	}
	return a;
}

static char *time_of(int64_t ns)
{
	return ns ? eng_time_ns(ns) : xstrdup("0001-01-01T00:00:00Z");
}

/* One object: s the sample (NULL: zeros), pre the one before (NULL: none). */
static json_object *stats_json(const char *id, const char *name, const eng_stats_full *s,
			       const eng_stats_full *pre)
{
	json_object *o = json_object_new_object();
	char *rd = time_of(s ? s->real_ns : 0), *prd = time_of(pre ? pre->real_ns : 0);
	json_object_object_add(o, "read", json_object_new_string(rd));
	json_object_object_add(o, "preread", json_object_new_string(prd));
	free(rd);
	free(prd);
	json_object *pids = json_object_new_object();
	add_u64(pids, "current", s ? s->base.pids : 0);
	if (s && s->pids_limit)
		add_u64(pids, "limit", s->pids_limit);
	json_object_object_add(o, "pids_stats", pids);
	json_object *blk = json_object_new_object();
	static const char *const blk_keys[] = {
	    "io_queue_recursive",  "io_service_time_recursive", "io_wait_time_recursive",
	    "io_merged_recursive", "io_time_recursive",		"sectors_recursive"};
	json_object_object_add(blk, "io_service_bytes_recursive",
			       blkio_list(s ? s->blk_bytes : NULL));
	json_object_object_add(blk, "io_serviced_recursive", blkio_list(s ? s->blk_ios : NULL));
	for (size_t k = 0; k < sizeof(blk_keys) / sizeof(*blk_keys); k++)
		json_object_object_add(blk, blk_keys[k], NULL);
	json_object_object_add(o, "blkio_stats", blk);
	json_object_object_add(o, "num_procs", json_object_new_int(0));
	json_object_object_add(o, "storage_stats", json_object_new_object());
	json_object_object_add(o, "cpu_stats", cpu_json(s));
	json_object_object_add(o, "precpu_stats", cpu_json(pre));
	json_object *mem = json_object_new_object();
	if (s) {
		add_u64(mem, "usage", s->base.mem);
		add_u64(mem, "max_usage", s->mem_max);
		json_object_object_add(mem, "stats",
				       s->mem_stat ? json_object_get(s->mem_stat)
						   : json_object_new_object());
		add_u64(mem, "failcnt", s->mem_failcnt);
		add_u64(mem, "limit", s->base.mem_limit);
	}
	json_object_object_add(o, "memory_stats", mem);
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "id", json_object_new_string(id));
	if (s && s->n_nets) {
		json_object *nets = json_object_new_object();
		for (size_t i = 0; i < s->n_nets; i++) {
			const eng_net_stats *n = &s->nets[i];
			json_object *x = json_object_new_object();
			add_u64(x, "rx_bytes", n->rx_bytes);
			add_u64(x, "rx_packets", n->rx_packets);
			add_u64(x, "rx_errors", n->rx_errors);
			add_u64(x, "rx_dropped", n->rx_dropped);
			add_u64(x, "tx_bytes", n->tx_bytes);
			add_u64(x, "tx_packets", n->tx_packets);
			add_u64(x, "tx_errors", n->tx_errors);
			add_u64(x, "tx_dropped", n->tx_dropped);
			json_object_object_add(nets, n->name, x);
		}
		json_object_object_add(o, "networks", nets);
	}
	return o;
}

/* The record's "/name" (for the JSON's "name"). */
static void slash_name(eng *g, const char *id, char out[130])
{
	json_object *doc = NULL;
	char n[128];
	eng_container_status(g, id, &doc);
	eng_doc_name(doc, id, n);
	json_object_put(doc);
	snprintf(out, 130, "/%s", n);
}

static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
	}
}

typedef struct stats_job {
	svc_job base;
	char name[130];
} stats_job;

static void *stream_main(void *arg)
{
	stats_job *j = arg;
	berr e;
	eng *g = eng_open(j->base.root, j->base.run_root, &e);
	eng_stats_full pre = {0}, cur;
	bool have_pre = false;
	while (g && !svc_job_gone(&j->base)) {
		if (eng_container_stats_full(g, j->base.id, &cur, &e) < 0)
			break; /* stopped or gone: the stream ends */
		json_object *o = stats_json(j->base.id, j->name, &cur, have_pre ? &pre : NULL);
		const char *t = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
		int w = fs_write_all(j->base.fd, t, strlen(t));
		if (w == 0)
			w = fs_write_all(j->base.fd, "\n", 1);
		json_object_put(o);
		eng_stats_full_free(&pre);
		pre = cur;
		have_pre = true;
		if (w < 0)
			break;
		for (int k = 0; k < 10 && !svc_job_gone(&j->base); k++)
			sleep_ms(100);
	}
	eng_stats_full_free(&pre);
	if (g)
		eng_close(g);
	close(j->base.fd);
	svc_job_free(&j->base);
	return NULL;
}

void api_container_stats(req *q, resp *r)
{
	char id[65];
	eng *g = svc_open_ctr(q, r, id);
	if (!g)
		return;
	const char *sv = req_arg(q, "stream");
	bool stream = !sv || req_arg_bool(q, "stream");
	bool one_shot = req_arg_bool(q, "one-shot");
	if (one_shot && stream) {
		eng_close(g);
		resp_error(r, 400, "cannot have stream=true and one-shot=true");
		return;
	}
	char name[130];
	slash_name(g, id, name);
	const char *st = eng_container_status(g, id, NULL);
	if (!st || !eng_status_live(st)) {
		eng_close(g);
		r->json = stats_json(id, name, NULL, NULL);
		return;
	}
	if (stream) {
		eng_close(g);
		stats_job *j = xzalloc(sizeof(*j));
		memcpy(j->base.id, id, sizeof(j->base.id));
		memcpy(j->name, name, sizeof(name));
		svc_stream(q, r, &j->base, stream_main, "application/json");
		return;
	}
	eng_stats_full a = {0}, b = {0};
	berr e;
	int rc = eng_container_stats_full(g, id, one_shot ? &b : &a, &e);
	if (rc == 0 && !one_shot) {
		sleep_ms(1000);
		rc = eng_container_stats_full(g, id, &b, &e);
	}
	eng_close(g);
	if (rc < 0) {
		/* stopped meanwhile: zeros, as for a stopped one */
		r->json = e.errnum == EINVAL ? stats_json(id, name, NULL, NULL) : NULL;
		if (!r->json)
			resp_error(r, status_of_errno(e.errnum), "%s", e.msg);
	} else {
		r->json = stats_json(id, name, &b, one_shot ? NULL : &a);
	}
	eng_stats_full_free(&a);
	eng_stats_full_free(&b);
}
