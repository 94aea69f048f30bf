"""berth pull against a hostile registry: a small http.server on 127.0.0.1
that serves hand-made answers (lying sizes, injected headers, terminal
escapes, stalls, huge documents) and records the requests it saw. Each
case must end with a non-zero exit, no signal, one line naming the thing,
and nothing left behind in the store."""
import hashlib
import http.server
import io
import json
import os
import pathlib
import shutil
import socketserver
import subprocess
import tarfile
import tempfile
import threading
import time

import pytest

from conftest import binary, missing_root, requires, run
from image_helpers import StoreBerth

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def layer_tar(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mode = 0o644
            t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def make_image(layers, sizes=None, diff_ids=None):
    """blobs (digest -> bytes) and the manifest of an image of `layers`
    (uncompressed tars); sizes overrides the declared layer sizes."""
    blobs = {}
    ids = diff_ids if diff_ids is not None else [sha(t) for t in layers]
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                      "rootfs": {"type": "layers", "diff_ids": ids}}).encode()
    blobs[sha(cfg)] = cfg
    descs = []
    for i, t in enumerate(layers):
        blobs[sha(t)] = t
        descs.append({"mediaType": OCI_LAYER, "digest": sha(t),
                      "size": sizes[i] if sizes else len(t)})
    man = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                      "config": {"mediaType": OCI_CONFIG, "digest": sha(cfg), "size": len(cfg)},
                      "layers": descs}).encode()
    return {"blobs": blobs, "manifest": man, "layer": sha(layers[0]) if layers else None}


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def do_GET(self):
        self.server.seen.append((self.command, self.path, list(self.headers.items())))
        self.server.route(self)

    do_HEAD = do_GET

    def reply(self, status, body=b"", ctype="application/json", headers=(), length=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    block_on_close = False


@pytest.fixture
def hostile():
    """hostile(route) starts a server whose requests go to route(handler);
    .seen lists (method, path, headers) of every request."""
    servers = []

    def start(route):
        srv = Server(("127.0.0.1", 0), Handler)
        srv.route = route
        srv.seen = []
        srv.addr = f"127.0.0.1:{srv.server_address[1]}"
        srv.stop = threading.Event()  # ends the stalls
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return srv
    yield start
    for s in servers:
        s.stop.set()
        s.shutdown()
        s.server_close()


def serve_image(img, blob_hook=None):
    """A route serving img honestly (Range included), with blob_hook(h, digest)
    answering blob requests first when it returns True."""
    def route(h):
        path = h.path.split("?")[0]
        if path == "/v2/":
            return h.reply(200, b"{}")
        if "/manifests/" in path:
            return h.reply(200, img["manifest"], ctype=OCI_MANIFEST,
                           headers=[("Docker-Content-Digest", sha(img["manifest"]))])
        if "/blobs/" in path:
            d = path.rsplit("/", 1)[1]
            if blob_hook and blob_hook(h, d):
                return None
            data = img["blobs"].get(d)
            if data is None:
                return h.reply(404, b'{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown"}]}')
            rng = h.headers.get("Range")
            if rng and rng.startswith("bytes="):
                start = int(rng[6:].split("-")[0])
                if start >= len(data):
                    return h.reply(416)
                return h.reply(206, data[start:], ctype="application/octet-stream",
                               headers=[("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")])
            return h.reply(200, data, ctype="application/octet-stream")
        return h.reply(404, b"{}")
    return route


class Berth(StoreBerth):
    timeout = 120
    raises = False  # these tests look at failures

    def left(self, *dirs):
        """What is in the store's tmp/ and blobs (and layers/)."""
        out = []
        for d in dirs or ("tmp", "blobs/sha256", "layers"):
            p = self.store() / d
            if p.exists():
                out += [f"{d}/{x.name}" for x in p.iterdir()]
        return out


@pytest.fixture
def berth():
    d = pathlib.Path(tempfile.mkdtemp(prefix="berth-hostile-"))
    yield Berth(d / "root")
    shutil.rmtree(d, ignore_errors=True)


def one_line_failure(r, *words):
    """Exit 125 (not a signal), one line on stderr naming the thing."""
    assert r.returncode == 125, (r.returncode, r.stderr)
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("berth: ")]
    assert len(lines) == 1, r.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])
    return lines[0]


def small_image(tag=b"x"):
    return make_image([layer_tar({"hello": b"hello " + tag + b"\n" * 100})])


# ---- 1. bearer tokens ---------------------------------------------------------


