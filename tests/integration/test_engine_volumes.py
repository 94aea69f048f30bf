"""Volumes: named and anonymous (-v /path, --mount without source, an image's
VOLUME), the image's files copied into a new volume, rm -v / run --rm, and
the `berth volume` command."""
import json
import pathlib
import re
import tempfile

import pytest

from engine_helpers import BUSYBOX, engine_store, oci_image_dir, rootfs_tar


@pytest.fixture
def b():
    with engine_store("berth-vol-") as bb:
        yield bb


def vols(b):
    return set(b("volume", "ls", "-q").stdout.split())


def anon(name):
    return re.fullmatch(r"[0-9a-f]{64}", name) is not None


def test_named_volume_gets_the_image_files_once(b):
    data = b.root / "volumes" / "cfg" / "_data"
    r = b("run", "--rm", "-v", "cfg:/etc", BUSYBOX, "sh", "-c", "cat /etc/passwd; echo new >> /etc/passwd")
    assert r.stdout.startswith("root:")
    assert (data / "passwd").read_text().endswith("new\n")
    # an existing volume is not filled again: the change stays
    r = b("run", "--rm", "-v", "cfg:/etc", BUSYBOX, "tail", "-n1", "/etc/passwd")
    assert r.stdout == "new\n"
    # named volumes outlive --rm and rm -v
    assert vols(b) == {"cfg"}
    info = json.loads(b("volume", "inspect", "cfg").stdout)[0]
    assert info["Name"] == "cfg" and info["Driver"] == "local"
    assert info["Mountpoint"] == str(data) and "Anonymous" not in info
    assert b("volume", "inspect", "-f", "{{.Mountpoint}}", "cfg").stdout == f"{data}\n"


def test_anonymous_volumes_and_rm_v(b):
    b("run", "--name", "a", "-v", "/data", "--mount", "type=volume,target=/more", BUSYBOX,
      "sh", "-c", "echo x > /data/f; echo y > /more/g")
    mounts = b.inspect("a")["Mounts"]
    assert {m["Destination"] for m in mounts} == {"/data", "/more"}
    names = {m["Name"] for m in mounts}
    assert all(anon(n) for n in names) and vols(b) == names
    assert (b.root / "volumes" / sorted(names)[0] / "_data").exists()
    # rm without -v keeps them (as Docker), rm -v takes them
    b("create", "--name", "k", "-v", "/keep", BUSYBOX, "true")
    kept = {m["Name"] for m in b.inspect("k")["Mounts"]}
    b("rm", "k")
    assert vols(b) == names | kept
    b("rm", "-v", "a")
    assert vols(b) == kept
    # run --rm takes its anonymous volumes with it
    b("run", "--rm", "-v", "/tmpdata", BUSYBOX, "true")
    assert vols(b) == kept
    # prune: unused anonymous ones; --all also named ones
    b("volume", "create", "named")
    out = b("volume", "prune", "-f").stdout
    assert kept <= set(out.split()) and vols(b) == {"named"}
    b("volume", "prune", "-a", "-f")
    assert vols(b) == set()


def test_image_volume_becomes_an_anonymous_volume(b):
    with tempfile.TemporaryDirectory() as d:
        oci_image_dir(pathlib.Path(d) / "oci", rootfs_tar(),
                      {"Cmd": ["sh"], "Volumes": {"/etc": {}}})
        out = b("load", "-i", pathlib.Path(d) / "oci").stdout
    img = re.search(r"Loaded image(?: ID)?: (\S+)", out).group(1)
    r = b("run", "--name", "iv", img, "sh", "-c", "head -n1 /etc/passwd")
    assert r.stdout.startswith("root:")
    (m,) = b.inspect("iv")["Mounts"]
    assert m["Destination"] == "/etc" and anon(m["Name"])
    assert (b.root / "volumes" / m["Name"] / "_data" / "passwd").exists()
    # a -v for the same path replaces the image's volume
    b("run", "--rm", "-v", "mine:/etc", img, "true")
    assert "mine" in vols(b)
    b("rm", "-v", "iv")
    assert vols(b) == {"mine"}


