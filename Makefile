# berth build. `make` builds release binaries into build/release/bin;
# `make BUILD=asan` builds the AddressSanitizer/UBSan flavour into build/asan.
# Every .c under src/lib/ goes into libberth.a; every folder src/cmd/NAME/ is
# one binary NAME (src/cmd/common/ is libcli.a, what the front ends share);
# every tests/unit/test_*.c is one unit-test binary.

BUILD ?= release
.DEFAULT_GOAL := all
O ?= build/$(BUILD)
CC ?= gcc

CFLAGS_BASE := -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wvla -Wformat=2 \
	-Wno-missing-field-initializers -fno-strict-aliasing -Isrc/lib -Isrc/cmd/common -MMD -MP \
	$(shell pkg-config --cflags json-c 2>/dev/null)
ifeq ($(BUILD),asan)
CFLAGS_MODE := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS_MODE := -fsanitize=address,undefined
STATIC_LIBS :=
else ifeq ($(BUILD),fuzz)
# The libFuzzer harnesses (tests/fuzz/): the library compiled again with clang,
# instrumented for coverage, ASan and UBSan. (struct kvm_msrs ends in a
# flexible array; the VMM embeds it in front of its entries, as KVM's own
# selftests do: a GNU extension clang names.)
CC := clang
CFLAGS_MODE := -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined -Wno-gnu-variable-sized-type-not-at-end
LDFLAGS_MODE := -fsanitize=fuzzer,address,undefined
else
CFLAGS_MODE := -O2 -g -fstack-protector-strong -D_FORTIFY_SOURCE=2
LDFLAGS_MODE := -Wl,-z,relro,-z,now -Wl,--as-needed
endif
CFLAGS += $(CFLAGS_BASE) $(CFLAGS_MODE)

# Short build lines unless V=1.
ifeq ($(V),1)
Q :=
say = @true
else
Q := @
say = @printf '  %-4s %s\n' $(1) $(2)
endif

# Libraries per binary. The runtime links only what it uses, statically where
# Debian ships an archive: every shared object costs start-up time.
ifneq ($(filter asan fuzz,$(BUILD)),)
LIBS_RUNTIME := -ljson-c -lseccomp -lcap
LIBS_berth := $(LIBS_RUNTIME) -lcrypto -lmnl
else
LIBS_RUNTIME := -Wl,-Bstatic -ljson-c -lseccomp -lcap -Wl,-Bdynamic
LIBS_berth := -Wl,-Bstatic -ljson-c -lseccomp -lcap -lcrypto -Wl,-Bdynamic -lmnl -lpthread
endif
LIBS_ALL := $(LIBS_RUNTIME) -larchive -lcurl -lcrypto -lmnl -lpthread
# libyaml: only the Kubernetes YAML reader (src/lib/kube) uses it, so only
# berth-xfer (berth kube ...) and the kube tests and harness link it.
LIBS_YAML := -lyaml
kube_libs = $(if $(findstring kube,$(1)),$(LIBS_YAML))
LIBS_berth-runtime := $(LIBS_RUNTIME)
# berth-runtime is started once (or several times) per container by every
# caller, Podman and containerd included: a static PIE, so its exec maps no
# interpreter and no shared objects (0.3 ms of each `run` here, issue #16).
# No NSS in it: the owner's name comes from /etc/passwd (util/passwd.c).
ifeq ($(filter asan fuzz,$(BUILD)),)
LIBS_berth-runtime := -static-pie -ljson-c -lseccomp -lcap
endif
# berth itself: no libcurl/libarchive (their ~40 shared objects cost every
# command milliseconds of loading); the transfer commands are berth-xfer.
LIBS_berth-xfer := $(LIBS_ALL) $(LIBS_YAML)
# berth-service: the Docker API (`berth system service`), HTTP by libmicrohttpd.
LIBS_berth-service := $(LIBS_ALL) -lmicrohttpd
# berth-init runs inside containers (no host libc there): static, and never
# sanitized (no sanitizer runtime in a container), in every build.
# berth-monitor runs once per container, so its RSS is per-container cost:
# static in release.
LIBS_berth-init := -static
$(O)/src/cmd/berth-init/%.o: CFLAGS := $(CFLAGS_BASE) -O2 -g -fstack-protector-strong
$(O)/bin/berth-init: LDFLAGS_MODE := -Wl,-z,relro,-z,now
# berth-pause: a pod's infra process, the one file of its image: the same.
LIBS_berth-pause := -static
$(O)/src/cmd/berth-pause/%.o: CFLAGS := $(CFLAGS_BASE) -O2 -g -fstack-protector-strong
$(O)/bin/berth-pause: LDFLAGS_MODE := -Wl,-z,relro,-z,now
ifneq ($(BUILD),asan)
LIBS_berth-monitor := -static
endif

