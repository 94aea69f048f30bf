/* Messages between the runtime and the container's init over a
 * SOCK_SEQPACKET socketpair. A message may carry one fd (SCM_RIGHTS). */
#pragma once

#include <stdint.h>

#include "util/error.h"

enum sync_type {
	SYNC_GO = 1,	/* parent -> child: proceed (maps written / hooks done / start) */
	SYNC_NEED_MAPS, /* stage1 -> parent: write uid/gid maps for pid `value` */
	SYNC_CHILD_PID, /* stage1 -> parent: the container init is pid `value` */
	SYNC_HOOKS,	/* child -> parent: run prestart + createRuntime hooks now */
	SYNC_READY,	/* child -> parent: created, waiting for start */
	SYNC_PTY,	/* child -> parent: the pty master (fd attached) */
	SYNC_ERROR,	/* child -> parent: text is the error, value its errno */
	SYNC_SECCOMP,	/* child -> parent: the seccomp notify listener (fd attached) */
	SYNC_CG_READY,	/* parent -> child: the v1 cgroups are made and limited: join */
};

typedef struct sync_msg {
	uint32_t type;
	int32_t value;
	char text[1024];
} sync_msg;

int sync_send(int sock, uint32_t type, int32_t value, const char *text, int fd);
/* Returns 1 with a message, 0 on EOF (peer exec'd or died), -1 on error.
 * *fd receives an attached fd (else -1) if fd is non-NULL. */
int sync_recv(int sock, sync_msg *m, int *fd, berr *e);

/* Child side: report e to the parent (best effort). */
void sync_send_error(int sock, const berr *e);
