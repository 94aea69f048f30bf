"""Hostile image archives: `berth load` / `berth import` of archives built to
crash, hang or fool berth. Each case checks the exit (non-zero, no signal),
a one-line error naming the thing, and that the store is unchanged."""
import hashlib
import io
import json
import os
import signal
import tarfile

import pytest

from image_helpers import StoreBerth, tmp  # noqa: F401

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"


class Berth(StoreBerth):
    timeout = 120

    def snapshot(self):
        """Everything the store holds: blob, layer and tmp names, and the index."""
        s = self.store()
        names = {d: sorted(p.name for p in (s / d).iterdir()) if (s / d).exists() else []
                 for d in ("blobs/sha256", "layers", "tmp")}
        idx = (s / "index.json").read_text() if (s / "index.json").exists() else ""
        return names, json.loads(idx or "null")

    def names(self):
        """Every name in the store, short ("a:1" for docker.io/library/a:1)."""
        ims = json.loads(self("images", "--format", "json").stdout)
        return sorted(n.removeprefix("docker.io/library/") for im in ims for n in im["Names"])

    def count(self):
        return len(json.loads(self("images", "--format", "json").stdout))


@pytest.fixture
def berth(tmp):
    b = Berth(tmp / "root")
    b("images")  # creates the store
    return b


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def tar_bytes(files):
    """An uncompressed tar of {name: bytes}."""
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mode = 0o644
            t.addfile(ti, io.BytesIO(data))
    return bio.getvalue()


def config_for(diff_ids):
    return json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                       "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()


def write_archive(path, members):
    """A tar of members: name -> bytes, or a TarInfo (a FIFO, a device, a
    symlink) with no data."""
    with tarfile.open(path, "w") as t:
        for name, m in members.items():
            if isinstance(m, tarfile.TarInfo):
                m.name = name
                t.addfile(m)
            else:
                ti = tarfile.TarInfo(name)
                ti.size = len(m)
                ti.mode = 0o644
                t.addfile(ti, io.BytesIO(m))
    return path


def special(kind, target=None):
    ti = tarfile.TarInfo()
    ti.type = kind
    ti.mode = 0o644
    if target:
        ti.linkname = target
    if kind == tarfile.CHRTYPE:
        ti.devmajor, ti.devminor = 1, 5  # /dev/zero
    return ti


def docker_members(images, layers=None):
    """A docker-archive: images is a list of manifest.json entries; layers a
    dict of name -> tar bytes; each image gets config c<i>.json made from
    its layers."""
    layers = layers or {}
    members = dict(layers)
    manifest = []
    for i, im in enumerate(images):
        cfg = config_for([sha(layers[n]) for n in im.get("Layers", []) if n in layers])
        members.setdefault(f"c{i}.json", cfg)
        manifest.append({"Config": f"c{i}.json", **im})
    members["manifest.json"] = json.dumps(manifest).encode()
    return members


def oci_members(manifest_entries, blobs):
    members = {"oci-layout": b'{"imageLayoutVersion":"1.0.0"}',
               "index.json": json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX,
                                         "manifests": manifest_entries}).encode()}
    for data in blobs:
        members["blobs/sha256/" + sha(data)[7:]] = data
    return members


def desc(mt, data, **extra):
    return {"mediaType": mt, "digest": sha(data), "size": len(data), **extra}


def one_oci_image(layers):
    """(manifest bytes, blobs) of an OCI image of the given layer tars."""
    cfg = config_for([sha(la) for la in layers])
    man = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                      "config": desc(OCI_CONFIG, cfg),
                      "layers": [desc(OCI_LAYER, la) for la in layers]}).encode()
    return man, [cfg, man, *layers]


def assert_fails(r, *words):
    """Non-zero exit, not a signal, one line of stderr containing words."""
    assert r.returncode > 0 and r.returncode < 128, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("berth: ") and len(lines[0]) > 10, r.stderr
    for w in words:
        assert w in lines[0], (w, r.stderr)
    return lines[0]


def load_fails(berth, archive, *words, timeout=60):
    before = berth.snapshot()
    r = berth("load", "-i", archive, check=False, timeout=timeout)
    msg = assert_fails(r, *words)
    assert berth.snapshot() == before, msg
    c = berth("system", "check", check=False)
    assert c.returncode == 0 and "problem:" not in c.stdout, c.stdout
    return msg


LAYER = tar_bytes({"hello": b"hi\n"})


# ---- 1: no stack array sized by the archive; a layer cap ----

