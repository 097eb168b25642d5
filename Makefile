# docket build. GNU make.
#
#   make              build build/bin/docket
#   make check        build with ASan+UBSan (build-san/) and run every test
#   make check-fast   the same tests on the optimised build (build/)
#   make demo         dependencies, build, a batch run over samples/
#   make bench        engine benchmarks on generated standard models
#   make bench-pipeline  docket batch throughput on generated documents
#   make bench-blas   OpenBLAS against the engine's own float kernels
#                     (BLAS_ARGS: blasbench options, e.g. -r 1 --core Zen)
#   make bench-kernels  the K-quant tiles alone (KBENCH_ARGS: kbench options)
#   make bench-llm    docket batch with the model stages on ../shared/eval/dev,
#                     beside naive llama.cpp when LLAMA_CLI is set
#   make fuzz         libFuzzer harnesses (clang) in build-fuzz/
#   make install      PREFIX=/usr/local DESTDIR=
#   V=1               show full compiler command lines
#
# Sources are found by wildcard: a new .c file in util/, engine/, stages/,
# pipeline/ or tests/unit/ needs no edit here. Kernel files under
# engine/kernels/<isa>/ get that ISA's flags and are chosen at run time by
# CPUID, so the binary still runs on machines without them.

VERSION := 0.1.0
PREFIX ?= /usr/local
DESTDIR ?=
SAN ?= 0
CC ?= cc
CXX ?= c++
V ?= 0
Q := $(if $(filter 1,$(V)),,@)

PKGS := glib-2.0 gio-2.0 poppler-glib libxml-2.0 libarchive gmime-3.0 libcrypto \
	icu-uc icu-i18n sqlite3 libseccomp libmagic libexttextcat openblas cairo \
	json-glib-1.0 fontconfig zlib
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lcld2

ifeq ($(SAN),1)
B := build-san
OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
else ifeq ($(SAN),fuzz)
B := build-fuzz
CC := clang
CXX := clang++
OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined
else
B := build
OPT := -O2 -g
endif

WARN := -Wall -Wextra -Werror
DEFS := -D_GNU_SOURCE -DDOCKET_VERSION='"$(VERSION)"'
CPPFLAGS += -I. -MMD -MP $(DEFS)
CFLAGS_ALL := -std=c17 $(WARN) $(OPT) -pthread $(CFLAGS)
CXXFLAGS_ALL := -std=c++17 $(WARN) $(OPT) -pthread $(CXXFLAGS)
LDLIBS_ALL := $(PKG_LIBS) -lstdc++ -lm -lpthread

ISA_avx2 := -mavx2 -mfma -mf16c
ISA_avx512 := -mavx2 -mfma -mf16c -mavx512f -mavx512bw -mavx512vl -mavx512dq \
	-mavx512vnni -mavx512bf16

