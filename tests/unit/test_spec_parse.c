/* The OCI config parser: a full config field by field, runc's default spec
 * round trip, and bad inputs with their exact messages. */
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "spec/spec.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/xalloc.h"

/* JSON written with single quotes (no apostrophes in the texts below). */
static char *J(const char *s)
{
	char *d = xstrdup(s);
	for (char *p = d; *p; p++)
		if (*p == '\'')
			*p = '"';
	return d;
}

static int parse(const char *sq, spec **out, berr *e)
{
	_cleanup_free_ char *j = J(sq);
	return spec_parse(j, strlen(j), "config.json", out, e);
}

#define CAP(n) (1ULL << (n))

static const char *full_config =
    "{'ociVersion':'1.1.0',"
    " 'root':{'path':'rootfs','readonly':true},"
    " 'process':{'terminal':true,'consoleSize':{'height':24,'width':80},"
    "   'user':{'uid':1000,'gid':1001,'umask':18,'additionalGids':[5,6,4294967294]},"
    "   'args':['/bin/sh','-c','echo hi'],'env':['PATH=/bin','EMPTY='],'cwd':'/home',"
    "   'capabilities':{'bounding':['CAP_CHOWN','CAP_SYS_ADMIN','CAP_FUTURE'],"
    "     'effective':['CAP_KILL'],'inheritable':[],'permitted':['CAP_CHECKPOINT_RESTORE',"
    "     'CAP_NET_RAW'],'ambient':['CAP_BPF','CAP_FUTURE','CAP_OTHER']},"
    "   'rlimits':[{'type':'RLIMIT_NOFILE','soft':1024,'hard':4096},"
    "     {'type':'RLIMIT_CORE','soft':0,'hard':18446744073709551615}],"
    "   'noNewPrivileges':true,'oomScoreAdj':-500,'apparmorProfile':'berth-default',"
    "   'selinuxLabel':'system_u:system_r:container_t:s0'},"
    " 'hostname':'box','domainname':'example.org',"
    " 'mounts':["
    "   {'destination':'/proc','type':'proc','source':'proc'},"
    "   {'destination':'/dev','type':'tmpfs','source':'tmpfs',"
    "    'options':['nosuid','strictatime','mode=755','size=65536k']},"
    "   {'destination':'/data','source':'/srv/data',"
    "    'options':['rbind','ro','nodev','rslave','noexec','exec','rro']},"
    "   {'destination':'/b','type':'bind','source':'/x','options':['rw','suid','dev','private',"
    "    'remount','sync','async','mand','nomand','noatime','atime','nodiratime','relatime',"
    "    'defaults','dirsync','unbindable','runbindable']}],"
    " 'hooks':{'prestart':[{'path':'/bin/pre'}],"
    "   'createRuntime':[{'path':'/bin/cr','args':['cr','a'],'env':['A=1'],'timeout':5},"
    "     {'path':'/bin/cr2'}],"
    "   'createContainer':[{'path':'/bin/cc'}],'startContainer':[{'path':'/bin/sc'}],"
    "   'poststart':[{'path':'/bin/ps'}],'poststop':[{'path':'/bin/pst','timeout':1}]},"
    " 'annotations':{'org.example.a':'1','b':'two'},"
    " 'futureTopLevel':{'whatever':[1,2,3]},"
    " 'linux':{"
    "   'namespaces':[{'type':'pid'},{'type':'network','path':'/run/netns/x'},{'type':'mount'},"
    "     {'type':'ipc'},{'type':'uts'},{'type':'user'},{'type':'cgroup'},{'type':'time'}],"
    "   'uidMappings':[{'containerID':0,'hostID':100000,'size':65536}],"
    "   'gidMappings':[{'containerID':0,'hostID':200000,'size':1000},"
    "     {'containerID':1000,'hostID':1000,'size':1}],"
    "   'timeOffsets':{'monotonic':{'secs':-10,'nanosecs':5},'boottime':{'secs':3600}},"
    "   'devices':[{'path':'/dev/fuse','type':'c','major':10,'minor':229,'fileMode':8630,"
    "     'uid':0,'gid':0},{'path':'/dev/sda','type':'b','major':8,'minor':0},"
    "     {'path':'/dev/fifo','type':'p'},{'path':'/dev/u','type':'u','major':1,'minor':3}],"
    "   'sysctl':{'net.ipv4.ip_forward':'1','kernel.msgmax':'65536'},"
    "   'cgroupsPath':'/berth/c1',"
    "   'resources':{"
    "     'memory':{'limit':536870912,'reservation':268435456,'swap':-1,'kernel':-1,"
    "       'kernelTCP':1048576,'swappiness':60,'disableOOMKiller':true,'useHierarchy':true,"
    "       'checkBeforeUpdate':true},"
    "     'cpu':{'shares':1024,'quota':50000,'burst':1000,'period':100000,"
    "       'realtimeRuntime':950000,'realtimePeriod':1000000,'cpus':'0-1','mems':'0','idle':1},"
    "     'pids':{'limit':100},"
    "     'blockIO':{'weight':500,'leafWeight':300,"
    "       'weightDevice':[{'major':8,'minor':0,'weight':700},{'major':8,'minor':16,"
    "         'leafWeight':50}],"
    "       'throttleReadBpsDevice':[{'major':8,'minor':0,'rate':1048576}],"
    "       'throttleWriteBpsDevice':[{'major':8,'minor':0,'rate':2097152}],"
    "       'throttleReadIOPSDevice':[{'major':8,'minor':0,'rate':100},"
    "         {'major':8,'minor':16,'rate':200}],"
    "       'throttleWriteIOPSDevice':[{'major':8,'minor':0,'rate':300}]},"
    "     'hugepageLimits':[{'pageSize':'2MB','limit':209715200},{'pageSize':'1GB','limit':0}],"
    "     'unified':{'memory.high':'1G','io.weight':'default 100'},"
    "     'devices':[{'allow':false,'access':'rwm'},{'allow':true,'type':'c','major':1,"
    "       'minor':3,'access':'rw'},{'allow':true,'type':'b','major':8,'access':'m'}],"
    "     'network':{'classID':1048577,'priorities':[{'name':'eth0','priority':500}]}},"
    "   'seccomp':{'defaultAction':'SCMP_ACT_ERRNO','defaultErrnoRet':1,"
    "     'architectures':['SCMP_ARCH_X86_64','SCMP_ARCH_X86'],"
    "     'flags':['SECCOMP_FILTER_FLAG_LOG'],'listenerPath':'/run/seccomp.sock',"
    "     'listenerMetadata':'meta',"
    "     'syscalls':[{'names':['read','write'],'action':'SCMP_ACT_ALLOW'},"
    "       {'names':['personality'],'action':'SCMP_ACT_ALLOW','args':[{'index':0,"
    "         'value':8,'op':'SCMP_CMP_EQ'},{'index':5,'value':255,'valueTwo':3,"
    "         'op':'SCMP_CMP_MASKED_EQ'}]},"
    "       {'names':['mkdir'],'action':'SCMP_ACT_ERRNO','errnoRet':38},"
    "       {'names':['ptrace'],'action':'SCMP_ACT_KILL_PROCESS'},"
    "       {'names':['a'],'action':'SCMP_ACT_KILL'},{'names':['b'],'action':'SCMP_ACT_TRAP'},"
    "       {'names':['c'],'action':'SCMP_ACT_TRACE'},{'names':['d'],'action':'SCMP_ACT_LOG'},"
    "       {'names':['e'],'action':'SCMP_ACT_NOTIFY'},"
    "       {'names':['f'],'action':'SCMP_ACT_KILL_THREAD','args':[{'index':1,'value':1,"
    "         'op':'SCMP_CMP_NE'},{'index':2,'value':2,'op':'SCMP_CMP_LT'},{'index':3,"
    "         'value':3,'op':'SCMP_CMP_LE'},{'index':4,'value':4,'op':'SCMP_CMP_GE'},"
    "         {'index':0,'value':18446744073709551615,'op':'SCMP_CMP_GT'}]}]},"
    "   'rootfsPropagation':'rshared',"
    "   'maskedPaths':['/proc/kcore','/sys/firmware'],"
    "   'readonlyPaths':['/proc/sys'],"
    "   'mountLabel':'system_u:object_r:container_file_t:s0',"
    "   'personality':{'domain':'LINUX32','flags':[]},"
    "   'intelRdt':{'closID':'x'}}}";

