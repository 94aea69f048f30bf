"""--userns=keep-id and --uidmap/--gidmap for a rootless caller (issue #14), as a real
account: the caller's uid inside the container is its own (Podman's keep-id layout
over the user's namespace), a passwd entry and HOME for it, a bind-mounted directory
of the caller's owned by it and writable, the image's files still owned by their ids
inside (a copy of the image with the owners mapped); explicit maps over the ids of
the user's namespace; bad maps refused with 125 and nothing made."""
import os
import pathlib
import shutil
import subprocess
import tempfile

import pytest

from rootless_helpers import Account, busybox_tar, need_rootless

IMG = "localhost/busybox"


@pytest.fixture(scope="module")
def tar():
    need_rootless()
    d = tempfile.mkdtemp(prefix="berth-rlu-img-", dir="/tmp")
    try:
        yield busybox_tar(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def acct(tar):
    with Account() as a:
        u = a.user()
        u.berth("import", tar, IMG)
        yield a


def maps(text):
    return [ln.split() for ln in text.strip().splitlines()]


def containers(u):
    return u.berth("ps", "-a", "-q", "--no-trunc").stdout.split()


def test_keep_id_runs_as_the_caller(acct):
    u = acct.user()
    uid, gid = acct.uid, acct.pw.pw_gid
    r = u.berth("run", "--rm", "--network", "none", "--userns", "keep-id", IMG, "sh", "-c",
                "id -u; id -g; echo $HOME; cat /proc/self/uid_map")
    out = r.stdout.splitlines()
    assert out[0] == str(uid) and out[1] == str(gid), r.stdout
    assert out[2] == acct.pw.pw_dir
    # Podman's layout over the user's namespace (0 the caller, 1..N its range)
    n = acct.subid_range()[1]
    assert maps("\n".join(out[3:])) == [["0", "1", str(uid)], [str(uid), "0", "1"],
                                        [str(uid + 1), str(uid + 1), str(n - uid)]]


def test_keep_id_adds_passwd_and_group_entries(acct):
    u = acct.user()
    r = u.berth("run", "--rm", "--network", "none", "--userns", "keep-id", IMG, "sh", "-c",
                "grep ^%s: /etc/passwd; grep ^%s: /etc/group; id -un" % (acct.name, acct.name))
    pw, gr, name = r.stdout.splitlines()
    f = pw.split(":")
    assert f[2:4] == [str(acct.uid), str(acct.pw.pw_gid)] and f[5] == acct.pw.pw_dir, pw
    assert gr.split(":")[2] == str(acct.pw.pw_gid)
    assert name == acct.name


def test_keep_id_bind_mount_is_the_callers_and_writable(acct):
    u = acct.user()
    d = tempfile.mkdtemp(prefix="berth-rlu-vol-", dir="/tmp")
    try:
        shutil.chown(d, acct.uid, acct.pw.pw_gid)
        r = u.berth("run", "--rm", "--network", "none", "--userns", "keep-id", "-v",
                    f"{d}:/data", IMG, "sh", "-c",
                    "stat -c %u:%g /data; echo hi > /data/made && stat -c %u /data/made")
        assert r.stdout.split() == [f"{acct.uid}:{acct.pw.pw_gid}", str(acct.uid)], r.stdout
        st = os.stat(f"{d}/made")
        assert st.st_uid == acct.uid  # the caller's own file on the host
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_keep_id_image_files_keep_their_owners(acct):
    u = acct.user()
    r = u.berth("run", "--rm", "--network", "none", "--userns", "keep-id", IMG, "stat", "-c",
                "%u:%g", "/bin/busybox", "/www/index.html", "/", "/home/app")
    assert r.stdout.split() == ["0:0", "33:33", "0:0", "1000:1000"], r.stdout


def test_keep_id_uid_gid_options(acct):
    u = acct.user()
    r = u.berth("run", "--rm", "--network", "none", "--userns", "keep-id:uid=11,gid=12", IMG,
                "sh", "-c", "id -u; id -g; cat /proc/self/uid_map")
    out = r.stdout.splitlines()
    assert out[:2] == ["11", "12"]
    n = acct.subid_range()[1]
    # podman run --userns=keep-id:uid=11: 0 1 11 / 11 0 1 / 12 12 N-11
    assert maps("\n".join(out[2:])) == [["0", "1", "11"], ["11", "0", "1"],
                                        ["12", "12", str(n - 11)]]


def test_user_flag_wins_over_keep_id(acct):
    u = acct.user()
    r = u.berth("run", "--rm", "--network", "none", "--userns", "keep-id", "--user", "0",
                IMG, "id", "-u")
    assert r.stdout.strip() == "0"


def test_uidmap_gidmap_seen_inside(acct):
    u = acct.user()
    r = u.berth("run", "--rm", "--network", "none", "--uidmap", "0:1:1000",
                "--uidmap", "1000:0:1", "--gidmap", "0:1:2000", "--gidmap", "2000:0:1", IMG, "sh", "-c",
                "cat /proc/self/uid_map; echo --; cat /proc/self/gid_map; echo --; "
                "stat -c %u:%g /bin/busybox /www/index.html")
    um, gm, owners = r.stdout.split("--\n")
    assert maps(um) == [["0", "1", "1000"], ["1000", "0", "1"]]
    assert maps(gm) == [["0", "1", "2000"], ["2000", "0", "1"]]
    assert owners.split() == ["0:0", "33:33"]


def test_uidmap_alone_is_the_gidmap_too(acct):
    u = acct.user()
    r = u.berth("run", "--rm", "--network", "none", "--uidmap", "0:1:500", "--uidmap",
                "500:0:1", IMG, "cat", "/proc/self/gid_map")
    assert maps(r.stdout) == [["0", "1", "500"], ["500", "0", "1"]]


@pytest.mark.parametrize("args,msg", [
    (["--uidmap", "0:1"], "CONTAINER_ID:HOST_ID:SIZE"),
    (["--uidmap", "0:1:x"], "CONTAINER_ID:HOST_ID:SIZE"),
    (["--uidmap", "0:1:0"], "at least 1"),
    (["--uidmap", "0:1:100", "--uidmap", "50:200:10"], "overlap on the container side"),
    (["--uidmap", "0:1:100", "--uidmap", "200:50:10"], "overlap on the host side"),
    (["--uidmap", "0:1:70000000"], "not all mapped into this user's namespace"),
    (["--uidmap", "1:1:100"], "container id 0 (the container's root) is not mapped"),
    (["--userns", "keep-id", "--uidmap", "0:1:1"], "exclusive"),
    (["--userns", "keep-id:size=3"], "unknown keep-id option"),
    (["--userns", "auto"], "unsupported --userns mode"),
    # the caller not mapped: its 0700 ~/.local cannot be searched by the container
    (["--uidmap", "0:1:100"], "cannot search"),
])
def test_bad_maps_refused(acct, args, msg):
    u = acct.user()
    before = containers(u)
    r = u.berth("run", "--rm", "--network", "none", *args, IMG, "true", check=False)
    assert r.returncode == 125, (r.returncode, r.stderr)
    assert msg in r.stderr, r.stderr
    assert containers(u) == before
    assert not [p for p in (u.store / "containers").iterdir() if len(p.name) == 64]


def test_host_is_the_users_namespace(acct):
    u = acct.user()
    r = u.berth("run", "--rm", "--network", "none", "--userns", "host", IMG, "sh", "-c",
                "id -u; cat /proc/self/uid_map")
    out = r.stdout.splitlines()
    assert out[0] == "0"
    assert maps("\n".join(out[1:]))[0] == ["0", str(acct.uid), "1"]


def test_keep_id_detached_and_exec(acct):
    u = acct.user()
    cid = u.berth("run", "-d", "--network", "none", "--userns", "keep-id", IMG, "sleep",
                  "60").stdout.strip()
    try:
        r = u.berth("exec", cid, "sh", "-c", "id -u; stat -c %u /bin/busybox")
        assert r.stdout.split() == [str(acct.uid), "0"], r.stdout
    finally:
        u.berth("rm", "-f", cid)


def root_only_tar(d):
    """busybox with every file root's: single-uid mode has no other id to give."""
    from engine_helpers import busybox_rootfs
    rootfs = busybox_rootfs(pathlib.Path(d) / "rootfs")
    for p in [rootfs, *rootfs.rglob("*")]:
        os.lchown(p, 0, 0)
    t = pathlib.Path(d) / "root-only.tar"
    subprocess.run(["tar", "-C", str(rootfs), "--numeric-owner", "-cf", str(t), "."],
                   check=True)
    shutil.rmtree(rootfs)
    os.chmod(d, 0o755)
    os.chmod(t, 0o644)
    return t


def test_keep_id_refused_in_single_uid_mode():
    need_rootless()
    d = tempfile.mkdtemp(prefix="berth-rlu-img1-", dir="/tmp")
    try:
        with Account(ranges=False) as a:
            u = a.user()
            u.berth("import", root_only_tar(d), IMG)
            single_uid_keep_id(a, u)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def single_uid_keep_id(a, u):
    # no id for the container's root but the caller's, which keep-id gives to U
    r = u.berth("run", "--rm", "--network", "none", "--userns", "keep-id", IMG, "true",
                check=False)
    assert r.returncode == 125
    assert "needs an id of its own" in r.stderr and "/etc/subuid" in r.stderr, r.stderr
    assert not [p for p in (u.store / "containers").iterdir() if len(p.name) == 64]
