/* GET /events, shared between the observers (api_events.c: the job, the
 * filters, containers; api_events_objs.c: images, volumes, networks). */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "engine/engine.h"
#include "service.h"

typedef struct ev_job {
	svc_job base;
	char **specs;
	int64_t until_ns; /* 0: none */
} ev_job;

/* One event: what the filters look at and what the line tells. */
typedef struct ev {
	const char *type;    /* container, image, volume, network */
	const char *action;  /* "health_status: healthy" is the event health_status */
	const char *id;	     /* the Actor's ID */
	const char *name;    /* its name (container, volume, network, image tag) */
	const char *from;    /* a container's image ("" for others) */
	json_object *attrs;  /* Actor.Attributes (borrowed, copied) */
	json_object *labels; /* the object's labels for label= (borrowed, may be NULL) */
} ev;

/* The line, when the filters let it through; false when the reader left. */
bool ev_tell(ev_job *j, const ev *v);

/* What images, volumes and networks were at the last look. */
typedef struct ev_objs {
	char **image_ids, **image_tags; /* sorted; tags as "NAME\tID" */
	char **volumes;			/* sorted names */
	char **networks;		/* sorted "NAME\tID" */
} ev_objs;
/* Look now, telling each change since *o (unless first), *o then the
 * new look; false when the reader left. */
bool ev_objs_look(ev_job *j, eng *g, ev_objs *o, bool first);
void ev_objs_free(ev_objs *o);
/* The id of network name from the last look, or "". */
const char *ev_net_id(const ev_objs *o, const char *name);
