/* engine/container.h without a container: detach keys, the relay of the
 * attach protocol against a socketpair (a fake monitor on the other end),
 * json-file log lines and their filters, eng_container_logs over a fake
 * store's rotated files, the record's paths. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "engine/container.h"
#include "util/fs.h"
#include "util/xalloc.h"

static void detach_keys(void)
{
	unsigned char k[16];
	size_t n;
	berr e;
	CHECK(eng_parse_detach_keys("ctrl-p,ctrl-q", k, &n, &e) == 0);
	CHECK(n == 2 && k[0] == 16 && k[1] == 17);
	CHECK(eng_parse_detach_keys("ctrl-a,x,ctrl-@,ctrl-_", k, &n, &e) == 0);
	CHECK(n == 4 && k[0] == 1 && k[1] == 'x' && k[2] == 0 && k[3] == 31);
	CHECK(eng_parse_detach_keys("ctrl-1", k, &n, &e) < 0);
	CHECK_CONTAINS(e.msg, "invalid key \"ctrl-1\"");
	CHECK(eng_parse_detach_keys("abc", k, &n, &e) < 0);
	CHECK(eng_parse_detach_keys(",", k, &n, &e) < 0);
	CHECK_CONTAINS(e.msg, "no keys");
	CHECK(eng_parse_detach_keys("a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q", k, &n, &e) < 0);
	CHECK_CONTAINS(e.msg, "too many keys");
	char *longs = xmalloc(400);
	memset(longs, 'a', 399);
	longs[399] = 0;
	int r = eng_parse_detach_keys(longs, k, &n, &e);
	free(longs);
	CHECK(r < 0);
}

/* One frame from fd: type, and the data into buf (len). -1 at EOF. */
static int read_frame(int fd, char *buf, size_t cap, uint32_t *len)
{
	unsigned char h[5];
	if (fs_read_full(fd, h, 5) != 5)
		return -1;
	*len = h[1] | (uint32_t)h[2] << 8 | (uint32_t)h[3] << 16 | (uint32_t)h[4] << 24;
	if (*len > cap || fs_read_full(fd, buf, *len) != (ssize_t)*len)
		return -1;
	return h[0];
}

static void send_exit(int fd, unsigned status)
{
	unsigned char b[4] = {(unsigned char)status, (unsigned char)(status >> 8), 0, 0};
	eng_attach_send(fd, ENG_FRAME_EXIT, b, 4);
}

static char *drain(int fd)
{
	char *s = NULL;
	size_t n = 0;
	berr e;
	if (fs_read_fd(fd, &s, &n, &e) < 0)
		return xstrdup("");
	return s;
}

static void relay_output_and_exit(void)
{
	int sp[2], out[2], err[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0);
	CHECK(pipe2(out, O_CLOEXEC) == 0 && pipe2(err, O_CLOEXEC) == 0);
	eng_attach_send(sp[1], ENG_FRAME_STDOUT, "hello\n", 6);
	eng_attach_send(sp[1], ENG_FRAME_STDERR, "oops\n", 5);
	eng_attach_send(sp[1], ENG_FRAME_STDOUT, "bye\n", 4);
	send_exit(sp[1], 7);
	eng_attach_opts o = {
	    .in_fd = -1, .out_fd = out[1], .err_fd = err[1], .event_fd = -1, .hup_fd = -1};
	int st = eng_attach_relay(NULL, "x", sp[0], &o);
	close(out[1]);
	close(err[1]);
	char *so = drain(out[0]), *se = drain(err[0]);
	close(out[0]);
	close(err[0]);
	close(sp[0]);
	close(sp[1]);
	CHECK(st == 7);
	CHECK_STREQ(so, "hello\nbye\n");
	CHECK_STREQ(se, "oops\n");
	free(so);
	free(se);
}

/* A fake monitor: collects stdin frames until the empty one, then sends
 * what it got back as stdout and exits with the number of frames. */
static _Noreturn void fake_monitor(int fd)
{
	char got[4096], buf[4096];
	size_t n = 0;
	int frames = 0;
	uint32_t len;
	int t;
	while ((t = read_frame(fd, buf, sizeof(buf), &len)) >= 0) {
		if (t != ENG_FRAME_STDIN)
			continue;
		if (!len)
			break;
		frames++;
		if (n + len <= sizeof(got)) {
			memcpy(got + n, buf, len);
			n += len;
		}
	}
	eng_attach_send(fd, ENG_FRAME_STDOUT, got, (uint32_t)n);
	send_exit(fd, (unsigned)frames);
	_exit(0);
}

