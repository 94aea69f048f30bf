"""berth-runtime: /proc, tmpfs and bind mounts, root.readonly, devices,
maskedPaths/readonlyPaths, and mount destinations that try to leave the rootfs."""
import os
import stat

import pytest

from runtime_helpers import mount_opts, mountinfo_line, one_error_line, rtenv  # noqa: F401


def add_mount(c, dest, typ, source, options):
    c["mounts"].append({"destination": dest, "type": typ, "source": str(source),
                        "options": list(options)})


def test_proc_shows_only_container_processes(rtenv):
    r = rtenv.run_sh("echo /proc/[0-9]*; grep -c . /proc/self/mountinfo >/dev/null; "
                     "cat /proc/1/cmdline | tr '\\0' ' '")
    lines = r.stdout.splitlines()
    assert lines[0] == "/proc/1"
    assert lines[1].startswith("sh -c")


def test_proc_is_a_new_procfs(rtenv):
    r = rtenv.run_sh("cat /proc/self/mountinfo")
    f = mountinfo_line(r.stdout, "/proc")
    assert f and f[f.index("-") + 1] == "proc"


def test_tmpfs_with_options(rtenv):
    def edit(c):
        add_mount(c, "/mnt/t", "tmpfs", "tmpfs", ["nosuid", "noexec", "nodev", "size=1m",
                                                  "mode=1750"])
    r = rtenv.run_sh("cat /proc/self/mountinfo; stat -c 'MODE %a' /mnt/t; "
                     "cp /bin/busybox /mnt/t/bb && /mnt/t/bb true && echo EXECUTED", edit,
                     check=False)
    f = mountinfo_line(r.stdout, "/mnt/t")
    assert f, r.stdout
    per_mount, sup = mount_opts(f)
    assert {"nosuid", "noexec", "nodev"} <= per_mount
    assert "size=1024k" in sup and "mode=1750" in sup
    assert "MODE 1750" in r.stdout
    assert "EXECUTED" not in r.stdout, "exec on a noexec tmpfs worked"


def test_tmpfs_size_enforced(rtenv):
    def edit(c):
        add_mount(c, "/mnt/small", "tmpfs", "tmpfs", ["size=64k"])
    r = rtenv.run_sh("dd if=/dev/zero of=/mnt/small/f bs=1k count=200 2>&1; "
                     "echo; stat -c %s /mnt/small/f", edit, check=False)
    assert int(r.stdout.split()[-1]) <= 64 * 1024


def test_bind_mount_rw(rtenv):
    host = rtenv.hostdir("data")
    (host / "in").write_text("from host\n")

    def edit(c):
        add_mount(c, "/data", "bind", host, ["rbind", "rw"])
    r = rtenv.run_sh("cat /data/in; echo from container > /data/out", edit)
    assert r.stdout == "from host\n"
    assert (host / "out").read_text() == "from container\n"


def test_bind_mount_ro(rtenv):
    host = rtenv.hostdir("data")
    (host / "in").write_text("x\n")

    def edit(c):
        add_mount(c, "/data", "bind", host, ["rbind", "ro"])
    r = rtenv.run_sh("cat /data/in; echo y > /data/in; echo rc=$?; "
                     "touch /data/new 2>&1; grep ' /data ' /proc/self/mountinfo", edit)
    assert "Read-only file system" in r.stdout
    assert "rc=1" in r.stdout
    assert (host / "in").read_text() == "x\n"
    assert not (host / "new").exists()
    f = mountinfo_line(r.stdout, "/data")
    assert "ro" in mount_opts(f)[0]
    # the host's view of the directory stays writable
    (host / "hostwrite").write_text("ok")


def test_bind_mount_file(rtenv):
    hostfile = rtenv.path("hostfile")
    hostfile.write_text("single file\n")

    def edit(c):
        add_mount(c, "/etc/injected", "bind", hostfile, ["bind", "ro"])
    assert rtenv.run_sh("cat /etc/injected", edit).stdout == "single file\n"


def test_bind_relative_source_resolved_against_bundle(rtenv):
    b = rtenv.bundle("cat", "/rel/marker")
    (b / "reldata").mkdir()
    (b / "reldata" / "marker").write_text("relative ok\n")
    with rtenv.config(b) as c:
        add_mount(c, "/rel", "bind", "reldata", ["rbind", "ro"])
    r = rtenv.rt("run", "--bundle", b, rtenv.cid()).ok()
    assert r.stdout == "relative ok\n"


