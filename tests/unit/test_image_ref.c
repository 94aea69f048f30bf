/* References, digests, manifests, image configs, auth helpers. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "image/config.h"
#include "image/digest.h"
#include "image/manifest.h"
#include "image/reference.h"
#include "registry/registry.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/xalloc.h"

#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void expect_ref(const char *in, const char *want)
{
	img_ref r;
	berr e = {0};
	if (ref_parse(in, NULL, &r, &e) < 0) {
		fprintf(stderr, "parse %s failed: %s\n", in, e.msg);
		check_failures++;
		return;
	}
	char *s = ref_string(&r);
	if (strcmp(s, want)) {
		fprintf(stderr, "ref %s -> %s, want %s\n", in, s, want);
		check_failures++;
	}
	free(s);
	ref_free(&r);
}

static void test_ref_valid(void)
{
	int before = check_failures;
	expect_ref("debian", "docker.io/library/debian:latest");
	expect_ref("debian:12", "docker.io/library/debian:12");
	expect_ref("library/debian:12", "docker.io/library/debian:12");
	expect_ref("docker.io/debian", "docker.io/library/debian:latest");
	expect_ref("index.docker.io/library/debian", "docker.io/library/debian:latest");
	expect_ref("user/app:v1.2-rc_3", "docker.io/user/app:v1.2-rc_3");
	expect_ref("quay.io/a/b/c:tag", "quay.io/a/b/c:tag");
	expect_ref("localhost/x", "localhost/x:latest");
	expect_ref("localhost:5000/x/y@sha256:" H64, "localhost:5000/x/y@sha256:" H64);
	expect_ref("host.example/ns/name:tag@sha256:" H64, "host.example/ns/name:tag@sha256:" H64);
	expect_ref("127.0.0.1:5000/a__b/c-d.e:1", "127.0.0.1:5000/a__b/c-d.e:1");
	expect_ref("[::1]:5000/x", "[::1]:5000/x:latest");
	expect_ref("Example.COM/x", "Example.COM/x:latest");
	expect_ref("a---b/c", "docker.io/a---b/c:latest");
	CHECK(check_failures == before);
}

static void expect_bad(const char *in, const char *why)
{
	img_ref r;
	berr e = {0};
	if (ref_parse(in, NULL, &r, &e) == 0) {
		fprintf(stderr, "parse %s should fail\n", in);
		check_failures++;
		ref_free(&r);
		return;
	}
	if (!strstr(e.msg, why)) {
		fprintf(stderr, "parse %s: \"%s\" lacks \"%s\"\n", in, e.msg, why);
		check_failures++;
	}
}

static void test_ref_invalid(void)
{
	int before = check_failures;
	expect_bad("Foo:bar", "invalid reference \"Foo:bar\": repository name must be lowercase");
	expect_bad("", "empty");
	expect_bad("debian:", "invalid tag");
	expect_bad("debian:-x", "invalid tag");
	expect_bad("debian@sha256:abc", "invalid digest");
	expect_bad("debian@md5:" H64, "invalid digest");
	expect_bad("-debian", "invalid repository name");
	expect_bad("deb..ian", "invalid repository name");
	expect_bad("debian_", "invalid repository name");
	expect_bad("a//b", "invalid repository name");
	expect_bad("host:port/x", "invalid registry host");
	expect_bad("-bad.host/x", "invalid registry host");
	expect_bad("localhost:5000/", "empty repository name");
	expect_bad("localhost/Upper", "must be lowercase");
	char longname[300];
	memset(longname, 'a', 270);
	longname[270] = '\0';
	expect_bad(longname, "255 characters");
	CHECK(check_failures == before);
	CHECK(ref_tag_valid("_x.Y-1"));
	CHECK(!ref_tag_valid(".x"));
}

static void test_ref_familiar(void)
{
	_cleanup_free_ char *a = ref_familiar("docker.io/library/debian:12");
	_cleanup_free_ char *b = ref_familiar("docker.io/user/x:1");
	_cleanup_free_ char *c = ref_familiar("quay.io/a/b:1");
	CHECK_STREQ(a, "debian:12");
	CHECK_STREQ(b, "user/x:1");
	CHECK_STREQ(c, "quay.io/a/b:1");
	img_ref r;
	berr e;
	CHECK(ref_parse("debian", "myreg.local:5000", &r, &e) == 0);
	_cleanup_free_ char *s = ref_string(&r);
	CHECK_STREQ(s, "myreg.local:5000/debian:latest");
	ref_free(&r);
}

static void test_digest(void)
{
	dg_str d = dg_of_buf("abc", 3);
	CHECK_STREQ(d.s, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	dg_hasher *h = dg_new();
	dg_update(h, "a", 1);
	dg_update(h, "bc", 2);
	dg_str d2 = dg_final(h);
	CHECK(dg_count(h) == 3);
	dg_free(h);
	CHECK_STREQ(d2.s, d.s);
	berr e;
	CHECK(dg_validate(d.s, &e) == 0);
	CHECK(dg_validate("sha256:" H64 "0", &e) < 0);
	CHECK_CONTAINS(e.msg, "want 64 hex digits");
	CHECK(dg_validate("sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
			  &e) < 0);
	CHECK_CONTAINS(e.msg, "lowercase");
	CHECK(dg_validate("sha512:" H64, &e) < 0);
	CHECK(dg_validate("nocolon", &e) < 0);
	CHECK_STREQ(dg_hex(d.s),
		    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static const char *oci_index =
    "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
    "\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
    "\"digest\":\"sha256:1111111111111111111111111111111111111111111111111111111111111111\","
    "\"size\":10,\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\"}},"
    "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
    "\"digest\":\"sha256:2222222222222222222222222222222222222222222222222222222222222222\","
    "\"size\":11,\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"},"
    "\"annotations\":{\"org.opencontainers.image.ref.name\":\"v1\"}}]}";

static void test_manifest_index(void)
{
	img_manifest m;
	berr e;
	CHECK(manifest_parse(oci_index, strlen(oci_index), NULL, &m, &e) == 0);
	CHECK(m.is_index);
	CHECK(m.n_manifests == 2);
	int k = manifest_pick(&m, NULL, NULL, &e);
	CHECK(k == 1);
	CHECK_STREQ(m.manifests[1].ref_name, "v1");
	CHECK(manifest_pick(&m, "linux", "s390x", &e) < 0);
	CHECK_CONTAINS(e.msg, "linux/s390x");
	manifest_free(&m);
}

static void test_manifest_docker(void)
{
	const char *doc =
	    "{\"schemaVersion\":2,\"mediaType\":\"application/"
	    "vnd.docker.distribution.manifest.v2+json\","
	    "\"config\":{\"mediaType\":\"application/"
	    "vnd.docker.container.image.v1+json\",\"size\":7,"
	    "\"digest\":\"sha256:" H64 "\"},\"layers\":[{\"mediaType\":"
	    "\"application/"
	    "vnd.docker.image.rootfs.diff.tar.gzip\",\"size\":5,\"digest\":\"sha256:" H64 "\"}]}";
	img_manifest m;
	berr e;
	CHECK(manifest_parse(doc, strlen(doc), NULL, &m, &e) == 0);
	CHECK(!m.is_index);
	CHECK(m.n_layers == 1 && m.layers[0].size == 5 && m.config.size == 7);
	CHECK(mt_layer_compression(m.layers[0].media_type) == 1);
	manifest_free(&m);
	/* a manifest list by Content-Type without mediaType in the body */
	const char *list = "{\"schemaVersion\":2,\"manifests\":[]}";
	CHECK(manifest_parse(list, strlen(list), MT_DOCKER_LIST, &m, &e) == 0);
	CHECK(m.is_index);
	manifest_free(&m);
	const char *bad = "{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_MANIFEST "\","
			  "\"config\":{\"digest\":\"sha256:xyz\",\"size\":1},\"layers\":[]}";
	CHECK(manifest_parse(bad, strlen(bad), NULL, &m, &e) < 0);
	CHECK_CONTAINS(e.msg, "config.digest");
	const char *badmt =
	    "{\"schemaVersion\":2,\"mediaType\":\"" MT_OCI_MANIFEST "\","
	    "\"config\":{\"digest\":\"sha256:" H64 "\",\"size\":1},\"layers\":"
	    "[{\"mediaType\":\"text/plain\",\"digest\":\"sha256:" H64 "\",\"size\":1}]}";
	CHECK(manifest_parse(badmt, strlen(badmt), NULL, &m, &e) < 0);
	CHECK_CONTAINS(e.msg, "unsupported media type");
	CHECK(manifest_parse("{", 1, NULL, &m, &e) < 0);
	CHECK_CONTAINS(e.msg, "invalid JSON");
	CHECK(manifest_parse("{\"schemaVersion\":1}", 19, NULL, &m, &e) < 0);
	CHECK_CONTAINS(e.msg, "schemaVersion 1");
}

