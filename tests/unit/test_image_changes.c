/* commit --change: each instruction's effect on an image config's "config"
 * object, JSON and shell forms, and the instructions refused by name. */
#include <json-c/json.h>
#include <string.h>

#include "check.h"
#include "image/image_commit.h"

static json_object *apply(const char *base, const char *const *changes, berr *e)
{
	json_object *cfg = json_tokener_parse(base);
	if (image_config_changes(cfg, (char *const *)changes, e) < 0) {
		json_object_put(cfg);
		return NULL;
	}
	return cfg;
}

static const char *js(json_object *o)
{
	return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						     JSON_C_TO_STRING_NOSLASHESCAPE);
}

static const char *field(json_object *o, const char *k)
{
	json_object *v;
	return json_object_object_get_ex(o, k, &v) ? js(v) : "(absent)";
}

static void test_cmd_forms(void)
{
	berr e;
	const char *c1[] = {"CMD [\"echo\", \"hi\"]", NULL};
	json_object *o = apply("{}", c1, &e);
	CHECK(o);
	CHECK_STREQ(field(o, "Cmd"), "[\"echo\",\"hi\"]");
	json_object_put(o);
	const char *c2[] = {"cmd echo $HOME", NULL};
	o = apply("{}", c2, &e);
	CHECK(o);
	CHECK_STREQ(field(o, "Cmd"), "[\"/bin/sh\",\"-c\",\"echo $HOME\"]");
	json_object_put(o);
}

/* As in a Dockerfile: ENTRYPOINT drops the inherited Cmd, not one set by a
 * CMD before it. */
static void test_entrypoint_resets_cmd(void)
{
	berr e;
	const char *c1[] = {"ENTRYPOINT [\"/app\"]", NULL};
	json_object *o = apply("{\"Cmd\":[\"sh\"]}", c1, &e);
	CHECK(o);
	CHECK_STREQ(field(o, "Entrypoint"), "[\"/app\"]");
	CHECK_STREQ(field(o, "Cmd"), "null");
	json_object_put(o);
	const char *c2[] = {"CMD [\"--serve\"]", "ENTRYPOINT [\"/app\"]", NULL};
	o = apply("{\"Cmd\":[\"sh\"]}", c2, &e);
	CHECK(o);
	CHECK_STREQ(field(o, "Cmd"), "[\"--serve\"]");
	json_object_put(o);
}

static void test_env_label_expose_volume(void)
{
	berr e;
	const char *c[] = {"ENV A=1 B=\"two words\"", "ENV A=3",
			   "ENV LEGACY some value",   "LABEL tier=web \"com.x.y\"=z",
			   "EXPOSE 80 53/udp",	      "VOLUME [\"/data\", \"/logs\"]",
			   "VOLUME /cache",	      NULL};
	json_object *o = apply("{\"Env\":[\"PATH=/bin\"]}", c, &e);
	if (!o)
		fprintf(stderr, "%s\n", e.msg);
	CHECK(o);
	CHECK_STREQ(field(o, "Env"),
		    "[\"PATH=/bin\",\"A=3\",\"B=two words\",\"LEGACY=some value\"]");
	CHECK_STREQ(field(o, "Labels"), "{\"tier\":\"web\",\"com.x.y\":\"z\"}");
	CHECK_STREQ(field(o, "ExposedPorts"), "{\"80/tcp\":{},\"53/udp\":{}}");
	CHECK_STREQ(field(o, "Volumes"), "{\"/data\":{},\"/logs\":{},\"/cache\":{}}");
	json_object_put(o);
}

static void test_user_workdir_stopsignal(void)
{
	berr e;
	const char *c[] = {"USER app:app", "WORKDIR /srv", "WORKDIR www", "STOPSIGNAL SIGINT",
			   NULL};
	json_object *o = apply("{}", c, &e);
	CHECK(o);
	CHECK_STREQ(field(o, "User"), "\"app:app\"");
	CHECK_STREQ(field(o, "WorkingDir"), "\"/srv/www\"");
	CHECK_STREQ(field(o, "StopSignal"), "\"SIGINT\"");
	json_object_put(o);
}

static void test_refused(void)
{
	berr e;
	const char *c1[] = {"RUN echo hi", NULL};
	CHECK(apply("{}", c1, &e) == NULL);
	CHECK_CONTAINS(e.msg, "RUN is not a valid change instruction");
	const char *c2[] = {"EXPOSE 99999", NULL};
	CHECK(apply("{}", c2, &e) == NULL);
	CHECK_CONTAINS(e.msg, "invalid port");
	const char *c3[] = {"USER", NULL};
	CHECK(apply("{}", c3, &e) == NULL);
	CHECK_CONTAINS(e.msg, "USER requires an argument");
	const char *c4[] = {"LABEL novalue", NULL};
	CHECK(apply("{}", c4, &e) == NULL);
	CHECK_CONTAINS(e.msg, "not KEY=VALUE");
	const char *c5[] = {"ENV A=\"unterminated", NULL};
	CHECK(apply("{}", c5, &e) == NULL);
	CHECK_CONTAINS(e.msg, "unterminated quote");
	const char *c6[] = {"VOLUME [\"/a\", 3]", NULL};
	CHECK(apply("{}", c6, &e) == NULL);
	CHECK_CONTAINS(e.msg, "JSON array of strings");
}

CHECK_MAIN(test_cmd_forms, test_entrypoint_resets_cmd, test_env_label_expose_volume,
	   test_user_workdir_stopsignal, test_refused)
