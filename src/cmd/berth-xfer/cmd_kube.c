/* berth kube check: read a Kubernetes manifest into the model
 * (src/lib/kube) and list its objects, or name the first error. Here, in
 * berth-xfer, so that only these commands load libyaml. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kube/model.h"
#include "kube/yaml.h"
#include "util/cleanup.h"
#include "util/xalloc.h"
#include "xfer.h"

/* The whole of fd, up to one byte more than the model reads (so that a
 * larger input is refused by ky_parse with its size named). */
static char *read_bounded(int fd, const char *name, size_t *len, berr *e)
{
	size_t cap = 65536, n = 0, max = (size_t)KY_MAX_BYTES + 1;
	char *buf = xmalloc(cap);
	for (;;) {
		if (n == cap) {
			cap = cap * 2 > max ? max : cap * 2;
			buf = xrealloc(buf, cap);
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			berr_sys(e, "read %s", name);
			free(buf);
			return NULL;
		}
		n += (size_t)r;
		if (!r || n == max)
			break;
	}
	*len = n;
	return buf;
}

static void print_obj(const kube_obj *o)
{
	printf("%s ", kube_kind_name(o->kind));
	if (o->meta.namespace) {
		cli_print_clean(stdout, o->meta.namespace);
		putchar('/');
	}
	cli_print_clean(stdout, o->meta.name);
	putchar('\n');
}

static int kube_check(cli *c, int argc, char **argv)
{
	static const cli_doc doc = {
	    "kube check",
	    "FILE|-",
	    "Check a Kubernetes YAML file and list its objects",
	    "Reads the objects berth kube play runs (Pod, Deployment, Service, ConfigMap, Secret, "
	    "PersistentVolumeClaim) and prints one line per object, KIND [NAMESPACE/]NAME, or "
	    "the first error with its line and the field's path; a kind or field berth does not "
	    "support is an error. - reads standard input.",
	    "berth kube check app.yaml\nkubectl create deployment web --image=nginx "
	    "--dry-run=client -o yaml | berth kube check -",
	    CLI_ARGS_FILES};
	int st, first = cli_flags(c, &doc, NULL, argc, argv, &st);
	if (first < 0)
		return st;
	if (argc - first != 1)
		return cli_failf(125, "kube check: one FILE (or - for standard input)");
	const char *path = argv[first];
	bool in = !strcmp(path, "-");
	const char *name = in ? "<stdin>" : path;
	_cleanup_close_ int fd = in ? -1 : open(path, O_RDONLY | O_CLOEXEC);
	if (!in && fd < 0)
		return cli_failf(125, "open %s: %s", path, strerror(errno));
	berr e = {0};
	size_t len = 0;
	_cleanup_free_ char *data = read_bounded(in ? STDIN_FILENO : fd, name, &len, &e);
	if (!data)
		return cli_fail(125, &e);
	kube_file *f = kube_parse(data, len, name, &e);
	if (!f)
		return cli_fail(125, &e);
	for (size_t i = 0; i < f->n_objs; i++)
		print_obj(&f->objs[i]);
	kube_file_free(f);
	return 0;
}

int cmd_kube(cli *c, int argc, char **argv)
{
	static const cli_cmd subs[] = {
	    {"check", kube_check, "Check a Kubernetes YAML file and list its objects"}};
	static const cli_doc doc = {
	    "kube",	  "COMMAND", "Read Kubernetes YAML", NULL, "berth kube check app.yaml",
	    CLI_ARGS_NONE};
	return cli_subcommands(c, &doc, subs, ARRAY_SIZE(subs), argc, argv);
}
