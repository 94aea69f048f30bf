/* build/dockerfile: the parser. Examples from the Dockerfile reference and
 * from BuildKit's parser tests (parser_heredoc_test.go, directives_test.go,
 * line_parsers_test.go), and every error the parser reports. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build/dockerfile.h"
#include "check.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

static df_file *parse(const char *s, berr *e)
{
	return df_parse(s, strlen(s), "Dockerfile", e);
}

/* The error message of parsing s ("" when it parsed). */
static const char *parse_err(const char *s)
{
	static berr e;
	berr_clear(&e);
	df_file *f = parse(s, &e);
	if (f) {
		df_free(f);
		return "";
	}
	return e.msg;
}

static const char *flag(const df_instr *in, const char *key)
{
	for (size_t i = 0; i < in->n_flags; i++)
		if (!strcmp(in->flags[i].key, key))
			return in->flags[i].value ? in->flags[i].value : "(none)";
	return NULL;
}

static void test_every_instruction(void)
{
	const char *s = "# syntax=docker/dockerfile:1\n"		    /* 1 */
			"ARG BASE=debian:12\n"				    /* 2 */
			"FROM --platform=$BUILDPLATFORM ${BASE} AS Build\n" /* 3 */
			"RUN apt-get update && \\\n"			    /* 4 */
			"    apt-get install -y gcc\n"			    /* 5 */
			"COPY --chown=1:1 --chmod=644 --link src/ /src/\n"  /* 6 */
			"WORKDIR /src\n"				    /* 7 */
			"\n"						    /* 8 */
			"FROM scratch\n"				    /* 9 */
			"COPY --from=build /src/a.out /bin/app\n"	    /* 10 */
			"ADD https://example.com/x.tgz /opt/\n"		    /* 11 */
			"ENV PATH=/bin LANG=C.UTF-8\n"			    /* 12 */
			"ARG VERSION\n"					    /* 13 */
			"USER app:app\n"				    /* 14 */
			"EXPOSE 80/tcp 443\n"				    /* 15 */
			"VOLUME [\"/data\", \"/logs\"]\n"		    /* 16 */
			"LABEL org.opencontainers.image.title=\"my app\"\n" /* 17 */
			"STOPSIGNAL SIGTERM\n"				    /* 18 */
			"HEALTHCHECK --interval=5m --timeout=3s \\\n"	    /* 19 */
			"  CMD curl -f http://localhost/ || exit 1\n"	    /* 20 */
			"SHELL [\"/bin/sh\", \"-ec\"]\n"		    /* 21 */
			"ONBUILD RUN echo triggered\n"			    /* 22 */
			"MAINTAINER someone\n"				    /* 23 */
			"ENTRYPOINT [\"/bin/app\"]\n"			    /* 24 */
			"CMD [\"--help\"]\n";				    /* 25 */
	berr e = {0};
	df_file *f = parse(s, &e);
	CHECK(f != NULL);
	CHECK(f->escape == '\\');
	CHECK_STREQ(f->syntax, "docker/dockerfile:1");
	CHECK(f->check == NULL);
	CHECK(f->n_global_args == 1);
	CHECK(f->global_args[0].kind == DF_ARG && f->global_args[0].line == 2);
	CHECK_STREQ(f->global_args[0].pairs[0].key, "BASE");
	CHECK_STREQ(f->global_args[0].pairs[0].value, "debian:12");
	CHECK(f->n_stages == 2);
	CHECK(f->n_instructions == 21);
	const df_stage *b = &f->stages[0];
	CHECK_STREQ(b->image, "${BASE}"); /* substitution is the executor's */
	CHECK_STREQ(b->name, "build");	  /* lower-cased */
	CHECK_STREQ(b->platform, "$BUILDPLATFORM");
	CHECK(b->n_instrs == 4);
	CHECK(b->instrs[0].kind == DF_FROM && b->instrs[0].line == 3);
	const df_instr *run = &b->instrs[1];
	CHECK(run->kind == DF_RUN && run->line == 4 && run->end_line == 5 && !run->json);
	CHECK(run->n_args == 1);
	CHECK_STREQ(run->args[0], "apt-get update &&     apt-get install -y gcc");
	CHECK_STREQ(run->original, "RUN apt-get update &&     apt-get install -y gcc");
	const df_instr *cp = &b->instrs[2];
	CHECK(cp->kind == DF_COPY && cp->line == 6 && cp->n_flags == 3);
	CHECK_STREQ(flag(cp, "chown"), "1:1");
	CHECK_STREQ(flag(cp, "chmod"), "644");
	CHECK_STREQ(flag(cp, "link"), "(none)");
	CHECK(cp->n_args == 2);
	CHECK_STREQ(cp->args[0], "src/");
	CHECK_STREQ(cp->args[1], "/src/");
	CHECK(b->instrs[3].kind == DF_WORKDIR && b->instrs[3].line == 7);
	CHECK_STREQ(b->instrs[3].args[0], "/src");

	const df_stage *r = &f->stages[1];
	CHECK_STREQ(r->image, "scratch");
	CHECK(r->name == NULL && r->platform == NULL);
	CHECK(r->n_instrs == 16);
	const df_instr *in = r->instrs;
	CHECK(in[0].line == 9);
	CHECK_STREQ(flag(&in[1], "from"), "build");
	CHECK(in[2].kind == DF_ADD && in[2].n_args == 2);
	CHECK(in[3].kind == DF_ENV && in[3].n_pairs == 2);
	CHECK_STREQ(in[3].pairs[0].key, "PATH");
	CHECK_STREQ(in[3].pairs[1].value, "C.UTF-8");
	CHECK(in[4].kind == DF_ARG && in[4].n_pairs == 1 && in[4].pairs[0].value == NULL);
	CHECK(in[5].kind == DF_USER);
	CHECK_STREQ(in[5].args[0], "app:app");
	CHECK(in[6].kind == DF_EXPOSE && in[6].n_args == 2);
	CHECK(in[7].kind == DF_VOLUME && in[7].json && in[7].n_args == 2);
	CHECK_STREQ(in[7].args[1], "/logs");
	CHECK(in[8].kind == DF_LABEL && in[8].n_pairs == 1);
	CHECK_STREQ(in[8].pairs[0].value, "\"my app\""); /* raw: subst_word unquotes */
	CHECK(in[9].kind == DF_STOPSIGNAL);
	const df_instr *hc = &in[10];
	CHECK(hc->kind == DF_HEALTHCHECK && hc->line == 19 && hc->end_line == 20);
	CHECK_STREQ(flag(hc, "interval"), "5m");
	CHECK_STREQ(flag(hc, "timeout"), "3s");
	CHECK(hc->n_args == 2 && !hc->json);
	CHECK_STREQ(hc->args[0], "CMD");
	CHECK_STREQ(hc->args[1], "curl -f http://localhost/ || exit 1");
	CHECK(in[11].kind == DF_SHELL && in[11].json && in[11].n_args == 2);
	CHECK(in[12].kind == DF_ONBUILD && in[12].onbuild);
	CHECK(in[12].onbuild->kind == DF_RUN);
	CHECK_STREQ(in[12].onbuild->args[0], "echo triggered");
	CHECK_STREQ(in[12].onbuild->original, "RUN echo triggered");
	CHECK(in[13].kind == DF_MAINTAINER);
	CHECK(in[14].kind == DF_ENTRYPOINT && in[14].json && in[14].n_args == 1);
	CHECK(in[15].kind == DF_CMD && in[15].json && in[15].line == 25);
	CHECK_STREQ(in[15].args[0], "--help");
	/* a shell-form CMD's "--help" is a flag: BuildKit reads the flags of
	 * every instruction, and CMD takes none; `--` ends them */
	df_free(f);
	CHECK_CONTAINS(parse_err("FROM a\nCMD --help\n"),
		       "Dockerfile:2: unknown flag --help for CMD");
	f = parse("FROM a\nCMD -- --help\n", &e);
	CHECK(f && f->stages[0].instrs[1].n_args == 1);
	CHECK_STREQ(f->stages[0].instrs[1].args[0], "--help");
	df_free(f);
}