static void test_full_config(void)
{
	spec *s = NULL;
	berr e = {0};
	if (parse(full_config, &s, &e) < 0)
		fprintf(stderr, "unexpected error: %s\n", e.msg);
	CHECK(s);
	CHECK_STREQ(s->oci_version, "1.1.0");
	CHECK_STREQ(s->root_path, "rootfs");
	CHECK(s->root_readonly);
	CHECK(s->has_process);

	/* process */
	spec_process *p = &s->process;
	CHECK(p->terminal && p->has_console_size);
	CHECK(p->console_height == 24 && p->console_width == 80);
	CHECK(p->user.uid == 1000 && p->user.gid == 1001);
	CHECK(p->user.has_umask && p->user.umask == 022);
	CHECK(p->user.n_additional_gids == 3);
	CHECK(p->user.additional_gids[0] == 5 && p->user.additional_gids[2] == 4294967294u);
	CHECK(strv_len(p->args) == 3);
	CHECK_STREQ(p->args[2], "echo hi");
	CHECK(strv_len(p->env) == 2);
	CHECK_STREQ(p->env[1], "EMPTY=");
	CHECK_STREQ(p->cwd, "/home");
	CHECK(p->has_caps);
	CHECK(p->caps.bounding == (CAP(0) | CAP(21)));
	CHECK(p->caps.effective == CAP(5));
	CHECK(p->caps.inheritable == 0);
	CHECK(p->caps.permitted == (CAP(40) | CAP(13)));
	CHECK(p->caps.ambient == CAP(39));
	CHECK(strv_len(p->unknown_caps) == 2); /* deduplicated */
	CHECK_STREQ(p->unknown_caps[0], "CAP_FUTURE");
	CHECK_STREQ(p->unknown_caps[1], "CAP_OTHER");
	CHECK(p->n_rlimits == 2);
	CHECK(p->rlimits[0].resource == RLIMIT_NOFILE);
	CHECK_STREQ(p->rlimits[0].type, "RLIMIT_NOFILE");
	CHECK(p->rlimits[0].soft == 1024 && p->rlimits[0].hard == 4096);
	CHECK(p->rlimits[1].resource == RLIMIT_CORE && p->rlimits[1].hard == UINT64_MAX);
	CHECK(p->no_new_privileges);
	CHECK(p->oom_score_adj.set && p->oom_score_adj.v == -500);
	CHECK_STREQ(p->apparmor_profile, "berth-default");
	CHECK_STREQ(p->selinux_label, "system_u:system_r:container_t:s0");
	CHECK_STREQ(s->hostname, "box");
	CHECK_STREQ(s->domainname, "example.org");

	/* mounts */
	CHECK(s->n_mounts == 4);
	spec_mount *m = &s->mounts[0];
	CHECK_STREQ(m->destination, "/proc");
	CHECK_STREQ(m->type, "proc");
	CHECK(m->options && !m->options[0]);
	CHECK(m->flags == 0 && m->clear_flags == 0 && !m->data && !m->bind);
	m = &s->mounts[1];
	CHECK(m->flags == (MS_NOSUID | MS_STRICTATIME));
	CHECK_STREQ(m->data, "mode=755,size=65536k");
	CHECK(!m->bind && m->propagation == 0);
	m = &s->mounts[2];
	CHECK(!m->type);
	CHECK_STREQ(m->source, "/srv/data");
	CHECK(m->bind && m->rro);
	CHECK(m->flags == (MS_BIND | MS_REC | MS_RDONLY | MS_NODEV));
	CHECK(m->clear_flags == MS_NOEXEC); /* noexec then exec */
	CHECK(m->propagation == (MS_SLAVE | MS_REC));
	CHECK(!m->data);
	m = &s->mounts[3];
	CHECK(m->bind && !m->rro);
	CHECK(m->flags == (MS_BIND | MS_REMOUNT | MS_NODIRATIME | MS_RELATIME | MS_DIRSYNC));
	CHECK(m->clear_flags ==
	      (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_SYNCHRONOUS | MS_MANDLOCK | MS_NOATIME));
	CHECK(m->propagation == (MS_UNBINDABLE | MS_REC)); /* the last one wins */
	CHECK(strv_len(m->options) == 17);

	/* hooks */
	CHECK(s->hooks.n[HOOK_PRESTART] == 1);
	CHECK_STREQ(s->hooks.list[HOOK_PRESTART][0].path, "/bin/pre");
	CHECK(s->hooks.list[HOOK_PRESTART][0].timeout == 0);
	CHECK(s->hooks.n[HOOK_CREATE_RUNTIME] == 2);
	spec_hook *h = &s->hooks.list[HOOK_CREATE_RUNTIME][0];
	CHECK(h->timeout == 5 && strv_len(h->args) == 2 && strv_len(h->env) == 1);
	CHECK_STREQ(h->args[1], "a");
	CHECK(s->hooks.list[HOOK_CREATE_RUNTIME][1].args != NULL);
	CHECK(s->hooks.n[HOOK_CREATE_CONTAINER] == 1 && s->hooks.n[HOOK_START_CONTAINER] == 1);
	CHECK(s->hooks.n[HOOK_POSTSTART] == 1 && s->hooks.n[HOOK_POSTSTOP] == 1);
	CHECK(s->hooks.list[HOOK_POSTSTOP][0].timeout == 1);
	CHECK(s->n_annotations == 2);
	CHECK_STREQ(s->annotations[0].key, "org.example.a");
	CHECK_STREQ(s->annotations[1].value, "two");

	/* linux */
	CHECK(s->has_linux);
	spec_linux *l = &s->linux_;
	for (int i = 0; i < NS_COUNT; i++)
		CHECK(l->ns[i].present);
	CHECK_STREQ(l->ns[NS_NET].path, "/run/netns/x");
	CHECK(!l->ns[NS_PID].path);
	CHECK(l->n_uid_mappings == 1 && l->uid_mappings[0].host_id == 100000 &&
	      l->uid_mappings[0].size == 65536);
	CHECK(l->n_gid_mappings == 2 && l->gid_mappings[1].container_id == 1000);
	CHECK(l->time_monotonic.set && l->time_monotonic.secs == -10 &&
	      l->time_monotonic.nanosecs == 5);
	CHECK(l->time_boottime.set && l->time_boottime.secs == 3600);
	CHECK(l->n_devices == 4);
	CHECK_STREQ(l->devices[0].path, "/dev/fuse");
	CHECK(l->devices[0].type == 'c' && l->devices[0].major == 10 && l->devices[0].minor == 229);
	CHECK(l->devices[0].has_mode && l->devices[0].mode == 0666);
	CHECK(l->devices[0].has_uid && l->devices[0].has_gid);
	CHECK(l->devices[1].type == 'b' && !l->devices[1].has_mode && !l->devices[1].has_uid);
	CHECK(l->devices[2].type == 'p');
	CHECK(l->devices[3].type == 'u' && l->devices[3].minor == 3);
	CHECK(l->n_sysctl == 2);
	CHECK_STREQ(l->sysctl[0].key, "net.ipv4.ip_forward");
	CHECK_STREQ(l->sysctl[0].value, "1");
	CHECK_STREQ(l->cgroups_path, "/berth/c1");

	/* resources */
	spec_resources *r = &l->resources;
	CHECK(r->present);
	CHECK(r->memory.limit.set && r->memory.limit.v == 536870912);
	CHECK(r->memory.reservation.v == 268435456);
	CHECK(r->memory.swap.set && r->memory.swap.v == -1);
	CHECK(r->memory.kernel.v == -1 && r->memory.kernel_tcp.v == 1048576);
	CHECK(r->memory.swappiness.set && r->memory.swappiness.v == 60);
	CHECK(r->memory.disable_oom_killer && r->memory.use_hierarchy &&
	      r->memory.check_before_update);
	CHECK(r->cpu.shares.v == 1024 && r->cpu.quota.v == 50000 && r->cpu.burst.v == 1000);
	CHECK(r->cpu.period.v == 100000 && r->cpu.realtime_runtime.v == 950000);
	CHECK(r->cpu.realtime_period.v == 1000000 && r->cpu.idle.set && r->cpu.idle.v == 1);
	CHECK_STREQ(r->cpu.cpus, "0-1");
	CHECK_STREQ(r->cpu.mems, "0");
	CHECK(r->pids_limit.set && r->pids_limit.v == 100);
	CHECK(r->block_io.weight.v == 500 && r->block_io.leaf_weight.v == 300);
	CHECK(r->block_io.n_weight_device == 2);
	CHECK(r->block_io.weight_device[0].weight.set &&
	      r->block_io.weight_device[0].weight.v == 700);
	CHECK(!r->block_io.weight_device[0].leaf_weight.set);
	CHECK(r->block_io.weight_device[1].minor == 16 &&
	      r->block_io.weight_device[1].leaf_weight.v == 50);
	CHECK(r->block_io.n_throttle[THROTTLE_READ_BPS] == 1 &&
	      r->block_io.throttle[THROTTLE_READ_BPS][0].rate == 1048576);
	CHECK(r->block_io.throttle[THROTTLE_WRITE_BPS][0].rate == 2097152);
	CHECK(r->block_io.n_throttle[THROTTLE_READ_IOPS] == 2 &&
	      r->block_io.throttle[THROTTLE_READ_IOPS][1].rate == 200);
	CHECK(r->block_io.throttle[THROTTLE_WRITE_IOPS][0].rate == 300);
	CHECK(r->n_hugepages == 2 && r->hugepages[1].limit == 0);
	CHECK_STREQ(r->hugepages[0].page_size, "2MB");
	CHECK(r->n_unified == 2);
	CHECK_STREQ(r->unified[1].key, "io.weight");
	CHECK_STREQ(r->unified[1].value, "default 100");
	CHECK(r->n_devices == 3);
	CHECK(!r->devices[0].allow && r->devices[0].type == 'a' && r->devices[0].major == -1 &&
	      r->devices[0].minor == -1);
	CHECK_STREQ(r->devices[0].access, "rwm");
	CHECK(r->devices[1].allow && r->devices[1].type == 'c' && r->devices[1].minor == 3);
	CHECK_STREQ(r->devices[1].access, "rw");
	CHECK(r->devices[2].major == 8 && r->devices[2].minor == -1);
	CHECK(r->network.class_id.set && r->network.class_id.v == 1048577);
	CHECK(r->network.n_priorities == 1);
	CHECK_STREQ(r->network.priorities[0].key, "eth0");
	CHECK_STREQ(r->network.priorities[0].value, "500");

	/* seccomp */
	spec_seccomp *sc = &l->seccomp;
	CHECK(sc->present && sc->default_action == SECCOMP_ACT_ERRNO);
	CHECK(sc->default_errno_ret.set && sc->default_errno_ret.v == 1);
	CHECK(strv_len(sc->architectures) == 2);
	CHECK_STREQ(sc->architectures[1], "SCMP_ARCH_X86");
	CHECK_STREQ(sc->flags[0], "SECCOMP_FILTER_FLAG_LOG");
	CHECK_STREQ(sc->listener_path, "/run/seccomp.sock");
	CHECK_STREQ(sc->listener_metadata, "meta");
	CHECK(sc->n_rules == 10);
	CHECK(strv_len(sc->rules[0].names) == 2 && sc->rules[0].action == SECCOMP_ACT_ALLOW);
	CHECK(sc->rules[1].n_args == 2);
	CHECK(sc->rules[1].args[0].index == 0 && sc->rules[1].args[0].value == 8 &&
	      sc->rules[1].args[0].op == SECCOMP_OP_EQ);
	CHECK(sc->rules[1].args[1].index == 5 && sc->rules[1].args[1].value_two == 3 &&
	      sc->rules[1].args[1].op == SECCOMP_OP_MASKED_EQ);
	CHECK(sc->rules[2].action == SECCOMP_ACT_ERRNO && sc->rules[2].errno_ret.set &&
	      sc->rules[2].errno_ret.v == 38);
	CHECK(!sc->rules[0].errno_ret.set);
	CHECK(sc->rules[3].action == SECCOMP_ACT_KILL_PROCESS);
	CHECK(sc->rules[4].action == SECCOMP_ACT_KILL);
	CHECK(sc->rules[5].action == SECCOMP_ACT_TRAP);
	CHECK(sc->rules[6].action == SECCOMP_ACT_TRACE);
	CHECK(sc->rules[7].action == SECCOMP_ACT_LOG);
	CHECK(sc->rules[8].action == SECCOMP_ACT_NOTIFY);
	CHECK(sc->rules[9].action == SECCOMP_ACT_KILL_THREAD && sc->rules[9].n_args == 5);
	CHECK(sc->rules[9].args[0].op == SECCOMP_OP_NE && sc->rules[9].args[1].op == SECCOMP_OP_LT);
	CHECK(sc->rules[9].args[2].op == SECCOMP_OP_LE && sc->rules[9].args[3].op == SECCOMP_OP_GE);
	CHECK(sc->rules[9].args[4].op == SECCOMP_OP_GT && sc->rules[9].args[4].value == UINT64_MAX);

	CHECK(l->rootfs_propagation == (MS_SHARED | MS_REC));
	CHECK(strv_len(l->masked_paths) == 2 && strv_len(l->readonly_paths) == 1);
	CHECK_STREQ(l->masked_paths[1], "/sys/firmware");
	CHECK_STREQ(l->mount_label, "system_u:object_r:container_file_t:s0");
	CHECK(l->has_personality && l->personality == PER_LINUX32);
	CHECK(l->has_intel_rdt);
	spec_free(s);
}

