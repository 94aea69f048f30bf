"""berth kube play, part 2 (src/lib/kube/play_svc.c, play_vols.c): a
Deployment of 3 busybox httpd replicas behind a NodePort Service, with a
ConfigMap (env and file), a Secret file, a PVC and an init container that
writes the page the main container serves. curl through the published port
reaches every replica; a readiness probe holds a pod out of the Service
(its port and its name) until it is ready; the Service's and the pods' names resolve from a pod;
kube down leaves no pod, cgroup, network, veth or nft rule, and keeps the
PVC's volume unless --volumes."""
import json
import pathlib
import shutil
import socket
import subprocess
import textwrap
import time
import urllib.request

import pytest

from engine_helpers import BUSYBOX, engine_store, remove_networks, wait_for


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def manifest(port, replicas=3, ready_file=False):
    # the readiness probe: ready once /www/ready exists (made by the test
    # through exec in one case; the others make it at start)
    mk_ready = "" if ready_file else "touch /www/ready; "
    return textwrap.dedent(f"""\
        apiVersion: v1
        kind: ConfigMap
        metadata: {{name: k2-cm}}
        data: {{GREETING: hello, app.conf: "color=blue\\n"}}
        ---
        apiVersion: v1
        kind: Secret
        metadata: {{name: k2-sec}}
        stringData: {{token: s3cret}}
        ---
        apiVersion: v1
        kind: PersistentVolumeClaim
        metadata: {{name: k2-data}}
        spec:
          accessModes: [ReadWriteOnce]
          resources: {{requests: {{storage: 1Mi}}}}
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {{name: k2-web}}
        spec:
          replicas: {replicas}
          selector: {{matchLabels: {{app: k2-web}}}}
          template:
            metadata: {{labels: {{app: k2-web}}}}
            spec:
              volumes:
              - {{name: www, emptyDir: {{}}}}
              - {{name: cfg, configMap: {{name: k2-cm}}}}
              - name: cfg-items
                configMap:
                  name: k2-cm
                  defaultMode: 0440
                  items: [{{key: app.conf, path: sub/renamed.conf}}]
              - {{name: sec, secret: {{secretName: k2-sec}}}}
              - {{name: data, persistentVolumeClaim: {{claimName: k2-data}}}}
              initContainers:
              - name: first
                image: {BUSYBOX}
                imagePullPolicy: Never
                command: [sh, -c, 'echo first > /www/order']
                volumeMounts: [{{name: www, mountPath: /www}}]
              - name: second
                image: {BUSYBOX}
                imagePullPolicy: Never
                env:
                - name: ME
                  valueFrom: {{fieldRef: {{fieldPath: metadata.name}}}}
                command: [sh, -c, 'echo second >> /www/order; echo "$ME" > /www/index.html']
                volumeMounts: [{{name: www, mountPath: /www}}]
              containers:
              - name: web
                image: {BUSYBOX}
                imagePullPolicy: Never
                command: [sh, -c, '{mk_ready}exec httpd -f -p 8080 -h /www']
                ports: [{{name: http, containerPort: 8080}}]
                env:
                - name: GREETING
                  valueFrom: {{configMapKeyRef: {{name: k2-cm, key: GREETING}}}}
                readinessProbe:
                  exec: {{command: [test, -e, /www/ready]}}
                  periodSeconds: 1
                volumeMounts:
                - {{name: www, mountPath: /www}}
                - {{name: cfg, mountPath: /etc/k2}}
                - {{name: cfg-items, mountPath: /etc/k2-items}}
                - {{name: cfg, mountPath: /etc/only.conf, subPath: app.conf}}
                - {{name: sec, mountPath: /etc/k2-sec}}
                - {{name: data, mountPath: /data}}
        ---
        apiVersion: v1
        kind: Service
        metadata: {{name: k2-svc}}
        spec:
          type: NodePort
          selector: {{app: k2-web}}
          ports: [{{port: 80, targetPort: http, nodePort: {port}}}]
        """)


def get(port, timeout=2.0):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=timeout) as r:
            return r.read().decode().strip()
    except OSError:
        return None


