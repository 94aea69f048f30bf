/* kube/model: manifests from the Kubernetes documentation read into the
 * model (every field checked), what kubectl's generator writes, the
 * quantity table, multi-document files, and every error path with its
 * exact one-line message (FILE:LINE: Kind "name": path: what). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "kube/model.h"
#include "util/xalloc.h"

static kube_file *parse(const char *s)
{
	berr e = {0};
	kube_file *f = kube_parse(s, strlen(s), "t.yaml", &e);
	if (!f)
		fprintf(stderr, "unexpected error: %s\n", e.msg);
	return f;
}

/* The error of s ("" if it parsed). */
static const char *err(const char *s)
{
	static berr e;
	memset(&e, 0, sizeof(e));
	kube_file *f = kube_parse(s, strlen(s), "t.yaml", &e);
	if (f) {
		kube_file_free(f);
		return "";
	}
	return e.msg;
}

/* content/en/examples/controllers/nginx-deployment.yaml */
static const char nginx_deployment[] = "apiVersion: apps/v1\n"
				       "kind: Deployment\n"
				       "metadata:\n"
				       "  name: nginx-deployment\n"
				       "  labels:\n"
				       "    app: nginx\n"
				       "spec:\n"
				       "  replicas: 3\n"
				       "  selector:\n"
				       "    matchLabels:\n"
				       "      app: nginx\n"
				       "  template:\n"
				       "    metadata:\n"
				       "      labels:\n"
				       "        app: nginx\n"
				       "    spec:\n"
				       "      containers:\n"
				       "      - name: nginx\n"
				       "        image: nginx:1.14.2\n"
				       "        ports:\n"
				       "        - containerPort: 80\n";

static void test_docs_deployment(void)
{
	kube_file *f = parse(nginx_deployment);
	CHECK(f && f->n_objs == 1);
	const kube_obj *o = &f->objs[0];
	CHECK(o->kind == KUBE_DEPLOYMENT && o->line == 1);
	CHECK_STREQ(o->meta.name, "nginx-deployment");
	CHECK(!o->meta.namespace);
	CHECK(o->meta.n_labels == 1);
	CHECK_STREQ(o->meta.labels[0].key, "app");
	CHECK_STREQ(o->meta.labels[0].value, "nginx");
	const kube_deployment *d = &o->u.deploy;
	CHECK(d->replicas == 3 && d->n_selector == 1);
	CHECK(d->tmpl.n_containers == 1 && d->tmpl.restart == KUBE_RESTART_ALWAYS);
	const kube_container *c = &d->tmpl.containers[0];
	CHECK_STREQ(c->name, "nginx");
	CHECK_STREQ(c->image, "nginx:1.14.2");
	CHECK(c->n_ports == 1 && c->ports[0].container_port == 80 && !c->ports[0].host_port);
	CHECK(c->ports[0].protocol == KUBE_TCP && !c->ports[0].name);
	CHECK(c->resources.cpu_limit_m == -1 && c->resources.mem_request == -1);
	CHECK(c->liveness.kind == KUBE_PROBE_NONE && c->pull == KUBE_PULL_DEFAULT);
	CHECK(!c->has_security && c->security.run_as_user == -1 && c->security.privileged == -1);
	kube_file_free(f);
}

/* `kubectl create deployment web --image=nginx --dry-run=client -o yaml` */
static void test_kubectl_generated(void)
{
	kube_file *f =
	    parse("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n"
		  "  creationTimestamp: null\n  labels:\n    app: web\n  name: web\n"
		  "spec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: web\n"
		  "  strategy: {}\n  template:\n    metadata:\n"
		  "      creationTimestamp: null\n      labels:\n        app: web\n"
		  "    spec:\n      containers:\n      - image: nginx\n        name: nginx\n"
		  "        resources: {}\nstatus: {}\n");
	CHECK(f && f->n_objs == 1 && f->objs[0].u.deploy.replicas == 1);
	kube_file_free(f);
	CHECK_STREQ(err("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n"
			"  creationTimestamp: \"2024-01-01T00:00:00Z\"\n"
			"spec:\n  containers: [{name: a, image: b}]\n"),
		    "t.yaml:5: Pod \"p\": metadata.creationTimestamp: not supported by berth "
		    "(only null)");
	CHECK_STREQ(err("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
			"spec:\n  containers: [{name: a, image: b}]\nstatus:\n  phase: Running\n"),
		    "t.yaml:7: Pod \"p\": status: not supported by berth (status is written by "
		    "Kubernetes)");
}

/* content/en/docs/concepts/services-networking/service.md, and a NodePort */
static void test_docs_service(void)
{
	kube_file *f = parse("apiVersion: v1\nkind: Service\nmetadata:\n  name: my-service\n"
			     "spec:\n  selector:\n    app.kubernetes.io/name: MyApp\n  ports:\n"
			     "    - protocol: TCP\n      port: 80\n      targetPort: 9376\n"
			     "---\n"
			     "apiVersion: v1\nkind: Service\nmetadata:\n  name: np\nspec:\n"
			     "  type: NodePort\n  selector: {app: x}\n  ports:\n"
			     "  - {name: http, port: 80, targetPort: http-web, nodePort: 30007}\n"
			     "  - {name: dns, port: 53, protocol: UDP}\n"
			     "  - {name: dns-tcp, port: 53}\n");
	CHECK(f && f->n_objs == 2);
	const kube_service *s = &f->objs[0].u.svc;
	CHECK(s->type == KUBE_SVC_CLUSTER_IP && s->n_selector == 1 && s->n_ports == 1);
	CHECK_STREQ(s->selector[0].key, "app.kubernetes.io/name");
	CHECK(s->ports[0].port == 80 && s->ports[0].target.number == 9376 && !s->ports[0].name);
	CHECK(f->objs[1].line == 13);
	s = &f->objs[1].u.svc;
	CHECK(s->type == KUBE_SVC_NODE_PORT && s->n_ports == 3);
	CHECK(s->ports[0].node_port == 30007 && !s->ports[0].target.number);
	CHECK_STREQ(s->ports[0].target.name, "http-web");
	CHECK(s->ports[1].protocol == KUBE_UDP && s->ports[1].target.number == 53);
	CHECK(s->ports[2].protocol == KUBE_TCP);
	kube_file_free(f);
}

/* content/en/examples/configmap/configmap.yaml + configure-pod.yaml */
static const char game_demo[] =
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: game-demo\ndata:\n"
    "  # property-like keys; each key maps to a simple value\n"
    "  player_initial_lives: \"3\"\n"
    "  ui_properties_file_name: \"user-interface.properties\"\n"
    "  # file-like keys\n"
    "  game.properties: |\n    enemy.types=aliens,monsters\n    player.maximum-lives=5\n"
    "  user-interface.properties: |\n    color.good=purple\n    color.bad=yellow\n"
    "    allow.textmode=true\n"
    "---\n"
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: configmap-demo-pod\nspec:\n"
    "  containers:\n    - name: demo\n      image: alpine\n"
    "      command: [\"sleep\", \"3600\"]\n      env:\n"
    "        # Define the environment variable\n"
    "        - name: PLAYER_INITIAL_LIVES # Notice that the case is different here\n"
    "                                     # from the key name in the ConfigMap.\n"
    "          valueFrom:\n            configMapKeyRef:\n"
    "              name: game-demo           # The ConfigMap this value comes from.\n"
    "              key: player_initial_lives # The key to fetch.\n"
    "        - name: UI_PROPERTIES_FILE_NAME\n          valueFrom:\n"
    "            configMapKeyRef:\n              name: game-demo\n"
    "              key: ui_properties_file_name\n"
    "      volumeMounts:\n      - name: config\n        mountPath: \"/config\"\n"
    "        readOnly: true\n"
    "  volumes:\n  - name: config\n    configMap:\n      name: game-demo\n      items:\n"
    "      - key: \"game.properties\"\n        path: \"game.properties\"\n"
    "      - key: \"user-interface.properties\"\n        path: \"user-interface.properties\"\n";