def test_root_readonly(rtenv):
    r = rtenv.run_sh("touch /newfile 2>&1; echo rc=$?; touch /tmp/x 2>&1; echo rc=$?",
                     lambda c: c["root"].update(readonly=True))
    assert r.stdout.count("Read-only file system") == 2
    # /dev and /dev/shm are separate writable tmpfs
    r = rtenv.run_sh("touch /dev/shm/x && echo ok", lambda c: c["root"].update(readonly=True))
    assert r.stdout.strip() == "ok"


def test_root_writable(rtenv):
    b = rtenv.bundle("sh", "-c", "echo w > /written")
    with rtenv.config(b) as c:
        c["root"]["readonly"] = False
    rtenv.rt("run", "--bundle", b, rtenv.cid()).ok()
    assert (b / "rootfs" / "written").read_text() == "w\n"


STD_DEVICES = {
    "/dev/null": (1, 3), "/dev/zero": (1, 5), "/dev/full": (1, 7),
    "/dev/random": (1, 8), "/dev/urandom": (1, 9), "/dev/tty": (5, 0),
}


def test_standard_devices(rtenv):
    names = " ".join(STD_DEVICES)
    r = rtenv.run_sh(f"stat -c '%n %f %t %T %a %u %g' {names}; "
                     "head -c 4 /dev/zero | od -An -tx1; echo x > /dev/full; echo rc=$?")
    rows = {ln.split()[0]: ln.split() for ln in r.stdout.splitlines() if ln.startswith("/dev")}
    for name, (maj, mino) in STD_DEVICES.items():
        row = rows[name]
        assert stat.S_ISCHR(int(row[1], 16)), row
        assert (int(row[2], 16), int(row[3], 16)) == (maj, mino), row
        assert row[4] == "666", row
        assert row[5:7] == ["0", "0"], row
    assert "00 00 00 00" in r.stdout
    assert "rc=1" in r.stdout  # /dev/full: ENOSPC


def test_dev_symlinks(rtenv):
    r = rtenv.run_sh("for l in ptmx fd stdin stdout stderr; do echo $l $(readlink /dev/$l); "
                     "done; ls /dev/pts")
    links = dict(ln.split() for ln in r.stdout.splitlines()[:5])
    assert links == {"ptmx": "pts/ptmx", "fd": "/proc/self/fd", "stdin": "/proc/self/fd/0",
                     "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2"}
    assert "ptmx" in r.stdout.splitlines()[5:]


def test_devpts_is_private(rtenv):
    r = rtenv.run_sh("echo /dev/pts/*")
    assert r.stdout.split() == ["/dev/pts/ptmx"], "host ptys visible in the container"


def test_linux_devices_entry(rtenv):
    def edit(c):
        c["linux"]["devices"] = [{"path": "/dev/fuse", "type": "c", "major": 10,
                                  "minor": 229, "fileMode": 0o600, "uid": 1000, "gid": 1001},
                                 {"path": "/dev/sub/blk", "type": "b", "major": 7,
                                  "minor": 200, "fileMode": 0o640, "uid": 0, "gid": 6}]
    r = rtenv.run_sh("stat -c '%n %f %t %T %a %u %g' /dev/fuse /dev/sub/blk", edit)
    rows = [ln.split() for ln in r.stdout.splitlines()]
    fuse = rows[0]
    assert fuse[0] == "/dev/fuse" and stat.S_ISCHR(int(fuse[1], 16))
    assert (int(fuse[2], 16), int(fuse[3], 16)) == (10, 229)
    assert fuse[4:] == ["600", "1000", "1001"]
    blk = rows[1]
    assert blk[0] == "/dev/sub/blk" and stat.S_ISBLK(int(blk[1], 16))
    assert (int(blk[2], 16), int(blk[3], 16)) == (7, 200)
    assert blk[4:] == ["640", "0", "6"]


