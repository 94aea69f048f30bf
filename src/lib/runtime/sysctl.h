/* linux.sysctl: only namespaced keys, written through a verified procfs. */
#pragma once

#include "spec/spec.h"
#include "util/error.h"

/* Before clone: every key must belong to a namespace the container owns. */
int sysctl_validate(const spec *s, berr *e);
/* In the container after pivot_root (its /proc must be mounted). */
int sysctl_apply(const spec *s, berr *e);
