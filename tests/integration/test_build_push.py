"""Images made by `berth build` (issue #12) in the hands of the peers: pushed
to a docker-registry on 127.0.0.1, read by skopeo (the config berth wrote),
pulled and run by Podman (its own storage in a temp dir; runc: crun refuses
this host's hybrid cgroups). The multi-layer build's whiteouts hold there."""
import json
import os
import pathlib
import shutil
import subprocess
import tarfile
import tempfile

import pytest

import conftest
from conftest import run
from engine_helpers import BUSYBOX, engine_store
from test_image_registry import start_registry, stop

if os.geteuid() != 0:
    pytest.skip("the build push tests need root", allow_module_level=True)
for tool in ("skopeo", "podman", "runc", "docker-registry"):
    conftest.need(conftest.missing_tool(tool, tool))

APP = f"""FROM {BUSYBOX}
ENV GREETING=hello
WORKDIR /app
COPY msg.txt ./
RUN echo "built $(cat msg.txt)" > built.txt
RUN echo second > second.txt
EXPOSE 8080
LABEL org.b12=push
CMD ["sh", "-c", "cat built.txt second.txt; echo $GREETING; pwd"]
"""

WHITEOUT = f"""FROM {BUSYBOX}
RUN mkdir -p /dir/sub && echo a > /dir/a && echo b > /dir/sub/b && echo g > /gone && echo k > /keep
RUN rm /gone && rm -rf /dir && mkdir /dir && echo new > /dir/new
RUN rm -rf /srv
CMD ["sh", "-c", "find /dir | sort; ls / | grep -c -e gone -e srv; cat /keep"]
"""


class Podman:
    def __init__(self, tmp):
        self.tmp = tmp
        os.makedirs(f"{tmp}/ptmp", exist_ok=True)
        self.base = ["podman", "--root", f"{tmp}/proot", "--runroot", f"{tmp}/prun",
                     "--tmpdir", f"{tmp}/ptmp", "--cgroup-manager", "cgroupfs",
                     "--events-backend", "file", "--runtime", "runc"]

    def __call__(self, *args, check=True, timeout=120):
        # conmon writes files into its cwd: the temp dir's
        return run([*self.base, *args], check=check, timeout=timeout, cwd=self.tmp,
                   stdin=subprocess.DEVNULL)

    def run_rm(self, ref):
        return self("run", "--rm", "--network", "none", "--ulimit", "nofile=1024:1024",
                    "--ulimit", "nproc=1024:1024", ref).stdout

    def cleanup(self):
        self("rm", "-af", "-t", "0", check=False)
        self("system", "reset", "-f", check=False)
        with open("/proc/self/mountinfo") as f:
            mnts = [ln.split()[4] for ln in f if self.tmp in ln.split()[4]]
        for m in sorted(mnts, reverse=True):
            subprocess.run(["umount", "-l", m], check=False)


@pytest.fixture(scope="module")
def peers():
    reg_tmp = tempfile.mkdtemp(prefix="b12r-reg-")
    proc, addr = start_registry(pathlib.Path(reg_tmp))
    try:
        with engine_store("b12r-") as b:
            pod = Podman(str(b.tmp))
            try:
                yield b, pod, addr
            finally:
                pod.cleanup()
            assert not b.ids()
    finally:
        stop(proc)
        shutil.rmtree(reg_tmp, ignore_errors=True)


def build_push(b, addr, name, containerfile, files=None):
    ctx = b.tmp / f"ctx-{name}"
    ctx.mkdir()
    (ctx / "Containerfile").write_text(containerfile)
    for rel, text in (files or {}).items():
        (ctx / rel).write_text(text)
    b("build", "-t", name, ctx)
    ref = f"{addr}/b12/{name}:1"
    digest = b("push", name, ref).stdout.strip()
    return ref, digest


def test_built_image_skopeo_inspect_podman_run(peers):
    b, pod, addr = peers
    ref, digest = build_push(b, addr, "b12-app", APP, {"msg.txt": "from-context"})
    mine = json.loads(b("image", "inspect", "b12-app").stdout)[0]
    want = "built from-context\nsecond\nhello\n/app\n"
    assert b("run", "--rm", "--network", "none", "b12-app").stdout == want
    # skopeo: the manifest berth pushed, and the config in it is berth's
    sk = json.loads(run(["skopeo", "inspect", "--tls-verify=false", f"docker://{ref}"]).stdout)
    assert sk["Digest"] == digest == mine["Metadata"]["Manifest"]
    assert len(sk["Layers"]) == len(mine["RootFS"]["Layers"]) == 5  # base, WORKDIR, COPY, 2 RUN
    cfg = json.loads(run(["skopeo", "inspect", "--config", "--tls-verify=false",
                          f"docker://{ref}"]).stdout)
    assert cfg["rootfs"]["diff_ids"] == mine["RootFS"]["Layers"]
    c = cfg["config"]
    for k in ("Env", "Cmd", "WorkingDir", "ExposedPorts", "Labels"):
        assert c.get(k) == mine["Config"].get(k), k
    assert c["Labels"] == {"org.b12": "push"} and c["WorkingDir"] == "/app"
    assert "GREETING=hello" in c["Env"] and list(c["ExposedPorts"]) == ["8080/tcp"]
    assert [h.get("empty_layer", False) for h in cfg["history"]].count(False) == 5
    # podman pulls it over HTTP and runs it: the same output
    pod("pull", "--tls-verify=false", ref)
    info = json.loads(pod("image", "inspect", ref).stdout)[0]
    assert info["Digest"] == digest and info["Config"]["WorkingDir"] == "/app"
    assert pod.run_rm(ref) == want


def test_multi_layer_whiteouts_run_by_podman(peers):
    b, pod, addr = peers
    ref, _ = build_push(b, addr, "b12-wh", WHITEOUT)
    want = "/dir\n/dir/new\n0\nk\n"
    assert b("run", "--rm", "--network", "none", "b12-wh").stdout == want
    pod("pull", "--tls-verify=false", ref)
    assert pod.run_rm(ref) == want  # /gone, /srv, /dir/a and /dir/sub absent in podman too
    # skopeo copies it to an OCI layout: the layers carry the whiteouts (a
    # .wh. file for /gone and /srv, an opaque /dir or the old entries whited out)
    lay = b.tmp / "oci"
    run(["skopeo", "copy", "--src-tls-verify=false", f"docker://{ref}", f"oci:{lay}:x"])
    idx = json.loads((lay / "index.json").read_text())
    man = json.loads((lay / "blobs/sha256" / idx["manifests"][0]["digest"][7:]).read_text())
    names = []
    for layer in man["layers"][2:]:
        with tarfile.open(lay / "blobs/sha256" / layer["digest"][7:]) as t:
            names.append(sorted(m.name.removeprefix("./") for m in t))
    assert ".wh.gone" in names[0] and "dir/new" in names[0]
    assert "dir/.wh..wh..opq" in names[0] or {"dir/.wh.a", "dir/.wh.sub"} <= set(names[0])
    assert names[1] == [".wh.srv"]
