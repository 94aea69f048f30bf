"""--userns and --uidmap/--gidmap as root (issue #14): a nested user namespace with
the maps given, the image's files still owned by their ids inside (a copy of the
image with the owners mapped, cached per mapping), exec joins it; --userns=host is
no user namespace; keep-id is refused as Podman refuses it; bad maps refused with
125 and nothing made."""
import os
import random
import shutil
import subprocess

import pytest

from conftest import missing_root, missing_userns, need
from engine_helpers import BUSYBOX, engine_store


@pytest.fixture(scope="module")
def b():
    need(missing_root(), missing_userns())
    with engine_store("berth-userns-") as bb:
        # the container's root reaches its rootfs by path: the store's parent
        # must be searchable by it (the store itself is made so by berth)
        os.chmod(bb.tmp, 0o711)
        yield bb


def maps(text):
    return [ln.split() for ln in text.strip().splitlines()]


_NEXT = [random.randrange(1_500_000_000, 1_900_000_000, 65536)]


def base():
    """A high range of host ids: every call its own (so its own mapping and copy)."""
    _NEXT[0] += 2 * 65536
    return _NEXT[0]


def test_uidmap_gidmap_seen_inside_and_owners_kept(b):
    h = base()
    r = b("run", "--rm", "--network", "none", "--uidmap", f"0:{h}:65536",
          "--gidmap", f"0:{h + 65536}:65536", BUSYBOX, "sh", "-c",
          "cat /proc/self/uid_map; echo --; cat /proc/self/gid_map; echo --; "
          "stat -c %u:%g /bin/busybox /home/app /; touch /new; stat -c %u:%g /new; "
          "stat -c %u:%g /etc/hosts /etc/hostname /etc/resolv.conf")
    um, gm, owners = r.stdout.split("--\n")
    assert maps(um) == [["0", str(h), "65536"]]
    assert maps(gm) == [["0", str(h + 65536), "65536"]]
    assert owners.split() == ["0:0", "1000:1000", "0:0", "0:0"] + ["0:0"] * 3, r.stdout
    # the image's copy on the host: owned by the mapped ids
    cache = b.root / "containers" / ".idmapped"
    copies = [p for p in cache.iterdir() if not p.name.startswith(".")]
    assert any((p / "bin/busybox").stat().st_uid == h for p in copies)
    assert any((p / "home/app").stat().st_gid == h + 65536 + 1000 for p in copies)


def test_the_copy_is_made_once_per_mapping(b):
    h = base()
    cache = b.root / "containers" / ".idmapped"
    before = set(os.listdir(cache)) if cache.exists() else set()
    for _ in range(2):
        b("run", "--rm", "--network", "none", "--uidmap", f"0:{h}:65536", BUSYBOX, "true")
    after = set(os.listdir(cache))
    assert len(after - before) == 1, (before, after)
    assert not [n for n in after if n.startswith(".tmp-")]


def test_exec_joins_the_user_namespace(b):
    h = base()
    cid = b("run", "-d", "--network", "none", "--uidmap", f"0:{h}:65536", BUSYBOX,
            "sleep", "60").stdout.strip()
    try:
        r = b("exec", cid, "sh", "-c", "cat /proc/self/uid_map; id -u")
        out = r.stdout.splitlines()
        assert maps(out[0]) == [["0", str(h), "65536"]] and out[1] == "0"
        assert b.inspect(cid)["HostConfig"]["UIDMaps"] == [f"0:{h}:65536"]
    finally:
        b("rm", "-f", cid)


def test_user_in_a_map(b):
    h = base()
    r = b("run", "--rm", "--network", "none", "--uidmap", f"0:{h}:3000", "--user", "app",
          BUSYBOX, "sh", "-c", "id -u; id -g; id -G; stat -c %u:%g /home/app")
    assert r.stdout.split() == ["1000", "1000", "1000", "2000", "1000:1000"], r.stdout


def test_host_is_no_user_namespace(b):
    r = b("run", "--rm", "--network", "none", "--userns", "host", BUSYBOX, "cat",
          "/proc/self/uid_map")
    assert maps(r.stdout) == [["0", "0", "4294967295"]]
    assert b("run", "--network", "none", "--userns=", "--rm", BUSYBOX, "true").returncode == 0