static void test_kind_table(void)
{
	CHECK_STREQ(df_kind_name(DF_HEALTHCHECK), "HEALTHCHECK");
	CHECK_STREQ(df_kind_name(DF_KIND_COUNT), "?");
	/* the reference's "Environment replacement" list (and ARG's defaults) */
	const df_kind yes[] = {DF_ADD,	      DF_COPY, DF_ENV,	  DF_EXPOSE,  DF_FROM, DF_LABEL,
			       DF_STOPSIGNAL, DF_USER, DF_VOLUME, DF_WORKDIR, DF_ARG};
	const df_kind no[] = {DF_RUN,	DF_CMD,	    DF_ENTRYPOINT, DF_HEALTHCHECK,
			      DF_SHELL, DF_ONBUILD, DF_MAINTAINER};
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++)
		CHECK(df_kind_expands(yes[i]));
	for (size_t i = 0; i < ARRAY_SIZE(no); i++)
		CHECK(!df_kind_expands(no[i]));
	/* instruction names are case-insensitive */
	berr e = {0};
	df_file *f = parse("from alpine\nrun true\nCoPy a b\n", &e);
	CHECK(f && f->stages[0].n_instrs == 3 && f->stages[0].instrs[2].kind == DF_COPY);
	df_free(f);
}