static void test_docs_configmap_pod(void)
{
	kube_file *f = parse(game_demo);
	CHECK(f && f->n_objs == 2);
	const kube_configmap *m = &f->objs[0].u.cm;
	CHECK(f->objs[0].kind == KUBE_CONFIGMAP && m->n_data == 4 && !m->n_binary);
	CHECK_STREQ(m->data[0].key, "player_initial_lives");
	CHECK_STREQ(m->data[0].value, "3");
	CHECK_STREQ(m->data[2].value, "enemy.types=aliens,monsters\nplayer.maximum-lives=5\n");
	const kube_pod_spec *p = &f->objs[1].u.pod.spec;
	CHECK(f->objs[1].kind == KUBE_POD && p->n_containers == 1 && p->n_volumes == 1);
	const kube_container *c = &p->containers[0];
	CHECK(c->command && !strcmp(c->command[0], "sleep") && !strcmp(c->command[1], "3600"));
	CHECK(!c->command[2] && !c->args);
	CHECK(c->n_env == 2 && c->env[0].src == KUBE_ENV_CONFIGMAP);
	CHECK_STREQ(c->env[0].name, "PLAYER_INITIAL_LIVES");
	CHECK_STREQ(c->env[0].ref_name, "game-demo");
	CHECK_STREQ(c->env[1].ref_key, "ui_properties_file_name");
	CHECK(c->n_mounts == 1 && c->mounts[0].read_only && !c->mounts[0].sub_path);
	CHECK_STREQ(c->mounts[0].mount_path, "/config");
	const kube_volume *v = &p->volumes[0];
	CHECK(v->kind == KUBE_VOL_CONFIGMAP && v->n_items == 2 && !v->optional);
	CHECK_STREQ(v->source, "game-demo");
	CHECK_STREQ(v->items[1].value, "user-interface.properties");
	kube_file_free(f);
}

/* content/en/docs/concepts/configuration/secret.md: data, and stringData
 * over data */
static void test_docs_secret(void)
{
	kube_file *f = parse("apiVersion: v1\nkind: Secret\nmetadata:\n  name: mysecret\n"
			     "type: Opaque\ndata:\n  USER_NAME: YWRtaW4=\n"
			     "  PASSWORD: MWYyZDFlMmU2N2Rm\n"
			     "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s2\n"
			     "data:\n  username: YWRtaW5pc3RyYXRvcg==\n  bin: AAEC\n"
			     "stringData:\n  username: administrator\n  config.yaml: |\n"
			     "    apiUrl: \"https://my.api.com/api/v1\"\n");
	CHECK(f && f->n_objs == 2);
	const kube_secret *s = &f->objs[0].u.secret;
	CHECK_STREQ(s->type, "Opaque");
	CHECK(s->n_data == 2);
	/* sorted by key */
	CHECK_STREQ(s->data[0].key, "PASSWORD");
	CHECK_STREQ((char *)s->data[0].value, "1f2d1e2e67df");
	CHECK_STREQ((char *)s->data[1].value, "admin");
	CHECK(s->data[1].len == 5);
	s = &f->objs[1].u.secret;
	CHECK_STREQ(s->type, "Opaque");
	CHECK(s->n_data == 3);
	CHECK_STREQ(s->data[0].key, "bin");
	CHECK(s->data[0].len == 3 && !memcmp(s->data[0].value, "\0\1\2", 3));
	CHECK_STREQ(s->data[1].key, "config.yaml");
	CHECK_STREQ(s->data[2].key, "username");
	CHECK_STREQ((char *)s->data[2].value, "administrator");
	kube_file_free(f);
}

/* content/en/docs/concepts/storage/persistent-volumes.md (no selector) */
static void test_docs_pvc(void)
{
	kube_file *f = parse("apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n"
			     "  name: myclaim\nspec:\n  accessModes:\n    - ReadWriteOnce\n"
			     "  volumeMode: Filesystem\n  resources:\n    requests:\n"
			     "      storage: 8Gi\n  storageClassName: slow\n");
	CHECK(f && f->n_objs == 1 && f->objs[0].kind == KUBE_PVC);
	const kube_pvc *p = &f->objs[0].u.pvc;
	CHECK(p->storage == 8LL << 30);
	CHECK_STREQ(p->access_modes[0], "ReadWriteOnce");
	CHECK_STREQ(p->storage_class, "slow");
	kube_file_free(f);
	CHECK_STREQ(err("apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: c}\n"
			"spec:\n  accessModes: [ReadWriteSometimes]\n"
			"  resources: {requests: {storage: 1Gi}}\n"),
		    "t.yaml:5: PersistentVolumeClaim \"c\": spec.accessModes[0]: "
		    "\"ReadWriteSometimes\": not supported by berth (one of ReadWriteOnce, "
		    "ReadOnlyMany, ReadWriteMany, ReadWriteOncePod)");
	CHECK_STREQ(err("apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: c}\n"
			"spec:\n  accessModes: [ReadWriteOnce]\n"),
		    "t.yaml:5: PersistentVolumeClaim \"c\": spec.resources.requests.storage: "
		    "required");
	CHECK_STREQ(err("apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: c}\n"
			"spec:\n  resources: {requests: {storage: 1Gi}}\n"
			"  selector: {matchLabels: {a: b}}\n"),
		    "t.yaml:6: PersistentVolumeClaim \"c\": spec.selector: not supported by "
		    "berth");
}

/* content/en/examples/pods/probe/exec-liveness.yaml, tcp-liveness-readiness.yaml */
static void test_docs_probes(void)
{
	kube_file *f = parse(
	    "apiVersion: v1\nkind: Pod\nmetadata:\n  labels:\n    test: liveness\n"
	    "  name: liveness-exec\nspec:\n  containers:\n  - name: liveness\n"
	    "    image: registry.k8s.io/busybox\n    args:\n    - /bin/sh\n    - -c\n"
	    "    - touch /tmp/healthy; sleep 30; rm -f /tmp/healthy; sleep 600\n"
	    "    livenessProbe:\n      exec:\n        command:\n        - cat\n"
	    "        - /tmp/healthy\n      initialDelaySeconds: 5\n      periodSeconds: 5\n"
	    "---\n"
	    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: goproxy\n  labels:\n    app: goproxy\n"
	    "spec:\n  containers:\n  - name: goproxy\n    image: registry.k8s.io/goproxy:0.1\n"
	    "    ports:\n    - containerPort: 8080\n      name: proxy\n"
	    "    readinessProbe:\n      tcpSocket:\n        port: 8080\n"
	    "      initialDelaySeconds: 15\n      periodSeconds: 10\n"
	    "    livenessProbe:\n      tcpSocket:\n        port: proxy\n"
	    "      initialDelaySeconds: 15\n      periodSeconds: 10\n"
	    "    startupProbe:\n      httpGet:\n        port: 8080\n"
	    "      failureThreshold: 30\n      periodSeconds: 10\n");
	CHECK(f && f->n_objs == 2);
	const kube_container *c = &f->objs[0].u.pod.spec.containers[0];
	CHECK(c->args && !strcmp(c->args[1], "-c") && !c->command);
	const kube_probe *p = &c->liveness;
	CHECK(p->kind == KUBE_PROBE_EXEC && !strcmp(p->command[1], "/tmp/healthy"));
	CHECK(p->initial_delay == 5 && p->period == 5 && p->timeout == 1);
	CHECK(p->failure_threshold == 3 && p->success_threshold == 1);
	CHECK(c->readiness.kind == KUBE_PROBE_NONE);
	c = &f->objs[1].u.pod.spec.containers[0];
	CHECK(c->readiness.kind == KUBE_PROBE_TCP && c->readiness.port.number == 8080);
	CHECK(c->liveness.kind == KUBE_PROBE_TCP && !strcmp(c->liveness.port.name, "proxy"));
	CHECK(c->startup.kind == KUBE_PROBE_HTTP && c->startup.failure_threshold == 30);
	CHECK_STREQ(c->startup.path, "/");
	kube_file_free(f);
	/* http-liveness.yaml has httpHeaders: refused by name */
	CHECK_STREQ(err("apiVersion: v1\nkind: Pod\nmetadata:\n  name: liveness-http\nspec:\n"
			"  containers:\n  - name: liveness\n"
			"    image: registry.k8s.io/e2e-test-images/agnhost:2.40\n"
			"    livenessProbe:\n      httpGet:\n        path: /healthz\n"
			"        port: 8080\n        httpHeaders:\n        - name: Custom-Header\n"
			"          value: Awesome\n"),
		    "t.yaml:13: Pod \"liveness-http\": "
		    "spec.containers[0].livenessProbe.httpGet.httpHeaders: not supported by berth");
}