def lookup(b, ctr, name):
    """The addresses busybox's nslookup gives for name from ctr ([] if none)."""
    x = b("exec", ctr, "nslookup", name, check=False)
    return sorted(line.split()[-1] for line in x.stdout.splitlines()[2:]
                  if line.startswith("Address")) if x.returncode == 0 else []


def answers(port, n=30):
    return [get(port) for _ in range(n)]


def nft_table():
    if not shutil.which("nft"):
        return ""
    r = subprocess.run(["nft", "list", "table", "ip", "berth-kube"], capture_output=True,
                       text=True)
    return r.stdout if r.returncode == 0 else ""


def pod_cgroups(pods):
    out = []
    for pid in pods:
        out += [str(p) for p in pathlib.Path("/sys/fs/cgroup").glob(f"*/berth/pod-{pid}")]
        out += [str(p) for p in pathlib.Path("/sys/fs/cgroup").glob(f"berth/pod-{pid}")]
    return out


def pod_ids(b):
    d = b.root / "pods"
    return [p.stem for p in d.glob("*.json")] if d.exists() else []


def play_bridges(b):
    """The bridges of the store's kube-* networks (the play's own)."""
    d = b.root / "networks"
    return [json.loads(p.read_text())["Options"]["com.docker.network.bridge.name"]
            for p in d.glob("kube-*.json")] if d.exists() else []


def bridges_gone(br):
    return wait_for(lambda: not [x for x in br if pathlib.Path(f"/sys/class/net/{x}").exists()],
                    timeout=5)


def play_veths(bridges):
    """The host ends of the veths on these bridges."""
    out = []
    for br in bridges:
        d = pathlib.Path(f"/sys/class/net/{br}/brif")
        out += [p.name for p in d.iterdir()] if d.exists() else []
    return out


def test_kube_service_replicas_init_volumes_dns_down(tmp_path):
    port = free_port()
    with engine_store("k2-svc-") as b:
        f = tmp_path / "k2.yaml"
        f.write_text(manifest(port))
        r = b("kube", "play", f)
        try:
            assert r.stdout.split() == ["k2-web-0", "k2-web-1", "k2-web-2"], r.stderr
            pods = pod_ids(b)
            br = play_bridges(b)
            veths = play_veths(br)
            assert len(br) == 1 and len(veths) == 3, (br, veths)
            # every replica answers through the Service's published port
            assert wait_for(lambda: len(set(answers(port, 12)) - {None}) == 3, timeout=20), \
                (answers(port, 6), nft_table())
            got = answers(port)
            assert set(got) == {"k2-web-0", "k2-web-1", "k2-web-2"}, got
            # init containers ran in order, then were removed
            c = "k2-web-1-web"
            assert b("exec", c, "cat", "/www/order").stdout.split() == ["first", "second"]
            names = [b.inspect(i)["Name"].lstrip("/") for i in b.ids()]
            assert not [n for n in names if n.endswith(("-first", "-second"))], names
            # ConfigMap as env and as files, the Secret's file 0400, both read-only
            assert b("exec", c, "sh", "-c", "echo $GREETING").stdout.strip() == "hello"
            assert b("exec", c, "cat", "/etc/k2/app.conf").stdout == "color=blue\n"
            assert b("exec", c, "cat", "/etc/k2-sec/token").stdout == "s3cret"
            mode = b("exec", c, "stat", "-L", "-c", "%a", "/etc/k2-sec/token").stdout.strip()
            assert mode == "400"
            w = b("exec", c, "sh", "-c", "echo x > /etc/k2/new", check=False)
            assert w.returncode != 0
            # items (only the keys named, at their paths), defaultMode, subPath
            assert b("exec", c, "find", "/etc/k2-items", "-type", "f").stdout.split() == [
                "/etc/k2-items/sub/renamed.conf"]
            assert b("exec", c, "stat", "-c", "%a", "/etc/k2-items/sub/renamed.conf"
                     ).stdout.strip() == "440"
            assert b("exec", c, "cat", "/etc/only.conf").stdout == "color=blue\n"
            # the PVC: one volume the replicas share, kept by kube down
            b("exec", c, "sh", "-c", "echo kept > /data/f")
            assert b("exec", "k2-web-2-web", "cat", "/data/f").stdout.strip() == "kept"
            # names: the Service (every replica's address) and the other pods,
            # from a pod (busybox's wget crashes with -T: none given)
            addrs = {}
            for name in ["k2-svc", "k2-web-0", "k2-web-1", "k2-web-2"]:
                x = b("exec", c, "nslookup", name, check=False)
                assert x.returncode == 0, (name, x.stdout, x.stderr)
                addrs[name] = sorted(line.split()[-1] for line in x.stdout.splitlines()[2:]
                                     if line.startswith("Address"))
            assert addrs["k2-svc"] == sorted(addrs[f"k2-web-{i}"][0] for i in range(3)), addrs
            for i in (0, 2):
                x = b("exec", c, "wget", "-qO-", f"http://k2-web-{i}:8080/")
                assert x.stdout.strip() == f"k2-web-{i}"
            assert b("exec", c, "wget", "-qO-", "http://k2-svc:8080/").stdout.strip() in got
            # kube down: nothing left but the PVC's volume
            d = b("kube", "down", f)
            assert sorted(d.stdout.split()) == ["k2-web-0", "k2-web-1", "k2-web-2"]
            assert b.ids() == [] and pod_ids(b) == []
            assert wait_for(lambda: not pod_cgroups(pods), timeout=5), pod_cgroups(pods)
            assert not list((b.root / "networks").glob("kube-*.json"))
            assert wait_for(lambda: f"{port}" not in nft_table(), timeout=5), nft_table()
            assert bridges_gone(br), br
            assert wait_for(lambda: not [v for v in veths
                                         if pathlib.Path(f"/sys/class/net/{v}").exists()],
                            timeout=5), veths
            assert get(port, 1) is None
            vols = b("volume", "ls", "-q").stdout.split()
            assert vols == ["k2-data"], vols
            # a second play and down --volumes: the volume goes too
            b("kube", "play", f)
            assert wait_for(lambda: get(port), timeout=20)
            b("kube", "down", "--volumes", f)
            assert b("volume", "ls", "-q").stdout.split() == []
            assert remove_networks(b) == []
        finally:
            b("kube", "down", "--volumes", f, check=False)  # after a failure too


