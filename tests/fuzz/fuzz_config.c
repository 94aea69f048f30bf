/* Image configurations (OCI config / Docker image JSON): config_parse and the
 * lookups the engine makes on the result. */
#include "fuzz.h"
#include "image/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	img_config c = {0};
	berr e = {0};
	if (config_parse((const char *)data, size, &c, &e) < 0) {
		if (!e.msg[0])
			fuzz_die("config_parse failed without a message", &e);
		return 0;
	}
	(void)config_label(&c, "maintainer");
	/* the first few keys (config_label is a linear lookup) */
	for (size_t i = 0; c.label_keys && c.label_keys[i] && i < 16; i++)
		if (!config_label(&c, c.label_keys[i]) || !c.label_values[i])
			fuzz_die("a label key without its value", NULL);
	size_t n = 0;
	while (c.diff_ids && c.diff_ids[n])
		n++;
	if (n != c.n_diff_ids)
		fuzz_die("n_diff_ids does not count diff_ids", NULL);
	config_free(&c);
	return 0;
}