static void test_directives(void)
{
	berr e = {0};
	/* the reference's Windows example: with ` as escape, c:\ is no continuation */
	const char *win = "# escape=`\n"
			  "\n"
			  "FROM mcr.microsoft.com/windows/servercore\n"
			  "COPY testfile.txt c:\\\n"
			  "RUN dir c:\\\n"
			  "RUN a `\n"
			  "  b\n";
	df_file *f = parse(win, &e);
	CHECK(f && f->escape == '`');
	CHECK(f->stages[0].n_instrs == 4);
	CHECK_STREQ(f->stages[0].instrs[1].args[1], "c:\\");
	CHECK(f->stages[0].instrs[2].line == 5);
	CHECK_STREQ(f->stages[0].instrs[3].args[0], "a   b");
	df_free(f);
	/* spacing and case are free; check= kept */
	f = parse("#ESCAPE = `\n  #  Syntax=  x/y:1  \n# check=skip=all\nFROM a\n", &e);
	CHECK(f && f->escape == '`');
	CHECK_STREQ(f->syntax, "x/y:1");
	CHECK_STREQ(f->check, "skip=all");
	df_free(f);
	/* after a comment, a blank line or an unknown directive: comments */
	const char *late[] = {
	    "# a comment\n# escape=`\nFROM a\nRUN x \\\n y\n",
	    "\n# escape=`\nFROM a\nRUN x \\\n y\n",
	    "# unknowndirective=value\n# escape=`\nFROM a\nRUN x \\\n y\n",
	    "FROM a\n# escape=`\nRUN x \\\n y\n",
	};
	for (size_t i = 0; i < ARRAY_SIZE(late); i++) {
		f = parse(late[i], &e);
		CHECK(f && f->escape == '\\');
		CHECK_STREQ(f->stages[0].instrs[1].args[0], "x  y");
		df_free(f);
	}
	/* a directive line without a value is a comment too */
	f = parse("# escape=\nFROM a\n", &e);
	CHECK(f && f->escape == '\\');
	df_free(f);
	CHECK_CONTAINS(parse_err("# escape=`\n# escape=\\\nFROM a\n"),
		       "Dockerfile:2: only one escape parser directive can be used");
	CHECK_CONTAINS(parse_err("# syntax=a\n# SYNTAX=b\nFROM a\n"),
		       "only one syntax parser directive");
	CHECK_CONTAINS(parse_err("# escape=x\nFROM a\n"), "Dockerfile:1: invalid escape token");
}

static void test_continuations(void)
{
	berr e = {0};
	/* from the reference: comment lines and empty lines inside a continued
	 * instruction are dropped; blanks after the escape are allowed */
	const char *s = "FROM a\n"
			"RUN echo hello \\\n"
			"# comment\n"
			"  # indented comment\n"
			"\n"
			"world \\   \n"
			"\t!\n"
			"RUN next\n"
			"  RUN   indented   \n"
			"RUN a\\\\\n"
			"RUN b\n";
	df_file *f = parse(s, &e);
	CHECK(f != NULL);
	const df_instr *in = f->stages[0].instrs;
	CHECK(f->stages[0].n_instrs == 5);
	CHECK_STREQ(in[1].args[0], "echo hello world \t!");
	CHECK(in[1].line == 2 && in[1].end_line == 7);
	CHECK(in[2].line == 8);
	CHECK_STREQ(in[3].original, "RUN   indented");
	CHECK(in[3].line == 9);
	/* `a\\` ends with the escape char: a continuation, as in BuildKit */
	CHECK_STREQ(in[4].args[0], "a\\RUN b");
	df_free(f);
	/* BuildKit's TestParseWarnsOnEmptyContinutationLine: the joined lines */
	f = parse("FROM alpine:3.6\n\nRUN valid \\\n    continuation\n\n"
		  "RUN something \\\n\n    following \\\n\n    more\n\n"
		  "RUN non-indented \\\n# this is a comment\n   after-comment\n\n"
		  "RUN indented \\\n    # this is an indented comment\n    comment\n\t",
		  &e);
	CHECK(f && f->stages[0].n_instrs == 5);
	CHECK_STREQ(f->stages[0].instrs[1].original, "RUN valid     continuation");
	CHECK_STREQ(f->stages[0].instrs[2].original, "RUN something     following     more");
	CHECK(f->stages[0].instrs[2].line == 6 && f->stages[0].instrs[2].end_line == 10);
	CHECK_STREQ(f->stages[0].instrs[3].original, "RUN non-indented    after-comment");
	CHECK_STREQ(f->stages[0].instrs[4].original, "RUN indented     comment");
	df_free(f);
	/* CRLF line ends, a byte order mark, a continuation at the very end */
	f = parse("\xef\xbb\xbf"
		  "FROM a\r\nRUN x \\\r\n  y\r\nRUN last \\",
		  &e);
	CHECK(f && f->stages[0].n_instrs == 3);
	CHECK_STREQ(f->stages[0].image, "a");
	CHECK_STREQ(f->stages[0].instrs[1].args[0], "x   y");
	CHECK_STREQ(f->stages[0].instrs[2].args[0], "last");
	df_free(f);
}

/* The shapes of BuildKit's parser testfiles (testfiles/docker, testfiles/
 * health): tabs as separators, legacy ENV/LABEL, continuation lines that
 * keep their leading tab, comments between instructions. */
