# gradviz — one flat Makefile. `make run` and `make test` install what is missing first
# (tests/setup.sh), so they work on a fresh Debian 12 machine.
#
#   make            build build/gradviz
#   make run        render $(MODEL) (default examples/neuron.grad) into out/<stem>/
#   make test       every test; last line "N passed, N failed". SAN=1: under ASan + UBSan
#   make bench      performance figures (never timed in tests)
#   make golden     rewrite the golden files in tests/golden/ (review the diff!)

MODEL ?= examples/neuron.grad
SAN ?= 0

PKGS := libgvc libcgraph libxdot libcjson
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CC ?= cc
WARN := -std=c11 -Wall -Wextra -Wshadow -pedantic -Werror -Wstrict-prototypes -Wmissing-prototypes
ifeq ($(SAN),1)
BUILD := build/san
OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
else
BUILD := build/rel
OPT := -O2 -g
endif
CFLAGS_ALL = $(WARN) $(OPT) $(PKG_CFLAGS) -Isrc -Ibuild/gen $(CFLAGS)
LDLIBS_ALL = $(PKG_LIBS) -lhpdf -lm $(LDLIBS)
LDFLAGS_ALL = $(OPT) $(LDFLAGS)

# Library sources in pipeline order: base -> lex -> parse/graph/ops -> ad -> shared drawing
# helpers -> emitters. main.c is the program.
LIB_SRC := \
	src/base.c \
	src/ops.c \
	src/graph.c \
	src/lex.c \
	src/parse.c \
	src/ad.c \
	src/flow.c \
	src/flowchart.c \
	src/flow_cli.c \
	src/jac.c \
	src/gen.c \
	src/fmt.c \
	src/numfmt.c \
	src/strconv.c \
	src/outfile.c \
	src/frames.c \
	src/tracejson.c \
	src/dotgraph.c \
	src/pdfdraw.c \
	src/flowpdf.c \
	src/emit.c \
	src/emit_dot.c \
	src/emit_svg.c \
	src/emit_json.c \
	src/emit_pdf.c \
	src/emit_html.c
MAIN_SRC := src/main.c

LIB_OBJ := $(LIB_SRC:src/%.c=$(BUILD)/obj/%.o)
MAIN_OBJ := $(MAIN_SRC:src/%.c=$(BUILD)/obj/%.o)
LIB := $(BUILD)/libgradviz.a
BIN := $(BUILD)/gradviz

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all build run test deps unit bench golden clean fuzz stress fuzz-build fuzz-smoke valgrind
all: build
# build/gradviz always points at the last build asked for (release or sanitizer): relinked on
# every `make build`, since make would judge the link by the file it points to
build: $(BIN)
	@ln -sfn $(patsubst build/%,%,$(BIN)) build/gradviz

$(BUILD)/obj/%.o: src/%.c $(wildcard src/*.h) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -c $< -o $@

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(MAIN_OBJ) $(LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $(MAIN_OBJ) $(LIB) $(LDLIBS_ALL)

$(BUILD)/tests/%: tests/unit/%.c $(LIB) $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Wno-missing-prototypes $(shell pkg-config --cflags cmocka 2>/dev/null) $(LDFLAGS_ALL) \
		-o $@ $< $(LIB) $(LDLIBS_ALL) $(shell pkg-config --libs cmocka 2>/dev/null)

deps:
	@sh tests/setup.sh

run: deps
	@$(MAKE) --no-print-directory build
	./$(BIN) $(MODEL)

unit: $(UNIT_BIN)

test: deps
	@$(MAKE) --no-print-directory build unit
	@SAN=$(SAN) BUILD=$(BUILD) FUZZ_SMOKE=$(if $(filter 1,$(SAN)),0,1) sh tests/run.sh

bench: deps
	@$(MAKE) --no-print-directory build
	@sh tests/bench.sh

golden: build
	@sh tests/golden.sh update

clean:
	rm -rf build

# The HTML report's templates, embedded in the binary (issue 4). od-based: xxd may be missing.
build/gen/templates.h: templates/report.html templates/report.css templates/report.js templates/embed.sh
	@mkdir -p build/gen
	sh templates/embed.sh templates/report.html templates/report.css templates/report.js >$@.$$$$ && mv $@.$$$$ $@
$(BUILD)/obj/emit_html.o: build/gen/templates.h

-include $(wildcard $(BUILD)/obj/*.d)

# ---- Hardening (issue 7): fuzzing, stress tests, valgrind. Slow: outside `make test`, except
# fuzz-smoke (~45 s). The libFuzzer targets tests/fuzz/fuzz_*.c link a copy of the library built
# by clang with coverage, ASan and UBSan in build/fuzz (a sub-make of the rules above with
# BUILD=build/fuzz; the gcc objects are not reused). -Werror is off there: a clang-only warning
# must not stop fuzzing.
#   make fuzz SECONDS=N   fuzz both targets side by side for N s (default 600); corpus kept in
#                         build/fuzz/corpus, reproducers in build/fuzz/artifacts
#   make fuzz-smoke       replay tests/fuzz/regress, then ~40 s of fuzzing; fails only on a crash
#   make stress           tests/stress/test_*.py (kill -9 loops, huge inputs, 1M-node models)
#   make valgrind         memcheck over every example and the error paths (tests/valgrind.supp)
FUZZ_CC ?= clang
FUZZ_OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
SECONDS ?= 600

fuzz-build:
	@$(MAKE) --no-print-directory CC=$(FUZZ_CC) BUILD=build/fuzz WARN='-std=c11 -Wall -Wextra' \
		OPT='$(FUZZ_OPT) -fsanitize=fuzzer-no-link' build/fuzz/fuzz_model build/fuzz/fuzz_parse

ifeq ($(BUILD),build/fuzz)
build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(LIB) src/main.c $(wildcard src/*.h)
	$(CC) -std=c11 $(FUZZ_OPT) -fsanitize=fuzzer $(PKG_CFLAGS) -Isrc -Ibuild/gen -o $@ $< $(LIB) $(LDLIBS_ALL)
endif

fuzz: fuzz-build
	@sh tests/fuzz/run.sh $(SECONDS)

fuzz-smoke:
	@if command -v $(FUZZ_CC) >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory fuzz-build && sh tests/fuzz/run.sh --smoke; \
	else echo "fuzz-smoke: skipped: $(FUZZ_CC) is not installed"; fi

stress: build
	@sh tests/stress/run.sh

valgrind: build
	@/usr/bin/python3 tests/stress/valgrind.py

# ---- Cross-check against PyTorch (tests/crosscheck/README.md): N random models (default 300)
# from a fixed SEED, each run by gradviz and by torch (float64 autograd), every value, gradient,
# Jacobian entry and local derivative compared. Not in `make test`: python3-torch (Debian's
# 1.13) installs ~640 MB (~170 packages) and takes 2-3 minutes; installed here when missing.
N ?= 300
SEED ?= 1
.PHONY: crosscheck
crosscheck: deps
	@dpkg-query -W -f='$${Status}' python3-torch 2>/dev/null | grep -q "ok installed" || { \
		echo "crosscheck: installing python3-torch"; SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
		--no-install-recommends python3-torch python3-mpmath >/dev/null; }
	@$(MAKE) --no-print-directory build
	@/usr/bin/python3 tests/crosscheck/crosscheck.py -n $(N) --seed $(SEED) --bin $(BIN)
