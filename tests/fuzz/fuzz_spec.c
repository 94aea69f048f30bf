/* config.json and the spec model: spec_parse on the whole document, and the
 * process object alone (as `exec --process FILE` reads it). */
#include "fuzz.h"
#include "spec/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	berr e = {0};
	spec *s = NULL;
	if (spec_parse((const char *)data, size, "config.json", &s, &e) == 0) {
		/* what create does with a parsed spec: names back for messages */
		for (int i = 0; i < NS_COUNT; i++)
			if (s->linux_.ns[i].present && !spec_ns_name((enum spec_ns)i))
				fuzz_die("namespace without a name", NULL);
		spec_free(s);
	} else if (!e.msg[0]) {
		fuzz_die("spec_parse failed without a message", &e);
	}
	spec_process p = {0};
	if (spec_parse_process((const char *)data, size, "process.json", &p, &e) == 0)
		spec_process_clear(&p);
	return 0;
}
