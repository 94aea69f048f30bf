/* One thread per vCPU running KVM_RUN and dispatching its exits. A stop is
 * seen at the next exit; a vCPU inside KVM_RUN (guest spinning or halted)
 * is kicked out by VMM_KICK_SIGNAL with kvm_run.immediate_exit set first,
 * so a signal landing just before KVM_RUN is not lost. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/machine.h"

static uint64_t vcpu_rip(vm_vcpu *c)
{
	struct kvm_regs r;
	if (ioctl(c->fd, KVM_GET_REGS, &r) < 0)
		return 0;
	return r.rip;
}

static void crash(vm_vcpu *c, const char *what)
{
	char why[200];
	snprintf(why, sizeof(why), "guest %s at rip %#llx (vCPU %u)", what,
		 (unsigned long long)vcpu_rip(c), c->id);
	vm_request_stop_kind(c->m, VMM_STATUS_CRASH, VMM_EXIT_CRASH, why);
}

/* Handle one exit; false ends the loop. */
static bool vcpu_exit(vm_vcpu *c)
{
	struct kvm_run *run = c->run;
	char what[128];
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		bus_pio(c->m, run, c->run_size);
		return true;
	case KVM_EXIT_MMIO:
		bus_mmio(c->m, run);
		return true;
	case KVM_EXIT_HLT:
	case KVM_EXIT_INTR:
	case KVM_EXIT_IRQ_WINDOW_OPEN:
		return true;
	case KVM_EXIT_SHUTDOWN:
		crash(c, "triple fault (shutdown)");
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(what, sizeof(what), "stopped KVM (internal error, suberror %u)",
			 run->internal.suberror);
		crash(c, what);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(what, sizeof(what), "VM entry failed (hardware reason %#llx)",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		crash(c, what);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		if (run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN) {
			vm_request_stop_kind(c->m, 0, VMM_EXIT_POWEROFF,
					     "guest shut down (KVM system event)");
		} else if (run->system_event.type == KVM_SYSTEM_EVENT_RESET) {
			vm_request_stop_kind(c->m, 0, VMM_EXIT_RESET, "guest reset");
		} else {
			snprintf(what, sizeof(what), "system event %u", run->system_event.type);
			crash(c, what);
		}
		return false;
	default:
		snprintf(what, sizeof(what), "caused an unhandled KVM exit (reason %u)",
			 run->exit_reason);
		crash(c, what);
		return false;
	}
}

static void *vcpu_thread(void *arg)
{
	vm_vcpu *c = arg;
	vm *m = c->m;
	sigset_t kick;
	sigemptyset(&kick);
	sigaddset(&kick, VMM_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);
	pthread_mutex_lock(&m->go_lock);
	while (!m->go)
		pthread_cond_wait(&m->go_cond, &m->go_lock);
	pthread_mutex_unlock(&m->go_lock);
	while (!atomic_load(&m->stopping)) {
		if (ioctl(c->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			char what[96];
			snprintf(what, sizeof(what), "could not run: KVM_RUN: %s", strerror(errno));
			crash(c, what);
			break;
		}
		if (!vcpu_exit(c))
			break;
	}
	return NULL;
}

int vcpu_start_all(vm *m, berr *e)
{
	for (unsigned i = 0; i < m->ncpus; i++) {
		vm_vcpu *c = &m->vcpus[i];
		int r = pthread_create(&c->thread, NULL, vcpu_thread, c);
		if (r)
			return berr_errno(e, r, "pthread_create vCPU %u", i);
		c->thread_started = true;
		char name[32];
		snprintf(name, sizeof(name), "berth-vcpu%u", i);
		name[15] = '\0'; /* the kernel's limit */
		pthread_setname_np(c->thread, name);
	}
	return 0;
}

void vcpu_release_all(vm *m)
{
	pthread_mutex_lock(&m->go_lock);
	m->go = true;
	pthread_cond_broadcast(&m->go_cond);
	pthread_mutex_unlock(&m->go_lock);
}

void vcpu_kick_all(vm *m)
{
	for (unsigned i = 0; i < m->ncpus; i++) {
		vm_vcpu *c = &m->vcpus[i];
		if (!c->thread_started)
			continue;
		__atomic_store_n(&c->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		pthread_kill(c->thread, VMM_KICK_SIGNAL);
	}
}

void vcpu_join_all(vm *m)
{
	for (unsigned i = 0; i < m->ncpus; i++) {
		vm_vcpu *c = &m->vcpus[i];
		if (c->thread_started)
			pthread_join(c->thread, NULL);
		c->thread_started = false;
	}
}
