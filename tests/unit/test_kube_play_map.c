/* kube/play_map: restartPolicy, command/args against the image's
 * Entrypoint/Cmd, env (values, ConfigMap and Secret references, fieldRef,
 * envFrom with prefixes, the later name winning, optional and missing
 * references with their one-line errors) and the probes' mapping onto
 * engine/health.h. */
#include <string.h>

#include "check.h"
#include "kube/play_map.h"
#include "util/xalloc.h"

static const char manifest[] =
    "apiVersion: v1\n"
    "kind: ConfigMap\n"
    "metadata: {name: kb-cm}\n"
    "data: {GREETING: hello, COLOR: blue}\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: Secret\n"
    "metadata: {name: kb-sec}\n"
    "stringData: {PASSWORD: s3cret}\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: Pod\n"
    "metadata: {name: kb-pod}\n"
    "spec:\n"
    "  restartPolicy: OnFailure\n"
    "  containers:\n"
    "  - name: web\n"
    "    image: busybox\n"
    "    args: [httpd, -f]\n"
    "    ports: [{name: http, containerPort: 8080}]\n"
    "    envFrom:\n"
    "    - configMapRef: {name: kb-cm}\n"
    "      prefix: CM_\n"
    "    - secretRef: {name: kb-sec}\n"
    "    env:\n"
    "    - {name: CM_COLOR, value: red}\n"
    "    - name: GREETING\n"
    "      valueFrom: {configMapKeyRef: {name: kb-cm, key: GREETING}}\n"
    "    - name: PW\n"
    "      valueFrom: {secretKeyRef: {name: kb-sec, key: PASSWORD}}\n"
    "    - name: ME\n"
    "      valueFrom: {fieldRef: {fieldPath: metadata.name}}\n"
    "    - name: GONE\n"
    "      valueFrom: {configMapKeyRef: {name: kb-none, key: x, optional: true}}\n"
    "    readinessProbe:\n"
    "      httpGet: {path: /ready, port: http}\n"
    "      periodSeconds: 2\n"
    "    livenessProbe:\n"
    "      exec: {command: [cat, /tmp/ok]}\n"
    "      initialDelaySeconds: 5\n"
    "  - name: side\n"
    "    image: busybox\n"
    "    command: [sleep]\n"
    "    env:\n"
    "    - name: X\n"
    "      valueFrom: {secretKeyRef: {name: kb-sec, key: NOPE}}\n"
    "    startupProbe:\n"
    "      tcpSocket: {port: 9000}\n";

static kube_file *parse(void)
{
	berr e = {0};
	kube_file *f = kube_parse(manifest, strlen(manifest), "t.yaml", &e);
	if (!f)
		fprintf(stderr, "unexpected error: %s\n", e.msg);
	return f;
}

static const kube_container *ctr(const kube_file *f, size_t i)
{
	return &f->objs[2].u.pod.spec.containers[i];
}

static void test_restart(void)
{
	CHECK_STREQ(kube_restart_arg(KUBE_RESTART_ALWAYS), "always");
	CHECK_STREQ(kube_restart_arg(KUBE_RESTART_ON_FAILURE), "on-failure");
	CHECK_STREQ(kube_restart_arg(KUBE_RESTART_NEVER), "no");
	kube_file *f = parse();
	CHECK(f);
	CHECK_STREQ(kube_restart_arg(f->objs[2].u.pod.spec.restart), "on-failure");
	kube_file_free(f);
}

static void test_argv(void)
{
	kube_file *f = parse();
	CHECK(f);
	char *ep[] = {"/bin/ep", "-x", NULL}, *cmd[] = {"default", NULL};
	berr e = {0};
	/* args only: Entrypoint + args, Cmd dropped */
	char **v = kube_argv(ctr(f, 0), ep, cmd, &e);
	CHECK(v && strv_len(v) == 4);
	CHECK_STREQ(v[0], "/bin/ep");
	CHECK_STREQ(v[2], "httpd");
	CHECK_STREQ(v[3], "-f");
	strv_free(v);
	/* command only: command, Entrypoint and Cmd dropped */
	v = kube_argv(ctr(f, 1), ep, cmd, &e);
	CHECK(v && strv_len(v) == 1);
	CHECK_STREQ(v[0], "sleep");
	strv_free(v);
	/* neither: Entrypoint + Cmd */
	kube_container bare = {.name = "bare"};
	v = kube_argv(&bare, ep, cmd, &e);
	CHECK(v && strv_len(v) == 3);
	CHECK_STREQ(v[2], "default");
	strv_free(v);
	CHECK(!kube_argv(&bare, NULL, NULL, &e));
	CHECK_STREQ(
	    e.msg, "container \"bare\": no command: neither the container nor its image gives one");
	kube_file_free(f);
}

static void test_env(void)
{
	kube_file *f = parse();
	CHECK(f);
	berr e = {0};
	char **v = kube_environ(f, ctr(f, 0), "kb-pod", "spec.containers[0]", &e);
	if (!v)
		fprintf(stderr, "%s\n", e.msg);
	CHECK(v);
	/* CM_COLOR from envFrom replaced by env's (and kept at its place) */
	const char *want[] = {"CM_GREETING=hello", "PASSWORD=s3cret", "CM_COLOR=red",
			      "GREETING=hello",	   "PW=s3cret",	      "ME=kb-pod"};
	size_t n = strv_len(v);
	CHECK(n == 6);
	for (size_t i = 0; i < n; i++)
		CHECK_STREQ(v[i], want[i]);
	strv_free(v);
	CHECK(!kube_environ(f, ctr(f, 1), "kb-pod", "spec.containers[1]", &e));
	CHECK_STREQ(e.msg, "spec.containers[1].env[0].valueFrom.secretKeyRef: Secret \"kb-sec\" "
			   "has no key \"NOPE\"");
	kube_file_free(f);
}

static void test_probes(void)
{
	kube_file *f = parse();
	CHECK(f);
	eng_probe p[3];
	size_t n = 9;
	berr e = {0};
	CHECK(kube_probes(ctr(f, 0), p, &n, "spec.containers[0]", &e) == 0);
	CHECK(n == 2);
	CHECK(p[0].role == ENG_PROBE_LIVENESS && p[0].kind == ENG_PROBE_EXEC);
	CHECK_STREQ(p[0].cmd[1], "/tmp/ok");
	CHECK(p[0].initial_delay_ns == 5000000000LL && p[0].interval_ns == 10000000000LL);
	CHECK(p[0].timeout_ns == 1000000000LL && p[0].failure_threshold == 3);
	CHECK(p[1].role == ENG_PROBE_READINESS && p[1].kind == ENG_PROBE_HTTP);
	CHECK_STREQ(p[1].http_path, "/ready");
	CHECK(p[1].port == 8080 && p[1].interval_ns == 2000000000LL);
	CHECK(kube_probes(ctr(f, 1), p, &n, "spec.containers[1]", &e) == 0);
	CHECK(n == 1 && p[0].role == ENG_PROBE_STARTUP && p[0].kind == ENG_PROBE_TCP);
	CHECK(p[0].port == 9000 && !p[0].http_path);
	/* the model refuses a name not among the ports; the mapping too */
	kube_container c = {.name = "x"};
	c.startup = (kube_probe){.kind = KUBE_PROBE_TCP, .port = {.name = "web"}, .period = 10};
	CHECK(kube_probes(&c, p, &n, "spec.containers[1]", &e) < 0);
	CHECK_STREQ(e.msg, "spec.containers[1].startupProbe.port: no container port named \"web\"");
	kube_file_free(f);
}

CHECK_MAIN(test_restart, test_argv, test_env, test_probes)
