/* Host ports spread over backends with nft numgen (nft_lb.h). */
#include "net/nft_lb.h"

#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/xalloc.h"

#define LB_TABLE "ip berth-kube"

static const char *proto_name(int proto)
{
	return proto == IPPROTO_UDP ? "udp" : "tcp";
}

/* The table, its map and base chains (idempotent: `add` then the two
 * base rules made again). */
static void base_cmds(FILE *b)
{
	fprintf(b, "add table " LB_TABLE "\n"
		   "add map " LB_TABLE " ports { type inet_proto . inet_service : verdict; }\n"
		   "add chain " LB_TABLE " pre { type nat hook prerouting priority dstnat - 1; }\n"
		   "add chain " LB_TABLE " out { type nat hook output priority -101; }\n"
		   "flush chain " LB_TABLE " pre\n"
		   "flush chain " LB_TABLE " out\n"
		   "add rule " LB_TABLE " pre ip daddr != 127.0.0.0/8 fib daddr type local "
		   "meta l4proto . th dport vmap @ports\n"
		   "add rule " LB_TABLE
		   " out fib daddr type local meta l4proto . th dport vmap @ports\n");
}

int bnft_lb_set(bnft *n, int proto, uint16_t host_port, const struct in_addr *ips, size_t nips,
		uint16_t port, berr *e)
{
	if (nips > BNFT_LB_MAX)
		return berr_set(e, E2BIG, "port %u/%s: %zu backends (at most %d)", host_port,
				proto_name(proto), nips, BNFT_LB_MAX);
	const char *p = proto_name(proto);
	char *cmds = NULL;
	size_t len = 0;
	FILE *b = open_memstream(&cmds, &len);
	if (!b)
		return berr_sys(e, "open_memstream");
	base_cmds(b);
	fprintf(b,
		"add chain " LB_TABLE " svc-%s-%u\n"
		"flush chain " LB_TABLE " svc-%s-%u\n",
		p, host_port, p, host_port);
	if (nips) {
		fprintf(b,
			"add rule " LB_TABLE " svc-%s-%u meta l4proto %s dnat to numgen inc "
			"mod %zu map { ",
			p, host_port, p, nips);
		for (size_t i = 0; i < nips; i++) {
			char ab[INET_ADDRSTRLEN];
			inet_ntop(AF_INET, &ips[i], ab, sizeof(ab));
			fprintf(b, "%s%zu : %s", i ? ", " : "", i, ab);
		}
		fprintf(b, " } : %u\n", port);
	}
	fprintf(b, "add element " LB_TABLE " ports { %s . %u : jump svc-%s-%u }\n", p, host_port, p,
		host_port);
	if (fclose(b) != 0) {
		free(cmds);
		return berr_sys(e, "open_memstream");
	}
	int rc = bnft_run(n, cmds, e);
	free(cmds);
	if (rc < 0)
		return berr_ctx(e, "publish port %u/%s over %zu backends", host_port, p, nips);
	return 0;
}

/* Whether the map still has elements (1), none (0), or no table (-1). */
static int lb_in_use(bnft *n)
{
	const char *js = NULL;
	berr ig;
	if (bnft_list_json(n, "list map " LB_TABLE " ports", &js, &ig) < 0)
		return -1;
	json_object *doc = json_tokener_parse(js), *arr = NULL;
	int used = 0;
	if (!doc || !json_object_object_get_ex(doc, "nftables", &arr) ||
	    !json_object_is_type(arr, json_type_array))
		used = 1; /* unknown: keep it */
	for (size_t i = 0; !used && i < json_object_array_length(arr); i++) {
		json_object *m = NULL, *el = NULL;
		if (json_object_object_get_ex(json_object_array_get_idx(arr, i), "map", &m) &&
		    json_object_object_get_ex(m, "elem", &el) &&
		    json_object_is_type(el, json_type_array) && json_object_array_length(el))
			used = 1;
	}
	json_object_put(doc);
	return used;
}

int bnft_lb_del(bnft *n, int proto, uint16_t host_port, berr *e)
{
	if (lb_in_use(n) < 0)
		return 0; /* no table */
	const char *p = proto_name(proto);
	/* add then delete: idempotent when either is already gone */
	_cleanup_free_ char *cmds =
	    xasprintf("add map " LB_TABLE " ports { type inet_proto . inet_service : verdict; }\n"
		      "add chain " LB_TABLE " svc-%s-%u\n"
		      "add element " LB_TABLE " ports { %s . %u : jump svc-%s-%u }\n"
		      "delete element " LB_TABLE " ports { %s . %u }\n"
		      "delete chain " LB_TABLE " svc-%s-%u\n",
		      p, host_port, p, host_port, p, host_port, p, host_port, p, host_port);
	if (bnft_run(n, cmds, e) < 0)
		return berr_ctx(e, "unpublish port %u/%s", host_port, p);
	if (lb_in_use(n) == 0 && bnft_run(n, "delete table " LB_TABLE "\n", e) < 0)
		return berr_ctx(e, "remove table %s", LB_TABLE);
	return 0;
}
