/* berth-xfer: the image transfer commands of berth (pull, push, login,
 * logout, import, load, save) and system check. A separate binary so that only these
 * commands pay for loading libcurl and libarchive; `berth` execs it with
 * its own command line (see src/cmd/berth/cli.h). */
#pragma once

#include "cli_common.h"
#include "image/store.h"

int cmd_import(cli *c, int argc, char **argv);
int cmd_pause_image(cli *c, int argc, char **argv);
int cmd_load(cli *c, int argc, char **argv);
int cmd_save(cli *c, int argc, char **argv);
int cmd_pull(cli *c, int argc, char **argv);
int cmd_push(cli *c, int argc, char **argv);
int cmd_login(cli *c, int argc, char **argv);
int cmd_logout(cli *c, int argc, char **argv);
int cmd_system(cli *c, int argc, char **argv);
int cmd_commit(cli *c, int argc, char **argv); /* cmd_commit.c */
int cmd_export(cli *c, int argc, char **argv);
int cmd_kube(cli *c, int argc, char **argv);	 /* cmd_kube.c */
int cmd_generate(cli *c, int argc, char **argv); /* cmd_generate.c: generate kube */
int cmd_build(cli *c, int argc, char **argv);	 /* cmd_build.c */
int cmd_builder(cli *c, int argc, char **argv);	 /* cmd_builder.c: builder prune */

/* --max-layer-size SIZE (pull, load, import): parse into *max; 0 or a
 * cli_failf exit code. */
int xfer_max_layer_size(const char *arg, unsigned long long *max);
/* "berth: warning: ..." for what unpacking in a user namespace changed. */
void xfer_warn_unpack(img_store *s);
/* Its entry in a command's flag table (the string for xfer_max_layer_size). */
#define XFER_MAX_LAYER_SIZE_FLAG(strp)                                                             \
	{                                                                                          \
		"max-layer-size", 0, FLAG_STRING, (strp),                                          \
		    "Largest unpacked layer (k/m/g/t; 0: no limit)", "SIZE"                        \
	}