static void test_buildkit_testfile_shapes(void)
{
	const char *s =
	    "# Usage:\n"
	    "#\n"
	    "# # docker build -t docker .\n"
	    "\n"
	    "FROM\tubuntu:14.04\n"
	    "LABEL\tmaintainer\tSome One <x@example.com> (@x)\n"
	    "RUN\tapt-get update && apt-get install -yq \\\n"
	    "\tapt-utils \\\n"
	    "\tcurl \\\n"
	    "\t--no-install-recommends\n"
	    "# note\n"
	    "ENV\tPATH\t/usr/local/go/bin:$PATH\n"
	    "ENV\tPLATFORMS\t\\\n"
	    "\tlinux/386 linux/arm \\\n"
	    "\tdarwin/amd64\n"
	    "RUN\t/bin/echo -e '[default]\\naccess_key=$KEY' > /.s3cfg\n"
	    "VOLUME\t/var/lib/docker\n"
	    "ENTRYPOINT\t[\"hack/dind\"]\n"
	    "COPY\t.\t/go/src/x\n"
	    "HEALTHCHECK --interval=5s --timeout=3s --retries=3 \\\n"
	    "  CMD /app/check.sh --quiet\n"
	    "HEALTHCHECK   CMD   a b\n"
	    "HEALTHCHECK --start-period=0s --interval=5s --timeout=0s --retries=0 CMD [\"foo\"]\n";
	berr e = {0};
	df_file *f = parse(s, &e);
	CHECK(f != NULL);
	const df_instr *in = f->stages[0].instrs;
	CHECK(f->stages[0].n_instrs == 12);
	CHECK_STREQ(f->stages[0].image, "ubuntu:14.04");
	CHECK(in[0].line == 5);
	CHECK_STREQ(in[1].pairs[0].key, "maintainer");
	CHECK_STREQ(in[1].pairs[0].value, "Some One <x@example.com> (@x)");
	CHECK_STREQ(in[2].args[0], "apt-get update && apt-get install -yq \tapt-utils \tcurl "
				   "\t--no-install-recommends");
	CHECK_STREQ(in[3].pairs[0].key, "PATH");
	CHECK_STREQ(in[3].pairs[0].value, "/usr/local/go/bin:$PATH");
	CHECK(in[3].line == 12);
	CHECK_STREQ(in[4].pairs[0].value, "linux/386 linux/arm \tdarwin/amd64");
	CHECK_STREQ(in[5].args[0], "/bin/echo -e '[default]\\naccess_key=$KEY' > /.s3cfg");
	CHECK_STREQ(in[6].args[0], "/var/lib/docker");
	CHECK(in[7].json);
	CHECK_STREQ(in[8].args[1], "/go/src/x");
	CHECK(in[9].n_flags == 3 && in[9].n_args == 2);
	CHECK_STREQ(flag(&in[9], "retries"), "3");
	CHECK_STREQ(in[9].args[1], "/app/check.sh --quiet");
	CHECK_STREQ(in[10].args[1], "a b");
	CHECK(in[11].n_flags == 4 && in[11].json);
	CHECK_STREQ(flag(&in[11], "start-period"), "0s");
	df_free(f);
}