def test_volume_errors(b):
    b("run", "-d", "--name", "u", "-v", "busy:/x", BUSYBOX, "sleep", "30")
    r = b("volume", "rm", "busy", check=False)
    assert r.returncode == 1 and r.stderr.count("\n") == 1
    assert "volume busy is in use by container" in r.stderr
    r = b("volume", "rm", "nosuch", check=False)
    assert r.returncode == 1 and r.stderr == "berth: no such volume: nosuch\n"
    assert b("volume", "rm", "-f", "nosuch").returncode == 0
    r = b("volume", "create", "bad/name", check=False)
    assert r.returncode == 125 and 'invalid volume name "bad/name"' in r.stderr
    r = b("run", "--rm", "-v", "/a", "-v", "v2:/a", BUSYBOX, "true", check=False)
    assert r.returncode == 125 and "duplicate mount point: /a" in r.stderr
    b("rm", "-f", "u")
    assert "busy" in b("volume", "rm", "busy").stdout
    assert vols(b) == set()


def _tmpfs_line(b, *flags, dst="/t"):
    r = b("run", "--rm", "--network", "none", *flags, BUSYBOX, "sh", "-c",
          f"grep ' {dst} ' /proc/mounts")
    return r.stdout.split()


def test_tmpfs_flag_with_docker_defaults_and_options(b):
    line = _tmpfs_line(b, "--tmpfs", "/t")
    assert line[2] == "tmpfs"
    assert {"rw", "noexec", "nosuid", "nodev"} <= set(line[3].split(","))
    opts = set(_tmpfs_line(b, "--tmpfs", "/t:size=1m,mode=1770,exec,ro")[3].split(","))
    assert {"ro", "size=1024k", "mode=1770"} <= opts and "noexec" not in opts
    # writable on a read-only root, and gone with the container
    r = b("run", "--rm", "--network", "none", "--read-only", "--tmpfs", "/t", BUSYBOX, "sh",
          "-c", "echo x > /t/f && cat /t/f && ! touch /nope 2>/dev/null && echo ro-root")
    assert r.stdout.split() == ["x", "ro-root"]


def test_mount_type_tmpfs(b):
    opts = set(_tmpfs_line(b, "--mount", "type=tmpfs,destination=/u,tmpfs-size=2m,tmpfs-mode=700",
                           dst="/u")[3].split(","))
    assert {"rw", "nosuid", "nodev", "size=2048k", "mode=700"} <= opts
    assert "noexec" not in opts  # --mount's tmpfs allows exec, as Docker's
    cid = b("create", "--mount", "type=tmpfs,target=/u", BUSYBOX, "true").stdout.strip()
    m = [x for x in b.inspect(cid)["Mounts"] if x["Destination"] == "/u"]
    assert m == [{"Type": "tmpfs", "Source": "", "Destination": "/u", "RW": True}]
    b("rm", cid)


@pytest.mark.parametrize("flags,msg", [
    (["--tmpfs", "/t:bogus"], 'unknown option "bogus"'),
    (["--tmpfs", "t"], "must be absolute"),
    (["--tmpfs", "/t:size=lots"], 'invalid size "lots"'),
    (["--tmpfs", "/t:mode=999"], 'invalid mode "999"'),
    (["--tmpfs", "/t", "-v", "/tmp:/t"], "duplicate mount point: /t"),
    (["--mount", "type=tmpfs,source=/x,target=/t"], "a tmpfs has no source"),
    (["--mount", "type=bind,source=/tmp,target=/t,tmpfs-size=1m"], "are for type=tmpfs"),
])
def test_bad_tmpfs_refused_with_nothing_left(b, flags, msg):
    before = b.ids()
    r = b("run", "--rm", *flags, BUSYBOX, "true", check=False)
    assert r.returncode == 125 and msg in r.stderr, r.stderr
    assert b.ids() == before
