/* Linux security modules for the container process: AppArmor profile and
 * SELinux label (process.apparmorProfile, process.selinuxLabel) and the
 * SELinux mount label (linux.mountLabel).
 *
 * The exec label is set in the container process right before execve
 * (runc does it before dropping capabilities and changing uid: writing one's
 * own attr/exec needs no privilege, but it must be the thread that execs).
 * The write goes through procfs.h, so a bind mount or symlink inside the
 * container cannot redirect it (CVE-2025-52881).
 *
 * A host without the LSM: requesting a profile/label is not an error, it
 * yields a warning for the front end to print, e.g.
 *   apparmor profile "x" requested but AppArmor is not enabled on this host */
#pragma once

#include <stdbool.h>

#include "util/error.h"

typedef struct lsm_host {
	bool apparmor; /* /sys/kernel/security/apparmor + module parameter enabled=Y */
	bool selinux;  /* selinuxfs mounted: /sys/fs/selinux/enforce */
} lsm_host;

/* Detect on this host, or below another sysfs root (tests). */
void lsm_detect(lsm_host *out);
void lsm_detect_at(const char *sysfs, lsm_host *out);

/* Set the exec label of the calling thread for its next execve. NULL or ""
 * means none. Warnings are appended to *warnings (strv_push). Uses a fresh
 * procfs root (procfs_root_open). */
int lsm_apply_exec_label(const char *apparmor_profile, const char *selinux_label, char ***warnings,
			 berr *e);

/* The same with an explicit host description and procfs root. */
int lsm_apply_exec_label_at(int procfd, const lsm_host *h, const char *apparmor_profile,
			    const char *selinux_label, char ***warnings, berr *e);

/* Mount data with the SELinux context option for linux.mountLabel, as runc's
 * label.FormatMountLabel: `data,context="LABEL"` (the quotes protect the
 * commas of MCS categories). Without SELinux or label the data is returned
 * unchanged. Malloc'ed; NULL when data is NULL and nothing was added. */
char *lsm_set_mount_label(const char *data, const char *mount_label, const lsm_host *h);
