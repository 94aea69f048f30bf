/* Rootless container networking of berth run: the tool process per
 * container (see netrl.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/netports.h"
#include "engine/netpriv.h"
#include "engine/netrl.h"
#include "net/rootless.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define NETRL_FILE "netrl"

const char *eng_net_rl_tool(const char *mode)
{
	static const char *const tools[] = {"pasta", "slirp4netns"};
	for (size_t i = 0; mode && i < 2; i++) {
		size_t n = strlen(tools[i]);
		if (!strncmp(mode, tools[i], n) && (mode[n] == '\0' || mode[n] == ':'))
			return tools[i];
	}
	return NULL;
}

/* NetworkSettings.Ports (filled by eng_net_prepare) as the tool's ports;
 * the host addresses point into doc. */
static net_rl_port *rl_ports(json_object *doc, size_t *np)
{
	json_object *ports = jpath(doc, "NetworkSettings.Ports");
	size_t cap = 0, n = 0;
	net_rl_port *v = NULL;
	json_object_object_foreach(ports, key, arr)
	{
		int proto;
		uint16_t cport;
		if (port_key_parse(key, &proto, &cport) < 0 ||
		    !json_object_is_type(arr, json_type_array))
			continue;
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			json_object *b = json_object_array_get_idx(arr, i);
			const char *hip = jstr(b, "HostIp");
			long hp = jstr(b, "HostPort") ? strtol(jstr(b, "HostPort"), NULL, 10) : 0;
			if (hp < 1 || hp > 65535)
				continue;
			if (hip && (!strcmp(hip, "0.0.0.0") || !*hip))
				hip = NULL;
			if (n == cap)
				v = xreallocarray(v, cap = cap ? 2 * cap : 8, sizeof(*v));
			v[n++] = (net_rl_port){.proto = proto,
					       .host_port = (uint16_t)hp,
					       .ctr_port = cport,
					       .host_ip = hip};
		}
	}
	*np = n;
	return v;
}

static int rl_record(eng *g, const char *id, const net_rl *rl, berr *e)
{
	char buf[96];
	int n = snprintf(buf, sizeof(buf), "%d %llu %s\n", (int)rl->pid, eng_proc_start(rl->pid),
			 rl->tool);
	_cleanup_free_ char *p = eng_path(g, id, NETRL_FILE);
	return fs_write_atomic(p, buf, (size_t)n, 0600, false, e);
}

/* The recorded tool: 1 (filled), 0 none, its process gone or another now. */
static int rl_read(const char *path, net_rl *rl)
{
	memset(rl, 0, sizeof(*rl));
	rl->exit_fd = -1;
	_cleanup_free_ char *txt = NULL;
	size_t len;
	berr ig;
	if (fs_read_file_at(AT_FDCWD, path, &txt, &len, &ig) < 0)
		return 0;
	int pid;
	unsigned long long st;
	char tool[16];
	if (sscanf(txt, "%d %llu %15s", &pid, &st, tool) != 3 || pid <= 0 || !eng_net_rl_tool(tool))
		return 0;
	if (st == 0 || eng_proc_start(pid) != st)
		return 0;
	rl->pid = pid;
	snprintf(rl->tool, sizeof(rl->tool), "%s", tool);
	return 1;
}

int eng_net_rl_attach(eng *g, const char *id, json_object *doc, pid_t pid, eng_net_hold *hold,
		      berr *e)
{
	const char *mode = jstr(jget(doc, "HostConfig"), "NetworkMode");
	const char *tool = eng_net_rl_tool(mode);
	size_t np;
	_cleanup_free_ net_rl_port *ports = rl_ports(doc, &np);
	net_rl rl;
	char dns[64];
	if (net_rl_attach(pid, tool, ports, np, &rl, dns, e) < 0)
		return -1;
	if (rl_record(g, id, &rl, e) < 0) {
		net_rl_detach(&rl);
		return -1;
	}
	/* slirp4netns exits when the monitor (holding its exit fd) does */
	if (rl.exit_fd >= 0) {
		if (hold->n < sizeof(hold->fds) / sizeof(hold->fds[0]))
			hold->fds[hold->n++] = rl.exit_fd;
		else
			close(rl.exit_fd);
	}
	return 0;
}

int eng_net_rl_detach(eng *g, const char *id, berr *e)
{
	(void)e;
	_cleanup_free_ char *p = eng_path(g, id, NETRL_FILE);
	net_rl rl;
	if (rl_read(p, &rl))
		net_rl_detach(&rl);
	if (unlink(p) < 0 && errno != ENOENT)
		return berr_sys(e, "unlink %s", p);
	return 0;
}

void eng_net_rl_check(eng *g, bool repair, char ***garbage, char ***repaired)
{
	_cleanup_strv_ char **ids = eng_list(g);
	for (char **id = ids; id && *id; id++) {
		_cleanup_free_ char *p = eng_path(g, *id, NETRL_FILE);
		if (access(p, F_OK) < 0)
			continue;
		berr ig;
		json_object *d = eng_load(g, *id, &ig);
		const char *st = d ? eng_reconcile(g, *id, d) : "removed";
		json_object_put(d);
		if (!strcmp(st, "running") || !strcmp(st, "paused") || !strcmp(st, "created") ||
		    !strcmp(st, "creating"))
			continue;
		net_rl rl;
		if (!rl_read(p, &rl)) {
			if (repair)
				unlink(p);
			continue; /* only the file: nothing runs */
		}
		char *what = xasprintf("%s process %d of container %.12s that is %s", rl.tool,
				       (int)rl.pid, *id, st);
		strv_push(garbage, what);
		if (repair) {
			net_rl_detach(&rl);
			unlink(p);
			strv_push(repaired, what);
		}
		free(what);
	}
}
