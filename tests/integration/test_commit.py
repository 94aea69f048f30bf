"""A container's changes as a layer: `berth diff` (A/C/D lines as docker
diff prints them), `berth commit` (a new image whose layer carries the
changes: deletions, an opaque directory, config changes with -c),
`berth history` (the new entry on top) and `berth export` (the container's
whole filesystem as a tar). Bad input is one line, status 125 and no new
image; the store passes `berth system check` afterwards."""
import io
import json
import os
import shutil
import tarfile
import tempfile

import pytest

from conftest import binary, missing_userns, need, run_in_script
from engine_helpers import BUSYBOX, engine_store
from rootless_helpers import Account, busybox_tar, need_rootless

if os.geteuid() != 0:
    pytest.skip("the engine tests need root", allow_module_level=True)

# adds, changes and deletes files; /srv/data is removed and made again (an
# opaque directory over the image's /srv/data with its two files)
SCRIPT = ("echo new > /etc/added; echo more >> /etc/group; rm /etc/passwd.bak; "
          "rm -rf /srv/data; mkdir /srv/data; echo fresh > /srv/data/only; "
          "mkdir -p /opt/app/sub; echo x > /opt/app/sub/f; ln /opt/app/sub/f /opt/app/link")


@pytest.fixture
def b():
    with engine_store("berth-commit-") as bb:
        # an image with something to delete and a directory to make opaque
        bb("create", "--name", "prep", BUSYBOX, "sh", "-c",
           "cp /etc/passwd /etc/passwd.bak; mkdir -p /srv/data; echo a > /srv/data/a; "
           "echo b > /srv/data/b")
        bb("start", "-a", "prep")
        bb("commit", "prep", "localhost/base:1")
        bb("rm", "prep")
        yield bb


def images(b):
    """Full IDs of the store's images."""
    short = b("images", "-q").stdout.split()
    return sorted(i["Id"] for i in json.loads(b("image", "inspect", *short).stdout)) if short else []


def run_changes(b, name):
    b("create", "--name", name, "localhost/base:1", "sh", "-c", SCRIPT)
    b("start", "-a", name)


WANT_DIFF = """C /etc
A /etc/added
C /etc/group
D /etc/passwd.bak
A /opt
A /opt/app
A /opt/app/link
A /opt/app/sub
A /opt/app/sub/f
C /srv
C /srv/data
D /srv/data/a
D /srv/data/b
A /srv/data/only
"""


def test_diff_lines(b):
    run_changes(b, "d1")
    assert b("diff", "d1").stdout == WANT_DIFF
    # a container that changed nothing: the runtime's mount points are no change
    b("create", "--name", "d0", "localhost/base:1", "true")
    b("start", "-a", "d0")
    assert b("diff", "d0").stdout == ""


def test_commit_then_run_sees_the_changes(b):
    run_changes(b, "c1")
    before = images(b)
    r = b("commit", "-m", "my changes", "-a", "Me <me@example.com>", "c1", "localhost/after:1")
    new_id = r.stdout.strip()
    assert new_id.startswith("sha256:") and len(new_id) == 71, r.stdout
    assert new_id in images(b) and new_id not in before
    out = b("run", "--rm", "localhost/after:1", "sh", "-c",
            "cat /etc/added; tail -n1 /etc/group; ls /etc/passwd.bak 2>&1; ls /srv/data; "
            "cat /opt/app/link; stat -c %h /opt/app/sub/f").stdout
    lines = out.splitlines()
    assert lines[0] == "new"
    assert lines[1] == "more"
    assert "No such file" in lines[2]
    assert lines[3] == "only"  # a and b of the image are gone (opaque)
    assert lines[4] == "x"
    assert lines[5] == "2"  # the hard link stayed a hard link
    info = b.inspect("localhost/after:1")
    assert info["Author"] == "Me <me@example.com>"
    assert len(info["RootFS"]["Layers"]) == len(b.inspect("localhost/base:1")["RootFS"]["Layers"]) + 1