static void test_manifest_build_roundtrip(void)
{
	img_desc c = {.media_type = (char *)MT_OCI_CONFIG, .size = 3};
	img_desc l = {.media_type = (char *)MT_OCI_LAYER_GZIP, .size = 9};
	strcpy(c.digest.s, "sha256:" H64);
	strcpy(l.digest.s, "sha256:" H64);
	_cleanup_free_ char *s = manifest_build_oci(&c, &l, 1);
	img_manifest m;
	berr e;
	CHECK(manifest_parse(s, strlen(s), NULL, &m, &e) == 0);
	CHECK_STREQ(m.media_type, MT_OCI_MANIFEST);
	CHECK(m.n_layers == 1 && m.layers[0].size == 9);
	manifest_free(&m);
}

static void test_config(void)
{
	const char *doc =
	    "{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"2024-01-02T03:04:05Z\","
	    "\"config\":{\"User\":\"1000:1000\",\"WorkingDir\":\"/app\",\"StopSignal\":\"SIGINT\","
	    "\"Entrypoint\":[\"/bin/sh\",\"-c\"],\"Cmd\":[\"echo "
	    "hi\"],\"Env\":[\"A=1\",\"PATH=/bin\"],"
	    "\"ExposedPorts\":{\"80/tcp\":{}},\"Volumes\":{\"/data\":{}},"
	    "\"Labels\":{\"org.x\":\"y\"}},"
	    "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:" H64 "\"]}}";
	img_config c;
	berr e;
	CHECK(config_parse(doc, strlen(doc), &c, &e) == 0);
	CHECK_STREQ(c.user, "1000:1000");
	CHECK_STREQ(c.working_dir, "/app");
	CHECK_STREQ(c.stop_signal, "SIGINT");
	CHECK_STREQ(c.entrypoint[1], "-c");
	CHECK_STREQ(c.cmd[0], "echo hi");
	CHECK(strv_len(c.env) == 2);
	CHECK_STREQ(c.exposed_ports[0], "80/tcp");
	CHECK_STREQ(c.volumes[0], "/data");
	CHECK_STREQ(config_label(&c, "org.x"), "y");
	CHECK(c.n_diff_ids == 1);
	config_free(&c);
	const char *nocfg = "{\"rootfs\":{\"diff_ids\":[]}}";
	CHECK(config_parse(nocfg, strlen(nocfg), &c, &e) == 0);
	CHECK(c.cmd == NULL && c.n_diff_ids == 0);
	config_free(&c);
	const char *bad = "{\"config\":{\"Cmd\":\"notarray\"},\"rootfs\":{\"diff_ids\":[]}}";
	CHECK(config_parse(bad, strlen(bad), &c, &e) < 0);
	CHECK_CONTAINS(e.msg, "config.Cmd");
	const char *noroot = "{\"config\":{}}";
	CHECK(config_parse(noroot, strlen(noroot), &c, &e) < 0);
	CHECK_CONTAINS(e.msg, "rootfs.diff_ids");
	const char *baddiff = "{\"rootfs\":{\"diff_ids\":[\"sha256:zz\"]}}";
	CHECK(config_parse(baddiff, strlen(baddiff), &c, &e) < 0);
	CHECK_CONTAINS(e.msg, "diff_ids[0]");
}