static void test_heredocs(void)
{
	/* BuildKit's parser_heredoc_test.go (TestParseExtractsHeredoc) */
	const char *s = "FROM alpine:3.6\n"
			"RUN <<EMPTY\n"
			"EMPTY\n"
			"RUN 3<<EMPTY2\n"
			"EMPTY2\n"
			"RUN \"<<NOHEREDOC\"\n"
			"RUN <<INDENT\n"
			"\tfoo\n"
			"\tbar\n"
			"INDENT\n"
			"RUN <<-UNINDENT2\n"
			"\tbaz\n"
			"\tquux\n"
			"\tUNINDENT2\n"
			"RUN <<-'NOEXPAND'\n"
			"\tdon't expand $NAME\n"
			"NOEXPAND\n"
			"RUN <<COMMENT\n"
			"# internal comment\n"
			"echo foo bar # trailing comment\n"
			"COMMENT\n"
			"RUN --mount=type=cache,target=/foo <<MOUNT\n"
			"echo hello\n"
			"MOUNT\n"
			"COPY <<FILE1 <<FILE2 /dest\n"
			"content 1\n"
			"FILE1\n"
			"content 2\n"
			"FILE2\n"
			"COPY <<X <<Y /dest\n"
			"Y\n"
			"X\n"
			"X\n"
			"Y\n"
			"RUN <<COMPLEX python3\n"
			"print('hello world')\n"
			"COMPLEX\n"
			"RUN <<eo'f'\n"
			"echo foo\n"
			"eof\n"
			"RUN <<eo\\'f\n"
			"echo foo\n"
			"eo'f\n"
			"RUN <<'one two'\n"
			"echo bar\n"
			"one two\n"
			"RUN <<$EOF\n"
			"$EOF\n"
			"RUN <<  EOF  > foo\n"
			"EOF\n"
			"RUN [\"<<EOF\"]\n"
			"ADD <<\"A\" /a\n"
			"x\n"
			"A\n"
			"ONBUILD RUN <<T\n"
			"t\n"
			"T\n"
			"USER after\n";
	berr e = {0};
	df_file *f = parse(s, &e);
	if (!f)
		fprintf(stderr, "%s\n", e.msg);
	CHECK(f != NULL);
	const df_instr *in = f->stages[0].instrs;
	CHECK(f->stages[0].n_instrs == 21);
	CHECK(in[1].n_heredocs == 1 && in[1].heredocs[0].expand && in[1].heredocs[0].fd == -1);
	CHECK_STREQ(in[1].heredocs[0].name, "EMPTY");
	CHECK_STREQ(in[1].heredocs[0].content, "");
	CHECK(in[1].line == 2 && in[1].end_line == 3);
	CHECK(in[2].n_heredocs == 1 && in[2].heredocs[0].fd == 3);
	CHECK(in[3].n_heredocs == 0);
	CHECK_STREQ(in[4].heredocs[0].content, "\tfoo\n\tbar\n");
	CHECK(!in[4].heredocs[0].strip_tabs);
	CHECK(in[5].heredocs[0].strip_tabs);
	CHECK_STREQ(in[5].heredocs[0].content, "baz\nquux\n"); /* <<-: tabs stripped */
	CHECK(!in[6].heredocs[0].expand);
	CHECK_STREQ(in[6].heredocs[0].name, "NOEXPAND");
	CHECK_STREQ(in[6].heredocs[0].content, "don't expand $NAME\n");
	CHECK_STREQ(in[7].heredocs[0].content,
		    "# internal comment\necho foo bar # trailing comment\n");
	CHECK_STREQ(flag(&in[8], "mount"), "type=cache,target=/foo");
	CHECK_STREQ(in[8].heredocs[0].content, "echo hello\n");
	CHECK(in[9].kind == DF_COPY && in[9].n_heredocs == 2);
	CHECK_STREQ(in[9].heredocs[0].content, "content 1\n");
	CHECK_STREQ(in[9].heredocs[1].content, "content 2\n");
	CHECK(in[9].n_args == 3);
	CHECK_STREQ(in[9].args[2], "/dest");
	CHECK_STREQ(in[10].heredocs[0].content, "Y\n");
	CHECK_STREQ(in[10].heredocs[1].content, "X\n");
	CHECK_STREQ(in[11].heredocs[0].name, "COMPLEX");
	CHECK_STREQ(in[11].args[0], "<<COMPLEX python3");
	CHECK_STREQ(in[12].heredocs[0].name, "eof");
	CHECK(!in[12].heredocs[0].expand);
	CHECK_STREQ(in[13].heredocs[0].name, "eo'f");
	CHECK(in[13].heredocs[0].expand);
	CHECK_STREQ(in[14].heredocs[0].name, "one two");
	CHECK_STREQ(in[15].heredocs[0].name, "$EOF");
	CHECK_STREQ(in[16].heredocs[0].name, "EOF");
	CHECK(in[17].json && in[17].n_heredocs == 0);
	CHECK(in[18].kind == DF_ADD && !in[18].heredocs[0].expand);
	CHECK_STREQ(in[18].heredocs[0].content, "x\n");
	CHECK(in[19].kind == DF_ONBUILD && in[19].onbuild->n_heredocs == 1);
	CHECK_STREQ(in[19].onbuild->heredocs[0].content, "t\n");
	CHECK(in[19].line == 55 && in[19].end_line == 57);
	CHECK(in[20].kind == DF_USER && in[20].line == 58);
	df_free(f);
	/* USER takes no heredoc: its "<<X" is a plain argument */
	f = parse("FROM a\nUSER <<X\n", &e);
	CHECK(f && f->stages[0].instrs[1].n_heredocs == 0);
	df_free(f);
	CHECK_CONTAINS(parse_err("FROM a\nRUN <<'EOF\nEOF\n"), "Dockerfile:2: heredoc");
}