/* security-context-4.yaml, memory-request-limit.yaml, cpu-request-limit.yaml,
 * and the volume kinds */
static void test_docs_security_resources_volumes(void)
{
	kube_file *f = parse(
	    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: security-context-demo-4\n"
	    "  namespace: mem-example\nspec:\n  containers:\n  - name: sec-ctx-4\n"
	    "    image: gcr.io/google-samples/hello-app:2.0\n    securityContext:\n"
	    "      capabilities:\n        add: [\"NET_ADMIN\", \"SYS_TIME\"]\n"
	    "        drop: [ALL]\n      runAsUser: 1000\n      runAsGroup: 3000\n"
	    "      readOnlyRootFilesystem: true\n      allowPrivilegeEscalation: false\n"
	    "    resources:\n      requests:\n        memory: \"100Mi\"\n        cpu: \"0.5\"\n"
	    "      limits:\n        memory: \"200Mi\"\n        cpu: 1\n"
	    "    command: [\"stress\"]\n"
	    "    args: [\"--vm\", \"1\", \"--vm-bytes\", \"150M\", \"--vm-hang\", \"1\"]\n"
	    "    volumeMounts:\n    - {name: cache, mountPath: /cache}\n"
	    "    - {name: data, mountPath: /data, subPath: app/x}\n"
	    "    - {name: claim, mountPath: /srv}\n    - {name: sec, mountPath: /etc/s}\n"
	    "    workingDir: /work\n    stdin: true\n    tty: true\n"
	    "    imagePullPolicy: IfNotPresent\n"
	    "  - name: side\n    image: busybox\n    resources:\n      limits: {memory: 1Gi}\n"
	    "    env:\n    - {name: POD, valueFrom: {fieldRef: {fieldPath: metadata.name}}}\n"
	    "    - {name: PASS, valueFrom: {secretKeyRef: {name: s, key: pw, optional: true}}}\n"
	    "    - {name: EMPTY}\n    - {name: X, value: \"8080\"}\n"
	    "    envFrom:\n    - configMapRef: {name: cm}\n      prefix: CM_\n"
	    "    - secretRef: {name: s, optional: true}\n"
	    "  initContainers:\n  - {name: init, image: busybox, command: [\"true\"]}\n"
	    "  volumes:\n  - name: cache\n    emptyDir: {medium: Memory, sizeLimit: 64Mi}\n"
	    "  - name: data\n    hostPath:\n      path: /data\n      type: Directory\n"
	    "  - name: claim\n    persistentVolumeClaim: {claimName: myclaim, readOnly: true}\n"
	    "  - name: sec\n    secret: {secretName: s, optional: true}\n"
	    "  - name: plain\n    emptyDir:\n"
	    "  restartPolicy: OnFailure\n  hostname: web-0\n  hostNetwork: false\n"
	    "  dnsPolicy: Default\n");
	CHECK(f && f->n_objs == 1);
	const kube_obj *o = &f->objs[0];
	CHECK_STREQ(o->meta.namespace, "mem-example");
	const kube_pod_spec *p = &o->u.pod.spec;
	CHECK(p->n_containers == 2 && p->n_init_containers == 1 && p->n_volumes == 5);
	CHECK(p->restart == KUBE_RESTART_ON_FAILURE && p->dns_policy == KUBE_DNS_DEFAULT);
	CHECK_STREQ(p->hostname, "web-0");
	const kube_container *c = &p->containers[0];
	CHECK(c->has_security);
	const kube_security *s = &c->security;
	CHECK(!strcmp(s->cap_add[0], "NET_ADMIN") && !strcmp(s->cap_add[1], "SYS_TIME"));
	CHECK(!s->cap_add[2] && !strcmp(s->cap_drop[0], "ALL"));
	CHECK(s->run_as_user == 1000 && s->run_as_group == 3000 && s->privileged == -1);
	CHECK(s->read_only_root_fs == 1 && s->allow_privilege_escalation == 0);
	CHECK(c->resources.mem_request == 100LL << 20 && c->resources.mem_limit == 200LL << 20);
	CHECK(c->resources.cpu_request_m == 500 && c->resources.cpu_limit_m == 1000);
	CHECK(c->n_mounts == 4 && !strcmp(c->mounts[1].sub_path, "app/x"));
	CHECK_STREQ(c->working_dir, "/work");
	CHECK(c->stdin_open && c->tty && c->pull == KUBE_PULL_IF_NOT_PRESENT);
	c = &p->containers[1];
	/* a limit without a request is the request too */
	CHECK(c->resources.mem_request == 1LL << 30 && c->resources.cpu_request_m == -1);
	CHECK(c->n_env == 4 && c->env[0].src == KUBE_ENV_FIELD);
	CHECK_STREQ(c->env[0].field_path, "metadata.name");
	CHECK(c->env[1].src == KUBE_ENV_SECRET && c->env[1].optional);
	CHECK(c->env[2].src == KUBE_ENV_VALUE && !c->env[2].value);
	CHECK_STREQ(c->env[3].value, "8080");
	CHECK(c->n_env_from == 2 && !c->env_from[0].secret && c->env_from[1].secret);
	CHECK_STREQ(c->env_from[0].prefix, "CM_");
	CHECK(c->env_from[1].optional);
	const kube_volume *v = p->volumes;
	CHECK(v[0].kind == KUBE_VOL_EMPTYDIR && !strcmp(v[0].medium, "Memory"));
	CHECK(v[0].size_limit == 64LL << 20);
	CHECK(v[1].kind == KUBE_VOL_HOSTPATH && !strcmp(v[1].source, "/data"));
	CHECK_STREQ(v[1].host_type, "Directory");
	CHECK(v[2].kind == KUBE_VOL_PVC && v[2].read_only && !strcmp(v[2].source, "myclaim"));
	CHECK(v[3].kind == KUBE_VOL_SECRET && v[3].optional);
	CHECK(v[4].kind == KUBE_VOL_EMPTYDIR && !strcmp(v[4].medium, "") && v[4].size_limit == -1);
	kube_file_free(f);
}

static void test_multi_document_file(void)
{
	char *s =
	    xasprintf("---\n# a comment only\n---\n%s---\n%s\n...\n", nginx_deployment, game_demo);
	kube_file *f = parse(s);
	free(s);
	CHECK(f && f->n_objs == 3);
	CHECK(f->objs[0].kind == KUBE_DEPLOYMENT && f->objs[0].line == 4);
	CHECK(f->objs[1].kind == KUBE_CONFIGMAP && f->objs[2].kind == KUBE_POD);
	kube_file_free(f);
	f = parse("");
	CHECK(f && f->n_objs == 0);
	kube_file_free(f);
	/* an error in the second object names its line in the file */
	s = xasprintf("%s---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n"
		      "  containers:\n  - name: a\n    image: b\n    lifecycle: {}\n",
		      nginx_deployment);
	CHECK_STREQ(err(s), "t.yaml:30: Pod \"p\": spec.containers[0].lifecycle: not supported "
			    "by berth");
	free(s);
	CHECK_STREQ(err("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n"
			"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n---\n"
			"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"),
		    "t.yaml:9: ConfigMap \"a\": defined twice");
	/* other namespace, other kind: no clash */
	CHECK_STREQ(err("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n"
			"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: x}\n---\n"
			"apiVersion: v1\nkind: Secret\nmetadata: {name: a}\n"),
		    "");
}