def test_kube_service_readiness_holds_pod_out(tmp_path):
    port = free_port()
    with engine_store("k2-ready-") as b:
        f = tmp_path / "k2.yaml"
        f.write_text(manifest(port, replicas=2, ready_file=True))
        b("kube", "play", f)
        br = play_bridges(b)
        assert len(br) == 1
        try:
            # nobody ready: nothing answers
            time.sleep(2)
            assert set(answers(port, 4)) == {None}
            # nor does the Service's name resolve (the pods' names do)
            c = "k2-web-0-web"
            assert lookup(b, c, "k2-svc") == []
            ip1 = lookup(b, c, "k2-web-1")
            assert len(ip1) == 1
            b("exec", "k2-web-1-web", "touch", "/www/ready")
            assert wait_for(lambda: get(port) == "k2-web-1", timeout=10), nft_table()
            assert set(answers(port, 10)) == {"k2-web-1"}
            assert wait_for(lambda: lookup(b, c, "k2-svc") == ip1, timeout=5)
            b("exec", "k2-web-0-web", "touch", "/www/ready")
            assert wait_for(lambda: set(answers(port, 6)) == {"k2-web-0", "k2-web-1"},
                            timeout=10), nft_table()
            # out again when its probe fails
            assert wait_for(lambda: len(lookup(b, c, "k2-svc")) == 2, timeout=5)
            b("exec", "k2-web-1-web", "rm", "/www/ready")
            assert wait_for(lambda: set(answers(port, 6)) == {"k2-web-0"}, timeout=10)
            assert wait_for(lambda: lookup(b, c, "k2-svc") == lookup(b, c, "k2-web-0"),
                            timeout=5)
        finally:
            b("kube", "down", "--volumes", f)
        assert wait_for(lambda: f"{port}" not in nft_table(), timeout=5), nft_table()
        assert bridges_gone(br), br
        assert remove_networks(b) == []