@pytest.mark.parametrize("token", ["abc\r\nX-Injected: yes", "abc\nX-Injected: yes", "a b", "t\x00k"])
def test_token_outside_token68_is_refused(hostile, berth, token):
    img = small_image()
    honest = serve_image(img)

    def route(h):
        path = h.path.split("?")[0]
        if path == "/token":
            return h.reply(200, json.dumps({"token": token}).encode())
        if not (h.headers.get("Authorization") or "").startswith("Bearer "):
            return h.reply(401, b"{}", headers=[(
                "WWW-Authenticate", f'Bearer realm="http://{srv.addr}/token",service="hostile"')])
        return honest(h)
    srv = hostile(route)
    r = berth("pull", "-q", f"{srv.addr}/t/img:1")
    line = one_line_failure(r, "token")
    assert "token68" in line
    for _, _, headers in srv.seen:
        assert not any(k.lower() == "x-injected" for k, _ in headers), headers
    assert berth.left() == []


def test_token_over_the_limit_is_refused(hostile, berth):
    def route(h):
        if h.path.startswith("/token"):
            return h.reply(200, json.dumps({"token": "a" * (65 << 10)}).encode())
        if not (h.headers.get("Authorization") or "").startswith("Bearer "):
            return h.reply(401, b"{}", headers=[(
                "WWW-Authenticate", f'Bearer realm="http://{srv.addr}/token"')])
        return h.reply(500, b"{}")
    srv = hostile(route)
    one_line_failure(berth("pull", "-q", f"{srv.addr}/t/img:1"), "token", "64 KiB")
    assert [p for _, p, _ in srv.seen if not p.startswith("/token")] == ["/v2/t/img/manifests/1"]


def test_token68_token_is_used(hostile, berth):
    img = small_image()
    honest = serve_image(img)
    tok = "aB3-._~+/xyz=="

    def route(h):
        path = h.path.split("?")[0]
        if path == "/token":
            return h.reply(200, json.dumps({"token": tok}).encode())
        if h.headers.get("Authorization") != "Bearer " + tok:
            return h.reply(401, b"{}", headers=[(
                "WWW-Authenticate", f'Bearer realm="http://{srv.addr}/token",service="s"')])
        return honest(h)
    srv = hostile(route)
    r = berth("pull", "-q", f"{srv.addr}/t/img:1")
    assert r.returncode == 0, r.stderr


# ---- 2. terminal escapes in registry text --------------------------------------


def test_error_text_control_characters_are_escaped(hostile, berth):
    evil = "\x1b[2J\x1b[Hroot@host:~# \x07\x9b31m\r\nrm -rf / caf\u00e9 \u2192\x7f\x00tail"

    def route(h):
        body = json.dumps({"errors": [{"code": "UNKNOWN\x1b]0;title\x07", "message": evil}]})
        h.reply(500, body.encode())
    srv = hostile(route)
    r = run([binary("berth"), "--root", berth.root, "pull", f"{srv.addr}/t/img:1"],
            check=False, text=False)
    assert r.returncode == 125
    err = r.stderr
    assert err.count(b"\n") == 1 and err.endswith(b"\n"), err
    for bad in (b"\x1b", b"\x07", b"\x00", b"\r", b"\xc2\x9b", b"\x9b"):
        assert bad not in err, (bad, err)
    text = err.decode()
    assert "root@host:~#" in text and "rm -rf /" in text, text  # (the NUL ends the string)
    assert "\\x1b" in text and "\\u009b" in text and "\\x7f" in text  # escaped, readable
    assert "caf\u00e9 \u2192" in text  # printable UTF-8 stays
    assert berth.left() == []


# ---- 3. blob sizes ----------------------------------------------------------


def test_blob_longer_than_declared_is_cut(hostile, berth):
    """A layer declared as 1000 bytes whose answer never ends (a lying
    Content-Length of 1 TB, 64 MiB sent): the pull stops at the declared size,
    keeps no partial file and says so."""
    img = small_image()
    layer = img["layer"]
    img = make_image([img["blobs"][layer]], sizes=[1000])
    stream = {"bytes": 0}

    def hook(h, d):
        if d != layer:
            return False
        h.send_response(200)
        h.send_header("Content-Length", str(1 << 40))
        h.end_headers()
        chunk = b"A" * (1 << 16)
        try:
            for _ in range(1024):
                h.wfile.write(chunk)
                stream["bytes"] += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        return True
    srv = hostile(serve_image(img, hook))
    r = berth("pull", "-q", f"{srv.addr}/t/img:1")
    one_line_failure(r, layer, "1000")
    assert berth.left() == [], berth.left()
    assert stream["bytes"] < 32 << 20  # berth hung up early