static const struct {
	const char *s;
	long long milli, bytes; /* -1: refused */
} quantities[] = {
    {"500m", 500, 1},
    {"1", 1000, 1},
    {"0.5", 500, 1},
    {"0.1", 100, 1},
    {"1.5", 1500, 2},
    {"2", 2000, 2},
    {"0.0001", 1, 1},
    {"+1", 1000, 1},
    {"1e3", 1000000, 1000},
    {"1E3", 1000000, 1000},
    {"1e-3", 1, 1},
    {"1k", 1000000, 1000},
    {"1Ki", 1024000, 1024},
    {"1.5Ki", 1536000, 1536},
    {"64Mi", 67108864000LL, 67108864},
    {"123Mi", 128974848000LL, 128974848},
    {"129M", 129000000000LL, 129000000},
    {"129e6", 129000000000LL, 129000000},
    {"128974848", 128974848000LL, 128974848},
    {"1G", 1000000000000LL, 1000000000},
    {"1Gi", 1073741824000LL, 1073741824},
    {"2Ti", 2199023255552000LL, 2199023255552LL},
    {"1Pi", 1125899906842624000LL, 1125899906842624LL},
    {"1Ei", -1, 1152921504606846976LL},
    {"7Ei", -1, 8070450532247928832LL},
    {"8Ei", -1, -1},
    {"1E", -1, 1000000000000000000LL},
    {"10E", -1, -1},
    {"100u", 1, 1},
    {"5n", 1, 1},
    {"0", 0, 0},
    {"0m", 0, 0},
    {"00.50", 500, 1},
    {"9223372036854775807", -1, 9223372036854775807LL},
    {"9223372036854775808", -1, -1},
    {"9223372036854775", 9223372036854775000LL, 9223372036854775LL},
    {"1.", 1000, 1},
    {".5", 500, 1},
    {"", -1, -1},
    {"-1", -1, -1},
    {"1Q", -1, -1},
    {"1.2.3", -1, -1},
    {"abc", -1, -1},
    {"1e", -1, -1},
    {"Mi", -1, -1},
    {"1 Mi", -1, -1},
    {".", -1, -1},
    {"1mi", -1, -1},
    {"1KI", -1, -1},
    {"1234567890123456789012345678", -1, -1},
};

static void test_quantity_table(void)
{
	for (size_t i = 0; i < sizeof(quantities) / sizeof(quantities[0]); i++) {
		int64_t m = -7, b = -7;
		const char *why = NULL;
		int rm = kube_quantity_milli(quantities[i].s, &m, &why);
		if (rm < 0)
			CHECK(why && *why);
		int rb = kube_quantity_bytes(quantities[i].s, &b, &why);
		if ((rm < 0 ? -1 : m) != quantities[i].milli ||
		    (rb < 0 ? -1 : b) != quantities[i].bytes)
			fprintf(stderr, "quantity \"%s\": %lld m, %lld bytes\n", quantities[i].s,
				rm < 0 ? -1LL : (long long)m, rb < 0 ? -1LL : (long long)b);
		CHECK((rm < 0 ? -1 : m) == quantities[i].milli);
		CHECK((rb < 0 ? -1 : b) == quantities[i].bytes);
	}
	const char *why = NULL;
	int64_t v;
	CHECK(kube_quantity_bytes("-1", &v, &why) < 0);
	CHECK_STREQ(why, "must not be negative");
	CHECK(kube_quantity_bytes("8Ei", &v, &why) < 0);
	CHECK_STREQ(why, "too large");
	CHECK(kube_quantity_bytes("1Q", &v, &why) < 0);
	CHECK_CONTAINS(why, "unknown suffix");
}

#define POD(body) "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n" body
#define CT(extra) POD("  containers:\n  - name: a\n    image: busybox\n" extra)

static void test_document_errors(void)
{
	CHECK_STREQ(err("- a\n- b\n"), "t.yaml:1: a document must be a mapping (a Kubernetes "
				       "object), not a list");
	CHECK_STREQ(err("apiVersion: v1\nmetadata: {name: x}\n"), "t.yaml:1: kind: required");
	CHECK_STREQ(err("apiVersion: v1\nkind: 3\n"),
		    "t.yaml:2: kind: must be a string, not an integer");
	CHECK_STREQ(err("apiVersion: batch/v1\nkind: Job\nmetadata: {name: x}\n"),
		    "t.yaml:2: kind: \"Job\": not supported by berth (Pod, Deployment, Service, "
		    "ConfigMap, Secret, PersistentVolumeClaim)");
	CHECK_STREQ(err("kind: Deployment\nmetadata: {name: x}\n"),
		    "t.yaml:1: Deployment: apiVersion: required");
	CHECK_STREQ(err("apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata: {name: x}\n"),
		    "t.yaml:1: Deployment: apiVersion: \"extensions/v1beta1\": not supported by "
		    "berth (apps/v1)");
	CHECK_STREQ(err("apiVersion: v1\nkind: Pod\nspec: {}\n"),
		    "t.yaml:1: Pod: metadata: required");
	CHECK_STREQ(err("apiVersion: v1\nkind: Pod\nmetadata:\n  labels: {}\n"),
		    "t.yaml:4: Pod: metadata.name: required");
	CHECK_STREQ(err("apiVersion: v1\nkind: Pod\nmetadata:\n  name: Web_1\n"),
		    "t.yaml:4: Pod: metadata.name: \"Web_1\": must be a DNS-1123 subdomain (lower "
		    "case letters, digits, '-' and '.', starting and ending with a letter or "
		    "digit)");
	/* what a value holds is escaped: the message stays one line */
	CHECK_STREQ(
	    err("apiVersion: v1\nkind: Pod\nmetadata:\n  name: \"a\\nb\\x01\"\n"),
	    "t.yaml:4: Pod: metadata.name: \"a\\nb\\x01\": must be a DNS-1123 subdomain "
	    "(lower case letters, digits, '-' and '.', starting and ending with a letter or "
	    "digit)");
	CHECK_STREQ(err("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  \"x\\ty\": 1\n"),
		    "t.yaml:5: Pod \"p\": spec.x\\ty: not supported by berth");
	CHECK_STREQ(err("apiVersion: v1\nkind: Service\nmetadata:\n  name: 1web\n"),
		    "t.yaml:4: Service: metadata.name: \"1web\": must be a DNS-1035 label (start "
		    "with a lower case letter)");
	CHECK_STREQ(err("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  generateName: w-\n"),
		    "t.yaml:5: Pod \"web\": metadata.generateName: not supported by berth");
	CHECK_STREQ(err("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n"),
		    "t.yaml:1: Pod \"web\": spec: required");
	CHECK_STREQ(err("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: A\n"
			"spec: {containers: [{name: a, image: b}]}\n"),
		    "t.yaml:5: Pod \"web\": metadata.namespace: \"A\": must be a DNS-1123 label "
		    "(lower case letters, digits and '-', starting and ending with a letter or "
		    "digit)");
	CHECK_STREQ(err("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n"
			"  labels: {app: \"a b\"}\nspec: {containers: [{name: a, image: b}]}\n"),
		    "t.yaml:5: Pod \"web\": metadata.labels[app]: may hold letters, digits, '-', "
		    "'_' and '.'");
	CHECK_STREQ(err("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n"
			"  labels: {version: 1}\nspec: {containers: [{name: a, image: b}]}\n"),
		    "t.yaml:5: Pod \"web\": metadata.labels[version]: must be a string, not an "
		    "integer (quote it)");
	CHECK_STREQ(err("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n"
			"  annotations: {\"-x\": y}\nspec: {containers: [{name: a, image: b}]}\n"),
		    "t.yaml:5: Pod \"web\": metadata.annotations[-x]: key: must start and end "
		    "with a letter or digit");
	CHECK_STREQ(err("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n"
			"  labels: {\"example.com/tier\": front, \"Bad_Prefix/x\": y}\n"
			"spec: {containers: [{name: a, image: b}]}\n"),
		    "t.yaml:5: Pod \"web\": metadata.labels[Bad_Prefix/x]: key: a prefix before "
		    "'/' must be a DNS-1123 subdomain");
	CHECK_CONTAINS(err("a: [\n"), "t.yaml:");
}

