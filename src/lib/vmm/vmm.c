/* The machine's life cycle: vmm_create builds it, vmm_run runs it with its
 * threads, vmm_destroy tears it down. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/xalloc.h"
#include "vmm/machine.h"

void vm_request_stop_kind(vm *m, int status, enum vmm_exit_kind kind, const char *why)
{
	pthread_mutex_lock(&m->lock);
	if (!m->exit_set) { /* the first reason wins */
		m->exit_set = true;
		m->exit.status = status;
		m->exit.kind = kind;
		snprintf(m->exit.reason, sizeof(m->exit.reason), "%s", why);
	}
	pthread_mutex_unlock(&m->lock);
	atomic_store(&m->stopping, true);
	uint64_t one = 1;
	if (write(m->wake_fd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the loop is woken already */
	}
}

void vm_request_stop(vm *machine, int status, const char *why)
{
	vm_request_stop_kind(machine, status, VMM_EXIT_POWEROFF, why);
}

int vmm_parse_size(const char *s, uint64_t *out, berr *e)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || s[0] == '-')
		return berr_set(e, 0, "bad size \"%s\"", s);
	unsigned shift;
	switch (*end) {
	case '\0':
	case 'M':
	case 'm':
		shift = 20;
		break;
	case 'G':
	case 'g':
		shift = 30;
		break;
	case 'K':
	case 'k':
		shift = 10;
		break;
	case 'B':
	case 'b':
		shift = 0;
		break;
	default:
		return berr_set(e, 0, "bad size \"%s\" (use K, M or G)", s);
	}
	/* after K/M/G: nothing, "B", "i" or "iB"; after B: nothing */
	const char *rest = *end ? end + 1 : end;
	if (*rest && (shift == 0 || (strcmp(rest, "B") && strcmp(rest, "i") && strcmp(rest, "iB"))))
		return berr_set(e, 0, "bad size \"%s\"", s);
	if (v > (UINT64_MAX >> shift))
		return berr_set(e, 0, "size \"%s\" too large", s);
	*out = (uint64_t)v << shift;
	return 0;
}

static int check_config(const vmm_config *c, berr *e)
{
	if (!c->kernel)
		return berr_set(e, 0, "no kernel given");
	uint64_t mem = c->mem_size ? c->mem_size : 128ull << 20;
	if (mem < VMM_MEM_MIN || mem > VMM_MEM_MAX || (mem & 0xfff))
		return berr_set(e, 0,
				"memory size %llu bytes: must be a multiple of 4 KiB between "
				"4 MiB and 3328 MiB",
				(unsigned long long)mem);
	if (c->ncpus > VMM_MAX_CPUS)
		return berr_set(e, 0, "%u vCPUs: at most %d", c->ncpus, VMM_MAX_CPUS);
	if (c->ndisks > VMM_MAX_DISKS)
		return berr_set(e, 0, "%u disks: at most %d", c->ndisks, VMM_MAX_DISKS);
	return 0;
}

static int create_devices(vm *m, berr *e)
{
	/* with virtio-console on the same input, COM1 gets none (no race) */
	int com1_in = m->cfg.virtio_console ? -1 : m->cfg.console_in;
	if (serial_create(m, com1_in, m->cfg.console_out, e) < 0 || i8042_create(m, e) < 0 ||
	    exitport_create(m, e) < 0)
		return -1;
	return vmm_create_virtio(m, e);
}

int vmm_create(const vmm_config *c, vm **out, berr *e)
{
	if (check_config(c, e) < 0)
		return -1;
	vm *m = xzalloc(sizeof(*m));
	m->cfg = *c;
	m->kvm_fd = m->vm_fd = m->epfd = m->wake_fd = -1;
	for (unsigned i = 0; i < VMM_MAX_CPUS; i++)
		m->vcpus[i].fd = -1;
	m->ncpus = c->ncpus ? c->ncpus : 1;
	pthread_mutex_init(&m->lock, NULL);
	pthread_mutex_init(&m->watch_lock, NULL);
	pthread_mutex_init(&m->go_lock, NULL);
	pthread_cond_init(&m->go_cond, NULL);
	uint64_t mem = c->mem_size ? c->mem_size : 128ull << 20;

	if (kvm_open_vm(m, e) < 0 || vm_memory_map(m, mem, e) < 0 || eventloop_init(m, e) < 0 ||
	    boot_load_kernel(m, c->kernel, e) < 0 ||
	    (c->initrd && boot_load_initrd(m, c->initrd, e) < 0) || create_devices(m, e) < 0 ||
	    cpu_write_tables(m, e) < 0 || mptable_write(m, e) < 0 || boot_write_params(m, e) < 0 ||
	    kvm_create_vcpus(m, e) < 0) {
		vmm_destroy(m);
		return -1;
	}
	*out = m;
	return 0;
}

static void kick_handler(int sig)
{
	(void)sig;
}

int vmm_run(vm *m, vmm_exit *x, berr *e)
{
	if (m->ran)
		return berr_set(e, 0, "vmm_run: the VM has run already");
	m->ran = true;
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, VMM_KICK_SIGNAL);
	struct sigaction sa = {.sa_handler = kick_handler}, old_sa;
	sigemptyset(&sa.sa_mask);
	if (sigaction(VMM_KICK_SIGNAL, &sa, &old_sa) < 0)
		return berr_sys(e, "sigaction");
	pthread_sigmask(SIG_BLOCK, &block, &old);
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	int sigfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	int r = -1;
	if (sigfd < 0) {
		berr_sys(e, "signalfd");
		goto out;
	}
	if (vcpu_start_all(m, e) < 0)
		goto stop;
	if (!m->cfg.no_seccomp && vmm_seccomp_install(m, e) < 0)
		goto stop;
	vcpu_release_all(m);
	r = eventloop_run(m, sigfd, e);
stop:
	if (r < 0)
		atomic_store(&m->stopping, true);
	vcpu_release_all(m);
	vcpu_kick_all(m);
	vcpu_join_all(m);
out:
	if (sigfd >= 0)
		close(sigfd);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	sigaction(VMM_KICK_SIGNAL, &old_sa, NULL);
	if (r == 0) {
		pthread_mutex_lock(&m->lock);
		*x = m->exit;
		pthread_mutex_unlock(&m->lock);
		x->guest_errors = atomic_load(&m->guest_errors);
	}
	return r;
}

void vmm_destroy(vm *m)
{
	if (!m)
		return;
	for (size_t i = m->ndevs; i-- > 0;) {
		vm_device *d = m->devs[i];
		int irqfd = d->irqfd;
		d->ops->destroy(d);
		if (irqfd >= 0)
			close(irqfd);
	}
	eventloop_fini(m);
	kvm_close(m);
	vm_memory_unmap(m);
	free(m->extra_cmdline);
	pthread_mutex_destroy(&m->lock);
	pthread_mutex_destroy(&m->watch_lock);
	pthread_mutex_destroy(&m->go_lock);
	pthread_cond_destroy(&m->go_cond);
	free(m);
}