# berth-init and berth-monitor use nothing but libc. With musl (musl-tools)
# each starts in ~0.1 ms where a static glibc one takes ~0.7 ms on a VM
# (glibc's CPU-feature and cache probing at start-up runs cpuid, which traps
# to the hypervisor: the monitor's exec is on the path of every `run`), and
# is ~60 KiB instead of ~900 KiB (the monitor's RSS is a per-container cost).
# gcc -static (glibc) where musl-gcc is missing. The monitor keeps the
# sanitizers in the asan build; berth-init is never sanitized.
MUSL_CC := $(shell command -v musl-gcc 2>/dev/null)
MUSL_CFLAGS := -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wvla -Wformat=2 \
	-Wno-missing-field-initializers -O2 -g -fstack-protector-strong -static -Wl,-z,relro,-z,now
MUSL_BINS :=
ifneq ($(MUSL_CC),)
ifneq ($(BUILD),fuzz)
MUSL_BINS += berth-init berth-pause
endif
ifeq ($(BUILD),release)
MUSL_BINS += berth-monitor
endif
endif
define musl_bin
$(O)/bin/$(1): src/cmd/$(1)/main.c
	@mkdir -p $$(dir $$@)
	$$(call say,MUSL,$$@)
	$$(Q)$(MUSL_CC) $(MUSL_CFLAGS) -o $$@ $$<
endef
$(foreach b,$(MUSL_BINS),$(eval $(call musl_bin,$(b))))