def test_kube_init_container_failure_leaves_nothing(tmp_path):
    port = free_port()
    with engine_store("k2-initfail-") as b:
        f = tmp_path / "k2.yaml"
        f.write_text(manifest(port).replace("'echo first > /www/order'", "'exit 3'"))
        r = b("kube", "play", f, check=False)
        assert r.returncode == 125
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert 'initContainers[0] "first" exited with status 3' in r.stderr
        assert b.ids() == [] and pod_ids(b) == []
        assert b("volume", "ls", "-q").stdout.split() in ([], ["k2-data"])
        assert f"{port}" not in nft_table()
        assert not list((b.root / "networks").glob("kube-*.json"))
        assert remove_networks(b) == []


def test_kube_scale_follows_service(tmp_path):
    port = free_port()
    with engine_store("k2-scale-") as b:
        f = tmp_path / "k2.yaml"
        f.write_text(manifest(port, replicas=2))
        b("kube", "play", f)
        br = play_bridges(b)
        try:
            assert wait_for(lambda: set(answers(port, 8)) == {"k2-web-0", "k2-web-1"},
                            timeout=20)
            r = b("kube", "scale", "--replicas", "3", "k2-web", f)
            assert r.stdout.split() == ["k2-web-2"]
            assert wait_for(lambda: len(set(answers(port, 12)) - {None}) == 3, timeout=20)
            b("kube", "scale", "--replicas", "1", "k2-web", f)
            assert sorted(p for p in b("pod", "ls", "--format", "{{.Name}}").stdout.split()) \
                == ["k2-web-0"]
            assert set(answers(port, 8)) == {"k2-web-0"}
            bad = b("kube", "scale", "--replicas", "1", "k2-nope", f, check=False)
            assert bad.returncode == 125 and 'no Deployment "k2-nope"' in bad.stderr
        finally:
            b("kube", "down", "--volumes", f)
        assert bridges_gone(br), br
        assert remove_networks(b) == []


GEN_PORT = free_port()
GEN_POD = textwrap.dedent(f"""\
    apiVersion: v1
    kind: Pod
    metadata:
      name: k2-gen
      labels: {{app: k2-gen, tier: "8080"}}
    spec:
      containers:
      - name: web
        image: {BUSYBOX}
        imagePullPolicy: Never
        command: [sh, -c, 'echo "$A $B" > /tmp/out; echo hi > /tmp/index.html; exec httpd -f -p 8080 -h /tmp']
        env: [{{name: A, value: "yes"}}, {{name: B, value: "two words"}}]
        workingDir: /tmp
        ports: [{{containerPort: 8080, hostPort: {GEN_PORT}}}]
      - name: side
        image: {BUSYBOX}
        imagePullPolicy: Never
        args: [sleep, '301']
    """)


def ctr_summary(b, name):
    c = b.inspect(name)["Config"]
    return (c["Image"], (c.get("Entrypoint") or []) + (c.get("Cmd") or []), sorted(c["Env"]),
            c["WorkingDir"])


def test_generate_kube_round_trip(tmp_path):
    with engine_store("k2-gen-") as b:
        f = tmp_path / "pod.yaml"
        f.write_text(GEN_POD)
        b("kube", "play", f)
        br = play_bridges(b)
        before = {n: ctr_summary(b, n) for n in ["k2-gen-web", "k2-gen-side"]}
        labels = b("pod", "inspect", "k2-gen").stdout
        gen = b("generate", "kube", "k2-gen").stdout
        assert "k2-gen-infra" not in gen and "io.berth" not in gen, gen
        g = tmp_path / "gen.yaml"
        g.write_text(gen)
        assert b("kube", "check", g).stdout.split() == ["Pod", "k2-gen"]
        b("kube", "down", f)
        assert b.ids() == [] and bridges_gone(br), br
        # the generated file played back: the same containers
        assert b("kube", "play", g).stdout.split() == ["k2-gen"]
        after = {n: ctr_summary(b, n) for n in ["k2-gen-web", "k2-gen-side"]}
        assert after == before
        assert wait_for(lambda: b("exec", "k2-gen-web", "cat", "/tmp/out",
                                  check=False).stdout.strip() == "yes two words")
        # the hostPort, published by the pod, written back by generate
        assert f"hostPort: {GEN_PORT}" in gen, gen
        assert wait_for(lambda: get(GEN_PORT) == "hi", timeout=10)
        rec = json.loads(b("pod", "inspect", "k2-gen").stdout)
        rec = rec[0] if isinstance(rec, list) else rec
        assert rec["Labels"]["app"] == "k2-gen" and rec["Labels"]["tier"] == "8080", labels
        b("kube", "down", g)
        # a container alone: a Pod of its name
        b("run", "-d", "--network", "none", "--name", "k2-solo", BUSYBOX, "sleep", "300")
        solo = b("generate", "kube", "k2-solo").stdout
        b("rm", "-f", "k2-solo")
        s = tmp_path / "solo.yaml"
        s.write_text(solo)
        assert b("kube", "play", s).stdout.split() == ["k2-solo"]
        assert ctr_summary(b, "k2-solo-k2-solo")[1] == ["sleep", "300"]
        b("kube", "down", s)
        r = b("generate", "kube", "k2-none", check=False)
        assert r.returncode == 125 and "no such pod or container: k2-none" in r.stderr
        assert remove_networks(b) == []


