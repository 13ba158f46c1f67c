# sagemagic: a Jupyter kernel in C for the SageMaker workflow.
# `make deps` installs what the build and tests need; `make test` runs them all.

CC ?= cc
# The kernel and the CLI link only these; libcurl's headers are used but the
# library is loaded on the first AWS call (client/transport.c), so a kernel
# that never calls AWS never maps it.
PKGS := libsodium jansson
CURL_CFLAGS := $(shell pkg-config --cflags libcurl 2>/dev/null)
BUILD ?= build
PREFIX ?=
PYTHON_VENV := .venv
PY := $(PYTHON_VENV)/bin/python

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
        -Wmissing-prototypes -Wno-unused-parameter
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) -Icommon -Ikernel \
              -Imagics -Iclient $(shell pkg-config --cflags $(PKGS) 2>/dev/null) \
              $(CURL_CFLAGS)
LDLIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -ldl -lpthread -lm

COMMON_SRC := $(wildcard common/*.c)
KERNEL_SRC := $(filter-out kernel/main.c,$(wildcard kernel/*.c))
MAGICS_SRC := $(wildcard magics/*.c)
CLIENT_SRC := $(filter-out client/cli.c,$(wildcard client/*.c))
TEST_SRC := $(wildcard tests/c/*.c)
LIB_SRC := $(COMMON_SRC) $(KERNEL_SRC) $(MAGICS_SRC) $(CLIENT_SRC)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
LIB_OBJ := $(call obj,$(LIB_SRC))

KERNEL_BIN := $(BUILD)/sagemagic
AWS_BIN := $(BUILD)/sagemagic-aws
TEST_BIN := $(BUILD)/test-runner
BINS := $(KERNEL_BIN) $(AWS_BIN) $(TEST_BIN)

# sagemagic-local: the offline service (local/), with its own libraries.
LOCAL_PKGS := libmicrohttpd sqlite3 xgboost zlib libcrypto
LOCAL_SRC := $(wildcard local/*.c)
LOCAL_BIN := $(BUILD)/sagemagic-local
LOCAL_CFLAGS := -Ilocal $(shell pkg-config --cflags $(LOCAL_PKGS) 2>/dev/null)
LOCAL_LDLIBS := $(shell pkg-config --libs $(LOCAL_PKGS) 2>/dev/null)
LOCAL_LIB_OBJ := $(call obj,$(filter-out local/main.c,$(LOCAL_SRC)))
ifneq ($(LOCAL_SRC),)
BINS += $(LOCAL_BIN)
endif

.PHONY: all deps test test-c test-py asan bench fuzz install clang-check \
        demo lab clean format

all: $(BINS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC $<"
	@$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(KERNEL_BIN): $(call obj,kernel/main.c) $(LIB_OBJ)
	@echo "  LD $@"
	@$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

$(AWS_BIN): $(call obj,client/cli.c) $(LIB_OBJ)
	@echo "  LD $@"
	@$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

$(TEST_BIN): $(call obj,$(TEST_SRC)) $(LIB_OBJ) $(LOCAL_LIB_OBJ)
	@echo "  LD $@"
	@$(CC) $(ALL_CFLAGS) -o $@ $^ $(LOCAL_LDLIBS) $(LDLIBS)

$(BUILD)/obj/tests/c/%.o: tests/c/%.c
	@mkdir -p $(dir $@)
	@echo "  CC $<"
	@$(CC) $(ALL_CFLAGS) $(LOCAL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/local/%.o: local/%.c
	@mkdir -p $(dir $@)
	@echo "  CC $<"
	@$(CC) $(ALL_CFLAGS) $(LOCAL_CFLAGS) -MMD -MP -c $< -o $@

$(LOCAL_BIN): $(call obj,local/main.c) $(LOCAL_LIB_OBJ) $(call obj,$(COMMON_SRC) $(CLIENT_SRC))
	@echo "  LD $@"
	@$(CC) $(ALL_CFLAGS) -o $@ $^ $(LOCAL_LDLIBS) $(LDLIBS)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

deps:
	@tools/deps.sh

# Both compilers must build the tree without a warning.
clang-check:
	@for f in $(LIB_SRC) kernel/main.c client/cli.c; do \
	  clang $(filter-out -O2 -g,$(ALL_CFLAGS)) -fsyntax-only $$f || exit 1; \
	done
	@for f in $(LOCAL_SRC) $(TEST_SRC); do \
	  clang $(filter-out -O2 -g,$(ALL_CFLAGS)) $(LOCAL_CFLAGS) -fsyntax-only $$f || exit 1; \
	done

test: deps
	@tools/run-tests.sh

test-c: all
	$(TEST_BIN)

test-py: all
	$(PY) -m pytest -q tests/python

asan:
	$(MAKE) BUILD=build-asan CC=clang \
	  CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" all
	ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(CURDIR)/tools/lsan.supp \
	  build-asan/test-runner
	SAGEMAGIC_KERNEL=$(CURDIR)/build-asan/sagemagic \
	  ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(CURDIR)/tools/lsan.supp \
	  $(PY) -m pytest -q tests/python -m "not slow"

FUZZ_FLAGS := -O1 -g -fsanitize=fuzzer,address,undefined
FUZZ_SECONDS ?= 60
# how long each target runs: by time here, by a fixed count and seed in
# `make test`, so a test run is the same run every time
FUZZ_LIMIT ?= -max_total_time=$(FUZZ_SECONDS)
FUZZERS := wire zmtp sigv4 aws_parsers cli_parsers local_parsers \
           local_training local_predict magics_csv
FUZZ_CC = clang -std=c11 -D_GNU_SOURCE $(WARN) $(FUZZ_FLAGS) -Icommon -Ikernel \
	  -Iclient $(LOCAL_CFLAGS) $(shell pkg-config --cflags $(PKGS))
LOCAL_FUZZ_SRC := $(filter-out local/main.c,$(LOCAL_SRC))

fuzz: $(addprefix $(BUILD)/fuzz-,$(FUZZERS))
	@for f in $(FUZZERS); do \
	  mkdir -p $(BUILD)/fuzz-corpus/$$f; \
	  seeds=tests/data/fuzz-$$f; [ -d $$seeds ] || seeds=; \
	  echo "== fuzz $$f ($(FUZZ_LIMIT))"; \
	  ASAN_OPTIONS=quarantine_size_mb=64:$${ASAN_OPTIONS:-} \
	  $(BUILD)/fuzz-$$f -close_fd_mask=3 -rss_limit_mb=4096 \
	    -artifact_prefix=$(BUILD)/fuzz-$$f- \
	    $(FUZZ_LIMIT) $(BUILD)/fuzz-corpus/$$f $$seeds \
	    2>$(BUILD)/fuzz-$$f.log || { tail -40 $(BUILD)/fuzz-$$f.log; exit 1; }; \
	  tail -1 $(BUILD)/fuzz-$$f.log; \
	done

$(BUILD)/fuzz-wire: tests/fuzz/fuzz_wire.c $(COMMON_SRC) kernel/wire.c
	@mkdir -p $(dir $@)
	@echo "  FUZZ $@"
	@$(FUZZ_CC) -o $@ $^ $(LOCAL_LDLIBS) $(LDLIBS)

$(BUILD)/fuzz-zmtp: tests/fuzz/fuzz_zmtp.c $(COMMON_SRC) kernel/zmtp.c
	@mkdir -p $(dir $@)
	@echo "  FUZZ $@"
	@$(FUZZ_CC) -o $@ $^ $(LOCAL_LDLIBS) $(LDLIBS)

$(BUILD)/fuzz-magics_csv: tests/fuzz/fuzz_magics_csv.c $(COMMON_SRC) magics/csv.c
	@mkdir -p $(dir $@)
	@echo "  FUZZ $@"
	@$(FUZZ_CC) -Imagics -o $@ $^ $(LOCAL_LDLIBS) $(LDLIBS)

$(BUILD)/fuzz-sigv4 $(BUILD)/fuzz-aws_parsers $(BUILD)/fuzz-cli_parsers: $(BUILD)/fuzz-%: tests/fuzz/fuzz_%.c $(COMMON_SRC) $(CLIENT_SRC)
	@mkdir -p $(dir $@)
	@echo "  FUZZ $@"
	@$(FUZZ_CC) -o $@ $^ $(LOCAL_LDLIBS) $(LDLIBS)

$(BUILD)/fuzz-local_parsers $(BUILD)/fuzz-local_training \
$(BUILD)/fuzz-local_predict: $(BUILD)/fuzz-%: tests/fuzz/fuzz_%.c $(COMMON_SRC) $(CLIENT_SRC) $(LOCAL_FUZZ_SRC)
	@mkdir -p $(dir $@)
	@echo "  FUZZ $@"
	@$(FUZZ_CC) -o $@ $^ $(LOCAL_LDLIBS) $(LDLIBS)

bench: deps all
	$(PY) bench/kernel_bench.py
	$(PY) bench/sigv4_bench.py
	$(PY) bench/local_bench.py
	$(PY) bench/wait_bench.py

# The main job: build, install the kernel for this user, run the tutorial.
demo: deps all install
	$(PY) tools/demo.py notebooks/01-quickstart.ipynb

# JupyterLab on notebooks/ with the kernel installed for this user; its
# kernels start build/sagemagic-local for the local backend.
lab: deps all install
	SAGEMAGIC_LOCAL_BIN=$(abspath $(LOCAL_BIN)) $(PY) -m jupyterlab \
	  --ServerApp.root_dir=$(CURDIR)/notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

install: $(KERNEL_BIN)
	tools/install-kernel.sh $(KERNEL_BIN) "$(PREFIX)"

format:
	clang-format -i $(LIB_SRC) kernel/main.c $(wildcard */*.h) $(TEST_SRC)

clean:
	rm -rf build build-asan