static void test_minimal_config(void)
{
	spec *s = NULL;
	berr e = {0};
	CHECK(parse("{'root':{'path':'r'}}", &s, &e) == 0);
	CHECK(!s->has_process && !s->has_linux && !s->oci_version && !s->root_readonly);
	CHECK(s->n_mounts == 0 && !s->linux_.resources.present && !s->linux_.seccomp.present);
	CHECK(s->linux_.masked_paths && !s->linux_.masked_paths[0]);
	CHECK(s->linux_.readonly_paths && !s->linux_.readonly_paths[0]);
	spec_free(s);
	/* null is "absent", as with Go's decoder; user ns without mappings is fine */
	CHECK(parse("{'root':{'path':'r'},'hostname':null,'process':{'args':['a'],'cwd':'/',"
		    "'env':null},'linux':{'namespaces':[{'type':'user'},{'type':'uts'}]}}",
		    &s, &e) == 0);
	CHECK(s->process.env && !s->process.env[0] && !s->hostname);
	CHECK(s->process.user.uid == 0 && !s->process.has_caps && !s->process.user.has_umask);
	CHECK(s->linux_.ns[NS_USER].present && s->linux_.n_uid_mappings == 0);
	CHECK(!s->linux_.ns[NS_PID].present);
	spec_free(s);
}

