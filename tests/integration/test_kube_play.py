"""berth kube play / kube down (src/lib/kube/play*.c): a Deployment of
replicas and a Pod with env from a ConfigMap and a Secret, limits in the
cgroup, securityContext applied, kube down leaving nothing, --replace, and
a bad reference or a missing image: one line and nothing made. Services,
init containers and volumes: test_kube_service.py."""
import json
import time
import textwrap

import pytest

from engine_helpers import BUSYBOX, engine_store, remove_networks, wait_for


MANIFEST = textwrap.dedent(f"""\
    apiVersion: v1
    kind: ConfigMap
    metadata: {{name: kb-cm}}
    data: {{GREETING: hello}}
    ---
    apiVersion: v1
    kind: Secret
    metadata: {{name: kb-sec}}
    stringData: {{PASSWORD: s3cret}}
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {{name: kb-web}}
    spec:
      replicas: 3
      selector: {{matchLabels: {{app: kb-web}}}}
      template:
        metadata: {{labels: {{app: kb-web}}}}
        spec:
          containers:
          - name: web
            image: {BUSYBOX}
            imagePullPolicy: Never
            command: [sh, -c]
            args: ['echo "$GREETING $PW $ME $(id -u):$(id -g)" > /home/app/out; exec sleep 300']
            env:
            - name: GREETING
              valueFrom: {{configMapKeyRef: {{name: kb-cm, key: GREETING}}}}
            - name: PW
              valueFrom: {{secretKeyRef: {{name: kb-sec, key: PASSWORD}}}}
            - name: ME
              valueFrom: {{fieldRef: {{fieldPath: metadata.name}}}}
            resources:
              limits: {{memory: 64Mi, cpu: 500m}}
            securityContext:
              runAsUser: 1000
              runAsGroup: 1000
              allowPrivilegeEscalation: false
    """)


def pod_names(b):
    r = b("pod", "ls", "--format", "json", check=False)
    if r.returncode:
        r = b("pod", "ps", "--format", "json")
    return sorted(p["Name"] for p in json.loads(r.stdout or "[]"))


def play(b, tmp_path, text, *flags, check=True):
    f = tmp_path / "kb.yaml"
    f.write_text(text)
    return b("kube", "play", *flags, f, check=check), f


def test_kube_play_deployment_env_limits_security_down(tmp_path):
    with engine_store("kb-play-") as b:
        r, f = play(b, tmp_path, MANIFEST)
        assert r.stdout.split() == ["kb-web-0", "kb-web-1", "kb-web-2"]
        assert pod_names(b) == ["kb-web-0", "kb-web-1", "kb-web-2"]
        for i in range(3):
            name = f"kb-web-{i}-web"

            def out():
                x = b("exec", name, "cat", "/home/app/out", check=False)
                return x.stdout.strip() if x.returncode == 0 else None
            assert wait_for(out, timeout=10), b("logs", name, check=False).stderr
            assert out() == f"hello s3cret kb-web-{i} 1000:1000"
            st = b("exec", name, "cat", "/proc/self/status").stdout
            assert "NoNewPrivs:\t1" in st
            cg = b("exec", name, "cat", "/sys/fs/cgroup/memory.max", check=False).stdout.strip()
            if cg:
                assert cg == str(64 * 1024 * 1024)
            ins = b.inspect(name)
            assert ins["Config"]["Labels"]["io.berth.kube.owner"] == "Deployment/kb-web"
        # --replace: removes what the play made and makes it again
        r, f = play(b, tmp_path, MANIFEST, "--replace")
        assert pod_names(b) == ["kb-web-0", "kb-web-1", "kb-web-2"]
        ids = {n: b.inspect(f"{n}-web")["Id"] for n in pod_names(b)}
        # a re-play converges: nothing to make, the pods kept as they are
        r, f = play(b, tmp_path, MANIFEST)
        assert r.stdout.split() == []
        assert {n: b.inspect(f"{n}-web")["Id"] for n in pod_names(b)} == ids
        # scale 3 -> 1 -> 2 by re-play: only the pods that go or come change
        r, f = play(b, tmp_path, MANIFEST.replace("replicas: 3", "replicas: 1"))
        assert r.stdout.split() == [] and pod_names(b) == ["kb-web-0"]
        assert b.inspect("kb-web-0-web")["Id"] == ids["kb-web-0"]
        r, f = play(b, tmp_path, MANIFEST.replace("replicas: 3", "replicas: 2"))
        assert r.stdout.split() == ["kb-web-1"]
        assert pod_names(b) == ["kb-web-0", "kb-web-1"]
        assert b.inspect("kb-web-0-web")["Id"] == ids["kb-web-0"]
        assert b.inspect("kb-web-1-web")["Id"] != ids["kb-web-1"]
        # a pod of the name that another object owns: refused, one line
        other = MANIFEST.replace("metadata: {name: kb-web}", "metadata: {name: kb}").replace(
            "replicas: 3", "replicas: 1")
        b("pod", "create", "kb-0")
        r, _ = play(b, tmp_path, other, check=False)
        assert r.returncode == 125 and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert 'pod "kb-0" exists' in r.stderr
        b("pod", "rm", "kb-0")
        r, f = play(b, tmp_path, MANIFEST.replace("replicas: 3", "replicas: 2"))
        d = b("kube", "down", f)
        assert sorted(d.stdout.split()) == ["kb-web-0", "kb-web-1"]
        assert pod_names(b) == []
        assert b.ids() == []
        assert remove_networks(b) == []