static void relay_input_partial_sequence(void)
{
	int sp[2], in[2], out[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0);
	CHECK(pipe2(in, O_CLOEXEC) == 0 && pipe2(out, O_CLOEXEC) == 0);
	pid_t m = fork();
	CHECK(m >= 0);
	if (m == 0) {
		close(sp[0]);
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		fake_monitor(sp[1]);
	}
	close(sp[1]);
	/* ctrl-p then b: not the sequence, both go on; a last ctrl-p held at
	 * the end of input is sent before the EOF */
	CHECK(write(in[1],
		    "a\x10"
		    "b\x10",
		    4) == 4);
	close(in[1]);
	eng_attach_opts o = {.in_fd = in[0],
			     .out_fd = out[1],
			     .err_fd = -1,
			     .eof_closes = true,
			     .event_fd = -1,
			     .hup_fd = -1};
	berr e;
	CHECK(eng_parse_detach_keys("ctrl-p,ctrl-q", o.keys, &o.nkeys, &e) == 0);
	int st = eng_attach_relay(NULL, "x", sp[0], &o);
	close(out[1]);
	char *so = drain(out[0]);
	close(out[0]);
	close(in[0]);
	close(sp[0]);
	int ws;
	waitpid(m, &ws, 0);
	CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
	CHECK_STREQ(so, "a\x10"
			"b\x10");
	CHECK(st == 2); /* "a^Pb", then the held "^P" */
	free(so);
}

static void relay_detach(void)
{
	int sp[2], in[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0);
	CHECK(pipe2(in, O_CLOEXEC) == 0);
	CHECK(write(in[1], "xy\x10\x11z", 5) == 5);
	eng_attach_opts o = {
	    .in_fd = in[0], .out_fd = -1, .err_fd = -1, .event_fd = -1, .hup_fd = -1};
	berr e;
	CHECK(eng_parse_detach_keys("ctrl-p,ctrl-q", o.keys, &o.nkeys, &e) == 0);
	int st = eng_attach_relay(NULL, "x", sp[0], &o);
	close(sp[0]);
	char buf[64];
	uint32_t len;
	int t = read_frame(sp[1], buf, sizeof(buf), &len);
	int t2 = read_frame(sp[1], buf + 8, sizeof(buf) - 8, &len);
	close(sp[1]);
	close(in[0]);
	close(in[1]);
	CHECK(st == ENG_ATTACH_DETACHED);
	CHECK(t == ENG_FRAME_STDIN && !memcmp(buf, "xy", 2));
	CHECK(t2 == -1); /* nothing after the sequence, "z" not sent */
}

static void relay_busy_and_gone(void)
{
	int sp[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0);
	eng_attach_send(sp[1], ENG_FRAME_BUSY, NULL, 0);
	eng_attach_opts o = {.in_fd = -1, .out_fd = -1, .err_fd = -1, .event_fd = -1, .hup_fd = -1};
	CHECK(eng_attach_relay(NULL, "x", sp[0], &o) == ENG_ATTACH_BUSY);
	close(sp[1]);
	/* the monitor went away without the exit frame */
	CHECK(eng_attach_relay(NULL, "x", sp[0], &o) == ENG_ATTACH_GONE);
	close(sp[0]);
	/* a frame longer than any the monitor sends ends the relay */
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0);
	unsigned char h[5] = {ENG_FRAME_STDOUT, 0xff, 0xff, 0xff, 0x7f};
	CHECK(write(sp[1], h, 5) == 5);
	CHECK(eng_attach_relay(NULL, "x", sp[0], &o) == ENG_ATTACH_GONE);
	close(sp[0]);
	close(sp[1]);
}

typedef struct collect {
	char buf[256];
	size_t n;
	int calls, stop_after;
} collect;

static int collect_write(void *arg, int stream, const void *d, size_t n)
{
	collect *c = arg;
	if (++c->calls > c->stop_after)
		return -1;
	if (c->n + n + 1 < sizeof(c->buf)) {
		c->buf[c->n++] = stream == 1 ? 'O' : 'E';
		memcpy(c->buf + c->n, d, n);
		c->n += n;
		c->buf[c->n] = 0;
	}
	return 0;
}