def oci_with_n_layers(tmp, n):
    cfg = config_for([sha(LAYER)] * n)
    layer = json.dumps(desc(OCI_LAYER, LAYER))
    man = ('{"schemaVersion":2,"mediaType":"%s","config":%s,"layers":[%s]}'
           % (OCI_MANIFEST, json.dumps(desc(OCI_CONFIG, cfg)), ",".join([layer] * n))).encode()
    return write_archive(tmp / "many.tar", oci_members([desc(OCI_MANIFEST, man)], [cfg, man, LAYER]))


def test_oci_manifest_with_128_layers_names_the_cap(berth, tmp):
    load_fails(berth, oci_with_n_layers(tmp, 128), "128 layers", "limit of 127")


def test_oci_manifest_with_a_million_layers_fails_cleanly(berth, tmp):
    # the case: 1.1 million layers once overflowed a stack array (SIGSEGV)
    load_fails(berth, oci_with_n_layers(tmp, 1_100_000), "limit")


def test_docker_archive_with_128_layers_names_the_cap(berth, tmp):
    m = docker_members([{"RepoTags": ["a:1"], "Layers": ["l.tar"] * 128}], {"l.tar": LAYER})
    load_fails(berth, write_archive(tmp / "d.tar", m), "Layers", "limit of 127")


def test_127_layers_still_load(berth, tmp):
    m = docker_members([{"RepoTags": ["a:1"], "Layers": ["l.tar"] * 127}], {"l.tar": LAYER})
    r = berth("load", "-i", write_archive(tmp / "d.tar", m))
    assert r.stdout == "Loaded image: a:1\n"


# ---- 2: RepoTags; a load is all or nothing ----

@pytest.mark.parametrize("tags,words", [
    ([None], ["RepoTags[0]", "not a string"]),
    (["a:1", None], ["RepoTags[1]", "not a string"]),
    (["a:1", "Bad::ref"], ["RepoTags[1]", "Bad::ref"]),
    ("a:1", ["RepoTags", "not an array"]),
])
def test_bad_repotags_load_nothing(berth, tmp, tags, words):
    m = docker_members([{"RepoTags": tags, "Layers": ["l.tar"]}], {"l.tar": LAYER})
    load_fails(berth, write_archive(tmp / "d.tar", m), *words)
    assert berth.count() == 0


def test_second_image_broken_first_not_loaded(berth, tmp):
    # image 0 is fine, image 1 names a layer the archive lacks
    m = docker_members([{"RepoTags": ["a:1"], "Layers": ["l.tar"]},
                        {"RepoTags": ["b:1"], "Layers": ["missing.tar"]}], {"l.tar": LAYER})
    load_fails(berth, write_archive(tmp / "d.tar", m), "missing.tar")
    assert berth.count() == 0


def test_non_string_layer_and_config(berth, tmp):
    m = docker_members([{"RepoTags": ["a:1"], "Layers": [None]}], {})
    load_fails(berth, write_archive(tmp / "d.tar", m), "Layers[0]", "not a string")
    m = {"manifest.json": json.dumps([{"Config": 5, "Layers": []}]).encode()}
    load_fails(berth, write_archive(tmp / "c.tar", m), "Config")


def test_good_multi_image_archive_loads_every_tag(berth, tmp):
    other = tar_bytes({"other": b"x"})
    m = docker_members([{"RepoTags": ["a:1", "a:2"], "Layers": ["l.tar"]},
                        {"RepoTags": ["b:1"], "Layers": ["l.tar", "o.tar"]}],
                       {"l.tar": LAYER, "o.tar": other})
    r = berth("load", "-i", write_archive(tmp / "d.tar", m))
    assert r.stdout == "Loaded image: a:1\nLoaded image: a:2\nLoaded image: b:1\n"
    assert berth.names() == ["a:1", "a:2", "b:1"]
    assert berth.count() == 2
    c = berth("system", "check")
    assert "problem:" not in c.stdout and "garbage:" not in c.stdout, c.stdout


# ---- 3: top-level files resolve inside the archive ----

def test_manifest_json_symlink_to_host_file(berth, tmp):
    # the host file describes an image made of files the archive holds
    m = docker_members([{"RepoTags": ["evil:1"], "Layers": ["l.tar"]}], {"l.tar": LAYER})
    host = tmp / "host-manifest.json"
    host.write_bytes(m.pop("manifest.json"))
    m["manifest.json"] = special(tarfile.SYMTYPE, str(host))
    load_fails(berth, write_archive(tmp / "d.tar", m), "manifest.json", str(host),
               "not in the archive")
    assert berth.count() == 0


def test_manifest_json_symlink_to_dev_zero(berth, tmp):
    m = {"manifest.json": special(tarfile.SYMTYPE, "/dev/zero")}
    load_fails(berth, write_archive(tmp / "d.tar", m), "manifest.json", "/dev/zero")