UTIL_SRC := $(wildcard util/*.c)
ENGINE_SRC := $(shell find engine -name '*.c' 2>/dev/null | sort)
STAGES_SRC := $(wildcard stages/*.c)
STAGES_CXX := $(wildcard stages/*.cc)
PIPE_SRC := $(filter-out pipeline/docket.c,$(wildcard pipeline/*.c pipeline/builtin/*.c))
TEST_SRC := $(wildcard tests/unit/test_*.c)
TOOL_SRC := $(wildcard tests/tools/*.c)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)

obj = $(patsubst %.cc,$(B)/%.o,$(patsubst %.c,$(B)/%.o,$(1)))
UTIL_OBJ := $(call obj,$(UTIL_SRC))
ENGINE_OBJ := $(call obj,$(ENGINE_SRC))
STAGES_OBJ := $(call obj,$(STAGES_SRC) $(STAGES_CXX))
PIPE_OBJ := $(call obj,$(PIPE_SRC))
LIB_OBJ := $(PIPE_OBJ) $(STAGES_OBJ) $(ENGINE_OBJ) $(UTIL_OBJ)
LIB := $(B)/libdocket.a
TEST_BIN := $(patsubst tests/unit/%.c,$(B)/tests/unit/%,$(TEST_SRC))
TOOL_BIN := $(patsubst tests/tools/%.c,$(B)/tests/tools/%,$(TOOL_SRC))
FUZZ_REPLAY_BIN := $(patsubst tests/fuzz/fuzz_%.c,$(B)/tests/unit/test_fuzzreplay_%,$(FUZZ_SRC))
DOCKET := $(B)/bin/docket

.SECONDARY:
.PHONY: all check check-fast test-bins demo bench bench-blas bench-kernels bench-pipeline bench-llm fuzz fuzz-smoke install clean deps
all: $(DOCKET)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC  $<"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS_ALL) $(PKG_CFLAGS) $(ISA_$(word 3,$(subst /, ,$<))) -c $< -o $@

$(B)/%.o: %.cc
	@mkdir -p $(dir $@)
	@echo "  CXX $<"
	$(Q)$(CXX) $(CPPFLAGS) $(CXXFLAGS_ALL) $(PKG_CFLAGS) -c $< -o $@

# The migrations are embedded by .incbin (pipeline/store_schema.c).
$(B)/pipeline/store_schema.o: $(wildcard schemas/*.sql)

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

$(DOCKET): $(B)/pipeline/docket.o $(LIB)
	@mkdir -p $(dir $@)
	@echo "  LD  $@"
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDFLAGS) $(LDLIBS_ALL)

$(B)/tests/unit/%: $(B)/tests/unit/%.o $(LIB)
	@echo "  LD  $@"
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDFLAGS) $(LDLIBS_ALL)

$(B)/tests/tools/%: $(B)/tests/tools/%.o $(LIB)
	@echo "  LD  $@"
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDFLAGS) $(LDLIBS_ALL)

# Every fuzz harness is also linked with a replay driver: make check runs
# its stored corpus (tests/fuzz/corpus/<name>/) as an ordinary test.
$(B)/tests/unit/test_fuzzreplay_%: $(B)/tests/fuzz/fuzz_%.o $(B)/tests/fuzz/replay.o $(LIB)
	@mkdir -p $(dir $@)
	@echo "  LD  $@"
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $^ $(LDFLAGS) $(LDLIBS_ALL)

test-bins: $(DOCKET) $(TEST_BIN) $(TOOL_BIN) $(FUZZ_REPLAY_BIN)

deps:
	@sh deploy/deps.sh

check: deps
	$(MAKE) SAN=1 test-bins
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
		sh tests/run.sh build-san

check-fast: test-bins
	sh tests/run.sh $(B)

demo: deps all
	sh deploy/demo.sh $(DOCKET)

bench: all
	sh tests/bench/bench.sh $(DOCKET)

# F16 matmul and attention, case by case, engine against OpenBLAS under
# several OPENBLAS_CORETYPE values (tests/tools/blasbench.c): one table.
bench-blas: $(B)/tests/tools/blasbench
	$(B)/tests/tools/blasbench $(BLAS_ARGS)

# The K-quant matrix tiles alone, one thread, weights from L2 and DRAM
# (tests/tools/kbench.c): ns per token per 16 rows per super-block.
bench-kernels: $(B)/tests/tools/kbench
	$(B)/tests/tools/kbench $(KBENCH_ARGS)

# Pipeline throughput, extraction only (1-5 page PDFs): documents/minute.
bench-pipeline: all test-bins
	sh tests/bench/pipeline.sh --pdf 1000 2

# Model stages end to end (tests/bench/llm.sh: LLM_BENCH_DOCS, LLAMA_CLI, ...).
bench-llm: all
	sh tests/bench/llm.sh $(DOCKET)

# libFuzzer binaries: build-fuzz/fuzz/<name>
FUZZ_BIN := $(patsubst tests/fuzz/fuzz_%.c,build-fuzz/fuzz/%,$(FUZZ_SRC))
fuzz:
	$(MAKE) SAN=fuzz fuzz-bins
fuzz-bins: $(FUZZ_BIN)
build-fuzz/fuzz/%: build-fuzz/tests/fuzz/fuzz_%.o $(LIB)
	@mkdir -p $(dir $@)
	@echo "  LD  $@"
	$(Q)$(CC) $(CFLAGS_ALL) -fsanitize=fuzzer -o $@ $^ $(LDFLAGS) $(LDLIBS_ALL)
fuzz-smoke: fuzz
	sh tests/fuzz/smoke.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/docket \
		$(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(DOCKET) $(DESTDIR)$(PREFIX)/bin/docket
	cp -R schemas prompts $(DESTDIR)$(PREFIX)/share/docket/
	if [ -f deploy/docket.1 ]; then install -m 644 deploy/docket.1 $(DESTDIR)$(PREFIX)/share/man/man1/; fi

clean:
	rm -rf build build-san build-fuzz

-include $(shell find build build-san build-fuzz -name '*.d' 2>/dev/null)