static void test_container_errors(void)
{
	CHECK_STREQ(err(CT("    lifecycle: {}\n")),
		    "t.yaml:9: Pod \"web\": spec.containers[0].lifecycle: not supported by berth");
	CHECK_STREQ(err(POD("  containers: []\n")),
		    "t.yaml:6: Pod \"web\": spec.containers: at least one container is required");
	CHECK_STREQ(err(POD("  restartPolicy: Always\n")),
		    "t.yaml:6: Pod \"web\": spec.containers: at least one container is required");
	CHECK_STREQ(err(POD("  containers:\n  - name: a\n")),
		    "t.yaml:7: Pod \"web\": spec.containers[0].image: required");
	CHECK_STREQ(err(POD("  containers:\n  - image: a\n")),
		    "t.yaml:7: Pod \"web\": spec.containers[0].name: required");
	CHECK_STREQ(err(POD("  containers:\n  - {name: A, image: a}\n")),
		    "t.yaml:7: Pod \"web\": spec.containers[0].name: \"A\": must be a DNS-1123 "
		    "label (lower case letters, digits and '-', starting and ending with a letter "
		    "or digit)");
	CHECK_STREQ(err(POD("  containers:\n  - {name: a, image: \"\"}\n")),
		    "t.yaml:7: Pod \"web\": spec.containers[0].image: must not be empty");
	CHECK_STREQ(err(POD("  containers:\n  - {name: a, image: \"a b\"}\n")),
		    "t.yaml:7: Pod \"web\": spec.containers[0].image: must not hold spaces or "
		    "control characters");
	CHECK_STREQ(err(POD("  containers:\n  - {name: a, image: b}\n  - {name: c, image: d}\n"
			    "  initContainers:\n  - {name: a, image: b}\n")),
		    "t.yaml:10: Pod \"web\": spec.initContainers[0]: name: duplicate container "
		    "name \"a\"");
	CHECK_STREQ(err(POD("  containers: {name: a}\n")),
		    "t.yaml:6: Pod \"web\": spec.containers: must be a list, not a mapping");
	CHECK_STREQ(err(CT("    command: echo hi\n")),
		    "t.yaml:9: Pod \"web\": spec.containers[0].command: must be a list of strings, "
		    "not a string");
	CHECK_STREQ(err(CT("    args: [a, 1]\n")),
		    "t.yaml:9: Pod \"web\": spec.containers[0].args[1]: must be a string, not an "
		    "integer (quote it)");
	CHECK_STREQ(err(CT("    tty: 1\n")),
		    "t.yaml:9: Pod \"web\": spec.containers[0].tty: must be true or false, not an "
		    "integer");
	CHECK_STREQ(err(CT("    workingDir: work\n")),
		    "t.yaml:9: Pod \"web\": spec.containers[0].workingDir: must be an absolute "
		    "path");
	CHECK_STREQ(err(CT("    imagePullPolicy: Sometimes\n")),
		    "t.yaml:9: Pod \"web\": spec.containers[0].imagePullPolicy: \"Sometimes\": not "
		    "supported by berth (one of Always, IfNotPresent, Never)");
	CHECK_STREQ(err(POD("  initContainers:\n  - name: i\n    image: b\n"
			    "    readinessProbe: {exec: {command: [x]}}\n"
			    "  containers: [{name: a, image: b}]\n")),
		    "t.yaml:9: Pod \"web\": spec.initContainers[0].readinessProbe: not supported "
		    "by berth");
}

static void test_env_errors(void)
{
	CHECK_STREQ(err(CT("    env:\n    - {name: PORT, value: 8080}\n")),
		    "t.yaml:10: Pod \"web\": spec.containers[0].env[0].value: must be a string, "
		    "not an integer (quote it)");
	CHECK_STREQ(err(CT("    env:\n    - {name: X, value: yes}\n")),
		    "t.yaml:10: Pod \"web\": spec.containers[0].env[0].value: must be a string, "
		    "not a boolean (quote it)");
	CHECK_STREQ(err(CT("    env:\n    - {value: x}\n")),
		    "t.yaml:10: Pod \"web\": spec.containers[0].env[0].name: required");
	CHECK_STREQ(err(CT("    env:\n    - {name: \"A=B\", value: x}\n")),
		    "t.yaml:10: Pod \"web\": spec.containers[0].env[0].name: may hold printable "
		    "ASCII characters other than '='");
	CHECK_STREQ(err(CT("    env:\n    - name: X\n      value: x\n"
			   "      valueFrom: {fieldRef: {fieldPath: metadata.name}}\n")),
		    "t.yaml:10: Pod \"web\": spec.containers[0].env[0].valueFrom: may not be "
		    "given with value");
	CHECK_STREQ(err(CT("    env:\n    - name: X\n"
			   "      valueFrom: {fieldRef: {fieldPath: spec.nodeName}}\n")),
		    "t.yaml:11: Pod \"web\": spec.containers[0].env[0].valueFrom.fieldRef."
		    "fieldPath: \"spec.nodeName\": not supported by berth (metadata.name)");
	CHECK_STREQ(
	    err(CT("    env:\n    - name: X\n      valueFrom: {configMapKeyRef: {name: c}}\n")),
	    "t.yaml:11: Pod \"web\": spec.containers[0].env[0].valueFrom.configMapKeyRef."
	    "key: required");
	CHECK_STREQ(err(CT("    env:\n    - name: X\n      valueFrom:\n"
			   "        configMapKeyRef: {name: c, key: k}\n"
			   "        secretKeyRef: {name: c, key: k}\n")),
		    "t.yaml:13: Pod \"web\": spec.containers[0].env[0].valueFrom.secretKeyRef: "
		    "only one source in valueFrom");
	CHECK_STREQ(err(CT("    env:\n    - name: X\n      valueFrom: {}\n")),
		    "t.yaml:11: Pod \"web\": spec.containers[0].env[0].valueFrom: one of "
		    "configMapKeyRef, secretKeyRef, fieldRef is required");
	CHECK_STREQ(err(CT("    env:\n    - name: X\n"
			   "      valueFrom: {resourceFieldRef: {resource: limits.cpu}}\n")),
		    "t.yaml:11: Pod \"web\": spec.containers[0].env[0].valueFrom.resourceFieldRef: "
		    "not supported by berth");
	CHECK_STREQ(err(CT("    envFrom:\n    - {prefix: X}\n")),
		    "t.yaml:10: Pod \"web\": spec.containers[0].envFrom[0]: one of configMapRef, "
		    "secretRef is required");
	CHECK_STREQ(err(CT("    envFrom:\n    - configMapRef: {name: a}\n"
			   "      secretRef: {name: b}\n")),
		    "t.yaml:11: Pod \"web\": spec.containers[0].envFrom[0].secretRef: only one of "
		    "configMapRef, secretRef");
}