static void test_auth_helpers(void)
{
	_cleanup_free_ char *enc = b64_encode("user:pa:ss", 10);
	CHECK_STREQ(enc, "dXNlcjpwYTpzcw==");
	size_t n;
	_cleanup_free_ char *dec = b64_decode(enc, &n);
	CHECK_STREQ(dec, "user:pa:ss");
	CHECK(n == 10);
	CHECK(b64_decode("a*b", NULL) == NULL);
	www_auth w;
	CHECK(www_auth_parse("Bearer realm=\"https://auth.docker.io/token\",service=\"registry."
			     "docker.io\",scope=\"repository:library/debian:pull\"",
			     &w) == 0);
	CHECK(w.bearer && !w.basic);
	CHECK_STREQ(w.realm, "https://auth.docker.io/token");
	CHECK_STREQ(w.service, "registry.docker.io");
	CHECK_STREQ(w.scope, "repository:library/debian:pull");
	www_auth_free(&w);
	CHECK(www_auth_parse("Basic realm=\"x\"", &w) == 0);
	CHECK(w.basic && !w.bearer);
	www_auth_free(&w);
	CHECK(www_auth_parse("Negotiate", &w) < 0);
	CHECK(registry_insecure(NULL, "localhost:5000"));
	CHECK(registry_insecure(NULL, "127.0.0.1:5000"));
	CHECK(!registry_insecure(NULL, "quay.io"));
}

static void test_auth_file(void)
{
	char dir[] = "/tmp/berth-unit-auth-XXXXXX";
	CHECK(mkdtemp(dir));
	_cleanup_free_ char *f = xasprintf("%s/sub/config.json", dir);
	berr e;
	CHECK(auth_store(f, "docker.io", "bob", "s3:cret", &e) == 0);
	CHECK(auth_store(f, "reg.local:5000", "amy", "pw", &e) == 0);
	char *u, *p;
	CHECK(auth_lookup(f, "docker.io", &u, &p) == 0);
	CHECK(!strcmp(u, "bob") && !strcmp(p, "s3:cret"));
	free(u);
	free(p);
	_cleanup_free_ char *txt = NULL;
	CHECK(fs_read_file_at(AT_FDCWD, f, &txt, NULL, &e) == 0);
	CHECK_CONTAINS(txt, "https://index.docker.io/v1/"); /* Docker's key for the Hub */
	CHECK(auth_remove(f, "reg.local:5000", &e) == 0);
	CHECK(auth_lookup(f, "reg.local:5000", &u, &p) < 0);
	CHECK(auth_remove(f, "reg.local:5000", &e) < 0);
	CHECK_CONTAINS(e.msg, "not logged in");
	fs_rm_rf_at(AT_FDCWD, dir, &e);
}

CHECK_MAIN(test_ref_valid, test_ref_invalid, test_ref_familiar, test_digest, test_manifest_index,
	   test_manifest_docker, test_manifest_build_roundtrip, test_config, test_auth_helpers,
	   test_auth_file)