static void test_json_and_shell_forms(void)
{
	berr e = {0};
	const char *s = "FROM a\n"
			"CMD [\"echo\", \"a b\", \"\\u00e9\\n\"]\n"
			"CMD [ ]\n"
			"CMD [\"a\", 'b']\n"
			"CMD [\"a\", 1]\n"
			"CMD [\"a\"] trailing\n"
			"CMD [\"a\",]\n"
			"ENTRYPOINT [\"a\\u0000b\"]\n"
			"RUN [\"/bin/sh\", \"-c\", \"echo $HOME\"]   \n"
			"COPY [\"a b\", \"/c d/\"]\n"
			"COPY [\"x\" /y\n";
	df_file *f = parse(s, &e);
	CHECK(f != NULL);
	const df_instr *in = f->stages[0].instrs;
	CHECK(in[1].json && in[1].n_args == 3);
	CHECK_STREQ(in[1].args[1], "a b");
	CHECK_STREQ(in[1].args[2], "é\n");
	CHECK(in[2].json && in[2].n_args == 0 && in[2].args[0] == NULL);
	for (int i = 3; i <= 7; i++) { /* not a JSON array of strings: the shell form */
		CHECK(!in[i].json && in[i].n_args == 1);
	}
	CHECK_STREQ(in[3].args[0], "[\"a\", 'b']");
	CHECK(in[8].json && in[8].n_args == 3);
	CHECK(in[9].json && in[9].n_args == 2);
	CHECK_STREQ(in[9].args[1], "/c d/");
	CHECK(!in[10].json && in[10].n_args == 2); /* split at blanks */
	df_free(f);
	CHECK_CONTAINS(parse_err("FROM a\nSHELL /bin/sh -c\n"),
		       "Dockerfile:2: SHELL requires the arguments to be in JSON form");
	f = parse("FROM a\nHEALTHCHECK CMD [\"curl\", \"-f\"]\nHEALTHCHECK none\n", &e);
	CHECK(f && f->stages[0].instrs[1].json && f->stages[0].instrs[1].n_args == 3);
	CHECK_STREQ(f->stages[0].instrs[1].args[2], "-f");
	CHECK_STREQ(f->stages[0].instrs[2].args[0], "NONE");
	df_free(f);
	CHECK_CONTAINS(parse_err("FROM a\nHEALTHCHECK NONE x\n"), "takes no arguments");
	CHECK_CONTAINS(parse_err("FROM a\nHEALTHCHECK RUN x\n"), "unknown type \"RUN\"");
	CHECK_CONTAINS(parse_err("FROM a\nHEALTHCHECK CMD\n"), "requires a command");
}

static void test_env_label_arg(void)
{
	berr e = {0};
	const char *s = "ARG A B=2 C=\"x y\"\n"
			"FROM a\n"
			"ENV MY_NAME=\"John Doe\" MY_DOG=Rex\\ The\\ Dog \\\n"
			"    MY_CAT=fluffy\n"
			"ENV MY_VAR my-value with spaces\n"
			"ENV EMPTY=\"\" E2=\n"
			"LABEL \"com.example.vendor\"=\"ACME Incorporated\" version=1.0\n"
			"LABEL legacy value here\n"
			"ENV url=http://x/?a=b\n";
	df_file *f = parse(s, &e);
	CHECK(f != NULL);
	CHECK(f->n_global_args == 1 && f->global_args[0].n_pairs == 3);
	const df_kv *ga = f->global_args[0].pairs;
	CHECK_STREQ(ga[0].key, "A");
	CHECK(ga[0].value == NULL);
	CHECK_STREQ(ga[1].value, "2");
	CHECK_STREQ(ga[2].value, "\"x y\"");
	const df_instr *in = f->stages[0].instrs;
	CHECK(in[1].n_pairs == 3);
	CHECK_STREQ(in[1].pairs[0].key, "MY_NAME");
	CHECK_STREQ(in[1].pairs[0].value, "\"John Doe\"");
	CHECK_STREQ(in[1].pairs[1].value, "Rex\\ The\\ Dog");
	CHECK_STREQ(in[1].pairs[2].key, "MY_CAT");
	CHECK(in[2].n_pairs == 1);
	CHECK_STREQ(in[2].pairs[0].key, "MY_VAR");
	CHECK_STREQ(in[2].pairs[0].value, "my-value with spaces");
	CHECK(in[3].n_pairs == 2);
	CHECK_STREQ(in[3].pairs[0].value, "\"\"");
	CHECK_STREQ(in[3].pairs[1].value, "");
	CHECK(in[4].n_pairs == 2);
	CHECK_STREQ(in[4].pairs[0].key, "\"com.example.vendor\"");
	CHECK_STREQ(in[5].pairs[0].key, "legacy");
	CHECK_STREQ(in[5].pairs[0].value, "value here");
	CHECK_STREQ(in[6].pairs[0].value, "http://x/?a=b");
	df_free(f);
	CHECK_CONTAINS(parse_err("FROM a\nENV a=1 b\n"),
		       "Dockerfile:2: ENV: can't find = in \"b\"");
	CHECK_CONTAINS(parse_err("FROM a\nENV onlykey\n"),
		       "Dockerfile:2: ENV must have two arguments");
	CHECK_CONTAINS(parse_err("FROM a\nENV\n"), "ENV requires at least one argument");
	CHECK_CONTAINS(parse_err("FROM a\nENV =x\n"), "ENV names can not be blank");
	CHECK_CONTAINS(parse_err("FROM a\nARG =x\n"), "ARG names can not be blank");
	CHECK_CONTAINS(parse_err("FROM a\nLABEL\n"), "LABEL requires at least one argument");
}

