#!/usr/bin/python3
"""Writes the seed corpora tests/fuzz/corpus/NAME/ (deterministic: rerun after
editing, and commit what changed). Usage: tests/fuzz/seeds.py [DIR] (default: its own directory)
Hostile cases on purpose: deep JSON, huge numbers, nulls where strings go,
symlinked and dotted tar paths, hard links out, truncated gzip, looping
virtqueue chains, rings outside guest memory."""
import gzip, io, json, os, struct, tarfile, sys
R = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
def put(h, name, data):
    d = os.path.join(R, "corpus", h); os.makedirs(d, exist_ok=True)
    if isinstance(data, str): data = data.encode()
    open(os.path.join(d, name), "wb").write(data)

J = lambda o: json.dumps(o, separators=(",", ":"))
deep = "[" * 5000 + "]" * 5000
deepobj = '{"a":' * 3000 + "1" + "}" * 3000

# ---- spec
base = {"ociVersion": "1.0.2", "root": {"path": "rootfs", "readonly": True},
        "process": {"terminal": False, "user": {"uid": 0, "gid": 0, "additionalGids": [1, 2]},
                    "args": ["sh", "-c", "echo hi"], "env": ["PATH=/bin", "TERM=xterm"], "cwd": "/",
                    "capabilities": {"bounding": ["CAP_KILL", "CAP_NET_BIND_SERVICE"], "effective": ["CAP_KILL"]},
                    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
                    "noNewPrivileges": True, "oomScoreAdj": 100},
        "hostname": "c1",
        "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
                   {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
                   {"destination": "/data", "type": "bind", "source": "/tmp", "options": ["rbind", "ro", "rprivate"]}],
        "hooks": {"prestart": [{"path": "/bin/true", "args": ["true"], "timeout": 5}]},
        "annotations": {"a": "b"},
        "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "uts"}, {"type": "user"}, {"type": "network", "path": "/proc/1/ns/net"}],
                  "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 65536}],
                  "resources": {"memory": {"limit": 1 << 28, "swap": -1}, "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0-1"},
                                "pids": {"limit": 100}, "devices": [{"allow": False, "access": "rwm"}, {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rw"}],
                                "blockIO": {"weight": 500, "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1000}]}},
                  "devices": [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 438}],
                  "maskedPaths": ["/proc/kcore"], "readonlyPaths": ["/proc/sys"],
                  "sysctl": {"net.ipv4.ip_forward": "1"},
                  "seccomp": {"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
                              "syscalls": [{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"}]}}}
put("fuzz_spec", "full.json", json.dumps(base, indent=1))
put("fuzz_spec", "minimal.json", J({"ociVersion": "1.0.0", "root": {"path": "r"}, "process": {"args": ["sh"], "cwd": "/"}}))
put("fuzz_spec", "deep-array.json", '{"ociVersion":"1.0.2","annotations":' + deep + "}")
put("fuzz_spec", "deep-object.json", '{"ociVersion":"1.0.2","linux":' + deepobj + "}")
put("fuzz_spec", "huge-numbers.json", '{"ociVersion":"1.0.2","root":{"path":"r"},"process":{"args":["a"],"cwd":"/","user":{"uid":18446744073709551616,"gid":-1,"additionalGids":[1e308,4294967296]},"rlimits":[{"type":"RLIMIT_NOFILE","hard":18446744073709551615,"soft":99999999999999999999999}],"oomScoreAdj":-2147483649},"linux":{"resources":{"memory":{"limit":9223372036854775808},"cpu":{"period":-1}}}}')
put("fuzz_spec", "nulls.json", '{"ociVersion":null,"root":{"path":null},"process":{"args":[null,"x"],"env":[null],"cwd":null,"user":null,"capabilities":{"bounding":[null]}},"mounts":[null,{"destination":null}],"hooks":{"prestart":[null]},"annotations":{"k":null},"linux":{"namespaces":[null,{"type":null}],"maskedPaths":[null]}}')
put("fuzz_spec", "wrong-types.json", '{"ociVersion":1,"root":"r","process":{"args":"sh","cwd":5,"env":{"a":1},"terminal":"yes"},"mounts":{},"linux":{"namespaces":"pid","uidMappings":[{"containerID":"0"}]}}')
put("fuzz_spec", "nul-in-string.json", b'{"ociVersion":"1.0.2","root":{"path":"r"},"process":{"args":["a\\u0000b"],"cwd":"/\\u0000x","env":["A=\\u0000"]},"hostname":"h\\u0000"}')
put("fuzz_spec", "many-mounts.json", J({"ociVersion": "1.0.2", "root": {"path": "r"}, "mounts": [{"destination": "/m%d" % i, "type": "tmpfs", "source": "t", "options": ["size=1k"] * 8} for i in range(40)]}))
put("fuzz_spec", "process.json", J(base["process"]))
put("fuzz_spec", "null-strings.json", '{"ociVersion":"1.0.2","root":{"path":"r"},"process":{"args":["a",null],"cwd":"/"}}')
put("fuzz_spec", "null-mount.json", '{"ociVersion":"1.0.2","root":{"path":"r"},"mounts":[{"destination":"/x","type":null,"source":null,"options":[null]}]}')
put("fuzz_spec", "idmap-overflow.json", J({"ociVersion": "1.0.2", "root": {"path": "r"}, "linux": {"namespaces": [{"type": "user"}], "uidMappings": [{"containerID": 4294967295, "hostID": 4294967295, "size": 4294967295}], "gidMappings": [{"containerID": 0, "hostID": 0, "size": 0}]}}))
put("fuzz_spec", "truncated.json", json.dumps(base)[:300])
put("fuzz_spec", "dup-keys.json", '{"ociVersion":"1.0.2","ociVersion":"9","process":{"args":["a"],"args":[],"cwd":"/"}}')

# ---- seccomp: the linux.seccomp object alone
sc = {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1, "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
      "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
      "syscalls": [{"names": ["read", "write", "exit_group", "no_such_syscall"], "action": "SCMP_ACT_ALLOW"},
                   {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}, {"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
                   {"names": ["clone"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]},
                   {"names": ["ptrace"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
                   {"names": ["mount"], "action": "SCMP_ACT_TRACE"},
                   {"names": ["kill"], "action": "SCMP_ACT_LOG"}]}
put("fuzz_seccomp", "profile.json", json.dumps(sc, indent=1))
put("fuzz_seccomp", "allow.json", J({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["reboot"], "action": "SCMP_ACT_KILL_PROCESS"}]}))
put("fuzz_seccomp", "notify.json", J({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/agent.sock", "listenerMetadata": "m", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}))
put("fuzz_seccomp", "huge-args.json", J({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 4294967296, "value": 18446744073709551615, "op": "SCMP_CMP_GT"}, {"index": 6, "value": 1, "op": "SCMP_CMP_LT"}]}]}))
put("fuzz_seccomp", "nulls.json", '{"defaultAction":null,"architectures":[null],"flags":[null],"syscalls":[null,{"names":[null],"action":null,"args":[null,{"index":null,"op":null}]}]}')
put("fuzz_seccomp", "unknown.json", J({"defaultAction": "SCMP_ACT_WHAT", "architectures": ["SCMP_ARCH_PDP11"], "flags": ["SECCOMP_FILTER_FLAG_FOO"]}))
put("fuzz_seccomp", "many-names.json", J({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read", "write", "openat", "close", "mmap"] * 60, "action": "SCMP_ACT_ALLOW"}]}))
put("fuzz_seccomp", "same-index.json", J({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["socket"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": v, "op": "SCMP_CMP_EQ"} for v in range(6)]}]}))
put("fuzz_seccomp", "deep.json", deep)

# ---- manifests (first byte: content type)
dg = "sha256:" + "a" * 64
dg2 = "sha256:" + "b" * 64
oci = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
       "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": dg, "size": 123},
       "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": dg2, "size": 456},
                  {"mediaType": "application/vnd.oci.image.layer.v1.tar+zstd", "digest": dg, "size": 1}]}
put("fuzz_manifest", "oci-manifest", b"\x00" + J(oci).encode())
dock = dict(oci, mediaType="application/vnd.docker.distribution.manifest.v2+json")
dock["config"] = dict(oci["config"], mediaType="application/vnd.docker.container.image.v1+json")
dock["layers"] = [dict(oci["layers"][0], mediaType="application/vnd.docker.image.rootfs.diff.tar.gzip")]
put("fuzz_manifest", "docker-manifest", b"\x03" + J(dock).encode())
nomt = {k: v for k, v in oci.items() if k != "mediaType"}
put("fuzz_manifest", "no-mediatype", b"\x01" + J(nomt).encode())
idx = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
       "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": dg, "size": 7, "platform": {"os": "linux", "architecture": "amd64"}},
                     {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": dg2, "size": 7, "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"},
                      "annotations": {"org.opencontainers.image.ref.name": "latest"}}]}
put("fuzz_manifest", "oci-index", b"\x02" + J(idx).encode())
put("fuzz_manifest", "docker-list", b"\x04" + J(dict(idx, mediaType="application/vnd.docker.distribution.manifest.list.v2+json")).encode())
put("fuzz_manifest", "nulls", b"\x00" + b'{"schemaVersion":2,"mediaType":null,"config":{"mediaType":null,"digest":null,"size":null},"layers":[null,{"digest":null}],"manifests":[null,{"platform":null}]}')
put("fuzz_manifest", "huge-sizes", b"\x00" + b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"x","digest":"' + dg.encode() + b'","size":18446744073709551616},"layers":[{"mediaType":"x","digest":"' + dg.encode() + b'","size":-1},{"mediaType":"x","digest":"' + dg.encode() + b'","size":1e300}]}')
put("fuzz_manifest", "bad-digests", b"\x00" + J(dict(oci, config=dict(oci["config"], digest="sha256:../../etc/passwd"), layers=[dict(oci["layers"][0], digest="md5:abc")])).encode())
put("fuzz_manifest", "many-layers", b"\x00" + J(dict(oci, layers=[oci["layers"][0]] * 60)).encode())
put("fuzz_manifest", "deep", b"\x00" + ('{"schemaVersion":2,"layers":' + deep + "}").encode())
put("fuzz_manifest", "schema1", b"\x05" + b'{"schemaVersion":1,"name":"x","tag":"1","fsLayers":[{"blobSum":"' + dg.encode() + b'"}]}')

# ---- image configs
cfg = {"architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z", "author": "me",
       "config": {"User": "1000:1000", "WorkingDir": "/app", "StopSignal": "SIGTERM", "Entrypoint": ["/bin/sh", "-c"], "Cmd": ["echo hi"],
                  "Env": ["PATH=/usr/bin", "A=b"], "ExposedPorts": {"80/tcp": {}, "53/udp": {}}, "Volumes": {"/data": {}},
                  "Labels": {"maintainer": "x", "n": 1, "z": None}},
       "rootfs": {"type": "layers", "diff_ids": [dg, dg2]}, "history": [{"created_by": "x"}]}
put("fuzz_config", "config.json", J(cfg))
put("fuzz_config", "minimal.json", J({"rootfs": {"type": "layers", "diff_ids": []}}))
put("fuzz_config", "nulls.json", '{"architecture":null,"os":null,"config":{"User":null,"Entrypoint":null,"Cmd":[null],"Env":[null,"A=1"],"Labels":null,"ExposedPorts":null},"rootfs":{"diff_ids":[null]}}')
put("fuzz_config", "wrong-types.json", '{"architecture":1,"config":{"User":2,"Cmd":"sh","Env":{"a":"b"},"Labels":[1,2],"Volumes":["/x"]},"rootfs":{"diff_ids":"sha256:x"}}')
put("fuzz_config", "bad-diff-ids.json", J({"rootfs": {"type": "layers", "diff_ids": ["sha256:../../x", "sha256:" + "A" * 64, "sha512:" + "a" * 128, dg + "\n"]}}))
put("fuzz_config", "many-labels.json", J(dict(cfg, config={"Labels": {"l%d" % i: "v" for i in range(200)}})))
put("fuzz_config", "deep.json", '{"config":{"Labels":' + deepobj + "},\"rootfs\":{\"diff_ids\":[]}}")
put("fuzz_config", "not-object.json", "[]")

# ---- docker-archive manifest.json
M = lambda o: J(o)
put("fuzz_docker_load", "good.json", M([{"Config": "config.json", "RepoTags": ["localhost/x:1", "localhost/x:2"], "Layers": ["layer.tar"]}]))
put("fuzz_docker_load", "untagged.json", M([{"Config": "config.json", "Layers": ["layer.tar"]}]))
put("fuzz_docker_load", "escape-symlink.json", M([{"Config": "escape", "Layers": ["escape"]}]))
put("fuzz_docker_load", "escape-dotdot.json", M([{"Config": "../../../../etc/passwd", "RepoTags": ["a:b"], "Layers": ["/etc/passwd"]}]))
put("fuzz_docker_load", "escape-updir.json", M([{"Config": "sub/up/etc/passwd", "Layers": ["sub/up/sub/up/layer.tar"]}]))
put("fuzz_docker_load", "nulls.json", '[null,{"Config":null,"RepoTags":[null],"Layers":[null]}]')
put("fuzz_docker_load", "null-tag.json", '[{"Config":"config.json","RepoTags":[null,"x:1"],"Layers":["layer.tar"]}]')
put("fuzz_docker_load", "wrong-types.json", '[{"Config":1,"RepoTags":"x:1","Layers":"layer.tar"},"x",5]')
put("fuzz_docker_load", "layer-count.json", M([{"Config": "config.json", "RepoTags": ["x:1"], "Layers": ["layer.tar"] * 40}]))
put("fuzz_docker_load", "bad-tags.json", M([{"Config": "config.json", "RepoTags": ["UPPER:1", "a@sha256:zz", ":", "x:" + "t" * 300], "Layers": ["layer.tar"]}]))
put("fuzz_docker_load", "dir-as-file.json", M([{"Config": "sub", "Layers": ["."]}]))
put("fuzz_docker_load", "object.json", '{"Config":"config.json"}')
put("fuzz_docker_load", "deep.json", deep)

# ---- auth: challenges, header lines, token answers
put("fuzz_auth", "bearer", 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"')
put("fuzz_auth", "basic", 'Basic realm="Registry Realm"')
put("fuzz_auth", "escapes", 'Bearer realm="a\\"b\\\\",service=unquoted,scope="x, y",error="insufficient_scope",realm="second"')
put("fuzz_auth", "unterminated", 'Bearer realm="https://x/token,service="s')
put("fuzz_auth", "empty-values", 'bearer realm=,=,,,service="",=x,scope')
put("fuzz_auth", "headers", "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nWWW-Authenticate: Bearer realm=\"http://127.0.0.1:1/t\",service=\"s\"\r\nDocker-Content-Digest:  " + dg + " \r\nContent-Length: 99999999999999999999999\r\nLocation: /v2/x/blobs/uploads/1?_state=abc\r\n\r\n")
put("fuzz_auth", "redirect-headers", "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1/x\r\nContent-Length: -5\r\n\r\nHTTP/2 200\r\ncontent-type:\r\n:\r\nWWW-Authenticate:\r\n")
put("fuzz_auth", "token", J({"token": "abc.def.ghi", "expires_in": 300, "issued_at": "2024-01-01T00:00:00Z"}))
put("fuzz_auth", "access-token", J({"access_token": "abc", "token": None}))
put("fuzz_auth", "token-crlf", J({"token": "abc\r\nX-Injected: 1"}))
put("fuzz_auth", "token-types", '{"token":1,"access_token":["a"]}')
put("fuzz_auth", "base64", "dXNlcjpwYXNzd29yZA==")
put("fuzz_auth", "base64-bad", "dXNl*cjp=wYXN")
put("fuzz_auth", "deep", deep)

# ---- layer tars
def tar(entries, fmt=tarfile.GNU_FORMAT):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=fmt) as t:
        for e in entries:
            ti = tarfile.TarInfo(e["name"]); ti.mtime = 0
            ti.type = e.get("type", tarfile.REGTYPE); ti.mode = e.get("mode", 0o644)
            ti.linkname = e.get("link", ""); ti.uid = e.get("uid", 0); ti.gid = e.get("gid", 0)
            ti.devmajor = e.get("maj", 0); ti.devminor = e.get("min", 0)
            if "pax" in e: ti.pax_headers = e["pax"]
            data = e.get("data", b"")
            ti.size = len(data) if ti.type == tarfile.REGTYPE else 0
            t.addfile(ti, io.BytesIO(data) if ti.type == tarfile.REGTYPE else None)
    return b.getvalue()
D, S, L, C = tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.CHRTYPE
plain = tar([{"name": "etc", "type": D, "mode": 0o755}, {"name": "etc/hosts", "data": b"127.0.0.1 localhost\n"},
             {"name": "bin", "type": D}, {"name": "bin/sh", "data": b"\x7fELF", "mode": 0o4755, "uid": 1000}, {"name": "bin/ash", "type": L, "link": "bin/sh"},
             {"name": "lib", "type": S, "link": "usr/lib"}])
put("fuzz_unpack", "plain.tar", plain)
put("fuzz_unpack", "plain.tar.gz", gzip.compress(plain, mtime=0))
put("fuzz_unpack", "truncated.tar.gz", gzip.compress(plain, mtime=0)[:-40])
put("fuzz_unpack", "truncated.tar", plain[:700])
put("fuzz_unpack", "symlink-parent.tar", tar([{"name": "evil", "type": S, "link": "/"}, {"name": "evil/etc/berth-fuzz-escape", "data": b"x"},
                                              {"name": "up", "type": S, "link": "../../.."}, {"name": "up/berth-fuzz-escape", "data": b"x"}]))
put("fuzz_unpack", "symlink-chain.tar", tar([{"name": "a", "type": S, "link": "b"}, {"name": "b", "type": S, "link": "../c"}, {"name": "c", "type": S, "link": "/tmp"}, {"name": "a/x", "data": b"x"}]))
put("fuzz_unpack", "dotdot.tar", tar([{"name": "../escape", "data": b"x"}, {"name": "/abs/escape", "data": b"x"}, {"name": "a/../../escape", "data": b"x"}, {"name": "./ok", "data": b"x"}]))
put("fuzz_unpack", "hardlink-out.tar", tar([{"name": "pw", "type": L, "link": "/etc/passwd"}, {"name": "pw2", "type": L, "link": "../../etc/passwd"},
                                           {"name": "s", "type": S, "link": "/etc/passwd"}, {"name": "h", "type": L, "link": "s"}, {"name": "h", "data": b"overwrite"}]))
put("fuzz_unpack", "whiteouts.tar", tar([{"name": "d", "type": D}, {"name": "d/.wh..wh..opq"}, {"name": ".wh.gone"}, {"name": "d/.wh.x"}, {"name": ".wh..wh..opq"}, {"name": ".wh."}, {"name": "d/.wh.."}]))
put("fuzz_unpack", "devices.tar", tar([{"name": "null", "type": C, "maj": 1, "min": 3}, {"name": "sda", "type": tarfile.BLKTYPE, "maj": 8, "min": 0}, {"name": "fifo", "type": tarfile.FIFOTYPE}]))
put("fuzz_unpack", "replace.tar", tar([{"name": "x", "type": D}, {"name": "x", "data": b"file now"}, {"name": "y", "data": b"f"}, {"name": "y", "type": D}, {"name": "y/z", "type": S, "link": "y"}, {"name": "y/z/w", "data": b"x"}]))
put("fuzz_unpack", "pax.tar", tar([{"name": "p" * 200, "data": b"long", "pax": {"path": "q" * 300, "SCHILY.xattr.user.x": "v", "SCHILY.xattr.trusted.overlay.opaque": "y"}}], tarfile.PAX_FORMAT))
put("fuzz_unpack", "empty", b"")
put("fuzz_unpack", "zeros.tar", b"\0" * 1024)

# ---- virtq: header + guest RAM from 0
def vq(size_log2, feat, desc, avail, used, mem, mem_log2=0):
    return struct.pack("<BBBBIII", size_log2, feat, mem_log2, 0, desc, avail, used) + bytes(mem)
def mem_with(size, descs, heads, desc=0x0, avail=0x400, used=0x800, extra=()):
    m = bytearray(4096)
    for i, (a, l, f, n) in enumerate(descs):
        m[desc + 16 * i: desc + 16 * i + 16] = struct.pack("<QIHH", a, l, f, n)
    struct.pack_into("<HH", m, avail, 0, len(heads))
    for i, h in enumerate(heads):
        struct.pack_into("<H", m, avail + 4 + 2 * i, h)
    for off, b in extra:
        m[off:off + len(b)] = b
    return m
# a blk-like chain: header out, data in, status in
m = mem_with(8, [(0xc00, 16, 1, 1), (0xd00, 512, 3, 2), (0xf00, 1, 2, 0)], [0])
put("fuzz_virtq", "chain", vq(3, 0, 0, 0x400, 0x800, m))
# two chains, event idx
m = mem_with(8, [(0xc00, 8, 0, 0), (0xd00, 8, 2, 0)], [0, 1])
put("fuzz_virtq", "two-event-idx", vq(3, 1, 0, 0x400, 0x800, m))
# indirect table at 0xa00 with 2 entries
ind = struct.pack("<QIHH", 0xc00, 16, 1, 1) + struct.pack("<QIHH", 0xd00, 32, 2, 0)
m = mem_with(8, [(0xa00, 32, 4, 0)], [0], extra=[(0xa00, ind)])
put("fuzz_virtq", "indirect", vq(3, 2, 0, 0x400, 0x800, m))
# loop: 0 -> 1 -> 0
m = mem_with(4, [(0xc00, 8, 1, 1), (0xc00, 8, 1, 0)], [0])
put("fuzz_virtq", "loop", vq(2, 2, 0, 0x400, 0x800, m))
# nested indirect, and indirect + next
ind = struct.pack("<QIHH", 0xa00, 16, 4, 0)
m = mem_with(4, [(0xa00, 16, 4, 0), (0xa00, 16, 5, 0)], [0, 1], extra=[(0xa00, ind)])
put("fuzz_virtq", "nested-indirect", vq(2, 3, 0, 0x400, 0x800, m))
# avail idx jump, head out of range, buffer beyond memory, zero length, write-then-read
m = mem_with(4, [(0xfffffff0, 64, 0, 0), (0xc00, 0, 0, 0), (0xc00, 8, 3, 3), (0xc00, 8, 0, 0)], [9, 0, 1, 2])
struct.pack_into("<H", m, 0x402, 0xffff)
put("fuzz_virtq", "hostile", vq(2, 0, 0, 0x400, 0x800, m))
put("fuzz_virtq", "rings-outside", vq(8, 3, 0xfff0, 0xffffffff, 0xfffffffc, bytes(64)))
put("fuzz_virtq", "max-size", vq(8, 3, 0, 0x1000, 0x2000, bytes(16), mem_log2=4))

# ---- virtio-blk over virtio-mmio: 5-byte register ops, 0xff, guest RAM
def op(off, val, read=False):
    return bytes([(off // 4) | (0x80 if read else 0)]) + struct.pack("<I", val & 0xffffffff)
def bring_up(feat_hi=1, feat_lo=0, qnum=8):
    return (op(0x70, 0) + op(0x70, 1) + op(0x70, 3) + op(0x10, 0, True) + op(0x24, 0) + op(0x20, feat_lo) +
            op(0x24, 1) + op(0x20, feat_hi) + op(0x70, 0xb) + op(0x30, 0) + op(0x34, 0, True) + op(0x38, qnum) +
            op(0x80, 0x0) + op(0x84, 0) + op(0x90, 0x100) + op(0xa0, 0x200) + op(0x44, 1) + op(0x70, 0xf))
def blk_mem(descs, hdr, extra=()):
    m = bytearray(0x800)
    for i, (a, l, f, n) in enumerate(descs):
        m[16 * i:16 * i + 16] = struct.pack("<QIHH", a, l, f, n)
    struct.pack_into("<HHH", m, 0x100, 0, 1, 0)
    m[0x300:0x300 + len(hdr)] = hdr
    for off, b in extra:
        m[off:off + len(b)] = b
    return bytes(m)
rw = [(0x300, 16, 1, 1), (0x400, 512, 3, 2), (0x600, 1, 2, 0)]
kick = op(0x50, 0) + op(0x60, 0, True) + op(0x64, 1) + op(0x100, 0x40000000, True)
put("fuzz_virtio_blk", "read", bring_up() + kick + b"\xff" + blk_mem(rw, struct.pack("<IIQ", 0, 0, 1)))
wr = [(0x300, 16, 1, 1), (0x400, 512, 1, 2), (0x600, 1, 2, 0)]
put("fuzz_virtio_blk", "write", bring_up() + kick + b"\xff" + blk_mem(wr, struct.pack("<IIQ", 1, 0, 127)))
put("fuzz_virtio_blk", "write-past-end", bring_up() + kick + b"\xff" + blk_mem(wr, struct.pack("<IIQ", 1, 0, 0xffffffffffffffff)))
put("fuzz_virtio_blk", "flush", bring_up() + kick + b"\xff" + blk_mem([(0x300, 16, 1, 1), (0x600, 1, 2, 0)], struct.pack("<IIQ", 4, 0, 0)))
put("fuzz_virtio_blk", "get-id", bring_up() + kick + b"\xff" + blk_mem([(0x300, 16, 1, 1), (0x400, 20, 3, 2), (0x600, 1, 2, 0)], struct.pack("<IIQ", 8, 0, 0)))
# discard / write zeroes: ranges {sector u64, num_sectors u32, flags u32}
rng = struct.pack("<QII", 2, 4, 0) + struct.pack("<QII", 0xfffffffffffffff0, 0xffffffff, 1)
dz = [(0x300, 16, 1, 1), (0x400, 16, 1, 2), (0x600, 1, 2, 0)]
put("fuzz_virtio_blk", "discard", bring_up(feat_lo=(1 << 13) | (1 << 14)) + kick + b"\xff" + blk_mem(dz, struct.pack("<IIQ", 11, 0, 0), [(0x400, rng)]))
put("fuzz_virtio_blk", "discard-overflow", bring_up(feat_lo=(1 << 13) | (1 << 14)) + kick + b"\xff" + blk_mem(dz, struct.pack("<IIQ", 11, 0, 0), [(0x400, rng[16:])]))
put("fuzz_virtio_blk", "write-zeroes", bring_up(feat_lo=(1 << 13) | (1 << 14)) + kick + b"\xff" + blk_mem(dz, struct.pack("<IIQ", 13, 0, 0), [(0x400, rng)]))
put("fuzz_virtio_blk", "short-header", bring_up() + kick + b"\xff" + blk_mem([(0x300, 4, 1, 1), (0x600, 1, 2, 0)], b"\0\0\0\0"))
put("fuzz_virtio_blk", "no-status", bring_up() + kick + b"\xff" + blk_mem([(0x300, 16, 1, 0)], struct.pack("<IIQ", 0, 0, 0)))
put("fuzz_virtio_blk", "indirect", bring_up(feat_lo=1 << 28) + kick + b"\xff" + blk_mem([(0x700, 48, 4, 0)], struct.pack("<IIQ", 0, 0, 0),
    [(0x700, struct.pack("<QIHH", 0x300, 16, 1, 1) + struct.pack("<QIHH", 0x400, 512, 3, 2) + struct.pack("<QIHH", 0x600, 1, 2, 0))]))
put("fuzz_virtio_blk", "reset-midway", bring_up() + op(0x70, 0) + kick + op(0x44, 0) + op(0x38, 3) + op(0x44, 1) + kick + b"\xff" + blk_mem(rw, struct.pack("<IIQ", 0, 0, 1)))
put("fuzz_virtio_blk", "no-features-ok", op(0x70, 1) + op(0x70, 3) + op(0x70, 0xf) + op(0x38, 8) + op(0x44, 1) + kick + b"\xff" + blk_mem(rw, struct.pack("<IIQ", 0, 0, 1)))

# ---- resolv: mode byte (1 --dns, 2 --dns-search, 4 --dns-option, 8 internal DNS,
# 0x10 search ".", 0x20 host network, 0x40 a host gateway), then the host's resolv.conf
stub = "# resolved\nnameserver 127.0.0.53\noptions edns0 trust-ad\nsearch lan\n"
put("fuzz_resolv", "stub", b"\0" + stub.encode())
put("fuzz_resolv", "mixed", b"\0nameserver 127.0.0.1\nnameserver 192.0.2.53\nnameserver ::1\n  nameserver\t127.1.2.3  \nnameserver 2001:db8::53\nsearch a b")
put("fuzz_resolv", "build", b"\x07nameserver 127.0.0.53 # c\nnameserver ::ffff:127.0.0.1\nsearch x y\noptions a\noptions b\n")
put("fuzz_resolv", "internal", b"\x1anameserver 192.0.2.53\nsearch lan\n")
put("fuzz_resolv", "host-net", b"\x24" + stub.encode())
put("fuzz_resolv", "add-host", b"\x40h:::1\nnameserver 10.0.0.1\n")
put("fuzz_resolv", "add-host-gw", b"\x40gw=host-gateway\n")
put("fuzz_resolv", "add-host-brackets", b"\0h=[2001:db8::1]\n")
put("fuzz_resolv", "junk", b"\0nameserver\nnameserver \nnameserver 1.2.3.4.5\n\r\n;;;\n#\nnameserver " + b"9" * 300 + b"\n" + b"x" * 5000)
put("fuzz_resolv", "ipv6", b"\x80nameserver ::1\nnameserver 2001:db8::53\nnameserver ::ffff:127.0.0.1\nnameserver ::ffff:192.0.2.1\n")