static void relay_writer(void)
{
	int sp[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0);
	eng_attach_send(sp[1], ENG_FRAME_STDOUT, "1", 1);
	eng_attach_send(sp[1], ENG_FRAME_STDERR, "2", 1);
	eng_attach_send(sp[1], ENG_FRAME_STDOUT, "3", 1);
	send_exit(sp[1], 0);
	collect c = {.stop_after = 2};
	eng_attach_opts o = {
	    .in_fd = -1, .write = collect_write, .arg = &c, .event_fd = -1, .hup_fd = -1};
	int st = eng_attach_relay(NULL, "x", sp[0], &o);
	close(sp[0]);
	close(sp[1]);
	CHECK(st == ENG_ATTACH_GONE); /* the writer stopped at the third */
	CHECK_STREQ(c.buf, "O1E2");
}

typedef struct ev_ctx {
	int fd, calls;
} ev_ctx;

static void on_ev(void *arg, eng_attach_event *ev)
{
	ev_ctx *x = arg;
	char b;
	if (read(x->fd, &b, 1) == 1) {
		x->calls++;
		ev->resize = true;
		ev->rows = 24;
		ev->cols = 300;
		ev->signal = SIGTERM; /* not proxied: no sig_proxy */
	}
}

static void relay_resize_event(void)
{
	int sp[2], ev[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0);
	CHECK(pipe2(ev, O_CLOEXEC) == 0);
	CHECK(write(ev[1], "w", 1) == 1);
	send_exit(sp[1], 3);
	ev_ctx x = {.fd = ev[0]};
	eng_attach_opts o = {.in_fd = -1,
			     .out_fd = -1,
			     .err_fd = -1,
			     .rows = 30,
			     .cols = 100,
			     .event_fd = ev[0],
			     .on_event = on_ev,
			     .arg = &x};
	int st = eng_attach_relay(NULL, "x", sp[0], &o);
	close(sp[0]);
	unsigned char a[8], b[8];
	uint32_t la = 0, lb = 0;
	int ta = read_frame(sp[1], (char *)a, sizeof(a), &la);
	int tb = read_frame(sp[1], (char *)b, sizeof(b), &lb);
	close(sp[1]);
	close(ev[0]);
	close(ev[1]);
	CHECK(st == 3 && x.calls == 1);
	CHECK(ta == ENG_FRAME_RESIZE && la == 4 && (a[0] | a[1] << 8) == 30 &&
	      (a[2] | a[3] << 8) == 100);
	CHECK(tb == ENG_FRAME_RESIZE && lb == 4 && (b[0] | b[1] << 8) == 24 &&
	      (b[2] | b[3] << 8) == 300);
}

static void log_lines(void)
{
	eng_log_entry en;
	CHECK(eng_log_parse("{\"log\":\"hi\\n\",\"stream\":\"stderr\","
			    "\"time\":\"2023-11-14T22:13:20.123456789Z\"}",
			    &en) == 0);
	CHECK(en.stream == 2 && en.len == 3 && !memcmp(en.bytes, "hi\n", 3));
	CHECK(en.time_ns == 1700000000123456789LL);
	CHECK_STREQ(en.time, "2023-11-14T22:13:20.123456789Z");
	eng_logs_opts o = {.tail = -1};
	CHECK(eng_logs_want(&o, &en));
	o.no_stderr = true;
	CHECK(!eng_logs_want(&o, &en));
	o = (eng_logs_opts){.since_ns = 1700000000123456790LL};
	CHECK(!eng_logs_want(&o, &en));
	o = (eng_logs_opts){.since_ns = 1700000000123456789LL, .until_ns = 1700000000123456789LL};
	CHECK(eng_logs_want(&o, &en));
	o = (eng_logs_opts){.until_ns = 1700000000LL};
	CHECK(!eng_logs_want(&o, &en));
	eng_log_entry_free(&en);
	/* bytes with a NUL and no stream: stdout */
	CHECK(eng_log_parse("{\"log\":\"a\\u0000b\"}", &en) == 0);
	CHECK(en.stream == 1 && en.len == 3 && en.bytes[1] == 0 && !en.time && !en.time_ns);
	eng_log_entry_free(&en);
	CHECK(eng_log_parse("not json", &en) < 0);
	CHECK(eng_log_parse("[1,2]", &en) < 0);
	CHECK(eng_log_parse("{\"log\":5}", &en) < 0);
	CHECK(eng_log_parse("{\"stream\":\"stdout\"}", &en) < 0);
}

