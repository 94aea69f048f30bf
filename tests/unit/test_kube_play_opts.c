/* kube/play_opts: a Deployment's container as eng_run_opts: command/args
 * through --entrypoint, env, limits (memory bytes, cpus), requests as
 * labels, securityContext, volume mounts (hostPath, emptyDir on disk and
 * in memory, PVC), configMap volumes (the pod's read-only volume),
 * restartPolicy and probes; subPath of a PVC and runAsGroup alone refused
 * with one line. */
#include <string.h>

#include "check.h"
#include "kube/play_opts.h"
#include "util/xalloc.h"

static const char manifest[] = "apiVersion: apps/v1\n"
			       "kind: Deployment\n"
			       "metadata: {name: kb-web}\n"
			       "spec:\n"
			       "  replicas: 3\n"
			       "  selector: {matchLabels: {app: kb-web}}\n"
			       "  template:\n"
			       "    metadata: {labels: {app: kb-web}}\n"
			       "    spec:\n"
			       "      volumes:\n"
			       "      - {name: host, hostPath: {path: /srv/www}}\n"
			       "      - {name: scratch, emptyDir: {}}\n"
			       "      - {name: mem, emptyDir: {medium: Memory, sizeLimit: 64Mi}}\n"
			       "      - {name: data, persistentVolumeClaim: {claimName: kb-pvc}}\n"
			       "      - {name: cfg, configMap: {name: kb-cm}}\n"
			       "      containers:\n"
			       "      - name: web\n"
			       "        image: busybox\n"
			       "        command: [httpd]\n"
			       "        args: [-f, -p, '8080']\n"
			       "        workingDir: /www\n"
			       "        env: [{name: A, value: b}]\n"
			       "        resources:\n"
			       "          limits: {memory: 64Mi, cpu: 500m}\n"
			       "          requests: {cpu: 250m}\n"
			       "        securityContext:\n"
			       "          runAsUser: 1000\n"
			       "          runAsGroup: 1001\n"
			       "          readOnlyRootFilesystem: true\n"
			       "          allowPrivilegeEscalation: false\n"
			       "          capabilities: {add: [NET_ADMIN], drop: [ALL]}\n"
			       "        volumeMounts:\n"
			       "        - {name: host, mountPath: /www, readOnly: true}\n"
			       "        - {name: scratch, mountPath: /tmp/s}\n"
			       "        - {name: mem, mountPath: /run/m}\n"
			       "        - {name: data, mountPath: /data}\n"
			       "        livenessProbe: {tcpSocket: {port: 8080}}\n"
			       "      - name: args-only\n"
			       "        image: busybox\n"
			       "        args: [sleep, '9']\n"
			       "        securityContext: {runAsGroup: 5}\n"
			       "      - name: cfg\n"
			       "        image: busybox\n"
			       "        volumeMounts: [{name: cfg, mountPath: /etc/cfg}]\n"
			       "      - name: sub\n"
			       "        image: busybox\n"
			       "        volumeMounts: [{name: data, mountPath: /d, subPath: x}]\n";

static void test_fill(void)
{
	berr e = {0};
	kube_file *f = kube_parse(manifest, strlen(manifest), "t.yaml", &e);
	if (!f)
		fprintf(stderr, "%s\n", e.msg);
	CHECK(f);
	const kube_pod_spec *ps = &f->objs[0].u.deploy.tmpl;
	eng_run_opts o;
	kube_opts_hold h;
	int r = kube_opts_fill(NULL, f, ps, &ps->containers[0], "kb-web-1",
			       "spec.template.spec.containers[0]", &o, &h, &e);
	if (r < 0)
		fprintf(stderr, "%s\n", e.msg);
	CHECK(r == 0);
	CHECK_STREQ(o.image, "busybox");
	CHECK(o.entrypoint_set && !strcmp(o.entrypoint, ""));
	CHECK(strv_len(o.command) == 4);
	CHECK_STREQ(o.command[0], "httpd");
	CHECK_STREQ(o.command[3], "8080");
	CHECK_STREQ(o.env[0], "A=b");
	CHECK_STREQ(o.workdir, "/www");
	CHECK_STREQ(o.memory, "67108864");
	CHECK_STREQ(o.cpus, "0.500");
	CHECK_STREQ(o.labels[0], "io.berth.kube.cpu-request-m=250");
	CHECK_STREQ(o.user, "1000:1001");
	CHECK(o.read_only && !o.privileged);
	CHECK_STREQ(o.security_opt[0], "no-new-privileges");
	CHECK_STREQ(o.cap_add[0], "NET_ADMIN");
	CHECK_STREQ(o.cap_drop[0], "ALL");
	CHECK(strv_len(o.volumes) == 3);
	CHECK_STREQ(o.volumes[0], "/srv/www:/www:ro");
	CHECK_STREQ(o.volumes[1], "kb-web-1_scratch:/tmp/s");
	CHECK_STREQ(o.volumes[2], "kb-pvc:/data");
	CHECK_STREQ(o.tmpfs[0], "/run/m:size=67108864");
	CHECK_STREQ(o.restart, "always");
	CHECK(o.n_probes == 1 && o.probes[0].port == 8080 && o.probes[0].kind == ENG_PROBE_TCP);
	kube_opts_free(&h);

	CHECK(kube_opts_fill(NULL, f, ps, &ps->containers[1], "p", "c[1]", &o, &h, &e) < 0);
	CHECK_STREQ(e.msg, "c[1].securityContext.runAsGroup: without runAsUser: not supported by "
			   "berth kube play");
	CHECK(!o.command && !h.command);
	CHECK(kube_opts_fill(NULL, f, ps, &ps->containers[2], "p", "c[2]", &o, &h, &e) == 0);
	CHECK_STREQ(o.volumes[0], "p_cfg:/etc/cfg:ro");
	kube_opts_free(&h);
	CHECK(kube_opts_fill(NULL, f, ps, &ps->containers[3], "p", "c[3]", &o, &h, &e) < 0);
	CHECK_STREQ(e.msg, "c[3].volumeMounts[0].subPath: only of a configMap or secret volume in "
			   "berth kube play");
	kube_file_free(f);
}

static void test_args_only(void)
{
	static const char m[] = "apiVersion: v1\nkind: Pod\nmetadata: {name: kb-p}\n"
				"spec:\n  restartPolicy: Never\n  containers:\n"
				"  - {name: a, image: busybox, args: [sleep, '9']}\n";
	berr e = {0};
	kube_file *f = kube_parse(m, strlen(m), "t.yaml", &e);
	CHECK(f);
	const kube_pod_spec *ps = &f->objs[0].u.pod.spec;
	eng_run_opts o;
	kube_opts_hold h;
	CHECK(kube_opts_fill(NULL, f, ps, &ps->containers[0], "kb-p", "spec.containers[0]", &o, &h,
			     &e) == 0);
	CHECK(!o.entrypoint_set && !o.entrypoint);
	CHECK(strv_len(o.command) == 2 && !strcmp(o.command[0], "sleep"));
	CHECK_STREQ(o.restart, "no");
	CHECK(!o.memory && !o.cpus && !o.user && !o.n_probes && !o.labels);
	kube_opts_free(&h);
	kube_file_free(f);
}

CHECK_MAIN(test_fill, test_args_only)
