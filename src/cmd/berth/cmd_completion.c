/* `berth completion bash|zsh|fish`: the shell scripts, and the names that
 * complete their arguments (containers, images, volumes). Each script is a
 * thin shim: it hands the words typed so far to `berth __complete`, which
 * answers from the commands' own flag tables (src/cmd/common/cli_help.h);
 * the answer ":files" asks the shell for file names. */
#include <stdio.h>
#include <string.h>

#include "ctr.h"
#include "util/cleanup.h"
#include "util/xalloc.h"

/* bash splits words at ':' and '=' too (COMP_WORDBREAKS), which would cut
 * image references (busybox:latest) and --root=DIR apart: the words are
 * taken from COMP_LINE (up to the cursor) split at blanks, and the answers
 * lose what bash counts as an earlier word. */
static const char bash_script[] =
    "# bash completion for berth (made by `berth completion bash`)\n"
    "_berth()\n"
    "{\n"
    "\tlocal IFS=$' \\t\\n' line out cur bcur=${COMP_WORDS[COMP_CWORD]}\n"
    "\tlocal -a w\n"
    "\tif [[ -n ${COMP_LINE-} ]]; then\n"
    "\t\tline=${COMP_LINE:0:COMP_POINT}\n"
    "\t\tread -ra w <<<\"$line\"\n"
    "\t\t[[ -z $line || $line == *[[:space:]] ]] && w+=(\"\")\n"
    "\telse\n"
    "\t\tw=(\"${COMP_WORDS[@]:0:COMP_CWORD+1}\")\n"
    "\tfi\n"
    "\tcur=${w[${#w[@]}-1]}\n"
    "\tIFS=$'\\n'\n"
    "\tout=$(\"${w[0]}\" __complete \"${w[@]:1}\" 2>/dev/null) || return 0\n"
    "\tif [[ $out == :files ]]; then\n"
    "\t\tcompopt -o filenames 2>/dev/null\n"
    "\t\tCOMPREPLY=($(compgen -f -- \"$bcur\"))\n"
    "\t\treturn 0\n"
    "\tfi\n"
    "\tCOMPREPLY=($out)\n"
    "\tlocal pre=${cur%\"$bcur\"}\n"
    "\t[[ -n $pre && $pre != \"$cur\" ]] && COMPREPLY=(\"${COMPREPLY[@]#\"$pre\"}\")\n"
    "\treturn 0\n"
    "}\n"
    "complete -F _berth berth\n";

static const char zsh_script[] =
    "#compdef berth\n"
    "# zsh completion for berth (made by `berth completion zsh`)\n"
    "_berth() {\n"
    "\tlocal -a out\n"
    "\tout=(\"${(@f)$(${words[1]} __complete \"${(@)words[2,CURRENT]}\" 2>/dev/null)}\")\n"
    "\tout=(${out:#})\n"
    "\tif [[ ${out[1]} == :files ]]; then\n"
    "\t\t_files\n"
    "\telif (( ${#out} )); then\n"
    "\t\tcompadd -Q -- \"${out[@]}\"\n"
    "\tfi\n"
    "}\n"
    "if [[ $funcstack[1] == _berth ]]; then\n"
    "\t_berth \"$@\"\n"
    "else\n"
    "\tcompdef _berth berth\n"
    "fi\n";

static const char fish_script[] =
    "# fish completion for berth (made by `berth completion fish`)\n"
    "function __berth_complete\n"
    "    set -l words (commandline -opc)\n"
    "    set -l cur (commandline -ct)\n"
    "    set -l out ($words[1] __complete $words[2..-1] \"$cur\" 2>/dev/null)\n"
    "    if test \"$out\" = :files\n"
    "        __fish_complete_path \"$cur\"\n"
    "    else\n"
    "        printf '%s\\n' $out\n"
    "    end\n"
    "end\n"
    "complete -c berth -f -a '(__berth_complete)'\n";

int cmd_completion(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {
	    "completion",
	    "bash|zsh|fish",
	    "Print a shell completion script",
	    "The script completes commands, subcommands, flags, container names, image "
	    "references and volume names; it asks berth itself (berth __complete), so it "
	    "knows what this berth knows. `make install` puts the scripts where the shells "
	    "look for them.",
	    "source <(berth completion bash)\n"
	    "berth completion zsh > \"${fpath[1]}/_berth\"\n"
	    "berth completion fish > ~/.config/fish/completions/berth.fish",
	    CLI_ARGS_NONE,
	};
	int st, i = cli_flags(c, &doc, NULL, argc, argv, &st);
	if (i < 0)
		return st;
	static const struct {
		const char *shell, *script;
	} scripts[] = {{"bash", bash_script}, {"zsh", zsh_script}, {"fish", fish_script}};
	if (i + 1 != argc)
		return cli_failf(125, "\"completion\" requires 1 argument: bash, zsh or fish");
	for (size_t k = 0; k < ARRAY_SIZE(scripts); k++)
		if (!strcmp(argv[i], scripts[k].shell)) {
			fputs(scripts[k].script, stdout);
			return 0;
		}
	return cli_failf(125, "completion: unknown shell \"%s\" (bash, zsh, fish)", argv[i]);
}

static void put_match(const char *s, const char *cur)
{
	if (s && *s && !strncmp(s, cur, strlen(cur)))
		printf("%s\n", s);
}

static void complete_containers(cli *c, const char *cur)
{
	berr e;
	eng *g = ctr_open(c, &e);
	if (!g)
		return;
	char **ids = eng_list(g);
	for (char **p = ids; *p; p++) {
		json_object *d = eng_load(g, *p, &e);
		if (!d)
			continue;
		const char *nm = eng_doc_str(d, "Name");
		put_match(nm && nm[0] == '/' ? nm + 1 : nm, cur);
		if (*cur) /* ids only when asked for: names are what people type */
			put_match(*p, cur);
		json_object_put(d);
	}
	strv_free(ids);
	eng_close(g);
}

static void complete_volumes(cli *c, const char *cur)
{
	berr e;
	eng *g = ctr_open(c, &e);
	if (!g)
		return;
	char **names = eng_volume_list(g);
	for (char **n = names; *n; n++)
		put_match(*n, cur);
	strv_free(names);
	eng_close(g);
}

void cli_complete_store(void *opaque, enum cli_args kind, const char *cur)
{
	cli *c = opaque;
	if (kind == CLI_ARGS_CONTAINERS)
		complete_containers(c, cur);
	else if (kind == CLI_ARGS_IMAGES)
		cli_complete_images(c->root, cur);
	else if (kind == CLI_ARGS_VOLUMES)
		complete_volumes(c, cur);
}