static void test_from_and_stages(void)
{
	berr e = {0};
	df_file *f = parse("FROM a AS one\nFROM b as Two\nFROM one\n", &e);
	CHECK(f && f->n_stages == 3);
	CHECK(df_stage_find(f, "ONE") == &f->stages[0]);
	CHECK(df_stage_find(f, "two") == &f->stages[1]);
	CHECK(df_stage_find(f, "2") == &f->stages[2]);
	CHECK(df_stage_find(f, "3") == NULL);
	CHECK(df_stage_find(f, "nope") == NULL);
	CHECK(df_stage_find(f, "") == NULL);
	df_free(f);
	CHECK_CONTAINS(parse_err("FROM a AS x\nFROM b AS X\n"),
		       "Dockerfile:2: duplicate stage name \"x\"");
	CHECK_CONTAINS(
	    parse_err("FROM a AS y\nFROM a AS x\nFROM a AS y\nFROM a AS x\nFROM b AS y\n"),
	    "Dockerfile:3: duplicate stage name \"y\"");
	/* 10,000 stages, the last a repeat of the first */
	char *many = xmalloc(10000 * 24);
	size_t o = 0;
	for (int i = 0; i < 9999; i++)
		o += (size_t)sprintf(many + o, "FROM a AS s%d\n", i);
	o += (size_t)sprintf(many + o, "FROM a AS s0\n");
	df_file *g = df_parse(many, o, "Dockerfile", &e);
	CHECK(g == NULL);
	CHECK_STREQ(e.msg, "Dockerfile:10000: duplicate stage name \"s0\"");
	free(many);
	CHECK_CONTAINS(parse_err("FROM a AS 1x\n"), "Dockerfile:1: invalid name for build stage");
	CHECK_CONTAINS(parse_err("FROM a AS b@c\n"), "invalid name for build stage");
	CHECK_CONTAINS(parse_err("FROM a b\n"), "FROM requires either one or three arguments");
	CHECK_CONTAINS(parse_err("FROM a TO b\n"), "the second argument must be AS");
	CHECK_CONTAINS(parse_err("FROM a AS b c\n"), "one or three arguments");
	CHECK_CONTAINS(parse_err("FROM --platform=x\n"), "FROM requires an image");
	CHECK_CONTAINS(parse_err("FROM --plat=x a\n"), "unknown flag --plat for FROM");
}

static void test_flags(void)
{
	berr e = {0};
	const char *s = "FROM a\n"
			"RUN --mount=type=cache,target=/root/.cache --mount=type=secret,id=x "
			"--network=none make\n"
			"COPY --chown=\"1:1\" --exclude=*.md --exclude=*.txt . /app\n"
			"ADD --checksum=sha256:abc --keep-git-dir=true https://x/y.git /src\n";
	df_file *f = parse(s, &e);
	CHECK(f != NULL);
	const df_instr *in = f->stages[0].instrs;
	CHECK(in[1].n_flags == 3);
	CHECK_STREQ(in[1].flags[1].value, "type=secret,id=x");
	CHECK_STREQ(in[1].args[0], "make");
	CHECK_STREQ(flag(&in[2], "chown"), "1:1"); /* quotes removed */
	CHECK(in[2].n_flags == 3);
	CHECK_STREQ(flag(&in[3], "checksum"), "sha256:abc");
	df_free(f);
	CHECK_CONTAINS(parse_err("FROM a\nCOPY --from=a --from=b x y\n"),
		       "Dockerfile:2: COPY: duplicate flag --from");
	CHECK_CONTAINS(parse_err("FROM a\nRUN --bogus true\n"), "unknown flag --bogus for RUN");
	CHECK_CONTAINS(parse_err("FROM a\nWORKDIR --x=1 /a\n"), "unknown flag --x for WORKDIR");
}

static void test_onbuild(void)
{
	berr e = {0};
	df_file *f = parse("FROM a\nONBUILD COPY --chown=1 . /app\nONBUILD ENV a=b\n", &e);
	CHECK(f != NULL);
	const df_instr *ob = &f->stages[0].instrs[1];
	CHECK(ob->onbuild && ob->onbuild->kind == DF_COPY && ob->n_args == 0);
	CHECK_STREQ(flag(ob->onbuild, "chown"), "1");
	CHECK_STREQ(ob->original, "ONBUILD COPY --chown=1 . /app");
	CHECK(f->stages[0].instrs[2].onbuild->n_pairs == 1);
	df_free(f);
	CHECK_CONTAINS(parse_err("FROM a\nONBUILD ONBUILD RUN x\n"),
		       "Dockerfile:2: ONBUILD ONBUILD isn't allowed");
	CHECK_CONTAINS(parse_err("FROM a\nONBUILD FROM b\n"),
		       "FROM isn't allowed as an ONBUILD trigger");
	CHECK_CONTAINS(parse_err("FROM a\nONBUILD MAINTAINER me\n"),
		       "MAINTAINER isn't allowed as an ONBUILD trigger");
	CHECK_CONTAINS(parse_err("FROM a\nONBUILD\n"), "ONBUILD requires at least one argument");
	CHECK_CONTAINS(parse_err("FROM a\nONBUILD RUNN x\n"), "unknown instruction \"RUNN\"");
}