static void log_times(void)
{
	int64_t now = 1700000000000000000LL, v;
	berr e;
	CHECK(eng_logs_time_parse("--since", "2023-11-14T22:13:20Z", now, &v, &e) == 0 &&
	      v == 1700000000000000000LL);
	CHECK(eng_logs_time_parse("--since", "2023-11-14T22:13:20.5Z", now, &v, &e) == 0 &&
	      v == 1700000000500000000LL);
	CHECK(eng_logs_time_parse("--since", "1700000000", now, &v, &e) == 0 &&
	      v == 1700000000000000000LL);
	CHECK(eng_logs_time_parse("--since", "1700000000.25", now, &v, &e) == 0 &&
	      v == 1700000000250000000LL);
	CHECK(eng_logs_time_parse("--since", "42m", now, &v, &e) == 0 &&
	      v == now - 42LL * 60 * 1000000000);
	CHECK(eng_logs_time_parse("--since", "1h30m10s", now, &v, &e) == 0 &&
	      v == now - (3600LL + 1800 + 10) * 1000000000);
	CHECK(eng_logs_time_parse("--since", "1.5h", now, &v, &e) == 0 &&
	      v == now - 5400LL * 1000000000);
	CHECK(eng_logs_time_parse("--until", "10x", now, &v, &e) < 0);
	CHECK_CONTAINS(e.msg, "invalid --until \"10x\"");
	CHECK(eng_logs_time_parse("--since", "", now, &v, &e) < 0);
	CHECK(eng_logs_time_parse("--since", "m", now, &v, &e) < 0);
	CHECK(eng_logs_time_parse("--since", "2023-11-14T22:13:20+02:00", now, &v, &e) < 0);
	CHECK(eng_logs_time_parse("--since", "T-", now, &v, &e) < 0);
	CHECK(eng_logs_time_parse("--since", "99999999999999999999h", now, &v, &e) < 0);
	CHECK(eng_logs_time_parse("--since", "9999999999999h", now, &v, &e) < 0);
}

static int log_collect(void *arg, const eng_log_entry *en)
{
	collect *c = arg;
	if (++c->calls > c->stop_after)
		return -1;
	if (c->n + en->len + 1 < sizeof(c->buf)) {
		c->buf[c->n++] = en->stream == 1 ? 'O' : 'E';
		memcpy(c->buf + c->n, en->bytes, en->len);
		c->n += en->len;
		c->buf[c->n] = 0;
	}
	return 0;
}

static void put_file(const char *dir, const char *name, const char *text)
{
	char *p = xasprintf("%s/%s", dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		fs_write_all(fd, text, strlen(text));
		close(fd);
	}
	free(p);
}

#define LINE(s, t, sec) "{\"log\":\"" t "\\n\",\"stream\":\"" s "\",\"time\":\"" sec "\"}\n"

