"""The rootless engine (issue #14) as a real unprivileged account made by the test:
the store under ~/.local/share/berth, run state under $XDG_RUNTIME_DIR/berth, the
user's namespace held by a pause process (engine/userns.c), image files unpacked with
their real owners mapped through the account's subordinate range, containers run,
detached, logged, exec'd into, stopped and removed; single-uid mode without ranges;
root and rootless stores never mix; nothing of the account left after it goes."""
import io
import os
import pathlib
import shutil
import subprocess
import tarfile
import tempfile
import time

import pytest

from rootless_helpers import Account, busybox_tar, need_rootless

IMG = "localhost/busybox"


@pytest.fixture(scope="module")
def tar():
    need_rootless()
    d = tempfile.mkdtemp(prefix="berth-rl-img-", dir="/tmp")
    try:
        yield busybox_tar(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def acct(tar):
    with Account() as a:
        u = a.user()
        u.berth("import", tar, IMG)
        yield a


def test_store_and_run_state_are_the_users(acct):
    u = acct.user()
    r = u.berth("images")
    assert IMG in r.stdout
    assert (u.store / "image").is_dir()
    assert u.store.stat().st_uid == acct.uid
    pid = u.pause_pid()
    assert pid and pathlib.Path(f"/proc/{pid}").stat().st_uid == acct.uid
    assert (acct.run_dir / "berth" / "pause.pid").exists()
    # the account's namespace: it is root in there, its range behind it
    r = u.berth("run", "--rm", IMG, "sh", "-c", "id -u; cat /proc/self/uid_map")
    out = r.stdout.splitlines()
    assert out[0] == "0"
    start, count = acct.subid_range()
    maps = [ln.split() for ln in out[1:]]
    assert maps == [["0", str(acct.uid), "1"], ["1", str(start), str(count)]], r.stdout


def test_image_files_keep_their_owners_through_the_range(acct):
    u = acct.user()
    r = u.berth("run", "--rm", IMG, "stat", "-c", "%u:%g", "/www/index.html")
    assert r.stdout.strip() == "33:33"
    start, _ = acct.subid_range()
    owners = {p.stat().st_uid for p in (u.store / "image" / "layers").glob("*/www/index.html")}
    assert owners == {start + 32}, owners  # inside 33 is start + 32 (inside 1 is start)


def test_detached_logs_exec_stop_rm(acct):
    u = acct.user()
    cid = u.berth("run", "-d", "--name", "tick", IMG, "sh", "-c",
                  "echo started; trap 'exit 3' TERM; while :; do sleep 0.1; done").stdout.strip()
    assert len(cid) == 64
    for _ in range(100):
        if "started" in u.berth("logs", "tick").stdout:
            break
        time.sleep(0.05)
    assert "started" in u.berth("logs", "tick").stdout
    assert u.berth("exec", "tick", "cat", "/proc/1/cmdline").stdout.startswith("sh")
    assert "tick" in u.berth("ps").stdout
    u.berth("stop", "-t", "5", "tick")
    st = u.berth("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "tick").stdout
    assert st.split() == ["exited", "3"]
    u.berth("rm", "tick")
    assert "tick" not in u.berth("ps", "-a").stdout


def test_exit_status_and_bad_image(acct):
    u = acct.user()
    assert u.berth("run", "--rm", IMG, "sh", "-c", "exit 7", check=False).returncode == 7
    r = u.berth("run", "--rm", "localhost/nonesuch", "true", check=False)
    assert r.returncode == 125 and "nonesuch" in r.stderr


def test_single_uid_mode_without_ranges(tar):
    with Account(ranges=False) as a:
        u = a.user()
        r = u.berth("import", tar, IMG)
        assert "/etc/subuid" in r.stderr and "single-uid" in r.stderr
        # the unpack says how many files changed hands (/www, its index.html, /home/app)
        assert "3 files of ids this user's namespace does not map now belong to you" \
            in r.stderr, r.stderr
        r = u.berth("run", "--rm", IMG, "sh", "-c", "cat /proc/self/uid_map; stat -c %u /www")
        assert r.stdout.split()[:3] == ["0", str(a.uid), "1"], r.stdout
        assert r.stdout.split()[-1] == "0"  # uid 33's files became the caller's


def test_root_and_rootless_stores_never_mix(acct, tmp_path):
    from conftest import binary, run
    u = acct.user()
    r = run([binary("berth"), "--root", u.store, "images"], check=False,
            env=dict(os.environ, BERTH_RUNROOT=str(tmp_path / "run")))
    assert r.returncode == 125 and "rootless" in r.stderr and str(acct.uid) in r.stderr
    r = u.berth("--root", "/var/lib/berth", "images", check=False)
    assert r.returncode == 125, r.stdout


def test_without_xdg_runtime_dir_a_private_fallback(tar):
    with Account(xdg=False) as a:
        u = a.user()
        r = u.berth("import", tar, IMG)
        fallback = pathlib.Path(f"/tmp/berth-run-{a.uid}")
        assert "XDG_RUNTIME_DIR" in r.stderr and str(fallback) in r.stderr
        st = fallback.stat()
        assert st.st_uid == a.uid and st.st_mode & 0o077 == 0
        assert u.berth("run", "--rm", IMG, "echo", "ok").stdout == "ok\n"


def test_pause_process_killed_is_replaced(acct):
    u = acct.user()
    old = u.pause_pid()
    os.kill(old, 9)
    assert u.berth("run", "--rm", IMG, "echo", "again").stdout == "again\n"
    new = u.pause_pid()
    assert new and new != old


def _tar(entries):
    """A layer tar from (name, kind, data) entries: kind "f" file, "d" dir."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, kind, data in entries:
            ti = tarfile.TarInfo(name)
            ti.mtime = 1700000000
            if kind == "d":
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                t.addfile(ti)
            else:
                ti.size, ti.mode = len(data), 0o644
                t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def test_whiteouts_and_opaque_directories_in_the_users_namespace(acct):
    """An upper layer deletes a file (.wh.a) and makes a directory opaque
    (.wh..wh..opq): trusted.* xattrs cannot be set in a user namespace, so the unpack
    writes user.overlay.opaque and the overlay reads it (userxattr)."""
    from engine_helpers import oci_image_dir, rootfs_tar
    base = rootfs_tar()
    lower = _tar([("data", "d", None), ("data/a", "f", b"a"), ("data/b", "f", b"b"),
                  ("keep", "d", None), ("keep/old", "f", b"old")])
    upper = _tar([("data", "d", None), ("data/.wh.a", "f", b""), ("keep", "d", None),
                  ("keep/.wh..wh..opq", "f", b""), ("keep/new", "f", b"new")])
    d = pathlib.Path(tempfile.mkdtemp(prefix="berth-rl-wh-", dir="/tmp"))
    try:
        oci_image_dir(d / "oci", [base, lower, upper], {"Cmd": ["sh"]})
        subprocess.run(["tar", "-C", str(d / "oci"), "-cf", str(d / "img.tar"), "."],
                       check=True)
        os.chmod(d, 0o755)
        os.chmod(d / "img.tar", 0o644)
        u = acct.user()
        out = u.berth("load", "-i", d / "img.tar").stdout
        ref = out.split(":", 1)[1].strip()
        r = u.berth("run", "--rm", ref, "sh", "-c", "ls /data; echo --; ls /keep")
        assert r.stdout.split() == ["b", "--", "new"], r.stdout
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_no_usable_tun_says_so_and_refuses_published_ports(acct):
    """pasta and slirp4netns need /dev/net/tun: where the account cannot open it, the
    default network is none with a warning, and -p is refused (never a silent drop)."""
    import stat
    tun = "/dev/net/tun"
    if not os.path.exists(tun):
        pytest.skip("needs /dev/net/tun (the tun module)")
    mode = stat.S_IMODE(os.stat(tun).st_mode)
    os.chmod(tun, 0o600)
    try:
        u = acct.user()
        r = u.berth("run", "--rm", IMG, "ls", "/sys/class/net")
        assert r.stdout.split() == ["lo"]
        assert "no rootless network" in r.stderr and "/dev/net/tun" in r.stderr, r.stderr
        r = u.berth("run", "--rm", "-p", "18080:80", IMG, "true", check=False)
        assert r.returncode == 125, r
        assert "published ports need a rootless network" in r.stderr, r.stderr
        assert u.berth("ps", "-aq").stdout == ""
        # asked for by name: no warning, none it is
        r = u.berth("run", "--rm", "--network", "none", IMG, "true")
        assert r.stderr == ""
    finally:
        os.chmod(tun, mode)