static void test_errors(void)
{
	/* the brief's messages, each naming the line */
	CHECK_STREQ(parse_err("FROM a\n\n# c\nRUN x\nRUN y\nRUN z\nRUNN w\n"),
		    "Dockerfile:7: unknown instruction \"RUNN\"");
	CHECK_STREQ(parse_err("ARG X\n\nFROM\n"), "Dockerfile:3: FROM requires an image");
	CHECK_STREQ(parse_err("FROM a\nRUN a\nRUN b\nRUN c\nRUN d\nRUN e\nRUN f\nRUN g\n"
			      "RUN <<EOF\nline\nEOF2\n"),
		    "Dockerfile:11: unterminated heredoc \"EOF\" (started at line 9)");
	CHECK_STREQ(parse_err(""), "Dockerfile: no FROM instruction");
	CHECK_STREQ(parse_err("# only a comment\n\nARG A=1\n"), "Dockerfile: no FROM instruction");
	CHECK_STREQ(parse_err("ARG A\nRUN x\nFROM a\n"),
		    "Dockerfile:2: RUN: instruction before FROM (only ARG may come before FROM)");
	CHECK_CONTAINS(parse_err("FROM a\nCOPY onlyone\n"),
		       "Dockerfile:2: COPY requires at least two arguments");
	CHECK_CONTAINS(parse_err("FROM a\nRUN\n"), "RUN requires at least one argument");
	CHECK_CONTAINS(parse_err("FROM a\nEXPOSE\n"), "EXPOSE requires at least one argument");
	CHECK_CONTAINS(parse_err("FROM a\nWORKDIR\n"), "WORKDIR requires at least one argument");
	/* the file's name is the caller's */
	berr e = {0};
	CHECK(df_parse("FROM a\nX\n", 9, "Containerfile", &e) == NULL);
	CHECK_STREQ(e.msg, "Containerfile:2: unknown instruction \"X\"");
	CHECK(df_parse("FROM a\nRUN a\0b\n", 14, NULL, &e) == NULL);
	CHECK_STREQ(e.msg, "Dockerfile:2: NUL byte in the line");
	/* not NUL-terminated input is read by its length */
	char buf[8];
	memcpy(buf, "FROM abc", 8);
	df_file *f = df_parse(buf, 6, "Dockerfile", &e);
	CHECK(f && !strcmp(f->stages[0].image, "a"));
	df_free(f);
	df_free(NULL);
}

static void test_bounds(void)
{
	berr e = {0};
	/* over 16 MiB: refused before reading */
	char dummy = 'x';
	CHECK(df_parse(&dummy, DF_MAX_BYTES + 1, "Dockerfile", &e) == NULL);
	CHECK_CONTAINS(e.msg, "Dockerfile: larger than");
	/* a line over 1 MiB */
	size_t n = DF_MAX_LINE + 16;
	char *big = xmalloc(n + 1);
	memcpy(big, "FROM a\nRUN ", 11);
	memset(big + 11, 'x', n - 11);
	big[n] = '\0';
	CHECK(df_parse(big, n, "Dockerfile", &e) == NULL);
	CHECK_STREQ(e.msg, "Dockerfile:2: line longer than 1048576 bytes");
	free(big);
	/* 10,000 instructions are fine, 10,001 are not */
	size_t cnt = DF_MAX_INSTRUCTIONS + 1;
	char *many = xmalloc(cnt * 8 + 16);
	size_t o = (size_t)sprintf(many, "FROM a\n");
	for (size_t i = 1; i < cnt; i++)
		o += (size_t)sprintf(many + o, "RUN x\n");
	df_file *f = df_parse(many, o - 6, "Dockerfile", &e);
	CHECK(f && f->n_instructions == DF_MAX_INSTRUCTIONS);
	df_free(f);
	CHECK(df_parse(many, o, "Dockerfile", &e) == NULL);
	CHECK_STREQ(e.msg, "Dockerfile:10001: more than 10000 instructions");
	free(many);
	/* a long continued instruction and a big heredoc are linear */
	size_t lines = 200000;
	char *cont = xmalloc(lines * 8 + 32);
	o = (size_t)sprintf(cont, "FROM a\nRUN <<E \\\n");
	for (size_t i = 0; i < lines; i++)
		o += (size_t)sprintf(cont + o, "x \\\n");
	o += (size_t)sprintf(cont + o, "y\n");
	for (size_t i = 0; i < lines; i++)
		o += (size_t)sprintf(cont + o, "b\n");
	o += (size_t)sprintf(cont + o, "E\n");
	f = df_parse(cont, o, "Dockerfile", &e);
	CHECK(f && f->stages[0].instrs[1].n_heredocs == 1);
	CHECK(strlen(f->stages[0].instrs[1].heredocs[0].content) == 2 * lines);
	CHECK(f->stages[0].instrs[1].end_line == 2 + lines + 1 + lines + 1);
	df_free(f);
	free(cont);
}

CHECK_MAIN(test_every_instruction, test_kind_table, test_directives, test_continuations,
	   test_buildkit_testfile_shapes, test_heredocs, test_json_and_shell_forms,
	   test_env_label_arg, test_from_and_stages, test_flags, test_onbuild, test_errors,
	   test_bounds)