def test_masked_paths(rtenv):
    b = rtenv.bundle("true")
    rf = b / "rootfs"
    (rf / "etc" / "secret").write_text("top secret\n")
    (rf / "etc" / "secretdir").mkdir()
    (rf / "etc" / "secretdir" / "a").write_text("a\n")
    with rtenv.config(b) as c:
        c["linux"]["maskedPaths"] += ["/etc/secret", "/etc/secretdir", "/etc/not-there"]
        c["process"]["args"] = ["sh", "-c", "cat /etc/secret; echo '|'; ls -A /etc/secretdir; "
                                "echo '|'; wc -c < /proc/timer_list; echo '|'; "
                                "echo x > /etc/secret; echo rc=$?"]
    r = rtenv.rt("run", "--bundle", b, rtenv.cid()).ok()
    parts = [p.strip() for p in r.stdout.split("|")]
    assert parts[0] == "", "masked file is readable"
    assert parts[1] == "", "masked dir is not empty"
    assert parts[2] == "0"
    # (runc binds /dev/null over a masked file: writes succeed and vanish)
    assert (rf / "etc" / "secret").read_text() == "top secret\n"


def test_readonly_paths(rtenv):
    b = rtenv.bundle("true")
    (b / "rootfs" / "etc" / "rodir").mkdir()
    with rtenv.config(b) as c:
        c["root"]["readonly"] = False
        c["linux"]["readonlyPaths"] += ["/etc/rodir"]
        c["process"]["args"] = ["sh", "-c", "touch /etc/rodir/x 2>&1; echo rc=$?; "
                                "(echo 1 > /proc/sys/kernel/domainname) 2>&1; echo rc=$?; "
                                "touch /etc/rw && echo rw-ok; cat /proc/self/mountinfo"]
    r = rtenv.rt("run", "--bundle", b, rtenv.cid()).ok()
    assert r.stdout.count("Read-only file system") >= 2, r.stdout
    assert "rw-ok" in r.stdout
    for mp in ("/etc/rodir", "/proc/sys"):
        f = mountinfo_line(r.stdout, mp)
        assert f and "ro" in mount_opts(f)[0], mp


def test_sysfs_readonly(rtenv):
    r = rtenv.run_sh("grep ' /sys ' /proc/self/mountinfo")
    f = mountinfo_line(r.stdout, "/sys")
    assert "ro" in mount_opts(f)[0]


# ---- safety: mount destinations and /dev must stay inside the rootfs ----

def test_symlink_mount_destination_stays_in_rootfs(rtenv):
    b = rtenv.bundle("sh", "-c", "grep tmpx /proc/self/mountinfo")
    rf = b / "rootfs"
    os.symlink("/", rf / "evil")
    os.symlink("../../../../../../../../..", rf / "evil2")
    name = f"tmpx-{rtenv.mark}"
    with rtenv.config(b) as c:
        c["root"]["readonly"] = False
        add_mount(c, f"/evil/{name}", "tmpfs", "tmpfs", ["size=1m"])
        add_mount(c, f"/evil2/{name}-2", "tmpfs", "tmpfs", ["size=1m"])
    try:
        r = rtenv.rt("run", "--bundle", b, rtenv.cid())
        assert not os.path.exists(f"/{name}"), "mount destination escaped the rootfs"
        assert not os.path.exists(f"/{name}-2"), "mount destination escaped the rootfs"
        assert r.returncode == 0, repr(r)
        # resolved inside the rootfs instead (as runc's securejoin does)
        assert (rf / name).is_dir() and (rf / f"{name}-2").is_dir()
        assert f"/{name} " in r.stdout
    finally:
        for p in (f"/{name}", f"/{name}-2"):
            if os.path.isdir(p):
                os.rmdir(p)


def test_symlink_bind_destination_file_stays_in_rootfs(rtenv):
    """A file bind mounted over a symlink pointing at a host file."""
    target = rtenv.path("victim")
    target.write_text("host content\n")
    src = rtenv.path("src")
    src.write_text("evil\n")
    b = rtenv.bundle("true")
    os.symlink(str(target), b / "rootfs" / "etc" / "link")
    with rtenv.config(b) as c:
        c["root"]["readonly"] = False
        add_mount(c, "/etc/link", "bind", src, ["bind"])
    rtenv.rt("run", "--bundle", b, rtenv.cid())
    assert target.read_text() == "host content\n"
    with open("/proc/self/mountinfo") as f:
        assert str(target) not in f.read()


