/* util/flags: the parse every command uses. Bundled short flags as Docker
 * groups them, --help that a table does not define itself, flags_lookup
 * (the completion's view of a word). */
#include <stdbool.h>
#include <string.h>

#include "check.h"
#include "util/flags.h"
#include "util/xalloc.h"

typedef struct opts {
	bool all, force, tty;
	const char *name;
	int n;
	char **env;
} opts;

#define DEFS(o)                                                                                    \
	{                                                                                          \
		{"all", 'a', FLAG_BOOL, &(o).all, "all"},                                          \
		    {"force", 'f', FLAG_BOOL, &(o).force, "force"},                                \
		    {"tty", 't', FLAG_BOOL, &(o).tty, "tty"},                                      \
		    {"name", 'n', FLAG_STRING, &(o).name, "name", "NAME"},                         \
		    {"tail", 0, FLAG_INT, &(o).n, "lines", NULL, "all"},                           \
		    {"env", 'e', FLAG_LIST, &(o).env, "env", "K=V"},                               \
		{                                                                                  \
			0                                                                          \
		}                                                                                  \
	}

static int parse(opts *o, char **argv, berr *e)
{
	*o = (opts){0};
	const flag_def defs[] = DEFS(*o);
	int argc = 0;
	while (argv[argc])
		argc++;
	return flags_parse(defs, argc, argv, 1, e);
}

static void test_bundles(void)
{
	opts o;
	berr e;
	char *a1[] = {"rm", "-af", "x", NULL};
	CHECK(parse(&o, a1, &e) == 2 && o.all && o.force && !o.tty);
	char *a2[] = {"rm", "-fa", NULL};
	CHECK(parse(&o, a2, &e) == 2 && o.all && o.force);
	/* the last letter takes the next word, or the rest of its own word */
	char *a3[] = {"x", "-tn", "web", "img", NULL};
	CHECK(parse(&o, a3, &e) == 3 && o.tty && !strcmp(o.name, "web"));
	char *a4[] = {"x", "-tnweb", NULL};
	CHECK(parse(&o, a4, &e) == 2 && o.tty && !strcmp(o.name, "web"));
	char *a5[] = {"x", "-ae", "A=1", "-eB=2", NULL};
	CHECK(parse(&o, a5, &e) == 4 && o.all && strv_len(o.env) == 2);
	CHECK_STREQ(o.env[0], "A=1");
	CHECK_STREQ(o.env[1], "B=2");
	strv_free(o.env);
	char *a6[] = {"x", "-ax", NULL};
	CHECK(parse(&o, a6, &e) == -1);
	CHECK_CONTAINS(e.msg, "'x'");
	char *a7[] = {"x", "-tn", NULL};
	CHECK(parse(&o, a7, &e) == -1);
	CHECK_CONTAINS(e.msg, "needs a value");
	/* a single-dash long name is still the long name */
	char *a8[] = {"x", "-name", "n1", NULL};
	CHECK(parse(&o, a8, &e) == 3 && !strcmp(o.name, "n1"));
}

static void test_help(void)
{
	opts o;
	berr e;
	char *a1[] = {"x", "-a", "--help", "--bogus", NULL};
	CHECK(parse(&o, a1, &e) == FLAGS_HELP);
	char *a2[] = {"x", "-h", NULL};
	CHECK(parse(&o, a2, &e) == FLAGS_HELP);
	/* after the first positional argument, --help is the command's */
	char *a3[] = {"x", "img", "--help", NULL};
	CHECK(parse(&o, a3, &e) == 1);
	/* a table's own -h wins */
	const char *host = NULL;
	const flag_def defs[] = {{"hostname", 'h', FLAG_STRING, &host}, {0}};
	char *a4[] = {"x", "-h", "box", NULL};
	CHECK(flags_parse(defs, 3, a4, 1, &e) == 3 && !strcmp(host, "box"));
}

static void test_lookup(void)
{
	opts o = {0};
	const flag_def defs[] = DEFS(o);
	bool inl;
	CHECK(flags_lookup(defs, "--name", &inl) == &defs[3] && !inl);
	CHECK(flags_lookup(defs, "--name=x", &inl) == &defs[3] && inl);
	CHECK(flags_lookup(defs, "-n", &inl) == &defs[3] && !inl);
	CHECK(flags_lookup(defs, "-tn", &inl) == &defs[3] && !inl);
	CHECK(flags_lookup(defs, "-tnweb", &inl) == &defs[3] && inl);
	CHECK(flags_lookup(defs, "-af", &inl) == &defs[1]);
	CHECK(flags_lookup(defs, "--nope", &inl) == NULL);
	CHECK(flags_lookup(defs, "img", &inl) == NULL);
	CHECK_STREQ(flags_arg_name(&defs[3]), "NAME");
	CHECK_STREQ(flags_arg_name(&defs[4]), "int");
	CHECK_STREQ(flags_arg_name(&defs[0]), "");
}

CHECK_MAIN(test_bundles, test_help, test_lookup)
