/* The VMM's event loop: one epoll set on the thread that called vmm_run,
 * serving device fds (input, ioeventfds, taps), the stop eventfd and the
 * SIGINT/SIGTERM signalfd. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "vmm/machine.h"

#define EV_WAKE	  ((uint64_t)VMM_MAX_WATCHES)
#define EV_SIGNAL ((uint64_t)VMM_MAX_WATCHES + 1)

int eventloop_init(vm *m, berr *e)
{
	for (size_t i = 0; i < VMM_MAX_WATCHES; i++)
		m->watches[i].fd = -1;
	m->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (m->epfd < 0)
		return berr_sys(e, "epoll_create1");
	m->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m->wake_fd < 0)
		return berr_sys(e, "eventfd");
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EV_WAKE};
	if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->wake_fd, &ev) < 0)
		return berr_sys(e, "epoll_ctl wake fd");
	return 0;
}

void eventloop_fini(vm *m)
{
	if (m->wake_fd >= 0)
		close(m->wake_fd);
	if (m->epfd >= 0)
		close(m->epfd);
	m->wake_fd = m->epfd = -1;
}

int vm_watch_fd(vm *machine, int fd, uint32_t events, vm_event_fn fn, void *opaque, berr *e)
{
	pthread_mutex_lock(&machine->watch_lock);
	vm_watch *w = NULL;
	size_t idx = 0;
	for (size_t i = 0; i < VMM_MAX_WATCHES && !w; i++)
		if (machine->watches[i].fd == fd) /* re-watch an fd: reuse its slot */
			w = &machine->watches[idx = i];
	for (size_t i = 0; i < VMM_MAX_WATCHES && !w; i++)
		if (machine->watches[i].fd < 0)
			w = &machine->watches[idx = i];
	if (!w) {
		pthread_mutex_unlock(&machine->watch_lock);
		return berr_set(e, 0, "too many watched fds");
	}
	w->fd = fd;
	w->fn = fn;
	w->opaque = opaque;
	struct epoll_event ev = {.events = events ? events : EPOLLIN, .data.u64 = idx};
	int r = epoll_ctl(machine->epfd, w->active ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev);
	if (r < 0) {
		int err = errno;
		if (!w->active)
			w->fd = -1;
		pthread_mutex_unlock(&machine->watch_lock);
		return berr_errno(e, err, "epoll_ctl fd %d", fd);
	}
	w->active = true;
	pthread_mutex_unlock(&machine->watch_lock);
	return 0;
}

int vm_unwatch_fd(vm *machine, int fd)
{
	int r = -1;
	pthread_mutex_lock(&machine->watch_lock);
	for (size_t i = 0; i < VMM_MAX_WATCHES; i++) {
		vm_watch *w = &machine->watches[i];
		if (w->fd == fd && w->active) {
			epoll_ctl(machine->epfd, EPOLL_CTL_DEL, fd, NULL);
			/* keep w->fd: the slot is reused if the fd is watched again,
			 * and a stale event for it in this round finds !active */
			w->active = false;
			r = 0;
		}
	}
	pthread_mutex_unlock(&machine->watch_lock);
	return r;
}

static void on_signal(vm *m, int sigfd)
{
	struct signalfd_siginfo si;
	if (read(sigfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return;
	char why[64];
	snprintf(why, sizeof(why), "stopped by %s", si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
	vm_request_stop_kind(m, 128 + (int)si.ssi_signo, VMM_EXIT_SIGNAL, why);
}

int eventloop_run(vm *m, int sigfd, berr *e)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EV_SIGNAL};
	if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, sigfd, &ev) < 0)
		return berr_sys(e, "epoll_ctl signalfd");
	while (!atomic_load(&m->stopping)) {
		struct epoll_event evs[16];
		int n = epoll_wait(m->epfd, evs, 16, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return berr_sys(e, "epoll_wait");
		}
		for (int i = 0; i < n; i++) {
			uint64_t id = evs[i].data.u64;
			if (id == EV_WAKE) {
				uint64_t v;
				if (read(m->wake_fd, &v, sizeof(v)) < 0) {
					/* EAGAIN: already drained */
				}
			} else if (id == EV_SIGNAL) {
				on_signal(m, sigfd);
			} else if (id < VMM_MAX_WATCHES) {
				pthread_mutex_lock(&m->watch_lock);
				vm_watch w = m->watches[id];
				pthread_mutex_unlock(&m->watch_lock);
				if (w.active)
					w.fn(w.opaque, evs[i].events);
			}
		}
	}
	return 0;
}