def test_commit_change_cmd_and_env(b):
    b("create", "--name", "c2", "localhost/base:1", "true")
    r = b("commit", "-c", 'CMD ["sh", "-c", "echo from-cmd $GREETING"]', "-c", "ENV GREETING=hi",
          "-c", "EXPOSE 8080", "-c", "LABEL tier=web", "c2", "localhost/cmd:1")
    assert r.returncode == 0
    assert b("run", "--rm", "localhost/cmd:1").stdout == "from-cmd hi\n"
    cfg = b.inspect("localhost/cmd:1")["Config"]
    assert "8080/tcp" in cfg["ExposedPorts"]
    assert cfg["Labels"]["tier"] == "web"


def test_commit_dangling_without_name(b):
    b("create", "--name", "c3", "localhost/base:1", "true")
    new_id = b("commit", "c3").stdout.strip()
    out = b("images").stdout
    assert "<none>" in out
    assert new_id in images(b)


def test_history_new_entry_on_top(b):
    run_changes(b, "h1")
    new_id = b("commit", "-m", "the comment", "h1", "localhost/hist:1").stdout.strip()
    out = b("history", "localhost/hist:1").stdout.splitlines()
    assert out[0].split()[:3] == ["IMAGE", "CREATED", "CREATED"]
    top = out[1]
    assert top.startswith(new_id[7:19])
    assert "the comment" in top
    assert "sh -c echo new" in top
    # below: localhost/base:1 is a local image (its ID), the import below it too
    base_id = b.inspect("localhost/base:1")["Id"]
    assert out[2].startswith(base_id[7:19])
    ids = b("history", "-q", "--no-trunc", "localhost/hist:1").stdout.split()
    assert ids[0] == new_id and ids[1] == base_id
    fmt = b("history", "--format", "{{.ID}}|{{.Comment}}", "localhost/hist:1").stdout
    assert fmt.splitlines()[0] == f"{new_id}|the comment"


def test_export_is_the_containers_view(b):
    run_changes(b, "e1")
    tarp = b.tmp / "e1.tar"
    b("export", "-o", tarp, "e1")
    with tarfile.open(tarp) as t:
        names = {m.name.rstrip("/") for m in t.getmembers()}
        assert t.extractfile("etc/added").read() == b"new\n"
        assert t.extractfile("srv/data/only").read() == b"fresh\n"
    assert "etc/passwd.bak" not in names
    assert "srv/data/a" not in names
    assert "bin/busybox" in names
    # stdout gives the same tar, and the rootfs is not left mounted
    data = b("export", "e1", text=False).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        assert {m.name.rstrip("/") for m in t.getmembers()} == names
    with open("/proc/self/mountinfo") as f:
        assert not [ln for ln in f if str(b.root) in ln]


def test_bad_input_one_line_no_image(b):
    b("create", "--name", "x1", "localhost/base:1", "true")
    before = images(b)
    r = b("commit", "-c", "RUN echo hi", "x1", "localhost/bad:1", check=False)
    assert r.returncode == 125
    assert r.stderr.count("\n") == 1 and "RUN is not a valid change instruction" in r.stderr
    r = b("commit", "nosuchctr", check=False)
    assert r.returncode == 125 and r.stderr.count("\n") == 1 and "nosuchctr" in r.stderr
    r = b("diff", "nosuchctr", check=False)
    assert r.returncode == 125 and r.stderr.count("\n") == 1
    r = b("history", "localhost/nosuchimage:1", check=False)
    assert r.returncode == 125 and r.stderr.count("\n") == 1
    assert images(b) == before
    chk = b("system", "check")
    assert chk.returncode == 0, chk.stdout + chk.stderr


def test_commit_running_container_pauses_it(b):
    b("run", "-d", "--name", "r1", "localhost/base:1", "sh", "-c",
      "echo up > /tmp/state; exec sleep 1000")
    r = b("commit", "r1", "localhost/live:1")
    assert r.returncode == 0
    assert b.inspect("r1")["State"]["Status"] == "running"  # unpaused again
    assert b("run", "--rm", "localhost/live:1", "cat", "/tmp/state").stdout == "up\n"
    b("rm", "-f", "r1")