def test_symlinks_inside_the_archive_still_work(berth, tmp):
    # docker save links a layer shared by two images: ../<id>/layer.tar
    m = docker_members([{"RepoTags": ["a:1"], "Layers": ["x/layer.tar"]},
                        {"RepoTags": ["b:1"], "Layers": ["y/layer.tar"]}],
                       {"x/layer.tar": LAYER, "y/layer.tar": LAYER})
    m["y/layer.tar"] = special(tarfile.SYMTYPE, "../x/layer.tar")
    m["manifest.json"], m["real.json"] = special(tarfile.SYMTYPE, "/real.json"), m["manifest.json"]
    r = berth("load", "-i", write_archive(tmp / "d.tar", m))
    assert r.stdout == "Loaded image: a:1\nLoaded image: b:1\n"


def test_index_json_symlink_out_of_a_layout_dir(berth, tmp):
    man, blobs = one_oci_image([LAYER])
    lay = tmp / "layout"
    for name, data in oci_members([desc(OCI_MANIFEST, man, annotations={
            "io.containerd.image.name": "docker.io/library/evil:1"})], blobs).items():
        (lay / name).parent.mkdir(parents=True, exist_ok=True)
        (lay / name).write_bytes(data)
    (tmp / "index.json").write_bytes((lay / "index.json").read_bytes())
    (lay / "index.json").unlink()
    (lay / "index.json").symlink_to(tmp / "index.json")
    load_fails(berth, lay, "index.json")
    (lay / "index.json").unlink()
    (lay / "index.json").symlink_to("/dev/zero")
    load_fails(berth, lay, "index.json")


def test_oversized_manifest_json(berth, tmp):
    m = {"manifest.json": b" " * (16 << 20) + b"[]"}
    load_fails(berth, write_archive(tmp / "d.tar", m), "manifest.json", "limit")


# ---- 4: FIFOs and devices ----

@pytest.mark.parametrize("member", ["manifest.json", "c0.json", "l.tar"])
@pytest.mark.parametrize("kind", [tarfile.FIFOTYPE, tarfile.CHRTYPE])
def test_fifo_or_device_in_archive(berth, tmp, member, kind):
    m = docker_members([{"RepoTags": ["a:1"], "Layers": ["l.tar"]}], {"l.tar": LAYER})
    m[member] = special(kind)
    load_fails(berth, write_archive(tmp / "d.tar", m), member, "not a regular file", timeout=30)


@pytest.mark.parametrize("member", ["manifest.json", "c0.json", "l.tar"])
def test_fifo_in_layout_directory(berth, tmp, member):
    d = tmp / "dir"
    d.mkdir()
    m = docker_members([{"RepoTags": ["a:1"], "Layers": ["l.tar"]}], {"l.tar": LAYER})
    for name, data in m.items():
        (d / name).write_bytes(data)
    (d / member).unlink()
    os.mkfifo(d / member)
    load_fails(berth, d, member, "not a regular file", timeout=30)


# ---- 5: index nesting ----

def nested_index(tmp, depth):
    man, blobs = one_oci_image([LAYER])
    top = desc(OCI_MANIFEST, man, platform={"os": "linux", "architecture": "amd64"})
    for _ in range(depth):
        idx = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [top]}).encode()
        blobs.append(idx)
        top = desc(OCI_INDEX, idx, platform={"os": "linux", "architecture": "amd64"})
    return write_archive(tmp / f"nest{depth}.tar", oci_members([top], blobs))


def test_index_nested_too_deep_names_the_limit(berth, tmp):
    load_fails(berth, nested_index(tmp, 6), "nested deeper than 4")


def test_index_nested_four_deep_loads(berth, tmp):
    r = berth("load", "-i", nested_index(tmp, 4))
    assert r.stdout.startswith("Loaded image ID: sha256:"), r.stdout
    c = berth("system", "check")
    assert "problem:" not in c.stdout and "garbage:" not in c.stdout, c.stdout


# ---- 6: empty inputs ----

def test_import_empty_file(berth, tmp):
    (tmp / "empty.tar").write_bytes(b"")
    before = berth.snapshot()
    r = berth("import", tmp / "empty.tar", "x:1", check=False)
    assert_fails(r, "empty.tar", "empty, not a tar archive")
    assert berth.snapshot() == before
    r = berth("import", "-", "x:1", check=False, input="")
    assert_fails(r, "stdin", "empty, not a tar archive")
    assert berth.snapshot() == before


def test_import_under_a_digest_reference_is_refused(berth, tmp):
    (tmp / "one.tar").write_bytes(tar_bytes({"f": b"x"}))
    before = berth.snapshot()
    for ref in ("x@sha256:" + "a" * 64, "x:1@sha256:" + "a" * 64):
        r = berth("import", tmp / "one.tar", ref, check=False)
        assert_fails(r, "a name needs a tag here")
        assert berth.snapshot() == before