def test_dev_symlink_to_host_dir(rtenv):
    """rootfs/dev -> a host dir: devices must not be created on the host."""
    hostdev = rtenv.hostdir("hostdev")
    b = rtenv.bundle("sh", "-c", "ls /dev")
    rf = b / "rootfs"
    os.rmdir(rf / "dev")
    os.symlink(str(hostdev), rf / "dev")
    r = rtenv.rt("run", "--bundle", b, rtenv.cid())
    assert os.listdir(hostdev) == [], f"created on the host: {os.listdir(hostdev)} ({r!r})"


def test_dev_symlink_without_dev_mount(rtenv):
    """Same without a /dev tmpfs in the config: device nodes are made in rootfs/dev."""
    hostdev = rtenv.hostdir("hostdev")
    b = rtenv.bundle("sh", "-c", "ls /dev")
    rf = b / "rootfs"
    os.rmdir(rf / "dev")
    os.symlink(str(hostdev), rf / "dev")
    with rtenv.config(b) as c:
        c["root"]["readonly"] = False
        c["mounts"] = [m for m in c["mounts"] if not m["destination"].startswith("/dev")]
    r = rtenv.rt("run", "--bundle", b, rtenv.cid())
    assert os.listdir(hostdev) == [], f"created on the host: {os.listdir(hostdev)} ({r!r})"
    # clean up whatever was created inside the rootfs (device nodes as root)
    inside = rf / str(hostdev).lstrip("/")
    if inside.exists():
        for p in inside.iterdir():
            assert not stat.S_ISCHR(os.lstat(p).st_mode) or p.name in (
                "null", "zero", "full", "random", "urandom", "tty"), p


def test_mount_over_proc_self_refused(rtenv):
    def edit(c):
        add_mount(c, "/proc/self", "tmpfs", "tmpfs", [])
    r = rtenv.run_sh("echo SHOULD-NOT-RUN", edit, check=False)
    assert "SHOULD-NOT-RUN" not in r.stdout
    one_error_line(r, "/proc/self")


@pytest.mark.parametrize("dest", ["/proc/cpuinfo", "/proc/uptime"])
def test_bind_over_allowed_proc_files(rtenv, dest):
    """runc allows (lxcfs-style) binds over a few /proc files."""
    src = rtenv.path("fake")
    src.write_text("fake proc\n")

    def edit(c):
        add_mount(c, dest, "bind", src, ["bind", "ro"])
    assert rtenv.run_sh(f"cat {dest}", edit).stdout == "fake proc\n"


def test_bind_mount_flags_applied(rtenv):
    """nosuid/nodev/noexec on a bind mount are applied (a remount, as runc does)."""
    host = rtenv.hostdir("data")
    import shutil
    shutil.copy("/bin/busybox", host / "bb")

    def edit(c):
        add_mount(c, "/data", "bind", host, ["rbind", "noexec", "nosuid", "nodev"])
    r = rtenv.run_sh("/data/bb true && echo EXECUTED; grep ' /data ' /proc/self/mountinfo",
                     edit, check=False)
    assert "EXECUTED" not in r.stdout
    per_mount, _ = mount_opts(mountinfo_line(r.stdout, "/data"))
    assert {"noexec", "nosuid", "nodev"} <= per_mount


def test_rbind_vs_bind_submounts(rtenv):
    """rbind carries the source's submounts into the container, bind does not."""
    import subprocess
    host = rtenv.hostdir("tree")
    (host / "sub").mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "berthsub", str(host / "sub")],
                   check=True)
    rtenv.cleanups.append(lambda: subprocess.run(["umount", str(host / "sub")], check=True))
    (host / "sub" / "in-submount").write_text("x")

    def edit(c):
        add_mount(c, "/r", "bind", host, ["rbind"])
        add_mount(c, "/b", "bind", host, ["bind"])
    r = rtenv.run_sh("ls /r/sub; echo '|'; ls /b/sub", edit)
    rsub, bsub = [p.split() for p in r.stdout.split("|")]
    assert rsub == ["in-submount"]
    assert bsub == []


def test_tmpfs_uid_gid_options(rtenv):
    def edit(c):
        add_mount(c, "/mnt/owned", "tmpfs", "tmpfs", ["uid=1000", "gid=1001", "mode=700"])
    r = rtenv.run_sh("stat -c '%u %g %a' /mnt/owned", edit)
    assert r.stdout.split() == ["1000", "1001", "700"]


