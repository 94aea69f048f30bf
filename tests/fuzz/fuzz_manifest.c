/* Image manifests and indexes (OCI and Docker schema2, as a registry or an
 * OCI layout serves them): manifest_parse, then what pull does with the
 * result (platform pick on an index, layer compression by media type). The
 * first input byte picks the HTTP Content-Type that goes with the document. */
#include "fuzz.h"
#include "image/manifest.h"

static const char *const content_types[] = {
    NULL, MT_OCI_MANIFEST, MT_OCI_INDEX, MT_DOCKER_MANIFEST, MT_DOCKER_LIST, "application/json", "",
};
#define N_CT (sizeof(content_types) / sizeof(content_types[0]))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *ct = content_types[data[0] % N_CT];
	img_manifest m = {0};
	berr e = {0};
	if (manifest_parse((const char *)data + 1, size - 1, ct, &m, &e) < 0) {
		if (!e.msg[0])
			fuzz_die("manifest_parse failed without a message", &e);
		return 0;
	}
	if (m.is_index) {
		(void)manifest_pick(&m, NULL, NULL, &e);
		(void)manifest_pick(&m, "linux", "arm64", &e);
		for (size_t i = 0; i < m.n_manifests; i++)
			(void)mt_is_manifest(m.manifests[i].media_type);
	} else {
		for (size_t i = 0; i < m.n_layers; i++)
			(void)mt_layer_compression(m.layers[i].media_type);
		/* what import/load rebuild from a parsed manifest */
		char *again = manifest_build_oci(&m.config, m.layers, m.n_layers);
		img_manifest m2 = {0};
		if (manifest_parse(again, strlen(again), NULL, &m2, &e) < 0)
			fuzz_die("manifest_build_oci wrote a manifest that does not parse", &e);
		manifest_free(&m2);
		free(again);
	}
	manifest_free(&m);
	return 0;
}