@pytest.mark.parametrize("layer", [b"", tar_bytes({})], ids=["zero-bytes", "empty-tar"])
def test_empty_layer_loads_as_docker_does(berth, tmp, layer):
    # docker and podman (Go's archive/tar) read a zero-byte layer as an empty one
    m = docker_members([{"RepoTags": ["e:1"], "Layers": ["l.tar", "e.tar"]}],
                       {"l.tar": LAYER, "e.tar": layer})
    r = berth("load", "-i", write_archive(tmp / "d.tar", m))
    assert r.stdout == "Loaded image: e:1\n"
    # unpacked under its diffID (sha256 of the bytes, as docker computes it)
    assert (berth.store() / "layers" / sha(layer)[7:]).is_dir()
    assert list((berth.store() / "layers" / sha(layer)[7:]).iterdir()) == []
    c = berth("system", "check")
    assert "problem:" not in c.stdout, c.stdout


def test_empty_docker_manifest(berth, tmp):
    load_fails(berth, write_archive(tmp / "d.tar", {"manifest.json": b"[]"}), "no images")


def test_empty_oci_index(berth, tmp):
    load_fails(berth, write_archive(tmp / "o.tar", oci_members([], [])), "no manifests")


# ---- 7: failures leave nothing; check and prune ----

def test_failed_import_removes_its_blobs(berth, tmp):
    (tmp / "junk").write_bytes(os.urandom(4096))
    before = berth.snapshot()
    r = berth("import", tmp / "junk", "j:1", check=False)
    assert_fails(r, "junk")
    assert berth.snapshot() == before


def test_failed_load_keeps_blobs_other_images_use(berth, tmp):
    m = docker_members([{"RepoTags": ["a:1"], "Layers": ["l.tar"]}], {"l.tar": LAYER})
    berth("load", "-i", write_archive(tmp / "good.tar", m))
    # shares l.tar and its config with a:1, then fails on a diffID mismatch
    bad = docker_members([{"RepoTags": ["b:1"], "Layers": ["l.tar", "o.tar"]}],
                         {"l.tar": LAYER, "o.tar": tar_bytes({"o": b"1"})})
    bad["c0.json"] = config_for([sha(LAYER), sha(b"not this layer")])
    load_fails(berth, write_archive(tmp / "bad.tar", bad), "diffID")
    assert berth.names() == ["a:1"] and berth.count() == 1
    berth("save", "-o", tmp / "again.tar", "a:1")  # every blob of a:1 is still there


def test_check_reports_unreferenced_blob_and_prune_removes_leftovers(berth, tmp):
    m = docker_members([{"RepoTags": ["a:1"], "Layers": ["l.tar"]}], {"l.tar": LAYER})
    berth("load", "-i", write_archive(tmp / "good.tar", m))
    stray = b"left by a crashed command"
    (berth.store() / "blobs/sha256" / sha(stray)[7:]).write_bytes(stray)
    c = berth("system", "check", check=False)
    # garbage, listed; the store is still consistent (a kill -9 may leave this)
    assert c.returncode == 0 and "store is consistent" in c.stdout, c.stdout
    assert f"garbage: blob {sha(stray)}: not referenced by any image" in c.stdout, c.stdout
    c = berth("system", "check", "--repair")
    assert f"removed unreferenced blob {sha(stray)}" in c.stdout, c.stdout
    c = berth("system", "check")
    assert "problem:" not in c.stdout and "garbage:" not in c.stdout, c.stdout
    # prune: what tmp/ holds, unreferenced layers; the image stays
    (berth.store() / "tmp" / "load-999999").mkdir()
    (berth.store() / "layers" / ("ab" * 32)).mkdir()
    r = berth("system", "prune")
    assert "removed tmp/load-999999" in r.stdout, r.stdout
    assert not (berth.store() / "layers" / ("ab" * 32)).exists()
    assert not (berth.store() / "tmp" / "load-999999").exists()
    c = berth("system", "check")
    assert "problem:" not in c.stdout and "garbage:" not in c.stdout, c.stdout
    assert berth.names() == ["a:1"] and berth.count() == 1


def test_no_signal_on_any_hostile_case_summary(berth, tmp):
    """A docker-archive whose manifest.json is not JSON at all."""
    r = berth("load", "-i", write_archive(tmp / "d.tar", {"manifest.json": b"\x00\xff"}), check=False)
    assert_fails(r, "manifest.json")
    assert r.returncode != -signal.SIGSEGV