static void test_port_errors(void)
{
	CHECK_STREQ(err(CT("    ports:\n    - containerPort: 70000\n")),
		    "t.yaml:10: Pod \"web\": spec.containers[0].ports[0].containerPort: 70000: "
		    "must be between 1 and 65535");
	CHECK_STREQ(err(CT("    ports:\n    - containerPort: \"80\"\n")),
		    "t.yaml:10: Pod \"web\": spec.containers[0].ports[0].containerPort: must be an "
		    "integer, not a string");
	CHECK_STREQ(err(CT("    ports:\n    - name: http\n")),
		    "t.yaml:10: Pod \"web\": spec.containers[0].ports[0].containerPort: required");
	CHECK_STREQ(err(CT("    ports:\n    - {containerPort: 80, hostPort: -1}\n")),
		    "t.yaml:10: Pod \"web\": spec.containers[0].ports[0].hostPort: -1: must be "
		    "between 0 and 65535");
	/* hostPort 0: not published (twice is no clash) */
	CHECK_STREQ(err(CT("    ports:\n    - {containerPort: 80, hostPort: 0}\n"
			   "    - {containerPort: 81, hostPort: 0}\n")),
		    "");
	CHECK_STREQ(err(CT("    ports:\n    - {containerPort: 80, protocol: SCTP}\n")),
		    "t.yaml:10: Pod \"web\": spec.containers[0].ports[0].protocol: \"SCTP\": not "
		    "supported by berth (one of TCP, UDP)");
	CHECK_STREQ(err(CT("    ports:\n    - {containerPort: 80, name: HTTP}\n")),
		    "t.yaml:10: Pod \"web\": spec.containers[0].ports[0].name: a port name has "
		    "lower case letters, digits and '-'");
	CHECK_STREQ(
	    err(CT("    ports:\n    - {containerPort: 80, name: a-very-long-port-name}\n")),
	    "t.yaml:10: Pod \"web\": spec.containers[0].ports[0].name: a port name has 1 to "
	    "15 characters");
	CHECK_STREQ(err(CT("    ports:\n    - {containerPort: 80, name: web}\n"
			   "    - {containerPort: 81, name: web}\n")),
		    "t.yaml:11: Pod \"web\": spec.containers[0].ports[1].name: duplicate port name "
		    "\"web\"");
	/* the pod's containers share one network namespace */
	CHECK_STREQ(
	    err(CT("    ports: [{containerPort: 80}]\n"
		   "  - name: b\n    image: c\n"
		   "    ports: [{containerPort: 53, protocol: UDP}, {containerPort: 80}]\n")),
	    "t.yaml:12: Pod \"web\": spec.containers[1].ports[1]: containerPort: 80/TCP: "
	    "already used in this pod");
	CHECK_STREQ(
	    err(CT("    ports: [{containerPort: 53}, {containerPort: 53, protocol: UDP}]\n")), "");
	CHECK_STREQ(err(CT("    ports:\n    - {containerPort: 80, hostPort: 8080}\n"
			   "    - {containerPort: 81, hostPort: 8080}\n")),
		    "t.yaml:11: Pod \"web\": spec.containers[0].ports[1]: hostPort: 8080/TCP: "
		    "already used in this pod");
}

static void test_resource_errors(void)
{
	CHECK_STREQ(err(CT("    resources:\n      limits: {memory: 12Q}\n")),
		    "t.yaml:10: Pod \"web\": spec.containers[0].resources.limits.memory: \"12Q\": "
		    "unknown suffix (Ki Mi Gi Ti Pi Ei, n u m k M G T P E, or e<N>)");
	CHECK_STREQ(err(CT("    resources:\n      requests: {cpu: -1}\n")),
		    "t.yaml:10: Pod \"web\": spec.containers[0].resources.requests.cpu: \"-1\": "
		    "must not be negative");
	CHECK_STREQ(err(CT("    resources:\n      requests: {cpu: true}\n")),
		    "t.yaml:10: Pod \"web\": spec.containers[0].resources.requests.cpu: must be a "
		    "quantity, not a boolean");
	CHECK_STREQ(err(CT("    resources:\n      requests: {cpu: \"2\"}\n"
			   "      limits: {cpu: 1}\n")),
		    "t.yaml:10: Pod \"web\": spec.containers[0].resources.requests.cpu: must be "
		    "less than or equal to the cpu limit");
	CHECK_STREQ(err(CT("    resources:\n      requests: {memory: 2Gi}\n"
			   "      limits: {memory: 1Gi}\n")),
		    "t.yaml:10: Pod \"web\": spec.containers[0].resources.requests.memory: must be "
		    "less than or equal to the memory limit");
	CHECK_STREQ(err(CT("    resources:\n      limits: {nvidia.com/gpu: 1}\n")),
		    "t.yaml:10: Pod \"web\": spec.containers[0].resources.limits.nvidia.com/gpu: "
		    "not supported by berth");
	CHECK_STREQ(err(CT("    resources:\n      limits: {ephemeral-storage: 1Gi}\n")),
		    "t.yaml:10: Pod \"web\": spec.containers[0].resources.limits."
		    "ephemeral-storage: not supported by berth");
}

static void test_security_probe_errors(void)
{
	CHECK_STREQ(err(CT("    securityContext: {runAsUser: -1}\n")),
		    "t.yaml:9: Pod \"web\": spec.containers[0].securityContext.runAsUser: -1: must "
		    "be between 0 and 2147483647");
	CHECK_STREQ(err(CT("    securityContext: {privileged: true, allowPrivilegeEscalation: "
			   "false}\n")),
		    "t.yaml:9: Pod \"web\": spec.containers[0].securityContext."
		    "allowPrivilegeEscalation: cannot be false when privileged is true");
	CHECK_STREQ(err(CT("    securityContext:\n      capabilities: {add: [net_admin]}\n")),
		    "t.yaml:10: Pod \"web\": spec.containers[0].securityContext.capabilities.add[0]"
		    ": \"net_admin\": a capability name (NET_ADMIN, ALL)");
	CHECK_STREQ(err(CT("    securityContext: {seccompProfile: {type: RuntimeDefault}}\n")),
		    "t.yaml:9: Pod \"web\": spec.containers[0].securityContext.seccompProfile: not "
		    "supported by berth");
	CHECK_STREQ(err(POD("  securityContext: {runAsUser: 1000}\n"
			    "  containers: [{name: a, image: b}]\n")),
		    "t.yaml:6: Pod \"web\": spec.securityContext: not supported by berth");
	CHECK_STREQ(
	    err(CT("    livenessProbe: {periodSeconds: 3}\n")),
	    "t.yaml:9: Pod \"web\": spec.containers[0].livenessProbe: one of exec, httpGet, "
	    "tcpSocket is required");
	CHECK_STREQ(err(CT("    livenessProbe:\n      exec: {command: [x]}\n"
			   "      tcpSocket: {port: 80}\n")),
		    "t.yaml:11: Pod \"web\": spec.containers[0].livenessProbe.tcpSocket: only one "
		    "of exec, httpGet, tcpSocket");
	CHECK_STREQ(err(CT("    livenessProbe:\n      exec: {command: []}\n")),
		    "t.yaml:10: Pod \"web\": spec.containers[0].livenessProbe.exec.command: "
		    "required");
	CHECK_STREQ(err(CT("    readinessProbe:\n      httpGet: {path: /}\n")),
		    "t.yaml:10: Pod \"web\": spec.containers[0].readinessProbe.httpGet.port: "
		    "required");
	CHECK_STREQ(err(CT("    readinessProbe:\n      httpGet: {path: healthz, port: 80}\n")),
		    "t.yaml:10: Pod \"web\": spec.containers[0].readinessProbe.httpGet.path: must "
		    "start with '/'");
	CHECK_STREQ(
	    err(CT("    readinessProbe:\n      tcpSocket: {port: http}\n")),
	    "t.yaml:10: Pod \"web\": spec.containers[0].readinessProbe: port: no port named "
	    "\"http\" in this container");
	CHECK_STREQ(err(CT("    livenessProbe:\n      tcpSocket: {port: 80}\n"
			   "      successThreshold: 2\n")),
		    "t.yaml:11: Pod \"web\": spec.containers[0].livenessProbe.successThreshold: "
		    "must be 1");
	CHECK_STREQ(err(CT("    readinessProbe:\n      tcpSocket: {port: 80}\n"
			   "      successThreshold: 2\n      timeoutSeconds: 0\n")),
		    "t.yaml:12: Pod \"web\": spec.containers[0].readinessProbe.timeoutSeconds: 0: "
		    "must be between 1 and 2147483647");
	CHECK_STREQ(err(CT("    readinessProbe:\n      tcpSocket: {port: 0}\n")),
		    "t.yaml:10: Pod \"web\": spec.containers[0].readinessProbe.tcpSocket.port: 0: "
		    "must be between 1 and 65535");
}