static void test_default_roundtrip(void)
{
	for (int rootless = 0; rootless < 2; rootless++) {
		_cleanup_free_ char *j = spec_default_json(rootless);
		CHECK(j);
		spec *s = NULL;
		berr e = {0};
		if (spec_parse(j, strlen(j), "default.json", &s, &e) < 0)
			fprintf(stderr, "default spec: %s\n", e.msg);
		CHECK(s);
		CHECK_STREQ(s->oci_version, "1.0.2-dev");
		CHECK_STREQ(s->root_path, "rootfs");
		CHECK(s->root_readonly && s->has_process && s->process.terminal);
		CHECK_STREQ(s->process.args[0], "sh");
		CHECK(!s->process.args[1]);
		CHECK_STREQ(s->process.cwd, "/");
		uint64_t caps = CAP(29) | CAP(5) | CAP(10);
		CHECK(s->process.caps.bounding == caps && s->process.caps.effective == caps);
		CHECK(s->process.caps.permitted == caps && s->process.caps.ambient == caps);
		CHECK(s->process.caps.inheritable == 0);
		CHECK(s->process.n_rlimits == 1 && s->process.rlimits[0].hard == 1024);
		CHECK(s->process.no_new_privileges);
		CHECK_STREQ(s->hostname, "runc");
		CHECK(s->n_mounts == 7);
		CHECK_STREQ(s->mounts[0].destination, "/proc");
		CHECK_STREQ(s->mounts[6].destination, "/sys/fs/cgroup");
		CHECK(s->mounts[6].flags ==
		      (MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RELATIME | MS_RDONLY));
		CHECK(s->mounts[2].flags == (MS_NOSUID | MS_NOEXEC));
		CHECK_STREQ(s->mounts[2].data, rootless
						   ? "newinstance,ptmxmode=0666,mode=0620"
						   : "newinstance,ptmxmode=0666,mode=0620,gid=5");
		spec_linux *l = &s->linux_;
		CHECK(l->ns[NS_PID].present && l->ns[NS_IPC].present && l->ns[NS_UTS].present);
		CHECK(l->ns[NS_MNT].present && !l->ns[NS_CGROUP].present &&
		      !l->ns[NS_TIME].present);
		CHECK(l->ns[NS_NET].present == !rootless);
		CHECK(l->ns[NS_USER].present == !!rootless);
		CHECK(strv_len(l->masked_paths) == 10 && strv_len(l->readonly_paths) == 5);
		CHECK_STREQ(l->masked_paths[9], "/proc/scsi");
		if (rootless) {
			CHECK(s->mounts[5].bind &&
			      s->mounts[5].flags == (MS_BIND | MS_REC | MS_NOSUID | MS_NOEXEC |
						     MS_NODEV | MS_RDONLY));
			CHECK(l->n_uid_mappings == 1 && l->n_gid_mappings == 1);
			CHECK(!l->resources.present);
		} else {
			CHECK(!s->mounts[5].bind);
			CHECK(l->resources.present && l->resources.n_devices == 1);
			CHECK(!l->resources.devices[0].allow);
			CHECK_STREQ(l->resources.devices[0].access, "rwm");
		}
		spec_free(s);
	}
}

/* The text of `runc spec` (runc 1.1), compared structurally. */
static void test_default_matches_runc(void)
{
	_cleanup_free_ char *ours = spec_default_json(false);
	CHECK_CONTAINS(ours, "\"ociVersion\": \"1.0.2-dev\"");
	CHECK_CONTAINS(ours, "\"hostname\": \"runc\"");
	if (access("/usr/sbin/runc", X_OK) && access("/usr/bin/runc", X_OK)) {
		printf("skip: runc not installed, no byte comparison\n");
		return;
	}
	/* compare with runc in a temporary directory */
	char dir[] = "/tmp/berth-spec-XXXXXX";
	CHECK(mkdtemp(dir));
	for (int rootless = 0; rootless < 2; rootless++) {
		_cleanup_free_ char *cmd = xasprintf("cd %s && runc spec %s >/dev/null 2>&1", dir,
						     rootless ? "--rootless" : "");
		int rc = system(cmd);
		_cleanup_free_ char *path = xasprintf("%s/config.json", dir);
		char *text = NULL;
		size_t len = 0;
		berr e;
		int ok = rc == 0 && fs_read_file_at(AT_FDCWD, path, &text, &len, &e) == 0;
		unlink(path);
		if (!ok) {
			rmdir(dir);
			CHECK(!"runc spec failed");
		}
		_cleanup_free_ char *mine = spec_default_json(rootless);
		/* both are json-c/Go pretty printed with tabs: compare ignoring
		 * whitespace differences */
		_cleanup_free_ char *a = xstrdup(text), *b = xstrdup(mine);
		free(text);
		size_t k = 0;
		for (size_t i = 0; a[i]; i++)
			if (a[i] != ' ' && a[i] != '\t' && a[i] != '\n')
				a[k++] = a[i];
		a[k] = 0;
		k = 0;
		for (size_t i = 0; b[i]; i++)
			if (b[i] != ' ' && b[i] != '\t' && b[i] != '\n')
				b[k++] = b[i];
		b[k] = 0;
		if (strcmp(a, b)) {
			rmdir(dir);
			CHECK_STREQ(b, a);
		}
	}
	rmdir(dir);
}

static void test_features(void)
{
	_cleanup_free_ char *f = spec_features_json();
	CHECK(f);
	CHECK_CONTAINS(f, "\"ociVersionMin\": \"1.0.0\"");
	CHECK_CONTAINS(f, "\"rbind\"");
	CHECK_CONTAINS(f, "\"rro\"");
	CHECK_CONTAINS(f, "\"CAP_CHECKPOINT_RESTORE\"");
	CHECK_CONTAINS(f, "\"SCMP_ACT_NOTIFY\"");
	CHECK_CONTAINS(f, "\"SCMP_CMP_MASKED_EQ\"");
	CHECK_CONTAINS(f, "\"SCMP_ARCH_X86_64\"");
	CHECK_CONTAINS(f, "\"time\"");
	CHECK_CONTAINS(f, "\"createRuntime\"");
	/* it is valid JSON that parses back */
	spec *s = NULL;
	berr e = {0};
	CHECK(spec_parse(f, strlen(f), "features.json", &s, &e) < 0);
	CHECK_STREQ(e.msg, "features.json: root: required");
}

#define R	"{'root':{'path':'r'},"
#define PROC(x) R "'process':{'args':['a'],'cwd':'/'," x "}}"
#define LNX(x)	R "'linux':{" x "}}"
#define SECC(x) LNX("'seccomp':{'defaultAction':'SCMP_ACT_ALLOW'," x "}")

