/* rename: a container's name changed (docker rename): the new name taken
 * under the store's lock, the record's Name changed, the old name given
 * back; then its network leases, so that DNS answers the new name. */
#include <errno.h>
#include <string.h>

#include "engine/container.h"
#include "engine/network.h"
#include "util/xalloc.h"

/* Docker's rule for names: [a-zA-Z0-9][a-zA-Z0-9_.-]+ */
static bool valid_name(const char *n)
{
	size_t l = strlen(n);
	if (l < 2 || l > 128)
		return false;
	for (size_t i = 0; i < l; i++) {
		char c = n[i];
		bool alnum =
		    (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-')))
			return false;
	}
	return true;
}

int eng_container_rename(eng *g, const char *id, const char *name, berr *e)
{
	if (name[0] == '/')
		name++;
	if (!valid_name(name))
		return berr_set(e, EINVAL,
				"invalid container name \"%s\": only [a-zA-Z0-9][a-zA-Z0-9_.-] "
				"are allowed",
				name);
	if (eng_lock(g, true, e) < 0)
		return -1;
	int r = -1;
	json_object *doc = eng_load(g, id, e);
	if (!doc)
		goto out;
	const char *old = eng_doc_str(doc, "Name");
	char *was = xstrdup(old && old[0] == '/' ? old + 1 : old ? old : "");
	if (!strcmp(was, name)) {
		r = berr_set(e, EINVAL,
			     "renaming a container with the same name as its current name");
	} else if (eng_name_take(g, name, id, e) == 0) {
		char *slashed = xasprintf("/%s", name);
		json_object_object_add(doc, "Name", json_object_new_string(slashed));
		free(slashed);
		r = eng_save(g, id, doc, e);
		if (r < 0)
			eng_name_drop(g, name, id);
		else if (*was)
			eng_name_drop(g, was, id);
	}
	free(was);
	json_object_put(doc);
out:
	eng_unlock(g);
	/* the networks' DNS answers the new name (under the network store's
	 * lock, not the containers': a failure is told, the rename stays) */
	if (r == 0)
		r = eng_net_rename(g, id, name, e);
	return r;
}