@requires(missing_root())
def test_disk_full_keeps_no_partial(hostile, tmp_path):
    """A layer that fills the disk (declared 1 TB, never ends): the pull fails
    with ENOSPC naming the blob, keeps no partial file, and the next honest
    pull into the same store does not fail with ENOSPC too."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)], check=True)
    try:
        b = Berth(mnt / "root")
        img = small_image(b"full")
        layer = img["layer"]
        img = make_image([img["blobs"][layer]], sizes=[1 << 40])

        def hook(h, d):
            if d != layer:
                return False
            h.send_response(200)
            h.end_headers()  # no length: until berth hangs up
            try:
                for _ in range(1024):
                    h.wfile.write(b"F" * (1 << 16))
            except (BrokenPipeError, ConnectionResetError):
                pass
            h.close_connection = True
            return True
        srv = hostile(serve_image(img, hook))
        one_line_failure(b("pull", "-q", f"{srv.addr}/t/img:1"), layer, "No space left")
        assert b.left() == [], b.left()
        good = hostile(serve_image(small_image(b"good")))
        r = b("pull", "-q", f"{good.addr}/t/img:1")
        assert r.returncode == 0, r.stderr
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


@pytest.mark.parametrize("declared_delta", [+500, -1])
def test_blob_size_mismatch_fails(hostile, berth, declared_delta):
    img = small_image()
    data = img["blobs"][img["layer"]]
    img = make_image([data], sizes=[len(data) + declared_delta])
    srv = hostile(serve_image(img))
    r = berth("pull", "-q", f"{srv.addr}/t/img:1")
    one_line_failure(r, img["layer"], str(len(data) + declared_delta))
    assert berth.left() == [], berth.left()


def test_oversized_partial_is_not_resumed(hostile, berth):
    """A partial file longer than the declared size (left by an older berth)
    is dropped, not resumed."""
    img = small_image()
    data = img["blobs"][img["layer"]]
    tmpd = berth.store() / "tmp"
    tmpd.mkdir(parents=True)
    (tmpd / (img["layer"][7:] + ".partial")).write_bytes(data + b"junk" * 100)
    srv = hostile(serve_image(img))
    r = berth("pull", "-q", f"{srv.addr}/t/img:1")
    assert r.returncode == 0, r.stderr
    assert berth.left("tmp") == []
    assert (berth.store() / "blobs/sha256" / img["layer"][7:]).read_bytes() == data


def test_images_size_is_what_is_on_disk(hostile, berth):
    img = make_image([layer_tar({"a": b"1" * 3000}), layer_tar({"b": b"2" * 5000})])
    srv = hostile(serve_image(img))
    r = berth("pull", "-q", f"{srv.addr}/t/img:1")
    assert r.returncode == 0, r.stderr
    on_disk = sum(len(b) for b in img["blobs"].values())
    out = json.loads(berth("images", "--format", "json", check=True).stdout)
    assert out[0]["Size"] == on_disk


# ---- 4. many layers ------------------------------------------------------------


def test_manifest_with_100000_layers_is_rejected_fast(hostile, berth):
    n = 100_000
    ids = ["sha256:%064x" % (i + 1) for i in range(n)]
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                      "rootfs": {"type": "layers", "diff_ids": ids}}).encode()
    man = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                      "config": {"mediaType": OCI_CONFIG, "digest": sha(cfg), "size": len(cfg)},
                      "layers": [{"mediaType": OCI_LAYER, "digest": "sha256:%064x" % (i + 1),
                                  "size": 1} for i in range(n)]}).encode()
    img = {"blobs": {sha(cfg): cfg}, "manifest": man}
    srv = hostile(serve_image(img))
    t0 = time.monotonic()
    r = berth("pull", "-q", f"{srv.addr}/t/img:1", timeout=60)
    elapsed = time.monotonic() - t0
    one_line_failure(r, "100000 layers", "127")
    assert elapsed < 10, elapsed
    assert not any("/blobs/" in p for _, p, _ in srv.seen)  # rejected before any download
    assert berth.left() == []


def test_repeated_layers_are_fetched_once(hostile, berth):
    t = layer_tar({"same": b"s" * 100})
    img = make_image([t, layer_tar({"other": b"o"}), t])
    srv = hostile(serve_image(img))
    r = berth("pull", "-q", f"{srv.addr}/t/img:1")
    assert r.returncode == 0, r.stderr
    gets = [p for m, p, _ in srv.seen if m == "GET" and p.endswith(sha(t))]
    assert len(gets) == 1, srv.seen


def test_127_layers_pull(hostile, berth):
    layers = [layer_tar({f"f{i}": b"%d" % i}) for i in range(127)]
    img = make_image(layers)
    srv = hostile(serve_image(img))
    r = berth("pull", "-q", f"{srv.addr}/t/img:1", timeout=300)
    assert r.returncode == 0, r.stderr
    img = make_image(layers + [layer_tar({"last": b"!"})])
    srv2 = hostile(serve_image(img))
    one_line_failure(berth("pull", "-q", f"{srv2.addr}/t/img:2"), "128 layers", "127")


# ---- 5. poisoned partial files -------------------------------------------------


def test_poisoned_partial_does_not_break_an_honest_pull(hostile, berth):
    """A hostile registry sends a garbage first half of a real layer and hangs
    up; the next pull of that layer from an honest registry succeeds."""
    img = make_image([layer_tar({"big": os.urandom(1 << 20)})])
    layer = img["layer"]
    data = img["blobs"][layer]

    def poison(h, d):
        if d != layer:
            return False
        h.send_response(200)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(b"\0" * (len(data) // 2))
        h.wfile.flush()
        h.close_connection = True
        return True
    bad = hostile(serve_image(img, poison))
    r = berth("pull", "-q", f"{bad.addr}/t/img:1", env={"BERTH_STALL_TIMEOUT": "2"})
    one_line_failure(r, layer)
    good = hostile(serve_image(img))
    r = berth("pull", "-q", f"{good.addr}/t/img:1")
    assert r.returncode == 0, r.stderr
    assert (berth.store() / "blobs/sha256" / layer[7:]).read_bytes() == data
    assert berth.left("tmp") == []


# ---- 6. limits named -----------------------------------------------------------


def test_manifest_over_the_cap_names_the_limit(hostile, berth):
    def route(h):
        if "/manifests/" in h.path:
            h.send_response(200)
            h.send_header("Content-Type", OCI_MANIFEST)
            h.end_headers()  # no length: the body runs until the server hangs up
            chunk = b" " * (1 << 20)
            try:
                for _ in range(80):
                    h.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
            h.close_connection = True
            return
        h.reply(200, b"{}")
    srv = hostile(route)
    line = one_line_failure(berth("pull", "-q", f"{srv.addr}/t/img:1"), "64 MiB", "manifest")
    assert "Failed writing" not in line
    assert berth.left() == []


def test_manifest_declared_over_the_cap_names_the_limit(hostile, berth):
    def route(h):
        h.reply(200, b"{}", ctype=OCI_MANIFEST, length=100 << 20)
        h.close_connection = True
    srv = hostile(route)
    one_line_failure(berth("pull", "-q", f"{srv.addr}/t/img:1"), "64 MiB")


def test_huge_www_authenticate_names_the_limit(hostile, berth):
    def route(h):
        h.reply(401, b"{}", headers=[("WWW-Authenticate",
                                      'Bearer realm="http://127.0.0.1:1/' + "a" * 120_000 + '"')])
    srv = hostile(route)
    line = one_line_failure(berth("pull", "-q", f"{srv.addr}/t/img:1"), "header", "KiB")
    assert "Out of memory" not in line


def test_endless_headers_name_the_limit(hostile, berth):
    """Header lines that never end (each one short): berth stops at 256 KiB."""
    sent = {"bytes": 0}

    def route(h):
        h.send_response(200)
        line = "X-Junk: " + "j" * 1000
        try:
            for _ in range(50_000):
                h.send_header("X-Junk", "j" * 1000)
                if len(h._headers_buffer) > 64:
                    h.flush_headers()
                sent["bytes"] += len(line)
        except (BrokenPipeError, ConnectionResetError):
            pass
        h.close_connection = True
    srv = hostile(route)
    line = one_line_failure(berth("pull", "-q", f"{srv.addr}/t/img:1", timeout=60),
                            "headers", "256 KiB")
    assert "Failed writing" not in line
    assert sent["bytes"] < 16 << 20


# ---- 7. stalls -----------------------------------------------------------------


def stall_hook(srv_box, layer, data, stalls):
    """Send half of the layer, then stall (until the test ends) for the
    first `stalls` requests; answer honestly afterwards."""
    count = {"n": 0}

    def hook(h, d):
        if d != layer or count["n"] >= stalls:
            return False
        count["n"] += 1
        rng = h.headers.get("Range")
        start = int(rng[6:].split("-")[0]) if rng else 0
        h.send_response(206 if rng else 200)
        if rng:
            h.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        h.send_header("Content-Length", str(len(data) - start))
        h.end_headers()
        h.wfile.write(data[start:start + (len(data) - start) // 2])
        h.wfile.flush()
        srv_box["srv"].stop.wait(30)
        h.close_connection = True
        return True
    return hook


def test_stalled_blob_is_named_after_one_resume(hostile, berth):
    img = make_image([layer_tar({"big": os.urandom(256 << 10)})])
    layer = img["layer"]
    data = img["blobs"][layer]
    box = {}
    srv = box["srv"] = hostile(serve_image(img, stall_hook(box, layer, data, 99)))
    t0 = time.monotonic()
    r = berth("pull", f"{srv.addr}/t/img:1", env={"BERTH_STALL_TIMEOUT": "2"}, timeout=60)
    elapsed = time.monotonic() - t0
    line = one_line_failure(r, layer, "stalled", "for 2 s", "after one resume")
    assert elapsed < 45, elapsed  # libcurl averages the speed over ~5 s, then 2 s
    gets = [hd for m, p, hd in srv.seen if m == "GET" and p.endswith(layer)]
    assert len(gets) == 2, srv.seen
    assert any(k.lower() == "range" for k, _ in gets[1])  # the resume asked for the rest
    assert "Download complete" not in r.stderr, r.stderr  # (the config's was shown)
    assert f"{layer[7:19]}: Download failed" in r.stderr, r.stderr
    # what is kept is a resumable prefix, never more than the blob
    left = berth.left()
    assert all(x.startswith("tmp/") and x.endswith(".partial") for x in left), left
    for x in left:
        assert (berth.store() / x).stat().st_size <= len(data)
    assert line


def test_stall_then_resume_completes(hostile, berth):
    img = make_image([layer_tar({"big": os.urandom(256 << 10)})])
    layer = img["layer"]
    data = img["blobs"][layer]
    box = {}
    srv = box["srv"] = hostile(serve_image(img, stall_hook(box, layer, data, 1)))
    r = berth("pull", "-q", f"{srv.addr}/t/img:1", env={"BERTH_STALL_TIMEOUT": "2"}, timeout=60)
    assert r.returncode == 0, r.stderr
    assert (berth.store() / "blobs/sha256" / layer[7:]).read_bytes() == data
    assert berth.left("tmp") == []


def test_stalled_manifest_is_named(hostile, berth):
    def route(h):
        if "/manifests/" in h.path:
            h.send_response(200)
            h.send_header("Content-Type", OCI_MANIFEST)
            h.send_header("Content-Length", "1000")
            h.end_headers()
            h.wfile.write(b"{")
            h.wfile.flush()
            h.server.stop.wait(60)
            h.close_connection = True
            return
        h.reply(200, b"{}")
    srv = hostile(route)
    t0 = time.monotonic()
    r = berth("pull", "-q", f"{srv.addr}/t/img:1", env={"BERTH_STALL_TIMEOUT": "2"}, timeout=50)
    one_line_failure(r, "manifests/1", "stalled", "for 2 s")
    assert time.monotonic() - t0 < 40


def test_bad_stall_timeout_is_refused(berth):
    one_line_failure(berth("pull", "-q", "127.0.0.1:1/t/img:1", env={"BERTH_STALL_TIMEOUT": "2x"}),
                     "BERTH_STALL_TIMEOUT", "2x")


# ---- 8. leftovers --------------------------------------------------------------


def test_failed_pull_leaves_no_empty_partial(hostile, berth):
    img = small_image()
    del img["blobs"][img["layer"]]  # the layer is unknown to the registry
    srv = hostile(serve_image(img))
    one_line_failure(berth("pull", "-q", f"{srv.addr}/t/img:1"), img["layer"], "404")
    assert berth.left() == [], berth.left()


def test_connection_cut_before_any_byte_leaves_nothing(hostile, berth):
    img = small_image()

    def cut(h, d):
        if d != img["layer"]:
            return False
        h.send_response(200)
        h.send_header("Content-Length", "5000")
        h.end_headers()
        h.close_connection = True
        return True
    srv = hostile(serve_image(img, cut))
    one_line_failure(berth("pull", "-q", f"{srv.addr}/t/img:1"), img["layer"])
    assert berth.left() == [], berth.left()