static void logs_of_a_store(void)
{
	char tmpl[] = "/tmp/test-engine-ctr-XXXXXX";
	CHECK(mkdtemp(tmpl));
	char *root = xasprintf("%s/root", tmpl), *run = xasprintf("%s/run", tmpl);
	berr e;
	eng *g = eng_open(root, run, &e);
	CHECK(g);
	char id[65];
	eng_new_id(id);
	char *dir = eng_path(g, id, "");
	CHECK(mkdir(dir, 0700) == 0);
	json_object *doc = json_tokener_parse(
	    "{\"Name\":\"/logtest\",\"HostConfig\":{\"LogConfig\":{\"Type\":\"json-file\","
	    "\"Config\":{\"max-size\":\"100\",\"max-file\":\"3\"}}},\"State\":{}}");
	json_object_object_add(doc, "Id", json_object_new_string(id));
	CHECK(eng_save(g, id, doc, &e) == 0);
	char name[128];
	eng_doc_name(doc, id, name);
	CHECK_STREQ(name, "logtest");
	CHECK(eng_doc_int(doc, "HostConfig.LogConfig.Config.nothing") == 0);
	CHECK_STREQ(eng_doc_str(doc, "HostConfig.LogConfig.Config.max-file"), "3");
	CHECK(!eng_doc_str(doc, "HostConfig.LogConfig.Type.deeper"));
	json_object_put(doc);
	/* oldest first: ctr.log.2, ctr.log.1, ctr.log */
	put_file(dir, "ctr.log.2", LINE("stdout", "a", "2023-11-14T22:13:20Z"));
	put_file(dir, "ctr.log.1",
		 LINE("stderr", "b", "2023-11-14T22:13:21Z") "garbage\n" LINE(
		     "stdout", "c", "2023-11-14T22:13:22Z"));
	put_file(dir, "exit", "0 1700000004000000000\n"); /* exited */
	put_file(dir, "ctr.log", LINE("stdout", "d", "2023-11-14T22:13:23Z") "{\"log\":\"partial");
	collect c = {.stop_after = 100};
	eng_logs_opts o = {.tail = -1, .write = log_collect, .arg = &c};
	CHECK(eng_container_logs(g, id, &o, &e) == 0);
	CHECK_STREQ(c.buf, "Oa\nEb\nOc\nOd\n");
	/* tail counts lines (the unparsable one too), then the streams */
	c = (collect){.stop_after = 100};
	o = (eng_logs_opts){.tail = 3, .no_stderr = true, .write = log_collect, .arg = &c};
	CHECK(eng_container_logs(g, id, &o, &e) == 0);
	CHECK_STREQ(c.buf, "Oc\nOd\n");
	c = (collect){.stop_after = 100};
	o = (eng_logs_opts){.tail = -1,
			    .since_ns = 1700000001000000000LL,
			    .until_ns = 1700000002000000000LL,
			    .write = log_collect,
			    .arg = &c};
	CHECK(eng_container_logs(g, id, &o, &e) == 0);
	CHECK_STREQ(c.buf, "Eb\nOc\n");
	/* a writer that stops: EPIPE */
	c = (collect){.stop_after = 1};
	o = (eng_logs_opts){.tail = -1, .write = log_collect, .arg = &c};
	CHECK(eng_container_logs(g, id, &o, &e) < 0 && e.errnum == EPIPE);
	CHECK_STREQ(c.buf, "Oa\n");
	/* follow of a container with no monitor (exited): what is there */
	c = (collect){.stop_after = 100};
	o = (eng_logs_opts){.tail = 1, .follow = true, .write = log_collect, .arg = &c};
	CHECK(eng_container_logs(g, id, &o, &e) == 0);
	CHECK_STREQ(c.buf, "Od\n");
	/* --log-driver none */
	doc = eng_load(g, id, &e);
	json_object *lc = json_object_new_object();
	json_object_object_add(lc, "Type", json_object_new_string("none"));
	json_object_object_add(json_object_object_get(doc, "HostConfig"), "LogConfig", lc);
	CHECK(eng_save(g, id, doc, &e) == 0);
	json_object_put(doc);
	CHECK(eng_container_logs(g, id, &o, &e) < 0 && e.errnum == ENOTSUP);
	CHECK(eng_container_logs(g, "0000", &o, &e) < 0);
	eng_close(g);
	fs_rm_rf_at(AT_FDCWD, tmpl, &e);
	free(dir);
	free(root);
	free(run);
}

static void start_refuses_a_dead_one(void)
{
	/* a record still "creating" whose creator is gone reads as dead: start
	 * refuses it and leaves it as it was (no monitor forked, no mount) */
	char tmpl[] = "/tmp/test-engine-dead-XXXXXX";
	CHECK(mkdtemp(tmpl));
	char *root = xasprintf("%s/root", tmpl), *run = xasprintf("%s/run", tmpl);
	berr e;
	eng *g = eng_open(root, run, &e);
	CHECK(g);
	char id[65];
	eng_new_id(id);
	char *dir = eng_path(g, id, "");
	CHECK(mkdir(dir, 0700) == 0);
	json_object *doc = json_tokener_parse("{\"Name\":\"/half\",\"State\":{\"Status\":"
					      "\"creating\",\"CreatorPid\":1,\"CreatorStart\":0}}");
	CHECK(eng_save(g, id, doc, &e) == 0);
	json_object_put(doc);
	eng_start_opts o = {.helper_dir = "/nonexistent"};
	eng_start_result r;
	CHECK(eng_container_start(g, id, &o, &r, &e) < 0);
	CHECK(e.errnum == EINVAL && r.exit_code == 125 && r.attach_fd == -1 && !r.warnings);
	CHECK_STREQ(e.msg, "container half is dead (its creation was interrupted): remove it");
	doc = eng_load(g, id, &e);
	CHECK(doc && !eng_doc_int(doc, "State.MonitorPid"));
	json_object_put(doc);
	eng_close(g);
	fs_rm_rf_at(AT_FDCWD, tmpl, &e);
	free(dir);
	free(root);
	free(run);
}

CHECK_MAIN(detach_keys, relay_output_and_exit, relay_input_partial_sequence, relay_detach,
	   relay_busy_and_gone, relay_writer, relay_resize_event, log_lines, log_times,
	   logs_of_a_store, start_refuses_a_dead_one)