LIB_SRCS := $(sort $(shell find src/lib -name '*.c'))
LIB_OBJS := $(LIB_SRCS:%.c=$(O)/%.o)
CMDS := $(filter-out common,$(notdir $(patsubst %/,%,$(sort $(dir $(wildcard src/cmd/*/*.c))))))
CLI_OBJS := $(patsubst %.c,$(O)/%.o,$(wildcard src/cmd/common/*.c))
BINS := $(CMDS:%=$(O)/bin/%)
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(O)/tests/unit/%)
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_NAMES := $(FUZZ_SRCS:tests/fuzz/%.c=%)
FUZZ_BINS := $(FUZZ_NAMES:%=build/fuzz/tests/fuzz/%)
FUZZ_SECONDS ?= 60

.PHONY: all deps demo-deps demo test check bench format format-check clean fuzz fuzz-build fuzzers \
	man install uninstall
# keep objects of unit tests and binaries (they are not throwaway intermediates)
.SECONDARY:
all: $(BINS) $(UNIT_BINS)

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(call say,CC,$<)
	$(Q)$(CC) $(CFLAGS) -c -o $@ $<

$(O)/libberth.a: $(LIB_OBJS)
	@rm -f $@
	$(call say,AR,$@)
	$(Q)ar rcs $@ $^

$(O)/libcli.a: $(CLI_OBJS)
	@rm -f $@
	$(call say,AR,$@)
	$(Q)ar rcs $@ $^

.SECONDEXPANSION:
cmd_objs = $(patsubst %.c,$(O)/%.o,$(wildcard src/cmd/$(1)/*.c))
$(O)/bin/%: $$(call cmd_objs,$$*) $(O)/libcli.a $(O)/libberth.a
	@mkdir -p $(dir $@)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_MODE) -o $@ $(filter %.o,$^) $(O)/libcli.a $(O)/libberth.a \
		$(or $(LIBS_$*),$(LIBS_ALL))

$(O)/tests/unit/%: $(O)/tests/unit/%.o $(O)/libberth.a
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_MODE) -o $@ $< $(O)/libberth.a $(LIBS_ALL) $(call kube_libs,$*)

# One libFuzzer binary per tests/fuzz/fuzz_*.c (built with BUILD=fuzz).
$(O)/tests/fuzz/%: $(O)/tests/fuzz/%.o $(O)/libberth.a
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_MODE) -o $@ $< $(O)/libberth.a $(LIBS_ALL) $(call kube_libs,$*)

fuzzers: $(FUZZ_BINS)
fuzz-build:
	@$(MAKE) --no-print-directory BUILD=fuzz fuzzers
# Each harness for FUZZ_SECONDS from its checked-in seeds (tests/fuzz/corpus/
# NAME), after replaying tests/fuzz/crash/NAME/; what it learns goes to
# build/fuzz/work/NAME/corpus, a crash to build/fuzz/work/NAME/crash (tests/fuzz/run.py).
fuzz: deps fuzz-build
	@/usr/bin/python3 tests/fuzz/run.py $(FUZZ_SECONDS) $(FUZZ_NAMES)

# Man pages, printed by the binaries from the commands' own tables
# (scripts/gen-man.sh): berth(1), berth-CMD(1), berth-runtime(8), ...
man: $(BINS)
	$(call say,MAN,$(O)/man)
	$(Q)rm -rf $(O)/man && scripts/gen-man.sh $(O)/bin $(O)/man

# make install [PREFIX=/usr/local] [DESTDIR=...]: the binaries (the helpers
# berth-monitor, berth-init, berth-xfer next to berth, where it looks for
# them), the shell completions where bash, zsh and fish look, the man pages.
PREFIX ?= /usr/local
BINDIR = $(DESTDIR)$(PREFIX)/bin
SHAREDIR = $(DESTDIR)$(PREFIX)/share
COMPLETIONS = $(SHAREDIR)/bash-completion/completions/berth $(SHAREDIR)/zsh/vendor-completions/_berth \
	$(SHAREDIR)/fish/vendor_completions.d/berth.fish
install: $(BINS) man
	install -d $(BINDIR) $(SHAREDIR)/man/man1 $(SHAREDIR)/man/man8 \
		$(SHAREDIR)/bash-completion/completions $(SHAREDIR)/zsh/vendor-completions \
		$(SHAREDIR)/fish/vendor_completions.d
	install -m 755 $(BINS) $(BINDIR)/
	$(O)/bin/berth completion bash > $(SHAREDIR)/bash-completion/completions/berth
	$(O)/bin/berth completion zsh > $(SHAREDIR)/zsh/vendor-completions/_berth
	$(O)/bin/berth completion fish > $(SHAREDIR)/fish/vendor_completions.d/berth.fish
	install -m 644 $(O)/man/*.1 $(SHAREDIR)/man/man1/
	install -m 644 $(O)/man/*.8 $(SHAREDIR)/man/man8/

uninstall:
	rm -f $(addprefix $(BINDIR)/,$(CMDS)) $(COMPLETIONS)
	rm -f $(SHAREDIR)/man/man1/berth.1 $(SHAREDIR)/man/man1/berth-*.1 \
		$(SHAREDIR)/man/man8/berth-runtime.8 $(SHAREDIR)/man/man8/berth-runtime-*.8

deps:
	@scripts/install-deps.sh
demo-deps:
	@scripts/install-deps.sh --demo

# The newcomer's first command: build, make a busybox bundle, run a container.
demo: demo-deps
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh

# Everything: release and sanitizer builds, unit + integration tests (pytest).
test check: deps
	@$(MAKE) --no-print-directory BUILD=release all
	@$(MAKE) --no-print-directory BUILD=asan all
	@$(MAKE) --no-print-directory fuzz-build
	@scripts/run-tests.sh

bench: deps
	@$(MAKE) --no-print-directory BUILD=release all
	@bench/run-all.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')
format-check:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build

-include $(shell find $(O) -name '*.d' 2>/dev/null)