static const struct {
	const char *json;
	const char *msg;
} bad[] = {
    /* JSON syntax and shape */
    {"{\n  'root': {'path': 'r'},\n  'x': ]\n}",
     "config.json: line 3: JSON parse error: unexpected character (column 8)"},
    {"{'root': {'path': 'r'}", "config.json: line 1: JSON parse error: unexpected end of input "
			       "(column 23)"},
    {"{'root':{'path':'r'}} x",
     "config.json: line 1: JSON parse error: unexpected character (column 23)"},
    {"[1,2]", "config.json: expected a JSON object, got array"},
    {"{'ociVersion':'2.0.0','root':{'path':'r'}}",
     "config.json: ociVersion: unsupported version \"2.0.0\" (berth supports 1.x)"},
    {"{'ociVersion':1,'root':{'path':'r'}}",
     "config.json: ociVersion: expected a string, got number"},
    /* root */
    {"{'process':{'args':['a'],'cwd':'/'}}", "config.json: root: required"},
    {"{'root':{}}", "config.json: root.path: required"},
    {"{'root':'rootfs'}", "config.json: root: expected an object, got string"},
    {"{'root':{'path':''}}", "config.json: root.path: must not be empty"},
    {"{'root':{'path':'r','readonly':'yes'}}",
     "config.json: root.readonly: expected a boolean, got string"},
    /* process */
    {R "'process':[]}", "config.json: process: expected an object, got array"},
    {R "'process':{'args':[],'cwd':'/'}}", "config.json: process.args: must not be empty"},
    {R "'process':{'cwd':'/'}}", "config.json: process.args: required"},
    {R "'process':{'args':'sh','cwd':'/'}}",
     "config.json: process.args: expected an array, got string"},
    {R "'process':{'args':['a',1],'cwd':'/'}}",
     "config.json: process.args[1]: expected a string, got number"},
    {R "'process':{'args':['a']}}", "config.json: process.cwd: required"},
    {R "'process':{'args':['a'],'cwd':'home'}}",
     "config.json: process.cwd: must be an absolute path"},
    {PROC("'user':{'uid':'0'}"), "config.json: process.user.uid: expected a number, got string"},
    {PROC("'user':{'uid':-1}"), "config.json: process.user.uid: must not be negative, got -1"},
    {PROC("'user':{'gid':4294967295}"),
     "config.json: process.user.gid: 4294967295 is too large (max 4294967294)"},
    {PROC("'user':{'uid':1.5}"), "config.json: process.user.uid: expected an integer, got 1.5"},
    {PROC("'user':{'umask':512}"), "config.json: process.user.umask: 512 is too large (max 511)"},
    {PROC("'user':{'additionalGids':[1,'x']}"),
     "config.json: process.user.additionalGids[1]: expected a number, got string"},
    {PROC("'env':['A=1','FOO']"), "config.json: process.env[1]: \"FOO\" is not KEY=VALUE"},
    {PROC("'env':['=x']"), "config.json: process.env[0]: \"=x\" is not KEY=VALUE"},
    {PROC("'terminal':1"), "config.json: process.terminal: expected a boolean, got number"},
    {PROC("'consoleSize':{'height':24,'width':70000}"),
     "config.json: process.consoleSize.width: 70000 is too large (max 65535)"},
    {PROC("'consoleSize':{'width':80}"), "config.json: process.consoleSize.height: required"},
    {PROC("'rlimits':[{'type':'RLIMIT_FOO','soft':1,'hard':1}]"),
     "config.json: process.rlimits[0].type: unknown rlimit \"RLIMIT_FOO\""},
    {PROC("'rlimits':[{'type':'RLIMIT_NOFILE','soft':1}]"),
     "config.json: process.rlimits[0].hard: required"},
    {PROC("'rlimits':[{'type':'RLIMIT_NOFILE','soft':10,'hard':5}]"),
     "config.json: process.rlimits[0]: soft limit 10 exceeds hard limit 5"},
    {PROC("'rlimits':[{'type':'RLIMIT_CPU','soft':1,'hard':1},{'type':'RLIMIT_CPU','soft':1,"
	  "'hard':1}]"),
     "config.json: process.rlimits[1].type: duplicate rlimit \"RLIMIT_CPU\""},
    {PROC("'capabilities':{'bounding':'CAP_KILL'}"),
     "config.json: process.capabilities.bounding: expected an array, got string"},
    {PROC("'oomScoreAdj':-1001"),
     "config.json: process.oomScoreAdj: -1001 is too small (min -1000)"},
    {PROC("'apparmorProfile':{}"),
     "config.json: process.apparmorProfile: expected a string, got object"},
    /* mounts */
    {R "'mounts':[{'destination':'/a'},{'destination':'b'}]}",
     "config.json: mounts[1].destination: must be an absolute path"},
    {R "'mounts':[{'type':'tmpfs'}]}", "config.json: mounts[0].destination: required"},
    {R "'mounts':[{'destination':'/a','options':[true]}]}",
     "config.json: mounts[0].options[0]: expected a string, got boolean"},
    {R "'mounts':{}}", "config.json: mounts: expected an array, got object"},
    {R "'mounts':['/a']}", "config.json: mounts[0]: expected an object, got string"},
    /* hooks */
    {R "'hooks':{'prestart':[{'args':['x']}]}}", "config.json: hooks.prestart[0].path: required"},
    {R "'hooks':{'poststop':[{'path':'/x','timeout':0}]}}",
     "config.json: hooks.poststop[0].timeout: must be greater than zero, got 0"},
    {R "'hooks':{'createRuntime':[{'path':'x'}]}}",
     "config.json: hooks.createRuntime[0].path: must be an absolute path"},
    {R "'hooks':{'poststart':[{'path':'/x','timeout':'5'}]}}",
     "config.json: hooks.poststart[0].timeout: expected a number, got string"},
    /* annotations, hostname */
    {R "'annotations':{'a':'1','b':2}}",
     "config.json: annotations.b: expected a string, got number"},
    {R "'linux':{'namespaces':[{'type':'pid'}]},'hostname':'h'}",
     "config.json: hostname: requires a UTS namespace (no \"uts\" in linux.namespaces)"},
    /* linux */
    {LNX("'namespaces':[{'type':'pid'},{'type':'network'},{'type':'foo'}]"),
     "config.json: linux.namespaces[2].type: unknown namespace \"foo\""},
    {LNX("'namespaces':[{'type':'pid'},{'type':'pid'}]"),
     "config.json: linux.namespaces[1].type: duplicate namespace \"pid\""},
    {LNX("'namespaces':[{'type':'network','path':'netns'}]"),
     "config.json: linux.namespaces[0].path: must be an absolute path"},
    {LNX("'namespaces':[{}]"), "config.json: linux.namespaces[0].type: required"},
    {LNX("'uidMappings':[{'containerID':0,'hostID':1000,'size':1}]"),
     "config.json: linux.uidMappings: requires a user namespace (no \"user\" in "
     "linux.namespaces)"},
    {LNX("'namespaces':[{'type':'user'}],'gidMappings':[{'containerID':0,'hostID':1,'size':0}]"),
     "config.json: linux.gidMappings[0].size: must be greater than zero"},
    {LNX("'namespaces':[{'type':'user'}],'uidMappings':[{'containerID':0,'size':1}]"),
     "config.json: linux.uidMappings[0].hostID: required"},
    {LNX("'namespaces':[{'type':'time'}],'timeOffsets':{'monotonic':{'nanosecs':1000000000}}"),
     "config.json: linux.timeOffsets.monotonic.nanosecs: 1000000000 is too large (max "
     "999999999)"},
    {LNX("'namespaces':[{'type':'time'}],'timeOffsets':{'realtime':{'secs':1}}"),
     "config.json: linux.timeOffsets.realtime: unknown clock \"realtime\" (monotonic or "
     "boottime)"},
    {LNX("'timeOffsets':{'boottime':{'secs':1}}"),
     "config.json: linux.timeOffsets: requires a time namespace (no \"time\" in "
     "linux.namespaces)"},
    {LNX("'devices':[{'path':'/dev/x','type':'x','major':1,'minor':1}]"),
     "config.json: linux.devices[0].type: unknown device type \"x\" (c, b, u or p)"},
    {LNX("'devices':[{'path':'/dev/x','type':'c','minor':1}]"),
     "config.json: linux.devices[0].major: required"},
    {LNX("'devices':[{'path':'dev/x','type':'p'}]"),
     "config.json: linux.devices[0].path: must be an absolute path"},
    {LNX("'devices':[{'path':'/dev/x','type':'c','major':1,'minor':1,'fileMode':-1}]"),
     "config.json: linux.devices[0].fileMode: must not be negative, got -1"},
    {LNX("'devices':[{'path':'/dev/x','type':'c','major':1,'minor':1,'fileMode':25014}]"),
     "config.json: linux.devices[0].fileMode: file type bits of 060666 do not match type \"c\""},
    {LNX("'devices':[{'path':'/dev/x','type':'c','major':4096,'minor':1}]"),
     "config.json: linux.devices[0].major: 4096 is too large (max 4095)"},
    {LNX("'sysctl':{'vm.swappiness':'10'}"),
     "config.json: linux.sysctl: \"vm.swappiness\" is not namespaced: setting it would change "
     "the host"},
    {LNX("'namespaces':[{'type':'ipc'}],'sysctl':{'kernel.shmmax':'1','net.ipv4.ip_forward':'1'}"),
     "config.json: linux.sysctl: \"net.ipv4.ip_forward\" requires a network namespace (no "
     "\"network\" in linux.namespaces)"},
    {LNX("'sysctl':{'fs.mqueue.msg_max':'1'}"),
     "config.json: linux.sysctl: \"fs.mqueue.msg_max\" requires an IPC namespace (no \"ipc\" in "
     "linux.namespaces)"},
    {R "'annotations':{'':'x'}}", "config.json: annotations: empty key"},
    {R "'hooks':{'poststop':[{'path':'/x','env':['NOPE']}]}}",
     "config.json: hooks.poststop[0].env[0]: \"NOPE\" is not KEY=VALUE"},
    {LNX("'sysctl':{'net.x':1}"), "config.json: linux.sysctl.net.x: expected a string, got number"},
    {LNX("'rootfsPropagation':'weird'"),
     "config.json: linux.rootfsPropagation: unknown propagation \"weird\""},
    {LNX("'personality':{'domain':'BSD'}"),
     "config.json: linux.personality.domain: unknown personality domain \"BSD\" (LINUX or "
     "LINUX32)"},
    {LNX("'maskedPaths':['proc/kcore']"),
     "config.json: linux.maskedPaths[0]: must be an absolute path"},
    /* resources */
    {LNX("'resources':{'memory':{'limit':'1G'}}"),
     "config.json: linux.resources.memory.limit: expected a number, got string"},
    {LNX("'resources':{'memory':{'limit':-2}}"),
     "config.json: linux.resources.memory.limit: -2 is too small (min -1)"},
    {LNX("'resources':{'memory':{'swappiness':101}}"),
     "config.json: linux.resources.memory.swappiness: 101 is too large (max 100)"},
    {LNX("'resources':{'cpu':{'shares':-5}}"),
     "config.json: linux.resources.cpu.shares: must not be negative, got -5"},
    {LNX("'resources':{'devices':[{'allow':true,'access':'rwx'}]}"),
     "config.json: linux.resources.devices[0].access: invalid access \"rwx\" (a subset of "
     "\"rwm\")"},
    {LNX("'resources':{'devices':[{'access':'r'}]}"),
     "config.json: linux.resources.devices[0].allow: required"},
    {LNX("'resources':{'devices':[{'allow':true,'type':'p'}]}"),
     "config.json: linux.resources.devices[0].type: unknown device type \"p\" (a, c or b)"},
    {LNX("'resources':{'hugepageLimits':[{'pageSize':'../x','limit':1}]}"),
     "config.json: linux.resources.hugepageLimits[0].pageSize: invalid page size \"../x\""},
    {LNX("'resources':{'blockIO':{'throttleWriteIOPSDevice':[{'major':8,'minor':0}]}}"),
     "config.json: linux.resources.blockIO.throttleWriteIOPSDevice[0].rate: required"},
    {LNX("'resources':{'blockIO':{'weight':10001}}"),
     "config.json: linux.resources.blockIO.weight: 10001 is too large (max 10000)"},
    {LNX("'resources':{'unified':{'../cgroup.procs':'1'}}"),
     "config.json: linux.resources.unified.../cgroup.procs: invalid cgroup file name"},
    {LNX("'resources':{'pids':{'limit':'max'}}"),
     "config.json: linux.resources.pids.limit: expected a number, got string"},
    /* seccomp */
    {LNX("'seccomp':{'defaultAction':'X'}"),
     "config.json: linux.seccomp.defaultAction: unknown action \"X\""},
    {LNX("'seccomp':{}"), "config.json: linux.seccomp.defaultAction: required"},
    {SECC("'syscalls':[{'names':['read'],'action':'SCMP_ACT_ERRNO','args':[{'index':0,"
	  "'value':1,'op':'SCMP_CMP_FOO'}]}]"),
     "config.json: linux.seccomp.syscalls[0].args[0].op: unknown operator \"SCMP_CMP_FOO\""},
    {SECC("'syscalls':[{'names':['read'],'action':'SCMP_ACT_ERRNO','args':[{'index':6,"
	  "'value':1,'op':'SCMP_CMP_EQ'}]}]"),
     "config.json: linux.seccomp.syscalls[0].args[0].index: 6 is too large (max 5)"},
    {SECC("'syscalls':[{'names':[],'action':'SCMP_ACT_ERRNO'}]"),
     "config.json: linux.seccomp.syscalls[0].names: must not be empty"},
    {SECC("'syscalls':[{'names':['x'],'action':'SCMP_ACT_NOPE'}]"),
     "config.json: linux.seccomp.syscalls[0].action: unknown action \"SCMP_ACT_NOPE\""},
    {SECC("'syscalls':[{'names':['x'],'action':'SCMP_ACT_NOTIFY'}]"),
     "config.json: linux.seccomp.syscalls[0].action: SCMP_ACT_NOTIFY requires "
     "linux.seccomp.listenerPath"},
    {SECC("'architectures':['SCMP_ARCH_X86_64','SCMP_ARCH_VAX']"),
     "config.json: linux.seccomp.architectures[1]: unknown architecture \"SCMP_ARCH_VAX\""},
    {SECC("'flags':['SECCOMP_FILTER_FLAG_NOPE']"),
     "config.json: linux.seccomp.flags[0]: unknown flag \"SECCOMP_FILTER_FLAG_NOPE\""},
    {SECC("'defaultErrnoRet':-1"),
     "config.json: linux.seccomp.defaultErrnoRet: must not be negative, got -1"},
    /* integers beyond 64 bits: json-c saturates them, berth refuses them */
    {LNX("'resources':{'cpu':{'shares':18446744073709551616}}"),
     "config.json: linux.resources.cpu.shares: number out of range (18446744073709551616)"},
    {LNX("'resources':{'cpu':{'shares':-1}}"),
     "config.json: linux.resources.cpu.shares: must not be negative, got -1"},
    {LNX("'resources':{'memory':{'limit':-9223372036854775809}}"),
     "config.json: linux.resources.memory.limit: number out of range (-9223372036854775809)"},
    {LNX("'resources':{'hugepageLimits':[{'pageSize':'2MB','limit':1},"
	 "{'pageSize':'1GB','limit':99999999999999999999}]}"),
     "config.json: linux.resources.hugepageLimits[1].limit: number out of range "
     "(99999999999999999999)"},
    {LNX("'resources':{'hugepageLimits':[{'pageSize':'2MB','limit':-1}]}"),
     "config.json: linux.resources.hugepageLimits[0].limit: must not be negative, got -1"},
    {SECC("'syscalls':[{'names':['read'],'action':'SCMP_ACT_ERRNO'},{'names':['write'],"
	  "'action':'SCMP_ACT_ERRNO','args':[{'index':0,'value':1,'op':'SCMP_CMP_EQ'},"
	  "{'index':1,'value':1,'valueTwo':18446744073709551616,'op':'SCMP_CMP_EQ'}]}]"),
     "config.json: linux.seccomp.syscalls[1].args[1].valueTwo: number out of range "
     "(18446744073709551616)"},
    {SECC("'syscalls':[{'names':['read'],'action':'SCMP_ACT_ERRNO','args':[{'index':0,"
	  "'value':-1,'op':'SCMP_CMP_EQ'}]}]"),
     "config.json: linux.seccomp.syscalls[0].args[0].value: must not be negative, got -1"},
    {PROC("'user':{'uid':1000000000000000000000000000000000000000000000000000000000000}"),
     "config.json: process.user.uid: number out of range "
     "(100000000000000000000000000000000000000000000000...)"},
    {PROC("'rlimits':[{'type':'RLIMIT_CORE','soft':0,'hard':18446744073709551616}]"),
     "config.json: process.rlimits[0].hard: number out of range (18446744073709551616)"},
};

