/* GET /_ping, /version, /info. */
#include <string.h>
#include <sys/utsname.h>

#include "engine/engine.h"
#include "service.h"
#include "util/version.h"
#include "util/xalloc.h"

void api_ping(req *q, resp *r)
{
	(void)q;
	r->text = xstrdup("OK");
	r->content_type = "text/plain; charset=utf-8";
}

static const char *arch(const struct utsname *u)
{
	return !strcmp(u->machine, "x86_64")	? "amd64"
	       : !strcmp(u->machine, "aarch64") ? "arm64"
						: u->machine;
}

void api_version(req *q, resp *r)
{
	(void)q;
	struct utsname u;
	if (uname(&u) < 0)
		memset(&u, 0, sizeof(u));
	json_object *v = json_object_new_object();
	json_object *plat = json_object_new_object();
	json_object_object_add(plat, "Name", json_object_new_string("berth"));
	json_object_object_add(v, "Platform", plat);
	json_object *comp = json_object_new_object(), *det = json_object_new_object();
	json_object_object_add(comp, "Name", json_object_new_string("Engine"));
	json_object_object_add(comp, "Version", json_object_new_string(BERTH_VERSION));
	json_object_object_add(det, "ApiVersion", json_object_new_string(API_VERSION));
	json_object_object_add(det, "MinAPIVersion", json_object_new_string(API_MIN_VERSION));
	json_object_object_add(det, "Os", json_object_new_string("linux"));
	json_object_object_add(det, "Arch", json_object_new_string(arch(&u)));
	json_object_object_add(det, "KernelVersion", json_object_new_string(u.release));
	json_object_object_add(comp, "Details", det);
	json_object *comps = json_object_new_array();
	json_object_array_add(comps, comp);
	json_object_object_add(v, "Components", comps);
	json_object_object_add(v, "Version", json_object_new_string(BERTH_VERSION));
	json_object_object_add(v, "ApiVersion", json_object_new_string(API_VERSION));
	json_object_object_add(v, "MinAPIVersion", json_object_new_string(API_MIN_VERSION));
	json_object_object_add(v, "GitCommit", json_object_new_string(""));
	json_object_object_add(v, "GoVersion",
			       json_object_new_string("n/a (C, gcc " __VERSION__ ")"));
	json_object_object_add(v, "Os", json_object_new_string("linux"));
	json_object_object_add(v, "Arch", json_object_new_string(arch(&u)));
	json_object_object_add(v, "KernelVersion", json_object_new_string(u.release));
	json_object_object_add(v, "BuildTime", json_object_new_string(""));
	r->json = v;
}

void api_info(req *q, resp *r)
{
	berr e;
	eng *g = eng_open(q->s->c->root, q->s->c->run_root, &e);
	json_object *o = g ? eng_info(g, q->s->c->run_root, &e) : NULL;
	eng_close(g);
	if (!o) {
		resp_error(r, status_of_errno(e.errnum), "%s", e.msg);
		return;
	}
	json_object_object_add(o, "ServerVersion", json_object_new_string(BERTH_VERSION));
	json_object_object_add(o, "Name", json_object_new_string("berth"));
	r->json = o;
}