static void test_volume_errors(void)
{
	CHECK_STREQ(err(CT("    volumeMounts: [{name: data, mountPath: /d}]\n")),
		    "t.yaml:9: Pod \"web\": spec.containers[0].volumeMounts[0]: name: no volume "
		    "named \"data\" in spec.volumes");
	CHECK_STREQ(err(CT("    volumeMounts: [{name: d, mountPath: d}]\n")),
		    "t.yaml:9: Pod \"web\": spec.containers[0].volumeMounts[0].mountPath: must be "
		    "an absolute path");
	CHECK_STREQ(err(CT("    volumeMounts: [{name: d}]\n")),
		    "t.yaml:9: Pod \"web\": spec.containers[0].volumeMounts[0].mountPath: "
		    "required");
	CHECK_STREQ(err(CT("    volumeMounts: [{name: d, mountPath: /d, subPath: ../x}]\n")),
		    "t.yaml:9: Pod \"web\": spec.containers[0].volumeMounts[0].subPath: must not "
		    "contain '..'");
	CHECK_STREQ(
	    err(CT("    volumeMounts:\n    - {name: d, mountPath: /d}\n"
		   "    - {name: d, mountPath: /d}\n  volumes: [{name: d, emptyDir: {}}]\n")),
	    "t.yaml:11: Pod \"web\": spec.containers[0].volumeMounts[1].mountPath: \"/d\": "
	    "must be unique");
	CHECK_STREQ(err(CT("  volumes:\n  - {name: d, emptyDir: {}}\n  - {name: d, emptyDir: "
			   "{}}\n")),
		    "t.yaml:11: Pod \"web\": spec.volumes[1].name: duplicate volume name \"d\"");
	CHECK_STREQ(err(CT("  volumes:\n  - name: d\n")),
		    "t.yaml:10: Pod \"web\": spec.volumes[0]: one of hostPath, emptyDir, "
		    "configMap, secret, persistentVolumeClaim is required");
	CHECK_STREQ(err(CT("  volumes:\n  - name: d\n    emptyDir: {}\n"
			   "    hostPath: {path: /x}\n")),
		    "t.yaml:12: Pod \"web\": spec.volumes[0].hostPath: only one volume source");
	CHECK_STREQ(err(CT("  volumes:\n  - name: d\n    hostPath: {path: /x}\n    emptyDir:\n")),
		    "t.yaml:12: Pod \"web\": spec.volumes[0].emptyDir: only one volume source");
	CHECK_STREQ(err(CT("  volumes:\n  - {name: d, hostPath: {path: x}}\n")),
		    "t.yaml:10: Pod \"web\": spec.volumes[0].hostPath.path: must be an absolute "
		    "path");
	CHECK_STREQ(
	    err(CT("  volumes:\n  - {name: d, hostPath: {path: /x, type: Pipe}}\n")),
	    "t.yaml:10: Pod \"web\": spec.volumes[0].hostPath.type: \"Pipe\": not "
	    "supported by berth (one of \"\", DirectoryOrCreate, Directory, FileOrCreate, File, "
	    "Socket, CharDevice, BlockDevice)");
	CHECK_STREQ(err(CT("  volumes:\n  - {name: d, emptyDir: {medium: HugePages}}\n")),
		    "t.yaml:10: Pod \"web\": spec.volumes[0].emptyDir.medium: \"HugePages\": not "
		    "supported by berth (one of \"\", Memory)");
	CHECK_STREQ(err(CT("  volumes:\n  - {name: d, configMap: {optional: true}}\n")),
		    "t.yaml:10: Pod \"web\": spec.volumes[0].configMap.name: required");
	CHECK_STREQ(err(CT("  volumes:\n  - {name: d, secret: {secretName: s, defaultMode: "
			   "4096}}\n")),
		    "t.yaml:10: Pod \"web\": spec.volumes[0].secret.defaultMode: 4096: must be "
		    "between 0 and 511");
	CHECK_STREQ(err(CT("  volumes:\n  - {name: d, configMap: {name: c, items: [{key: k, "
			   "path: /abs}]}}\n")),
		    "t.yaml:10: Pod \"web\": spec.volumes[0].configMap.items[0].path: must be a "
		    "relative path");
	CHECK_STREQ(err(CT("  volumes:\n  - {name: d, nfs: {server: x, path: /}}\n")),
		    "t.yaml:10: Pod \"web\": spec.volumes[0].nfs: not supported by berth");
	CHECK_STREQ(err(CT("  volumes:\n  - {name: D, emptyDir: {}}\n")),
		    "t.yaml:10: Pod \"web\": spec.volumes[0].name: \"D\": must be a DNS-1123 label "
		    "(lower case letters, digits and '-', starting and ending with a letter or "
		    "digit)");
}

static void test_pod_field_errors(void)
{
	CHECK_STREQ(err(CT("  restartPolicy: Sometimes\n")),
		    "t.yaml:9: Pod \"web\": spec.restartPolicy: \"Sometimes\": not supported by "
		    "berth (one of Always, OnFailure, Never)");
	CHECK_STREQ(err(CT("  dnsPolicy: None\n")),
		    "t.yaml:9: Pod \"web\": spec.dnsPolicy: \"None\": not supported by berth (one "
		    "of ClusterFirst, ClusterFirstWithHostNet, Default)");
	CHECK_STREQ(err(CT("  hostname: web.local\n")),
		    "t.yaml:9: Pod \"web\": spec.hostname: \"web.local\": must be a DNS-1123 label "
		    "(lower case letters, digits and '-', starting and ending with a letter or "
		    "digit)");
	CHECK_STREQ(err(CT("  hostNetwork: \"true\"\n")),
		    "t.yaml:9: Pod \"web\": spec.hostNetwork: must be true or false, not a string");
	CHECK_STREQ(err(CT("  nodeSelector: {disk: ssd}\n")),
		    "t.yaml:9: Pod \"web\": spec.nodeSelector: not supported by berth");
}

#define DEPLOY(spec) "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n" spec
#define TEMPLATE(extra)                                                                            \
	"  template:\n    metadata: {labels: {app: x}}\n    spec:\n"                               \
	"      containers: [{name: a, image: b" extra "}]\n"

static void test_deployment_errors(void)
{
	CHECK_STREQ(err(DEPLOY("  selector: {matchLabels: {app: z}}\n" TEMPLATE(""))),
		    "t.yaml:6: Deployment \"d\": spec.selector: does not match the template's "
		    "labels (app=z)");
	/* YAML 1.1: y is a boolean, as Kubernetes reads it */
	CHECK_STREQ(err(DEPLOY("  selector: {matchLabels: {app: y}}\n" TEMPLATE(""))),
		    "t.yaml:6: Deployment \"d\": spec.selector.matchLabels[app]: must be a string, "
		    "not a boolean (quote it)");
	CHECK_STREQ(err(DEPLOY("  selector: {matchLabels: {app: x}}\n" TEMPLATE(
			"") "      restartPolicy: Never\n")),
		    "t.yaml:11: Deployment \"d\": spec.template.spec.restartPolicy: a Deployment's "
		    "pods restart Always");
	CHECK_STREQ(
	    err(DEPLOY("  replicas: -1\n  selector: {matchLabels: {app: x}}\n" TEMPLATE(""))),
	    "t.yaml:6: Deployment \"d\": spec.replicas: -1: must be between 0 and 1000");
	CHECK_STREQ(
	    err(DEPLOY("  replicas: 2\n  selector: {matchLabels: {app: x}}\n" TEMPLATE(
		", ports: [{containerPort: 80, hostPort: 8080}]"))),
	    "t.yaml:6: Deployment \"d\": spec.replicas: 2 replicas on one host cannot share "
	    "hostPort 8080");
	CHECK_STREQ(err(DEPLOY(TEMPLATE(""))),
		    "t.yaml:6: Deployment \"d\": spec.selector.matchLabels: required");
	CHECK_STREQ(err(DEPLOY("  selector: {matchLabels: {app: x}}\n")),
		    "t.yaml:6: Deployment \"d\": spec.template: required");
	CHECK_STREQ(err(DEPLOY("  selector:\n    matchExpressions: [{key: app, operator: In, "
			       "values: [x]}]\n" TEMPLATE(""))),
		    "t.yaml:7: Deployment \"d\": spec.selector.matchExpressions: not supported by "
		    "berth");
	CHECK_STREQ(err(DEPLOY("  selector: {matchLabels: {app: x}}\n  strategy: {type: "
			       "Recreate}\n" TEMPLATE(""))),
		    "t.yaml:7: Deployment \"d\": spec.strategy: not supported by berth (only {})");
	CHECK_STREQ(err(DEPLOY("  selector: {matchLabels: {app: x}}\n" TEMPLATE(", lifecycle: "
										"{}"))),
		    "t.yaml:10: Deployment \"d\": spec.template.spec.containers[0].lifecycle: not "
		    "supported by berth");
	kube_file *f =
	    parse(DEPLOY("  replicas: 0\n  selector: {matchLabels: {app: x}}\n" TEMPLATE("")));
	CHECK(f && f->objs[0].u.deploy.replicas == 0);
	kube_file_free(f);
}