@pytest.mark.parametrize("args,msg", [
    (["--userns", "keep-id"], "only supported in rootless mode"),
    (["--uidmap", "0:1:2:3"], "CONTAINER_ID:HOST_ID:SIZE"),
    (["--uidmap", "0:4294967000:1000"], "passes id 4294967294"),
    (["--uidmap", "0:100000:10", "--uidmap", "5:200000:10"], "overlap on the container side"),
    (["--gidmap", "0:100000:10", "--gidmap", "20:100005:10"], "overlap on the host side"),
    (["--uidmap", "1:100000:10"], "container id 0 (the container's root) is not mapped"),
    (["--uidmap", "0:100000:10", "--gidmap", "1:100000:10"], "--gidmap: container id 0"),
    (["--uidmap", "0:100000:10", "--user", "50"], "is not mapped in its user namespace"),
    (["--userns", "host", "--uidmap", "0:100000:10"], "exclusive"),
    # app's supplementary group 2000 is outside
    (["--uidmap", "0:100000:1500", "--user", "app"], "group 2000 is not mapped"),
])
def test_bad_maps_refused(b, args, msg):
    before = b.ids()
    r = b("run", "--rm", "--network", "none", *args, BUSYBOX, "true", check=False)
    assert r.returncode == 125, (r.returncode, r.stderr)
    assert msg in r.stderr, r.stderr
    assert b.ids() == before


def test_restart_keeps_the_mapping(b):
    h = base()
    cid = b("create", "--network", "none", "--uidmap", f"0:{h}:65536", BUSYBOX, "sh", "-c",
            "cat /proc/self/uid_map; stat -c %u /bin/busybox").stdout.strip()
    try:
        for _ in range(2):
            b("start", "-a", cid)
        out = b("logs", cid).stdout.splitlines()
        assert [maps(ln) for ln in out[0::2]] == [[["0", str(h), "65536"]]] * 2, out
        assert out[1::2] == ["0", "0"], out
    finally:
        b("rm", "-f", cid)


def test_unsearchable_store_parent_named():
    need(missing_root(), missing_userns())
    with engine_store("berth-userns-0700-") as bb:  # mkdtemp: 0700, root's
        r = bb("run", "--rm", "--network", "none", "--uidmap", f"0:{base()}:65536", BUSYBOX,
               "true", check=False)
        assert r.returncode == 125
        assert f"cannot search {bb.tmp}" in r.stderr, r.stderr
        assert bb.ids() == []


def test_new_volumes_are_the_containers_roots(b):
    h = base()
    for v in ("userns-vol-%d:/data" % h, "/data"):
        r = b("run", "--rm", "--network", "none", "--uidmap", f"0:{h}:65536", "-v", v, BUSYBOX,
              "sh", "-c", "stat -c %u:%g /data; touch /data/f && stat -c %u /data/f")
        assert r.stdout.split() == ["0:0", "0"], (v, r.stdout)
    data = b.root / "volumes" / ("userns-vol-%d" % h) / "_data"
    assert data.stat().st_uid == h and (data / "f").stat().st_uid == h
    b("volume", "rm", "userns-vol-%d" % h)


def test_parallel_creates_share_one_copy(b):
    h = base()
    cache = b.root / "containers" / ".idmapped"
    before = set(os.listdir(cache)) if cache.exists() else set()
    procs = [b.popen("create", "--network", "none", "--uidmap", f"0:{h}:65536", BUSYBOX,
                     "true", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    outs = [p.communicate(timeout=120) for p in procs]
    ids = [o[0].strip() for o in outs]
    try:
        assert all(p.returncode == 0 for p in procs), outs
        after = set(os.listdir(cache))
        assert len(after - before) == 1, (before, after)
        assert not [n for n in after if n.startswith(".tmp-")]
    finally:
        b("rm", "-f", *[i for i in ids if i], check=False)


def test_a_killed_copys_leftover_is_swept(b):
    cache = b.root / "containers" / ".idmapped"
    h = base()  # size 65000: a mapping no other test makes
    b("run", "--rm", "--network", "none", "--uidmap", f"0:{h}:65000", BUSYBOX, "true")
    old, fresh = cache / ".tmp-deadbeefdeadbeef", cache / ".tmp-0123456789abcdef"
    for d in (old, fresh):
        (d / "root/bin").mkdir(parents=True)
    os.utime(old, (1_000_000, 1_000_000))
    try:
        # a new mapping: a copy is made, what a killed one left is removed first
        b("run", "--rm", "--network", "none", "--uidmap", f"0:{h + 65536}:65000", BUSYBOX,
          "true")
        assert not old.exists()
        assert fresh.exists()  # maybe another create's, still at work
    finally:
        shutil.rmtree(fresh, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