def test_kube_service_port_in_use_refused(tmp_path):
    with engine_store("k2-inuse-") as b:
        s = socket.socket()
        s.bind(("0.0.0.0", 0))
        s.listen()
        port = s.getsockname()[1]
        try:
            f = tmp_path / "k2.yaml"
            f.write_text(manifest(port, replicas=1))
            r = b("kube", "play", f, check=False)
            assert r.returncode == 125 and len(r.stderr.strip().splitlines()) == 1, r.stderr
            assert f'Service "k2-svc": host port {port}/tcp' in r.stderr, r.stderr
            assert b.ids() == [] and pod_ids(b) == []
            assert not list((b.root / "networks").glob("kube-*.json"))
            assert f"{port}" not in nft_table()
        finally:
            s.close()


def test_generate_kube_limits_security_volumes_restart(tmp_path):
    """generate kube writes what kube play maps back: limits, a numeric user,
    a read-only root, capabilities, privileged, binds (hostPath), named
    volumes (persistentVolumeClaim) and the restart policy; played back, the
    container has them again."""
    import yaml
    with engine_store("k2-gen2-") as b:
        hp = tmp_path / "hp"
        hp.mkdir()
        (hp / "f").write_text("from-host\n")
        b("run", "-d", "--network", "none", "--name", "k2-lim", "--memory", "64m",
          "--cpus", "0.5", "--user", "1000:1000", "--read-only", "--cap-add", "NET_ADMIN",
          "--cap-drop", "CHOWN", "--restart", "on-failure", "-v", f"{hp}:/data:ro",
          "-v", "k2vol:/vol", BUSYBOX, "sleep", "300")
        gen = b("generate", "kube", "k2-lim").stdout
        doc = yaml.safe_load(gen)
        spec = doc["spec"]
        c = spec["containers"][0]
        assert c["resources"] == {"limits": {"memory": "67108864", "cpu": "500m"}}, gen
        assert c["securityContext"] == {
            "runAsUser": 1000, "runAsGroup": 1000, "readOnlyRootFilesystem": True,
            "capabilities": {"add": ["NET_ADMIN"], "drop": ["CHOWN"]}}, gen
        assert spec["restartPolicy"] == "OnFailure"
        vols = {v["name"]: v for v in spec["volumes"]}
        mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
        assert mounts["/data"]["readOnly"] is True
        assert vols[mounts["/data"]["name"]]["hostPath"] == {"path": str(hp)}
        assert vols[mounts["/vol"]["name"]]["persistentVolumeClaim"] == {"claimName": "k2vol"}
        b("rm", "-f", "k2-lim")
        g = tmp_path / "gen.yaml"
        g.write_text(gen)
        b("kube", "play", g)
        hc = b.inspect("k2-lim-k2-lim")["HostConfig"]
        assert hc["Memory"] == 67108864 and hc["NanoCpus"] == 500000000
        assert hc["ReadonlyRootfs"] is True and hc["RestartPolicy"]["Name"] == "on-failure"
        assert b("exec", "k2-lim-k2-lim", "cat", "/data/f").stdout == "from-host\n"
        assert b("exec", "k2-lim-k2-lim", "id", "-u").stdout.strip() == "1000"
        b("kube", "down", g)
        b("volume", "rm", "k2vol")
        assert remove_networks(b) == []