static void test_bad_inputs(void)
{
	int failed = 0;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		spec *s = (spec *)0x1; /* must stay untouched on error */
		berr e = {0};
		int r = parse(bad[i].json, &s, &e);
		if (r == 0) {
			fprintf(stderr, "bad[%zu] parsed: %s\n", i, bad[i].json);
			spec_free(s);
			failed++;
			continue;
		}
		if (s != (spec *)0x1 || strcmp(e.msg, bad[i].msg)) {
			fprintf(stderr, "bad[%zu]: got      \"%s\"\n        expected \"%s\"\n", i,
				e.msg, bad[i].msg);
			failed++;
		}
	}
	CHECK(ARRAY_SIZE(bad) >= 25);
	CHECK(failed == 0);
}

/* Every prefix of a valid document is broken JSON: all must fail cleanly
 * (ASan watches for overreads and leaks). */
static void test_truncated_inputs(void)
{
	_cleanup_free_ char *j = J(full_config);
	size_t n = strlen(j), bad_msgs = 0;
	for (size_t len = 0; len < n; len++) {
		spec *s = NULL;
		berr e = {0};
		_cleanup_free_ char *copy = xstrndup(j, len); /* no bytes past len to read */
		if (spec_parse(copy, len, "config.json", &s, &e) == 0) {
			spec_free(s);
			bad_msgs++;
		} else if (!strstr(e.msg, "JSON parse error"))
			bad_msgs++;
	}
	CHECK(bad_msgs == 0);
}

