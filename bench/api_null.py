"""A Docker API server that does nothing: it answers `docker run --rm IMG
true`'s requests (ping, create, attach, wait, start) at once, so that the
docker CLI's own time for that command is measured (bench/api.py's floor of
`docker run`). Not a container engine: canned answers only.

    python3 bench/api_null.py SOCKET
"""
import json
import os
import socketserver
import sys
from http.server import BaseHTTPRequestHandler

CID = "0" * 64


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def answer(self, code, body=None, ctype="application/json"):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Api-Version", "1.41")
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_HEAD(self):
        self.answer(200, None, "text/plain")

    def do_GET(self):
        p = self.path.split("?")[0]
        if p.endswith("/_ping"):
            self.send_response(200)
            self.send_header("Api-Version", "1.41")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"OK")
        elif p.endswith("/version"):
            self.answer(200, {"ApiVersion": "1.41", "MinAPIVersion": "1.12", "Version": "null",
                              "Os": "linux", "Arch": "amd64"})
        elif p.endswith("/json"):
            self.answer(200, {"Id": CID, "Config": {"Tty": False}, "State": {"Running": False}})
        else:
            self.answer(404, {"message": "no"})

    def do_POST(self):
        self.body()
        p = self.path.split("?")[0]
        if p.endswith("/containers/create"):
            self.answer(201, {"Id": CID, "Warnings": []})
        elif p.endswith("/attach"):
            self.send_response(101)
            self.send_header("Content-Type", "application/vnd.docker.raw-stream")
            self.send_header("Connection", "Upgrade")
            self.send_header("Upgrade", "tcp")
            self.end_headers()
            self.wfile.flush()
            self.close_connection = True
        elif p.endswith("/wait"):
            self.answer(200, {"StatusCode": 0, "Error": None})
        elif p.endswith("/start"):
            self.send_response(204)
            self.send_header("Api-Version", "1.41")
            self.end_headers()
        else:
            self.answer(404, {"message": "no"})


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


if __name__ == "__main__":
    path = sys.argv[1]
    if os.path.exists(path):
        os.unlink(path)
    Server(path, Handler).serve_forever()