def test_history_missing_when_the_parent_is_gone(b):
    b("create", "--name", "m1", "localhost/base:1", "true")
    b("commit", "m1", "localhost/top:1")
    b("rm", "m1")
    b("rmi", "localhost/base:1")
    ids = b("history", "-q", "localhost/top:1").stdout.split()
    assert ids[1] == "<missing>"
    assert ids[2] != "<missing>"  # the busybox import is still an image


def test_failed_commit_leaves_nothing(b):
    """The new layer is over the store's max_layer_size: the unpack refuses
    it after the blobs were written; they are removed again."""
    b("create", "--name", "big", "localhost/base:1", "sh", "-c",
      "dd if=/dev/urandom of=/big bs=1k count=64 2>/dev/null")
    b("start", "-a", "big")
    blobs = b.root / "image" / "blobs" / "sha256"
    before = sorted(p.name for p in blobs.iterdir())
    ids = images(b)
    (b.root / "storage.json").write_text('{"max_layer_size": "32k"}')
    r = b("commit", "big", "localhost/big:1", check=False)
    (b.root / "storage.json").unlink()
    assert r.returncode == 125 and r.stderr.count("\n") == 1, r.stderr
    assert images(b) == ids
    assert sorted(p.name for p in blobs.iterdir()) == before
    assert not list((b.root / "image" / "tmp").glob("*.partial"))
    assert b("system", "check").returncode == 0


def test_export_refuses_a_terminal(b):
    b("create", "--name", "t1", "localhost/base:1", "true")
    r = run_in_script(f"{binary('berth')} --root {b.root} export t1", env=b.env)
    assert r.returncode == 125
    assert "cowardly refusing to save to a terminal" in r.stdout + r.stderr


def test_commit_and_export_of_a_user_namespace_keep_the_containers_owners(b):
    """With --uidmap the container's files are owned by host ids on disk;
    the layer and the export carry the ids the container sees."""
    need(missing_userns())
    os.chmod(b.tmp, 0o711)  # the container's root reaches its rootfs by path
    h = 1_700_000_000
    b("create", "--name", "u1", "--network", "none", "--uidmap", f"0:{h}:65536", "--gidmap",
      f"0:{h}:65536", "localhost/base:1", "sh", "-c",
      "echo r > /rootfile; echo a > /home/app/f; chown 1000:1000 /home/app/f")
    b("start", "-a", "u1")
    b("commit", "u1", "localhost/owners:1")
    out = b("run", "--rm", "--network", "none", "localhost/owners:1", "stat", "-c", "%u:%g",
            "/rootfile", "/home/app/f").stdout.split()
    assert out == ["0:0", "1000:1000"]
    data = b("export", "u1", text=False).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        assert (t.getmember("rootfile").uid, t.getmember("home/app/f").uid) == (0, 1000)
        assert t.getmember("bin/busybox").uid == 0


def test_rootless_diff_commit_run():
    """A rootless store: whiteouts and the opaque directory come from the
    kernel's overlay in userxattr mode (user.overlay.*); the committed image
    runs with the changes, owned by the ids the account's containers see."""
    need_rootless()
    d = tempfile.mkdtemp(prefix="berth-commit-rl-", dir="/tmp")  # readable by the account
    try:
        tar = busybox_tar(d)
        rootless_commit(tar)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def rootless_commit(tar):
    with Account() as a:
        u = a.user()
        u.berth("import", tar, BUSYBOX)
        u.berth("create", "--name", "rl", "--network", "none", BUSYBOX, "sh", "-c",
                "rm /etc/group; rm -rf /home/app; mkdir /home/app; echo n > /home/app/new; "
                "chown 1000 /home/app/new")
        u.berth("start", "-a", "rl")
        assert u.berth("diff", "rl").stdout == ("C /etc\nD /etc/group\nC /home\nC /home/app\n"
                                                "A /home/app/new\n")
        u.berth("commit", "rl", "localhost/rl:1")
        out = u.berth("run", "--rm", "--network", "none", "localhost/rl:1", "sh", "-c",
                      "ls /etc/group 2>&1; stat -c %u /home/app/new").stdout.splitlines()
        assert "No such file" in out[0] and out[1] == "1000"
        u.berth("rm", "-f", "rl")
        assert u.berth("system", "check").returncode == 0