/* Replace every value of the full config, one at a time, by one of the wrong
 * type: each must be refused with a message naming exactly its path. */
static json_object *wrong_type(json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_string:
		return json_object_new_int(7);
	case json_type_object:
		return json_object_new_array();
	case json_type_array:
		return json_object_new_object();
	default:
		return json_object_new_string("x");
	}
}

struct sweep {
	json_object *root;
	int tried, failed;
};

static void try_mutation(struct sweep *sw, const char *path)
{
	const char *text = json_object_to_json_string(sw->root);
	spec *s = NULL;
	berr e = {0};
	_cleanup_free_ char *want = xasprintf("config.json: %s: expected ", path);
	sw->tried++;
	if (spec_parse(text, strlen(text), "config.json", &s, &e) == 0) {
		fprintf(stderr, "mutation at %s was accepted\n", path);
		spec_free(s);
		sw->failed++;
	} else if (strncmp(e.msg, want, strlen(want))) {
		fprintf(stderr, "mutation at %s: \"%s\"\n", path, e.msg);
		sw->failed++;
	}
}

static void sweep_node(struct sweep *sw, json_object *node, const char *path)
{
	if (json_object_is_type(node, json_type_object)) {
		json_object_object_foreach(node, k, child)
		{
			/* content not interpreted by berth */
			if (!strcmp(k, "futureTopLevel"))
				continue;
			_cleanup_free_ char *cp = *path ? xasprintf("%s.%s", path, k) : xstrdup(k);
			json_object_get(child);
			json_object_object_add(node, k, wrong_type(child));
			try_mutation(sw, cp);
			json_object_object_add(node, k, child);
			if (strcmp(k, "intelRdt"))
				sweep_node(sw, child, cp);
		}
	} else if (json_object_is_type(node, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(node); i++) {
			json_object *child = json_object_array_get_idx(node, i);
			_cleanup_free_ char *cp = xasprintf("%s[%zu]", path, i);
			json_object_get(child);
			json_object_array_put_idx(node, i, wrong_type(child));
			try_mutation(sw, cp);
			json_object_array_put_idx(node, i, child);
			sweep_node(sw, child, cp);
		}
	}
}

static void test_wrong_types_everywhere(void)
{
	_cleanup_free_ char *j = J(full_config);
	struct sweep sw = {.root = json_tokener_parse(j)};
	CHECK(sw.root);
	sweep_node(&sw, sw.root, "");
	json_object_put(sw.root);
	printf("wrong-type mutations: %d\n", sw.tried);
	CHECK(sw.tried > 350);
	CHECK(sw.failed == 0);
}

static void test_parse_process(void)
{
	spec_process p = {0};
	berr e = {0};
	_cleanup_free_ char *j = J("{'args':['/bin/ls','-l'],'cwd':'/tmp','env':['A=b'],"
				   "'user':{'uid':5},'capabilities':{'effective':['CAP_KILL']}}");
	CHECK(spec_parse_process(j, strlen(j), "p.json", &p, &e) == 0);
	CHECK_STREQ(p.args[1], "-l");
	CHECK_STREQ(p.cwd, "/tmp");
	CHECK(p.user.uid == 5 && p.caps.effective == CAP(5));
	spec_process_clear(&p);
	CHECK(!p.args && !p.cwd);
	_cleanup_free_ char *b = J("{'args':['/bin/ls'],'cwd':'x'}");
	CHECK(spec_parse_process(b, strlen(b), "p.json", &p, &e) < 0);
	CHECK_STREQ(e.msg, "p.json: cwd: must be an absolute path");
	CHECK(!p.args); /* untouched */
	_cleanup_free_ char *c = J("{'args':['/bin/ls'],'cwd':'/','user':{'uid':'root'}}");
	CHECK(spec_parse_process(c, strlen(c), "p.json", &p, &e) < 0);
	CHECK_STREQ(e.msg, "p.json: user.uid: expected a number, got string");
	_cleanup_free_ char *d =
	    J("{'args':['/bin/ls'],'cwd':'/','rlimits':[{'type':'RLIMIT_NOFILE','soft':1,"
	      "'hard':1},{'type':'RLIMIT_CORE','soft':18446744073709551616,'hard':1}]}");
	CHECK(spec_parse_process(d, strlen(d), "p.json", &p, &e) < 0);
	CHECK_STREQ(e.msg, "p.json: rlimits[1].soft: number out of range (18446744073709551616)");
}