@pytest.mark.parametrize("change,msg", [
    ("key: GREETING}", "key: NOPE}"),
    (f"image: {BUSYBOX}", "image: localhost/kb-no-such-image"),
])
def test_kube_play_failure_leaves_nothing(tmp_path, change, msg):
    with engine_store("kb-fail-") as b:
        r, _ = play(b, tmp_path, MANIFEST.replace(change, msg), check=False)
        assert r.returncode != 0
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert ("kb-no-such-image" if "image" in msg else "NOPE") in r.stderr
        assert pod_names(b) == []
        assert b.ids() == []
        assert remove_networks(b) == []


def test_kube_play_bad_yaml_and_unknown_kind(tmp_path):
    with engine_store("kb-bad-") as b:
        for text in ["kind: [\n", "apiVersion: v1\nkind: Frobnicator\nmetadata: {name: x}\n"]:
            r, _ = play(b, tmp_path, text, check=False)
            assert r.returncode == 125
            assert len(r.stderr.strip().splitlines()) == 1, r.stderr
            assert pod_names(b) == []


def test_kube_play_init_container_runs_service_without_pods_warned(tmp_path):
    with engine_store("kb-init-") as b:
        init = MANIFEST.replace("replicas: 3", "replicas: 1").replace(
            "      containers:\n",
            f"      initContainers:\n"
            f"      - {{name: i, image: {BUSYBOX}, imagePullPolicy: Never, command: ['true']}}\n"
            f"      containers:\n")
        svc = init + textwrap.dedent("""\
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: kb-svc}
            spec:
              selector: {app: kb-nothing}
              ports: [{port: 80}]
            """)
        r = b("kube", "play", "-", input=svc)  # standard input
        f = tmp_path / "svc.yaml"
        f.write_text(svc)
        assert r.stdout.split() == ["kb-web-0"]
        assert 'warning: Service "kb-svc": selects no pod of the file' in r.stderr
        assert b("kube", "down", f).stdout.split() == ["kb-web-0"]
        assert b.ids() == []
        assert remove_networks(b) == []


LIVENESS_POD = textwrap.dedent(f"""\
    apiVersion: v1
    kind: Pod
    metadata:
      name: kb-live
    spec:
      restartPolicy: Always
      containers:
      - name: app
        image: {BUSYBOX}
        command: ["sh", "-c", "touch /tmp/alive; trap 'exit 0' TERM; while :; do sleep 0.2; done"]
        livenessProbe:
          exec:
            command: ["test", "-e", "/tmp/alive"]
          periodSeconds: 1
          failureThreshold: 2
    """)


def test_kube_play_liveness_probe_restarts_a_hung_container(tmp_path):
    """A container that stops answering its livenessProbe (the file it
    checks removed) is restarted by its pod's restartPolicy, as the kubelet
    does; the pod stays."""
    with engine_store("kb-live-") as b:
        _, f = play(b, tmp_path, LIVENESS_POD)
        name = "kb-live-app"
        assert wait_for(lambda: b.inspect(name)["State"]["Status"] == "running")
        time.sleep(2.5)  # healthy: no restart
        assert b.inspect(name)["RestartCount"] == 0
        b("exec", name, "rm", "/tmp/alive")
        assert wait_for(lambda: b.inspect(name)["RestartCount"] >= 1, timeout=15)
        assert wait_for(lambda: b.inspect(name)["State"]["Status"] == "running", timeout=8)
        # started again from its command: the file is back, no more restarts
        time.sleep(3)
        assert b.inspect(name)["RestartCount"] == 1
        assert pod_names(b) == ["kb-live"]
        # generate kube writes the probe back as it was played
        import yaml
        gen = yaml.safe_load(b("generate", "kube", "kb-live").stdout)
        pr = gen["spec"]["containers"][0]["livenessProbe"]
        assert pr == {"exec": {"command": ["test", "-e", "/tmp/alive"]}, "periodSeconds": 1,
                      "timeoutSeconds": 1, "failureThreshold": 2}, pr
        assert gen["spec"]["restartPolicy"] == "Always"
        b("kube", "down", f)
        assert b.ids() == [] and pod_names(b) == []
        assert remove_networks(b) == []
