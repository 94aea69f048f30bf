"""berth-runtime: process.terminal with --console-socket (the pty master comes
back over SCM_RIGHTS) and run/exec attached to the caller's terminal."""
import array
import os
import select
import socket
import subprocess
import threading
import time

from runtime_helpers import MARK_VAR, rtenv  # noqa: F401


class ConsoleServer:
    """Listens on a unix socket and keeps the first fd received."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(1)
        self.sock.settimeout(30)
        self.fd = None
        self.error = None
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            conn, _ = self.sock.accept()
            with conn:
                msg, fds, _, _ = socket.recv_fds(conn, 4096, 4)
                if fds:
                    self.fd = fds[0]
                    for extra in fds[1:]:
                        os.close(extra)
        except Exception as ex:  # noqa: BLE001
            self.error = ex

    def master(self, timeout=30):
        self.thread.join(timeout)
        assert self.fd is not None, f"no pty master received ({self.error})"
        return self.fd

    def close(self):
        self.sock.close()
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def read_until_eof(fd, timeout=20):
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.2)
        if not r:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the slave side is closed
            break
        if not chunk:
            break
        out += chunk
    return out.decode(errors="replace")


def tty_bundle(env, script, rows=30, cols=100):
    b = env.bundle("sh", "-c", script)
    with env.config(b) as c:
        c["process"]["terminal"] = True
        c["process"]["consoleSize"] = {"height": rows, "width": cols}
    return b


def test_console_socket_create_start(rtenv):
    b = tty_bundle(rtenv, "tty; stty size; [ -t 0 ] && echo stdin-is-tty; echo TERM=$TERM")
    sockp = rtenv.path("console.sock")
    srv = ConsoleServer(sockp)
    cid = rtenv.cid()
    try:
        rtenv.rt("create", "--console-socket", sockp, "--bundle", b, cid).ok()
        rtenv.track(rtenv.state(cid)["pid"])
        master = srv.master()
        assert os.isatty(master)
        rtenv.rt("start", cid).ok()
        out = read_until_eof(master)
    finally:
        srv.close()
    lines = [ln.strip() for ln in out.splitlines()]
    assert lines[0] == "/dev/pts/0"
    assert lines[1] == "30 100"
    assert "stdin-is-tty" in lines
    assert "TERM=xterm" in lines
    rtenv.wait_status(cid, "stopped")
    rtenv.rt("delete", cid).ok()


def test_console_socket_input(rtenv):
    b = tty_bundle(rtenv, "read line; echo got:$line")
    sockp = rtenv.path("console.sock")
    srv = ConsoleServer(sockp)
    cid = rtenv.cid()
    try:
        rtenv.rt("run", "--detach", "--console-socket", sockp, "--bundle", b, cid).ok()
        rtenv.track(rtenv.state(cid)["pid"])
        master = srv.master()
        os.write(master, b"hello\n")
        out = read_until_eof(master)
    finally:
        srv.close()
    assert "got:hello" in out
    rtenv.wait_status(cid, "stopped")
    rtenv.rt("delete", cid).ok()


def test_terminal_without_console_socket_create_fails(rtenv):
    """runc: create with terminal=true needs --console-socket."""
    b = tty_bundle(rtenv, "true")
    cid = rtenv.cid()
    r = rtenv.rt("create", "--bundle", b, cid)
    assert r.returncode != 0
    assert "console" in r.stderr.lower()
    assert not (rtenv.root / cid).exists()


def run_on_pty(env, cmd, timeout=30, send=None):
    """Runs cmd with a new pty as its stdio and controlling terminal; returns
    (exit code, output)."""
    master, slave = os.openpty()
    try:
        p = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave,
                             start_new_session=True,
                             env=dict(os.environ, **{MARK_VAR: env.mark}))
        os.close(slave)
        slave = -1
        if send:
            time.sleep(0.5)
            os.write(master, send)
        out = read_until_eof(master, timeout)
        p.wait(timeout)
        return p.returncode, out
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)


def test_run_terminal_attached(rtenv):
    b = tty_bundle(rtenv, "echo hi; tty; exit 4")
    code, out = run_on_pty(rtenv, rtenv.rt_cmd("run", "--bundle", b, rtenv.cid()))
    lines = [ln.strip() for ln in out.splitlines()]
    assert "hi" in lines
    assert "/dev/pts/0" in lines
    assert code == 4


def test_run_terminal_attached_input(rtenv):
    b = tty_bundle(rtenv, "read x; echo echoed:$x")
    code, out = run_on_pty(rtenv, rtenv.rt_cmd("run", "--bundle", b, rtenv.cid()),
                           send=b"typed\n")
    assert "echoed:typed" in out
    assert code == 0


def test_exec_tty_attached(rtenv):
    b = rtenv.bundle("sh", "-c", "while :; do sleep 0.1; done")
    cid = rtenv.cid()
    rtenv.rt("run", "--detach", "--bundle", b, cid).ok()
    rtenv.track(rtenv.state(cid)["pid"])
    code, out = run_on_pty(rtenv, rtenv.rt_cmd("exec", "--tty", cid, "sh", "-c",
                                               "[ -t 1 ] && echo exec-tty; exit 6"))
    assert "exec-tty" in out
    assert code == 6
    rtenv.rt("delete", "--force", cid).ok()


def test_exec_tty_console_socket(rtenv):
    b = rtenv.bundle("sh", "-c", "while :; do sleep 0.1; done")
    cid = rtenv.cid()
    rtenv.rt("run", "--detach", "--bundle", b, cid).ok()
    rtenv.track(rtenv.state(cid)["pid"])
    sockp = rtenv.path("exec-console.sock")
    srv = ConsoleServer(sockp)
    try:
        rtenv.rt("exec", "--tty", "--detach", "--console-socket", sockp, cid, "sh", "-c",
                 "tty; echo via-socket").ok()
        out = read_until_eof(srv.master())
    finally:
        srv.close()
    assert "via-socket" in out
    assert "/dev/pts/" in out
    rtenv.rt("delete", "--force", cid).ok()


def test_console_fd_is_sent_with_scm_rights_only_once(rtenv):
    """The runtime sends exactly one fd (the master) on the console socket."""
    b = tty_bundle(rtenv, "true")
    sockp = rtenv.path("c.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(str(sockp))
    srv.listen(1)
    srv.settimeout(30)
    got = {}

    def serve():
        conn, _ = srv.accept()
        with conn:
            fds = array.array("i")
            msg, anc, flags, _ = conn.recvmsg(4096, socket.CMSG_SPACE(16 * fds.itemsize))
            for level, typ, data in anc:
                if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                    fds.frombytes(data[:len(data) - (len(data) % fds.itemsize)])
            got["fds"] = list(fds)
            got["tty"] = [os.isatty(f) for f in fds]
            for f in fds:
                os.close(f)
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    cid = rtenv.cid()
    try:
        rtenv.rt("create", "--console-socket", sockp, "--bundle", b, cid).ok()
        rtenv.track(rtenv.state(cid)["pid"])
        t.join(30)
    finally:
        srv.close()
    assert len(got.get("fds", [])) == 1 and got["tty"] == [True], got
    rtenv.rt("delete", "--force", cid).ok()


def test_terminal_in_user_namespace(rtenv):
    import subprocess as sp
    b = tty_bundle(rtenv, "tty; stat -c '%u' $(tty); id -u")
    sp.run(["chown", "-hR", "100000:100000", str(b / "rootfs")], check=True)
    with rtenv.config(b) as c:
        c["linux"]["namespaces"].append({"type": "user"})
        c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
        c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
        c["mounts"] = [m for m in c["mounts"] if m["destination"] != "/sys/fs/cgroup"]
    sockp = rtenv.path("console.sock")
    srv = ConsoleServer(sockp)
    cid = rtenv.cid()
    try:
        rtenv.rt("create", "--console-socket", sockp, "--bundle", b, cid).ok()
        rtenv.track(rtenv.state(cid)["pid"])
        master = srv.master()
        rtenv.rt("start", cid).ok()
        out = read_until_eof(master)
    finally:
        srv.close()
    lines = [ln.strip() for ln in out.splitlines()]
    assert lines[:3] == ["/dev/pts/0", "0", "0"], lines
    rtenv.wait_status(cid, "stopped")
    rtenv.rt("delete", cid).ok()