static void test_load(void)
{
	char dir[] = "/tmp/berth-spec-XXXXXX";
	CHECK(mkdtemp(dir));
	spec *s = NULL;
	berr e = {0};
	int r = spec_load(dir, &s, &e);
	_cleanup_free_ char *want =
	    xasprintf("open %s/config.json: No such file or directory", dir);
	_cleanup_free_ char *got = xstrdup(e.msg);
	_cleanup_free_ char *cfg = J("{'root':{'path':'rootfs'},'process':{'args':['x'],"
				     "'cwd':'rel'}}");
	int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int w = fs_write_atomic_at(dfd, "config.json", cfg, strlen(cfg), 0644, false, &e);
	int r2 = spec_load(dir, &s, &e);
	_cleanup_free_ char *want2 =
	    xasprintf("%s/config.json: process.cwd: must be an absolute path", dir);
	_cleanup_free_ char *got2 = xstrdup(e.msg);
	_cleanup_free_ char *good = J("{'root':{'path':'rootfs'}}");
	int w2 = fs_write_atomic_at(dfd, "config.json", good, strlen(good), 0644, false, &e);
	int r3 = spec_load(dir, &s, &e);
	fs_rm_rf_at(AT_FDCWD, dir, &e);
	close(dfd);
	CHECK(r < 0);
	CHECK_STREQ(got, want);
	CHECK(w == 0 && w2 == 0);
	CHECK(r2 < 0);
	CHECK_STREQ(got2, want2);
	CHECK(r3 == 0 && s);
	CHECK_STREQ(s->root_path, "rootfs");
	spec_free(s);
}

static void test_signal_names(void)
{
	CHECK(spec_signal_from_name("KILL") == SIGKILL);
	CHECK(spec_signal_from_name("SIGKILL") == SIGKILL);
	CHECK(spec_signal_from_name("kill") == SIGKILL);
	CHECK(spec_signal_from_name("sigterm") == SIGTERM);
	CHECK(spec_signal_from_name("9") == 9);
	CHECK(spec_signal_from_name("64") == 64);
	CHECK(spec_signal_from_name("HUP") == SIGHUP);
	CHECK(spec_signal_from_name("SIGWINCH") == SIGWINCH);
	CHECK(spec_signal_from_name("CHLD") == SIGCHLD && spec_signal_from_name("CLD") == SIGCHLD);
	CHECK(spec_signal_from_name("SIGRTMIN") == SIGRTMIN);
	CHECK(spec_signal_from_name("SIGRTMIN+3") == SIGRTMIN + 3);
	CHECK(spec_signal_from_name("RTMAX-2") == SIGRTMAX - 2);
	CHECK(spec_signal_from_name("rtmax") == SIGRTMAX);
	CHECK(spec_signal_from_name("0") == -1);
	CHECK(spec_signal_from_name("65") == -1);
	CHECK(spec_signal_from_name("99999999999") == -1);
	CHECK(spec_signal_from_name("-9") == -1);
	CHECK(spec_signal_from_name("9x") == -1);
	CHECK(spec_signal_from_name("") == -1);
	CHECK(spec_signal_from_name(NULL) == -1);
	CHECK(spec_signal_from_name("SIG") == -1);
	CHECK(spec_signal_from_name("FOO") == -1);
	CHECK(spec_signal_from_name("SIGRTMIN-1") == -1);
	CHECK(spec_signal_from_name("RTMAX+1") == -1);
	CHECK(spec_signal_from_name("RTMIN+31") == -1); /* 34 + 31 > 64 */
	CHECK(spec_signal_from_name("RTMIN+") == -1);
}

static void test_cap_names(void)
{
	CHECK(spec_cap_last() == 40);
	CHECK(spec_cap_from_name("CAP_CHOWN") == 0);
	CHECK(spec_cap_from_name("CAP_SYS_ADMIN") == 21);
	CHECK(spec_cap_from_name("CAP_AUDIT_WRITE") == 29);
	CHECK(spec_cap_from_name("CAP_CHECKPOINT_RESTORE") == 40);
	CHECK(spec_cap_from_name("CAP_NOPE") == -1);
	CHECK(spec_cap_from_name("cap_chown") == -1); /* the spec spells them in capitals */
	CHECK(spec_cap_from_name(NULL) == -1);
	CHECK_STREQ(spec_cap_name(21), "CAP_SYS_ADMIN");
	CHECK_STREQ(spec_cap_name(38), "CAP_PERFMON");
	CHECK(!spec_cap_name(41) && !spec_cap_name(-1));
	for (int i = 0; i <= spec_cap_last(); i++)
		CHECK(spec_cap_from_name(spec_cap_name(i)) == i);
}

static void test_rlimit_and_ns_names(void)
{
	static const char *const all[] = {
	    "RLIMIT_AS",     "RLIMIT_CORE",   "RLIMIT_CPU",	   "RLIMIT_DATA",
	    "RLIMIT_FSIZE",  "RLIMIT_LOCKS",  "RLIMIT_MEMLOCK",	   "RLIMIT_MSGQUEUE",
	    "RLIMIT_NICE",   "RLIMIT_NOFILE", "RLIMIT_NPROC",	   "RLIMIT_RSS",
	    "RLIMIT_RTPRIO", "RLIMIT_RTTIME", "RLIMIT_SIGPENDING", "RLIMIT_STACK"};
	unsigned seen = 0;
	for (size_t i = 0; i < ARRAY_SIZE(all); i++) {
		int r = spec_rlimit_from_name(all[i]);
		CHECK(r >= 0 && r < RLIMIT_NLIMITS);
		seen |= 1u << r;
	}
	CHECK(seen == (1u << RLIMIT_NLIMITS) - 1); /* all 16, no two the same */
	CHECK(spec_rlimit_from_name("RLIMIT_NOFILE") == RLIMIT_NOFILE);
	CHECK(spec_rlimit_from_name("RLIMIT_STACK") == RLIMIT_STACK);
	CHECK(spec_rlimit_from_name("NOFILE") == -1);
	CHECK(spec_rlimit_from_name("rlimit_nofile") == -1);
	CHECK_STREQ(spec_ns_name(NS_NET), "network");
	CHECK_STREQ(spec_ns_name(NS_MNT), "mount");
	CHECK_STREQ(spec_ns_name(NS_TIME), "time");
	CHECK(!spec_ns_name(NS_COUNT));
}

/* The out-of-range scan reads the text: strings that look like numbers,
 * keys with escapes and the largest valid values are not refused. */
static void test_integer_limits_accepted(void)
{
	spec *s = NULL;
	berr e = {0};
	CHECK(parse(R
		    "'annotations':{'n':'99999999999999999999999','k\\'x':'-99999999999999999999'},"
		    "'process':{'args':['a'],'cwd':'/','rlimits':[{'type':'RLIMIT_CORE',"
		    "'soft':18446744073709551615,'hard':18446744073709551615}]},"
		    "'linux':{'resources':{'memory':{'limit':9223372036854775807},"
		    "'cpu':{'quota':-1,'period':1e0}}}}",
		    &s, &e) < 0);
	/* 1e0 is a number but not an integer: refused as before, by type */
	CHECK_STREQ(e.msg, "config.json: linux.resources.cpu.period: expected an integer, got 1e0");
	CHECK(parse(R
		    "'annotations':{'n':'99999999999999999999999','k\\'x':'-99999999999999999999'},"
		    "'process':{'args':['a'],'cwd':'/','rlimits':[{'type':'RLIMIT_CORE',"
		    "'soft':18446744073709551615,'hard':18446744073709551615}]},"
		    "'linux':{'resources':{'memory':{'limit':9223372036854775807},"
		    "'cpu':{'quota':-1}}}}",
		    &s, &e) == 0);
	CHECK(s->process.rlimits[0].hard == UINT64_MAX);
	spec_free(s);
}

CHECK_MAIN(test_full_config, test_minimal_config, test_default_roundtrip, test_default_matches_runc,
	   test_features, test_bad_inputs, test_truncated_inputs, test_wrong_types_everywhere,
	   test_parse_process, test_load, test_signal_names, test_cap_names,
	   test_rlimit_and_ns_names, test_integer_limits_accepted)
