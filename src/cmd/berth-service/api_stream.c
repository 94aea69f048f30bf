/* Docker's progress streams (push, build): JSON lines, each one write with
 * its "\r\n" (docker-py's splitter takes a chunk of only "\r\n" for a
 * value), an error as {"errorDetail": {"message"}, "error"}. */
#include <stdlib.h>
#include <string.h>

#include "service.h"
#include "util/fs.h"
#include "util/xalloc.h"

int svc_put_line(int fd, json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	size_t n = strlen(s);
	char *l = xzalloc(n + 3);
	memcpy(l, s, n);
	memcpy(l + n, "\r\n", 2);
	int r = fs_write_all(fd, l, n + 2);
	free(l);
	json_object_put(o);
	return r;
}

int svc_put_error(int fd, const char *msg)
{
	json_object *o = json_object_new_object(), *d = json_object_new_object();
	json_object_object_add(d, "message", json_object_new_string(msg));
	json_object_object_add(o, "errorDetail", d);
	json_object_object_add(o, "error", json_object_new_string(msg));
	return svc_put_line(fd, o);
}
