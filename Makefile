# mlaudit - build, test, demo.
#
#   make          build build/release/mlaudit (and the CUDA objects when nvcc exists)
#   make test     install missing Debian packages, build, run every test that needs no GPU
#   make check    the same tests in a CPU-only build with AddressSanitizer and UBSan
#                 (three seeds per synth scenario instead of ten: the sanitizers cost 4x)
#   make demo     audit the bundled demo data and print where the report is
#
# Objects built with different flags never mix: each build has its own folder.

CC      ?= gcc
NVCC    := $(shell command -v nvcc 2>/dev/null || { test -x /usr/local/cuda/bin/nvcc && echo /usr/local/cuda/bin/nvcc; })
PKGS    := jansson xlsxwriter libcmark-gfm check
WARN    := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes
BASE    := -std=c11 -D_GNU_SOURCE -g -I. -DMLA_SOURCE_DIR='"$(CURDIR)"' $(WARN)
LIBS    := -ljansson -lxlsxwriter -lcmark-gfm-extensions -lcmark-gfm -lz -lm -lpthread
TLIBS   := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lrt) -lm

SRC     := $(filter-out pipeline/main.c,$(wildcard pipeline/*.c)) $(wildcard stages/*/*.c)
MAIN    := pipeline/main.c
TSRC    := $(wildcard tests/unit/*.c)
CUSRC   := $(wildcard cuda/*.cu)

REL     ?= build/release
ASAN    := build/asan
REL_CFLAGS  := $(BASE) -O2
ASAN_CFLAGS := $(BASE) -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined

# ---- CUDA: compiled whenever nvcc exists, so CI catches CUDA compile errors without a GPU ----
# The release build links the CUDA backend when nvcc exists (the binary then
# picks the GPU at run time when a device answers, else the CPU); the sanitizer
# build stays CPU-only.
ifneq ($(NVCC),)
CUDA_HOME := $(patsubst %/bin/nvcc,%,$(NVCC))
CUOBJ     := $(CUSRC:%.cu=$(REL)/%.o)
REL_CFLAGS += -DMLA_HAVE_CUDA
CUDA_LIBS := -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcudart -lstdc++ -ldl -lrt
BACKENDS  := cpu, cuda ($(NVCC))
$(REL)/%.o: %.cu
	@mkdir -p $(dir $@)
	$(NVCC) -O3 -arch=sm_90 -I. -DMLA_HAVE_CUDA -c $< -o $@
else
CUOBJ     :=
CUDA_LIBS :=
BACKENDS  := cpu (no nvcc on PATH or in /usr/local/cuda/bin)
endif
.PHONY: all deps test check demo clean cuda-objects bench-ingest bench-probes gpu-check
all: $(REL)/mlaudit cuda-objects

deps:
	@sh pipeline/deps.sh

# ---- release build ----
$(REL)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(REL_CFLAGS) -MMD -MP -c $< -o $@

$(REL)/mlaudit: $(SRC:%.c=$(REL)/%.o) $(REL)/$(MAIN:.c=.o) $(CUOBJ)
	$(CC) $(REL_CFLAGS) -o $@ $^ $(LIBS) $(CUDA_LIBS)

# The CPU/GPU parity test: its own binary, no fork (CUDA does not survive
# fork), only the compute core; it prints SKIP and passes without a device.
PROBE_CORE := pipeline/util.c stages/probes/probe_backend.c stages/probes/probe_cpu.c stages/probes/probe_cpu_simd.c
$(REL)/parity: tests/gpu/parity.c $(PROBE_CORE:%.c=$(REL)/%.o) $(CUOBJ)
	$(CC) $(REL_CFLAGS) -o $@ $^ -lm -lpthread $(CUDA_LIBS)

$(REL)/check_mlaudit: $(SRC:%.c=$(REL)/%.o) $(TSRC:%.c=$(REL)/%.o) $(CUOBJ) | $(REL)/mlaudit
	$(CC) $(REL_CFLAGS) -o $@ $^ $(LIBS) $(CUDA_LIBS) $(TLIBS)

# ---- sanitizer build (CPU only) ----
$(ASAN)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_CFLAGS) -MMD -MP -c $< -o $@

$(ASAN)/mlaudit: $(SRC:%.c=$(ASAN)/%.o) $(ASAN)/$(MAIN:.c=.o)
	$(CC) $(ASAN_CFLAGS) -o $@ $^ $(LIBS)

$(ASAN)/check_mlaudit: $(SRC:%.c=$(ASAN)/%.o) $(TSRC:%.c=$(ASAN)/%.o) | $(ASAN)/mlaudit
	$(CC) $(ASAN_CFLAGS) -o $@ $^ $(LIBS) $(TLIBS)

cuda-objects: $(CUOBJ)
	@echo "backends built: $(BACKENDS)"

# The GPU check: parity and the probe sweep, built with gcc and nvcc only.
gpu-check:
	sh tests/gpu/run_gpu_checks.sh

# ---- the two commands of the README, and the sanitizer run ----
# MLAUDIT_BIN tells the end-to-end tests which binary to run.
test: deps
	@$(MAKE) --no-print-directory all $(REL)/check_mlaudit $(REL)/parity
	$(REL)/parity
	MLAUDIT_BIN=$(CURDIR)/$(REL)/mlaudit $(REL)/check_mlaudit

check: deps
	@$(MAKE) --no-print-directory $(ASAN)/mlaudit $(ASAN)/check_mlaudit
	MLAUDIT_BIN=$(CURDIR)/$(ASAN)/mlaudit MLA_SCENARIO_SEEDS=3 ASAN_OPTIONS=detect_leaks=1 $(ASAN)/check_mlaudit

# exit status 1 means "the audit found something", which is what a demo is for
demo: deps
	@$(MAKE) --no-print-directory all
	@$(REL)/mlaudit demo || [ $$? -eq 1 ]

bench-ingest: all
	sh tests/bench/bench_ingest.sh

bench-probes: all
	sh tests/bench/bench_probe_sweep.sh

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
