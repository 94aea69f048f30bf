/* `berth vm run`: boot a kernel in a KVM micro-VM (src/lib/vmm). The guest's
 * exit becomes ours: the exit-port status, 0 on reset, 1 on a guest crash
 * (triple fault and friends, with one message), 130/143 on SIGINT/SIGTERM,
 * 125 when the VMM itself fails. */
#include <getopt.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "vmm/vmm.h"

static void vm_usage(FILE *f)
{
	fputs("Usage: berth vm run --kernel FILE [--initrd FILE] [--cmdline STR] [--memory SIZE]\n"
	      "                    [--cpus N] [--disk PATH[,ro]]... [--net TAP] [--console]\n"
	      "                    [--virtio-console] [--no-seccomp]\n"
	      "\n"
	      "Boots FILE (a bzImage or ELF64 vmlinux) directly in 64-bit mode. COM1 goes to\n"
	      "stdout; --console also feeds stdin to COM1. SIZE takes K/M/G (plain: MiB,\n"
	      "default 128M). A guest powers off with status V by writing V to I/O port 0x501.\n"
	      "Exit status: the guest's (0 on reset), 1 if the guest crashed, 130 on Ctrl-C,\n"
	      "125 if the VM could not be run.\n",
	      f);
}

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

static int vm_run_cmd(cli *c, int argc, char **argv)
{
	vmm_config cfg = {.console_out = STDOUT_FILENO, .console_in = -1, .debug = c->debug};
	bool console = false;
	static const struct option opts[] = {
	    {"kernel", required_argument, NULL, 'k'},	{"initrd", required_argument, NULL, 'i'},
	    {"cmdline", required_argument, NULL, 'c'},	{"memory", required_argument, NULL, 'm'},
	    {"cpus", required_argument, NULL, 'p'},	{"disk", required_argument, NULL, 'd'},
	    {"net", required_argument, NULL, 'n'},	{"console", no_argument, NULL, 'C'},
	    {"virtio-console", no_argument, NULL, 'V'}, {"no-seccomp", no_argument, NULL, 'S'},
	    {"help", no_argument, NULL, 'h'},		{0},
	};
	berr e = {0};
	char disk_paths[VMM_MAX_DISKS][4096];
	optind = 1;
	int o;
	while ((o = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (o) {
		case 'k':
			cfg.kernel = optarg;
			break;
		case 'i':
			cfg.initrd = optarg;
			break;
		case 'c':
			cfg.cmdline = optarg;
			break;
		case 'm':
			if (vmm_parse_size(optarg, &cfg.mem_size, &e) < 0)
				return cli_failf(125, "vm run: --memory: %s", e.msg);
			break;
		case 'p': {
			char *end;
			long n = strtol(optarg, &end, 10);
			if (*end || n < 1 || n > VMM_MAX_CPUS)
				return cli_failf(125, "vm run: --cpus: want 1..%d, got \"%s\"",
						 VMM_MAX_CPUS, optarg);
			cfg.ncpus = (unsigned)n;
			break;
		}
		case 'd': {
			if (cfg.ndisks >= VMM_MAX_DISKS)
				return cli_failf(125, "vm run: at most %d --disk", VMM_MAX_DISKS);
			size_t len = strlen(optarg);
			bool ro = len > 3 && !strcmp(optarg + len - 3, ",ro");
			if (ro)
				len -= 3;
			if (len == 0 || len >= sizeof(disk_paths[0]))
				return cli_failf(125, "vm run: --disk: bad path \"%s\"", optarg);
			memcpy(disk_paths[cfg.ndisks], optarg, len);
			disk_paths[cfg.ndisks][len] = '\0';
			cfg.disks[cfg.ndisks].path = disk_paths[cfg.ndisks];
			cfg.disks[cfg.ndisks].read_only = ro;
			cfg.ndisks++;
			break;
		}
		case 'n':
			cfg.tap = optarg;
			break;
		case 'C':
			console = true;
			break;
		case 'V':
			cfg.virtio_console = true;
			break;
		case 'S':
			cfg.no_seccomp = true;
			break;
		case 'h':
			vm_usage(stdout);
			return 0;
		default:
			vm_usage(stderr);
			return 125;
		}
	}
	if (optind != argc)
		return cli_failf(125, "vm run: unexpected argument \"%s\"", argv[optind]);
	if (!cfg.kernel) {
		vm_usage(stderr);
		return cli_failf(125, "vm run: --kernel is required");
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
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		vm_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 125 : 0;
	}
	if (!strcmp(argv[1], "run"))
		return vm_run_cmd(c, argc - 1, argv + 1);
	return cli_failf(125, "vm: unknown subcommand \"%s\" (see berth vm --help)", argv[1]);
}