#define SVC(spec) "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n" spec

static void test_service_errors(void)
{
	CHECK_STREQ(err(SVC("  type: LoadBalancer\n  ports: [{port: 80}]\n")),
		    "t.yaml:6: Service \"s\": spec.type: \"LoadBalancer\": not supported by berth "
		    "(one of ClusterIP, NodePort)");
	CHECK_STREQ(err(SVC("  ports: [{port: 80}, {port: 81}]\n")),
		    "t.yaml:6: Service \"s\": spec.ports[0].name: required when a Service has more "
		    "than one port");
	CHECK_STREQ(err(SVC("  ports: [{port: 80, nodePort: 30080}]\n")),
		    "t.yaml:6: Service \"s\": spec.ports[0].nodePort: only with type NodePort");
	CHECK_STREQ(err(SVC("  ports: [{name: a, port: 80}, {name: b, port: 80}]\n")),
		    "t.yaml:6: Service \"s\": spec.ports[1].port: duplicate 80/TCP");
	CHECK_STREQ(err(SVC("  ports: [{name: a, port: 80}, {name: a, port: 81}]\n")),
		    "t.yaml:6: Service \"s\": spec.ports[1].name: duplicate port name a");
	CHECK_STREQ(err(SVC("  type: NodePort\n  ports: [{name: a, port: 80, nodePort: 30000}, "
			    "{name: b, port: 81, nodePort: 30000}]\n")),
		    "t.yaml:7: Service \"s\": spec.ports[1].nodePort: duplicate 30000/TCP");
	CHECK_STREQ(err(SVC("  ports: [{port: 80, targetPort: HTTP_1}]\n")),
		    "t.yaml:6: Service \"s\": spec.ports[0].targetPort: \"HTTP_1\": a port number "
		    "or name: a port name has lower case letters, digits and '-'");
	CHECK_STREQ(err(SVC("  ports: [{targetPort: 80}]\n")),
		    "t.yaml:6: Service \"s\": spec.ports[0].port: required");
	CHECK_STREQ(err(SVC("  selector: {app: x}\n")),
		    "t.yaml:6: Service \"s\": spec.ports: at least one port is required");
	CHECK_STREQ(err(SVC("  clusterIP: None\n  ports: [{port: 80}]\n")),
		    "t.yaml:6: Service \"s\": spec.clusterIP: not supported by berth");
}

#define CM(body) "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n" body

static void test_configmap_secret_errors(void)
{
	CHECK_STREQ(err(CM("data:\n  \"a b\": x\n")),
		    "t.yaml:6: ConfigMap \"c\": data[a b]: key: may hold letters, digits, '-', '_' "
		    "and '.'");
	CHECK_STREQ(
	    err(CM("data:\n  ..a: x\n")),
	    "t.yaml:6: ConfigMap \"c\": data[..a]: key: must not be '.' or start with '..'");
	CHECK_STREQ(err(CM("data:\n  lives: 3\n")),
		    "t.yaml:6: ConfigMap \"c\": data[lives]: must be a string, not an integer "
		    "(quote it)");
	CHECK_STREQ(err(CM("binaryData:\n  b: \"not base64!\"\n")),
		    "t.yaml:6: ConfigMap \"c\": binaryData[b]: not valid base64");
	CHECK_STREQ(err(CM("data: {k: x}\nbinaryData: {k: eA==}\n")),
		    "t.yaml:6: ConfigMap \"c\": binaryData: key \"k\" is in data too");
	CHECK_STREQ(err(CM("immutable: true\n")),
		    "t.yaml:5: ConfigMap \"c\": immutable: not supported by berth");
	kube_file *f = parse(CM("data:\n  empty:\nbinaryData:\n  b: AP8=\n"));
	CHECK(f && f->objs[0].u.cm.n_data == 1 && f->objs[0].u.cm.n_binary == 1);
	CHECK_STREQ(f->objs[0].u.cm.data[0].value, "");
	CHECK(f->objs[0].u.cm.binary[0].len == 2 && f->objs[0].u.cm.binary[0].value[1] == 0xff);
	kube_file_free(f);
	/* more than Kubernetes' 1 MiB */
	size_t n = (1u << 20) + 1;
	char *big = xmalloc(n + 1);
	memset(big, 'x', n);
	big[n] = '\0';
	char *doc = xasprintf(CM("data:\n  k: %s\n"), big);
	free(big);
	CHECK_STREQ(err(doc), "t.yaml:1: ConfigMap \"c\": data: more than 1048576 bytes");
	free(doc);
	const char *sec = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n";
	char *s = xasprintf("%sdata:\n  pw: YWRtaW4\n", sec);
	CHECK_STREQ(err(s), "t.yaml:6: Secret \"s\": data[pw]: not valid base64");
	free(s);
	s = xasprintf("%sdata:\n  pw: YW=Rt\n", sec);
	CHECK_STREQ(err(s), "t.yaml:6: Secret \"s\": data[pw]: not valid base64");
	free(s);
	s = xasprintf("%stype: \"\"\n", sec);
	CHECK_STREQ(err(s), "t.yaml:5: Secret \"s\": type: must not be empty");
	free(s);
	s = xasprintf("%stype: kubernetes.io/basic-auth\nstringData: {username: u, password: p}\n"
		      "data:\n  multi: |\n    YWRt\n    aW4=\n",
		      sec);
	f = parse(s);
	free(s);
	CHECK(f && f->objs[0].u.secret.n_data == 3);
	CHECK_STREQ(f->objs[0].u.secret.type, "kubernetes.io/basic-auth");
	CHECK_STREQ((char *)f->objs[0].u.secret.data[0].value, "admin");
	kube_file_free(f);
	/* stringData over data, whatever the order of keys: eA== is "x" */
	s = xasprintf("%sdata: {c: eA==, zz: eA==, a: eA==, b: eA==}\n"
		      "stringData: {zz: s1, a: s2, c: s3}\n",
		      sec);
	f = parse(s);
	free(s);
	CHECK(f && f->objs[0].u.secret.n_data == 4);
	const kube_blob *d = f->objs[0].u.secret.data;
	CHECK(!strcmp(d[0].key, "a") && !strcmp((char *)d[0].value, "s2"));
	CHECK(!strcmp(d[1].key, "b") && !strcmp((char *)d[1].value, "x"));
	CHECK(!strcmp(d[2].key, "c") && !strcmp((char *)d[2].value, "s3"));
	CHECK(!strcmp(d[3].key, "zz") && !strcmp((char *)d[3].value, "s1"));
	kube_file_free(f);
}

CHECK_MAIN(test_docs_deployment, test_kubectl_generated, test_docs_service, test_docs_configmap_pod,
	   test_docs_secret, test_docs_pvc, test_docs_probes, test_docs_security_resources_volumes,
	   test_multi_document_file, test_quantity_table, test_document_errors,
	   test_container_errors, test_env_errors, test_port_errors, test_resource_errors,
	   test_security_probe_errors, test_volume_errors, test_pod_field_errors,
	   test_deployment_errors, test_service_errors, test_configmap_secret_errors)
