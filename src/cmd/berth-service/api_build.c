/* POST /build (stub) */
#include "service.h"

void api_build(req *q, resp *r)
{
	(void)q;
	resp_error(r, 400, "build: not yet");
}
