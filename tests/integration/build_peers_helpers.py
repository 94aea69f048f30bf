"""What the build peer tests share: buildah on its own storage in a temp dir
(vfs, chroot isolation), the bundled busybox image handed to it as the
docker-archive berth saves, and the views compared: an image's config and the
set of files of its root filesystem (path, type, mode, owner, content hash or
link target; mtimes ignored)."""
import hashlib
import json
import os
import pathlib
import stat
import subprocess
import tarfile

from conftest import run

BUILDAH_LABEL = "io.buildah.version"  # buildah stamps its version on every image it makes
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# the config fields compared (Docker's names in the image config's "config")
FIELDS = ("Env", "Entrypoint", "Cmd", "WorkingDir", "User", "ExposedPorts", "Volumes",
          "Labels", "StopSignal", "Healthcheck", "OnBuild", "Shell")


class Buildah:
    """`buildah --root R --runroot RR --storage-driver vfs ...`: its store
    is the temp dir's, nothing of the host's /var/lib/containers."""

    def __init__(self, tmp):
        self.tmp = pathlib.Path(tmp)
        self.base = ["buildah", "--root", str(self.tmp / "broot"), "--runroot",
                     str(self.tmp / "brun"), "--storage-driver", "vfs"]

    def __call__(self, *args, check=True, timeout=300, **kw):
        return run([*self.base, *args], check=check, timeout=timeout, **kw)

    def bud(self, ctx, tag, *args):
        # docker format: the OCI config has no Healthcheck/OnBuild/Shell/StopSignal
        # kept the Docker way (buildah drops them from OCI images with a warning)
        return self("bud", "--isolation", "chroot", "--format", "docker", "--layers",
                    "-t", tag, *args, str(ctx))

    def config(self, ref):
        info = json.loads(self("inspect", "--type", "image", ref).stdout)
        return info["Docker"]["config"]

    def files(self, ref):
        # the image's own tree: `podman image mount` on buildah's storage (a
        # `buildah from` would run the image's ONBUILD triggers)
        pod = ["podman", *self.base[1:]]
        mnt = pathlib.Path(run([*pod, "image", "mount", ref]).stdout.strip())
        try:
            return tree_files(mnt)
        finally:
            run([*pod, "image", "unmount", ref], check=False)

    def cleanup(self):
        self("rm", "--all", check=False)
        self("rmi", "--all", "--force", check=False)
        # vfs needs no mounts; any left under the temp dir (a bug) go too
        with open("/proc/self/mountinfo") as f:
            mnts = [ln.split()[4] for ln in f if str(self.tmp) in ln.split()[4]]
        for m in sorted(mnts, reverse=True):
            subprocess.run(["umount", "-l", m], check=False)


def _digest(f):
    h = hashlib.sha256()
    for chunk in iter(lambda: f.read(1 << 16), b""):
        h.update(chunk)
    return h.hexdigest()[:16]


def tree_files(root):
    """path -> entry of a directory tree (a mounted root filesystem)."""
    root = pathlib.Path(root)
    out = {}
    for dirpath, dirs, names in os.walk(root):
        for n in dirs + names:
            p = pathlib.Path(dirpath) / n
            st = os.lstat(p)
            rel = "/" + str(p.relative_to(root))
            mode, own = stat.S_IMODE(st.st_mode), (st.st_uid, st.st_gid)
            if stat.S_ISDIR(st.st_mode):
                out[rel] = ("d", oct(mode), own)
            elif stat.S_ISLNK(st.st_mode):
                out[rel] = ("l", os.readlink(p), own)
            elif stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    out[rel] = ("f", oct(mode), own, _digest(f))
            else:
                out[rel] = ("o", oct(st.st_mode), own)
    return out


def tar_files(path):
    """path -> entry of a root filesystem tar (`berth export`)."""
    out = {}
    with tarfile.open(path) as t:
        for m in t:
            name = m.name.removeprefix("./").lstrip("/").rstrip("/")
            if not name:
                continue
            rel, own = "/" + name, (m.uid, m.gid)
            if m.isdir():
                out[rel] = ("d", oct(m.mode & 0o7777), own)
            elif m.issym():
                out[rel] = ("l", m.linkname, own)
            elif m.isfile() or m.islnk():
                out[rel] = ("f", oct(m.mode & 0o7777), own, _digest(t.extractfile(m)))
            else:
                out[rel] = ("o", str(m.type), own)
    return out


def norm_config(cfg, buildah=False):
    """The compared fields, an absent field and an empty one alike."""
    out = {}
    for k in FIELDS:
        v = (cfg or {}).get(k)
        if buildah and k == "Labels" and v:
            v = {a: b for a, b in v.items() if a != BUILDAH_LABEL}
        if buildah and k == "Env" and v:
            # buildah adds Podman's default PATH to every image lacking one; Docker
            # (and berth) keep the base image's Env as it is (our busybox has none)
            v = [e for e in v if e != DEFAULT_PATH]
        out[k] = v if v else None
    return out


def berth_config(b, ref):
    """The image config's "config" as berth stores it (from its save)."""
    return json.loads(b("image", "inspect", ref).stdout)[0]["Config"]


def berth_files(b, ref):
    cid = b("create", ref).stdout.strip()
    try:
        out = b.tmp / f"export-{cid[:12]}.tar"
        b("export", "-o", out, cid)
        files = tar_files(out)
        out.unlink()
        return files
    finally:
        b("rm", "-f", cid, check=False)


# buildah's chroot RUN leaves the mount points of what it binds in (empty
# files, /run) in the layer; Docker's RUN has them in the container's init
# layer, never in the image, and so does berth: they are not compared when
# only buildah has them (and empty).
EMPTY = "e3b0c44298fc1c14"
RUN_MOUNTPOINTS = {"/etc/hostname": ("f", "0o755", (0, 0), EMPTY),
                   "/etc/hosts": ("f", "0o755", (0, 0), EMPTY),
                   "/etc/resolv.conf": ("f", "0o755", (0, 0), EMPTY),
                   "/run": ("d", "0o755", (0, 0))}


def diff_files(a, b):
    """The paths whose entries differ, as readable lines (empty: the same)."""
    lines = []
    for p in sorted(set(a) | set(b)):
        if p not in a and RUN_MOUNTPOINTS.get(p) == b.get(p):
            continue
        if a.get(p) != b.get(p):
            lines.append(f"{p}: berth {a.get(p)} buildah {b.get(p)}")
    return lines