def test_host_mount_after_start_not_visible(rtenv):
    """The rootfs is made private: a mount made on the host under a bind source
    after the container started does not show up inside (runc's rprivate)."""
    import subprocess
    import time as _t
    host = rtenv.hostdir("prop")
    (host / "later").mkdir()
    b = rtenv.bundle("sh", "-c", "while [ ! -e /prop/go ]; do sleep 0.05; done; ls /prop/later")
    with rtenv.config(b) as c:
        add_mount(c, "/prop", "bind", host, ["rbind", "rprivate"])
    cid = rtenv.cid()
    rtenv.rt("run", "--detach", "--bundle", b, cid, stdout_path=rtenv.path("prop.out")).ok()
    rtenv.track(rtenv.state(cid)["pid"])
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "late", str(host / "later")],
                   check=True)
    try:
        (host / "later" / "hostfile").write_text("x")
        (host / "go").write_text("")
        rtenv.wait_status(cid, "stopped")
    finally:
        subprocess.run(["umount", str(host / "later")], check=True)
    _t.sleep(0.1)
    assert "hostfile" not in rtenv.path("prop.out").read_text()
    rtenv.rt("delete", cid).ok()


def test_dotdot_mount_destination_stays_in_rootfs(rtenv):
    name = f"dotdot-{rtenv.mark}"
    b = rtenv.bundle("sh", "-c", f"grep {name} /proc/self/mountinfo")
    with rtenv.config(b) as c:
        c["root"]["readonly"] = False
        add_mount(c, f"/../../../../../tmp/{name}", "tmpfs", "tmpfs", ["size=1m"])
    try:
        r = rtenv.rt("run", "--bundle", b, rtenv.cid())
        assert not os.path.exists(f"/tmp/{name}"), "mount destination escaped the rootfs"
        if r.returncode == 0:
            assert (b / "rootfs" / "tmp" / name).is_dir()
    finally:
        if os.path.isdir(f"/tmp/{name}"):
            os.rmdir(f"/tmp/{name}")


def test_device_path_escape(rtenv):
    """A linux.devices path with .. or through a symlink must not create a node
    on the host."""
    hostdir = rtenv.hostdir("devtarget")
    b = rtenv.bundle("true")
    os.symlink(str(hostdir), b / "rootfs" / "devlink")
    rel = "/dev/" + "../" * 12 + str(hostdir).lstrip("/") + "/dotdot-node"
    with rtenv.config(b) as c:
        c["root"]["readonly"] = False
        c["linux"]["devices"] = [
            {"path": rel, "type": "c", "major": 1, "minor": 3, "fileMode": 0o666},
            {"path": "/devlink/symlink-node", "type": "c", "major": 1, "minor": 3,
             "fileMode": 0o666}]
    rtenv.rt("run", "--bundle", b, rtenv.cid())
    assert os.listdir(hostdir) == [], f"device nodes created on the host: {os.listdir(hostdir)}"


def test_cwd_through_symlink_stays_in_rootfs(rtenv):
    """A missing cwd is created inside the rootfs even when a rootfs symlink
    points at a host directory."""
    hostdir = rtenv.hostdir("cwdtarget")
    b = rtenv.bundle("pwd")
    os.symlink(str(hostdir), b / "rootfs" / "evilcwd")
    with rtenv.config(b) as c:
        c["root"]["readonly"] = False
        c["process"]["cwd"] = "/evilcwd/newdir"
    rtenv.rt("run", "--bundle", b, rtenv.cid())
    assert os.listdir(hostdir) == [], "cwd created on the host"


def test_masked_path_symlink_to_host_file(rtenv):
    """maskedPaths entry that is a rootfs symlink to a host file: the host file
    is not touched and the mask lands inside the rootfs (or is skipped)."""
    victim = rtenv.path("victim")
    victim.write_text("host data\n")
    b = rtenv.bundle("cat", str(victim))
    os.symlink(str(victim), b / "rootfs" / "etc" / "masklink")
    with rtenv.config(b) as c:
        c["linux"]["maskedPaths"].append("/etc/masklink")
        c["linux"]["readonlyPaths"].append("/etc/masklink")
    rtenv.rt("run", "--bundle", b, rtenv.cid())
    assert victim.read_text() == "host data\n"
