/* `berth vm run`: boot a kernel in a KVM micro-VM (src/lib/vmm). The guest's
 * exit becomes ours: the exit-port status, 0 on reset, 1 on a guest crash
 * (triple fault and friends, with one message), 130/143 on SIGINT/SIGTERM,
 * 125 when the VMM itself fails. */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "util/cleanup.h"
#include "util/xalloc.h"
#include "vmm/vmm.h"

static const char vm_description[] =
    "Boots FILE (a bzImage or ELF64 vmlinux) directly in 64-bit mode. COM1 goes to stdout; "
    "--console also feeds stdin to COM1. SIZE takes K/M/G (plain: MiB, default 128M). A guest "
    "powers off with status V by writing V to I/O port 0x501.\n"
    "Exit status: the guest's (0 on reset), 1 if the guest crashed, 130 on Ctrl-C, 125 if "
    "the VM could not be run.";

static const cli_doc vm_run_doc = {
    "vm run",
    "--kernel FILE [--initrd FILE] [--cmdline STR] [--memory SIZE] [--cpus N] "
    "[--disk PATH[,ro]]... [--net TAP] [--console] [--virtio-console] [--no-seccomp]",
    "Boot a kernel in a KVM micro-VM",
    vm_description,
    "berth vm run --kernel bzImage --cmdline console=ttyS0 --memory 256M\n"
    "berth vm run --kernel vmlinux --disk root.img --console",
    CLI_ARGS_NONE};

static void log_stderr(void *opaque, const char *msg)
{
	(void)opaque;
	fputs("berth: vm: ", stderr);
	cli_print_clean(stderr, msg); /* may name what a guest did */
	fputc('\n', stderr);
}

/* Raw terminal for --console, keeping ISIG so Ctrl-C stops the VM. */
static bool term_raw(int fd, struct termios *saved)
{
	if (!isatty(fd) || tcgetattr(fd, saved) < 0)
		return false;
	struct termios t = *saved;
	cfmakeraw(&t);
	t.c_lflag |= ISIG;
	t.c_oflag |= OPOST | ONLCR;
	return tcsetattr(fd, TCSANOW, &t) == 0;
}

/* --memory, --cpus and --disk into cfg (disk paths kept in paths). */
static int vm_options(vmm_config *cfg, const char *mem, const char *cpus, char **disks,
		      char paths[VMM_MAX_DISKS][4096], berr *e)
{
	if (mem && vmm_parse_size(mem, &cfg->mem_size, e) < 0) {
		char why[sizeof(e->msg)];
		snprintf(why, sizeof(why), "%s", e->msg);
		return berr_set(e, EINVAL, "--memory: %s", why);
	}
	if (cpus) {
		char *end;
		long n = strtol(cpus, &end, 10);
		if (*end || n < 1 || n > VMM_MAX_CPUS)
			return berr_set(e, EINVAL, "--cpus: want 1..%d, got \"%s\"", VMM_MAX_CPUS,
					cpus);
		cfg->ncpus = (unsigned)n;
	}
	for (size_t k = 0; disks && disks[k]; k++) {
		const char *d = disks[k];
		if (cfg->ndisks >= VMM_MAX_DISKS)
			return berr_set(e, EINVAL, "at most %d --disk", VMM_MAX_DISKS);
		size_t len = strlen(d);
		bool ro = len > 3 && !strcmp(d + len - 3, ",ro");
		if (ro)
			len -= 3;
		if (len == 0 || len >= sizeof(paths[0]))
			return berr_set(e, EINVAL, "--disk: bad path \"%s\"", d);
		memcpy(paths[cfg->ndisks], d, len);
		paths[cfg->ndisks][len] = '\0';
		cfg->disks[cfg->ndisks].path = paths[cfg->ndisks];
		cfg->disks[cfg->ndisks].read_only = ro;
		cfg->ndisks++;
	}
	return 0;
}

static int vm_run_cmd(cli *c, int argc, char **argv)
{
	vmm_config cfg = {.console_out = STDOUT_FILENO, .console_in = -1, .debug = c->debug};
	bool console = false;
	const char *mem = NULL, *cpus = NULL;
	char **disks = NULL;
	const flag_def defs[] = {
	    {"kernel", 0, FLAG_STRING, &cfg.kernel, "The kernel: a bzImage or an ELF64 vmlinux",
	     "FILE"},
	    {"initrd", 0, FLAG_STRING, &cfg.initrd, "An initial ramdisk", "FILE"},
	    {"cmdline", 0, FLAG_STRING, &cfg.cmdline, "The kernel command line", "STR"},
	    {"memory", 0, FLAG_STRING, &mem, "Guest memory (K, M, G; plain: MiB)", "SIZE", "128M"},
	    {"cpus", 0, FLAG_STRING, &cpus, "Number of vCPUs", "N", "1"},
	    {"disk", 0, FLAG_LIST, &disks, "A virtio block device (repeatable; ,ro: read-only)",
	     "PATH[,ro]"},
	    {"net", 0, FLAG_STRING, &cfg.tap, "A virtio-net device on this tap interface", "TAP"},
	    {"console", 0, FLAG_BOOL, &console, "Feed stdin to COM1 (raw terminal)"},
	    {"virtio-console", 0, FLAG_BOOL, &cfg.virtio_console,
	     "A virtio console on stdin/stdout"},
	    {"no-seccomp", 0, FLAG_BOOL, &cfg.no_seccomp, "Run the VMM without its seccomp filter"},
	    {0},
	};
	berr e = {0};
	char disk_paths[VMM_MAX_DISKS][4096];
	int st, first = cli_flags(c, &vm_run_doc, defs, argc, argv, &st);
	if (first < 0)
		return st;
	int rc = vm_options(&cfg, mem, cpus, disks, disk_paths, &e);
	strv_free(disks);
	if (rc < 0)
		return cli_failf(125, "vm run: %s", e.msg);
	if (first != argc)
		return cli_failf(125, "vm run: unexpected argument \"%s\"", argv[first]);
	if (!cfg.kernel) {
		cli_failf(125, "vm run: --kernel is required");
		cli_see_help(stderr, c->ui.prog, &vm_run_doc);
		return 125;
	}
	if (console || cfg.virtio_console)
		cfg.console_in = STDIN_FILENO;
	cfg.log = log_stderr;

	vm *m;
	if (vmm_create(&cfg, &m, &e) < 0)
		return cli_failf(125, "vm: %s", e.msg);
	struct termios saved;
	bool raw = console && term_raw(STDIN_FILENO, &saved);
	vmm_exit x = {0};
	int r = vmm_run(m, &x, &e);
	if (raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	vmm_destroy(m);
	if (r < 0)
		return cli_failf(125, "vm: %s", e.msg);
	if (x.guest_errors)
		fprintf(stderr, "berth: vm: %u guest error(s), first: %s\n", x.guest_errors,
			x.first_guest_error);
	if (x.kind == VMM_EXIT_CRASH)
		fprintf(stderr, "berth: vm: %s\n", x.reason);
	else if (c->debug)
		fprintf(stderr, "berth: vm: %s\n", x.reason);
	return x.status;
}

int cmd_vm(cli *c, int argc, char **argv)
{
	static const cli_cmd subs[] = {{"run", vm_run_cmd, "Boot a kernel in a KVM micro-VM"}};
	static const cli_doc doc = {"vm",
				    "COMMAND",
				    "Run and manage KVM micro-VMs",
				    vm_description,
				    "berth vm run --kernel bzImage --console",
				    CLI_ARGS_NONE};
	return cli_subcommands(c, &doc, subs, ARRAY_SIZE(subs), argc, argv);
}
