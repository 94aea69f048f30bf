"""`berth kube check FILE|-` (issue #18): a Kubernetes manifest read into
berth's model. A good multi-document file lists its objects, one a line; a
bad one is refused with one line naming the file, the line and the field's
path, exit status 125; standard input works the same. Nothing is run: the
store is neither needed nor created."""
import os
import pathlib
import shutil
import subprocess
import tempfile

import pytest

from conftest import binary, run

GOOD = """\
# a comment before the first document
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
        ports: [{containerPort: 80, name: http}]
        resources:
          requests: {cpu: 250m, memory: 64Mi}
          limits: {cpu: "1", memory: 128Mi}
        readinessProbe:
          httpGet: {path: /, port: http}
        envFrom: [{configMapRef: {name: web-config}}]
        volumeMounts: [{name: data, mountPath: /usr/share/nginx/html}]
      volumes:
      - name: data
        persistentVolumeClaim: {claimName: web-data}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: http, nodePort: 30080}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config, namespace: dev}
data: {GREETING: hello}
---
apiVersion: v1
kind: Secret
metadata: {name: web-secret}
data: {password: aHVudGVyMg==}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: web-data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: Pod
metadata: {name: debug}
spec:
  containers: [{name: sh, image: busybox, command: [sleep, "3600"]}]
"""

LISTED = ["Deployment web", "Service web", "ConfigMap dev/web-config", "Secret web-secret",
          "PersistentVolumeClaim web-data", "Pod debug"]


@pytest.fixture
def tmp():
    d = pathlib.Path(tempfile.mkdtemp(prefix="berth-kube-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def kube_check(tmp, *args, stdin=None):
    env = dict(os.environ, BERTH_RUNROOT=str(tmp / "run"), ASAN_OPTIONS="detect_leaks=1")
    return run([binary("berth"), "--root", tmp / "root", "kube", "check", *args], check=False,
               env=env, input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL)


def test_good_file_lists_objects(tmp):
    f = tmp / "app.yaml"
    f.write_text(GOOD)
    r = kube_check(tmp, f)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == LISTED
    assert r.stderr == ""
    # a check touches no store
    assert not (tmp / "root").exists() and not (tmp / "run").exists()


def test_stdin(tmp):
    r = kube_check(tmp, "-", stdin=GOOD)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == LISTED
    bad = GOOD.replace("        resources:\n", "        lifecycle: {}\n        resources:\n", 1)
    r = kube_check(tmp, "-", stdin=bad)
    assert r.returncode == 125
    assert r.stdout == ""
    assert r.stderr == ('berth: <stdin>:20: Deployment "web": '
                        'spec.template.spec.containers[0].lifecycle: not supported by berth\n')


BAD = [
    # (what to do to GOOD, the message after "berth: FILE:")
    (lambda s: s.replace("kind: Service", "kind: Ingress"),
     '32: kind: "Ingress": not supported by berth (Pod, Deployment, Service, ConfigMap, Secret, '
     'PersistentVolumeClaim)'),
    (lambda s: s.replace("apiVersion: apps/v1", "apiVersion: apps/v1beta1"),
     '3: Deployment: apiVersion: "apps/v1beta1": not supported by berth (apps/v1)'),
    (lambda s: s.replace("        image: nginx:1.25\n", ""),
     '17: Deployment "web": spec.template.spec.containers[0].image: required'),
    (lambda s: s.replace("memory: 64Mi", "memory: 64MB"),
     '21: Deployment "web": spec.template.spec.containers[0].resources.requests.memory: "64MB": '
     'unknown suffix (Ki Mi Gi Ti Pi Ei, n u m k M G T P E, or e<N>)'),
    (lambda s: s.replace("nodePort: 30080", "nodePort: 70000"),
     '37: Service "web": spec.ports[0].nodePort: 70000: must be between 1 and 65535'),
    (lambda s: s.replace("claimName: web-data", "claimName: Web_Data"),
     '29: Deployment "web": spec.template.spec.volumes[0].persistentVolumeClaim.claimName: '
     '"Web_Data": must be a DNS-1123 subdomain (lower case letters, digits, \'-\' and \'.\', '
     'starting and ending with a letter or digit)'),
    (lambda s: s.replace("aHVudGVyMg==", "hunter2"),
     '47: Secret "web-secret": data[password]: not valid base64'),
    (lambda s: s + "---\napiVersion: v1\nkind: Pod\nmetadata: {name: debug}\n"
     "spec: {containers: [{name: a, image: b}]}\n",
     '62: Pod "debug": defined twice'),
    (lambda s: s.replace("spec:\n  containers: [{name: sh",
                         "spec:\n  containers: [{name: sh, ports: [{containerPort: 1}, "
                         "{containerPort: 1}]"),
     '60: Pod "debug": spec.containers[0].ports[1]: containerPort: 1/TCP: already used in this '
     'pod'),
    (lambda s: s.replace("data: {GREETING: hello}", "data: {GREETING: hello"),
     None),
    (lambda s: s.replace("  name: web\n  labels", "  name: &n web\n  labels").replace(
        "metadata: {name: web}", "metadata: {name: *n}"),
     '33: YAML alias *n: aliases are not supported by berth'),
]


@pytest.mark.parametrize("i", range(len(BAD)))
def test_bad_file_one_line(tmp, i):
    edit, want = BAD[i]
    f = tmp / "bad.yaml"
    text = edit(GOOD)
    assert text != GOOD
    f.write_text(text)
    r = kube_check(tmp, f)
    assert r.returncode == 125, r.stdout
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    if want is None:  # a YAML syntax error: libyaml's words, our frame
        assert lines[0].startswith(f"berth: {f}:") and ": YAML: " in lines[0], lines[0]
    else:
        assert lines[0] == f"berth: {f}:{want}"


def test_usage_errors(tmp):
    r = kube_check(tmp)
    assert r.returncode == 125 and "one FILE" in r.stderr
    r = kube_check(tmp, tmp / "missing.yaml")
    assert r.returncode == 125
    assert r.stderr == f"berth: open {tmp / 'missing.yaml'}: No such file or directory\n"
    big = tmp / "big.yaml"
    with open(big, "wb") as f:
        f.truncate(16 * 1024 * 1024 + 1)
    r = kube_check(tmp, big)
    assert r.returncode == 125
    assert r.stderr == f"berth: {big}: 16777217 bytes: larger than the 16 MiB berth reads\n"
    r = kube_check(tmp, "-", stdin="")
    assert r.returncode == 0 and r.stdout == ""
