/* kube/play_svc: a Service at run time (host port: nodePort, else port;
 * targetPort by name resolved against the pods it selects), its three
 * words for the readiness hook and back, and bad words refused. */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "check.h"
#include "kube/play_svc.h"
#include "util/xalloc.h"

static const char manifest[] = "apiVersion: apps/v1\n"
			       "kind: Deployment\n"
			       "metadata: {name: web}\n"
			       "spec:\n"
			       "  selector: {matchLabels: {app: web}}\n"
			       "  template:\n"
			       "    metadata: {labels: {app: web, tier: front}}\n"
			       "    spec:\n"
			       "      containers:\n"
			       "      - name: c\n"
			       "        image: busybox\n"
			       "        ports: [{name: http, containerPort: 8080}]\n"
			       "---\n"
			       "apiVersion: v1\n"
			       "kind: Service\n"
			       "metadata: {name: svc}\n"
			       "spec:\n"
			       "  type: NodePort\n"
			       "  selector: {app: web, tier: front}\n"
			       "  ports:\n"
			       "  - {name: a, port: 80, targetPort: http, nodePort: 30080}\n"
			       "  - {name: b, port: 53, protocol: UDP}\n"
			       "---\n"
			       "apiVersion: v1\n"
			       "kind: Service\n"
			       "metadata: {name: other}\n"
			       "spec:\n"
			       "  selector: {app: nothing}\n"
			       "  ports: [{port: 81}]\n"
			       "---\n"
			       "apiVersion: v1\n"
			       "kind: Service\n"
			       "metadata: {name: badname}\n"
			       "spec:\n"
			       "  selector: {app: web}\n"
			       "  ports: [{port: 82, targetPort: nope}]\n";

static void test_rt_and_args(void)
{
	berr e = {0};
	kube_file *f = kube_parse(manifest, strlen(manifest), "t.yaml", &e);
	if (!f)
		fprintf(stderr, "%s\n", e.msg);
	CHECK(f);
	kube_svc_rt s;
	CHECK(kube_svc_rt_of(f, &f->objs[1], &s, &e) == 1);
	CHECK_STREQ(s.name, "svc");
	CHECK(s.n_ports == 2);
	CHECK(s.ports[0].proto == IPPROTO_TCP && s.ports[0].host_port == 30080 &&
	      s.ports[0].target == 8080);
	CHECK(s.ports[1].proto == IPPROTO_UDP && s.ports[1].host_port == 53 &&
	      s.ports[1].target == 53);
	CHECK(kube_svc_selects(&s, &f->objs[0].u.deploy.tmpl_meta));
	strv_builder b = {0};
	kube_svc_args(&s, &b);
	char **w = strvb_take(&b);
	CHECK(strv_len(w) == 3);
	CHECK_STREQ(w[1], "app=web,tier=front");
	CHECK_STREQ(w[2], "tcp:30080:8080,udp:53:53");
	kube_svc_rt back;
	CHECK(kube_svc_from_args(w, &back, &e) == 0);
	CHECK_STREQ(back.name, "svc");
	CHECK(back.n_ports == 2 && back.ports[0].host_port == 30080 &&
	      back.ports[1].proto == IPPROTO_UDP);
	CHECK(strv_len(back.selector) == 2 && !strcmp(back.selector[1], "tier=front"));
	kube_svc_rt_free(&back);
	strv_free(w);
	kube_svc_rt_free(&s);
	/* selects no pod of the file: nothing to do */
	CHECK(kube_svc_rt_of(f, &f->objs[2], &s, &e) == 0 && !s.name);
	CHECK(kube_svc_rt_of(f, &f->objs[3], &s, &e) < 0);
	CHECK_STREQ(e.msg, "Service \"badname\": spec.ports[0].targetPort: no container port "
			   "named \"nope\" in the pods it selects");
	kube_file_free(f);
}

static void test_bad_words(void)
{
	static const char *const bad[][3] = {
	    {"s", "", "tcp:1:2"},     {"s", "=x", "tcp:1:2"},	 {"s", "a=b", ""},
	    {"s", "a=b", "sctp:1:2"}, {"s", "a=b", "tcp:0:2"},	 {"s", "a=b", "tcp:1:65536"},
	    {"s", "a=b", "tcp:1:2,"}, {"s", "a=b", "tcp:1:2;x"}, {"s", "noeq", "tcp:1:2"},
	    {"s", "a=b", "tcp:1"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		kube_svc_rt s;
		berr e = {0};
		CHECK(kube_svc_from_args((char *const *)bad[i], &s, &e) < 0);
		CHECK(e.errnum == EINVAL && !s.name);
	}
}

CHECK_MAIN(test_rt_and_args, test_bad_words)
