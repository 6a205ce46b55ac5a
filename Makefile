# tailor: libtailor (static + shared), the `tailor` command, and the C tests.
# Every .c under src/ (except src/cli) is part of the library; every tests/unit/test_*.c is one test binary.
# `make SAN=1` builds into build-san/ with AddressSanitizer + UndefinedBehaviorSanitizer.
# `make fuzz` builds the libFuzzer targets tests/fuzz/fuzz_*.c into build-fuzz/ (clang; tests/fuzz/run.sh).

CC      ?= cc
BUILD   ?= build
OPT     ?= -O3 -march=native
WARN    := -Wall -Wextra -Wno-unused-parameter -Wno-psabi
CFLAGS  += -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) -fno-math-errno -fopenmp -fPIC -Iinclude -I/usr/include/x86_64-linux-gnu/openblas-pthread
# The library's internal headers: everything but the command (src/cli) and the API tests (tests/api).
INTERNAL := -Isrc
# The library's own objects: symbols hidden unless marked TL_API (include/tailor.h).
LIB_CFLAGS := -fvisibility=hidden -DTL_BUILDING_LIBRARY
LDLIBS  += -ldnnl -lopenblas -lplplot -lpng -ljpeg -lz -lm -fopenmp

# MPI (docs/distributed.md): on where mpicc is found (Debian's libopenmpi-dev), `make MPI=0` builds
# without it; its flags come from the wrapper, so the compiler stays $(CC).
MPI     ?= $(if $(shell command -v mpicc 2>/dev/null),1,0)
ifeq ($(MPI),1)
CFLAGS  += -DTL_MPI $(shell mpicc --showme:compile)
LDLIBS  += $(shell mpicc --showme:link)
endif

ifeq ($(SAN),1)
BUILD   := build-san
OPT     := -O1 -g -fno-omit-frame-pointer -march=native
CFLAGS  += -fsanitize=address,undefined -fno-sanitize-recover=all -Werror
LDFLAGS += -fsanitize=address,undefined
endif

VERSION  := $(shell sed -n 's/^\#define TL_VERSION "\(.*\)"/\1/p' include/tailor.h)
SO_NAME  := libtailor.so.$(firstword $(subst ., ,$(VERSION)))
SO_REAL  := libtailor.so.$(VERSION)

LIB_SRC  := $(sort $(filter-out src/cli/%,$(wildcard src/*/*.c)))
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
TEST_SRC := $(sort $(wildcard tests/unit/test_*.c))
API_TEST_SRC := $(sort $(wildcard tests/api/test_*.c))

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
# The command is built on the public API alone: src/cli sees include/ and not src/ (an internal header
# there is a build error).
$(CLI_OBJ): INTERNAL :=
TEST_BIN := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%) $(API_TEST_SRC:tests/api/%.c=$(BUILD)/tests/%)
TOOL_SRC := $(sort $(wildcard tests/parity/*.c bench/*.c))
TOOL_BIN := $(TOOL_SRC:%.c=$(BUILD)/%)

.PHONY: all lib tests fuzz clean install
all: $(BUILD)/libtailor.a $(BUILD)/libtailor.so $(BUILD)/$(SO_NAME) $(BUILD)/tailor $(TEST_BIN) $(TOOL_BIN)
lib: $(BUILD)/libtailor.a $(BUILD)/libtailor.so $(BUILD)/$(SO_NAME)
tests: $(TEST_BIN) $(TOOL_BIN)

# Objects depend on the flags they were compiled with: a change of flags (the visibility, -Isrc, OPT)
# rebuilds them, so an old build folder never mixes objects of two flag sets.
FLAGS_STAMP := $(BUILD)/.flags
FLAGS_TEXT  := $(CC) $(CFLAGS) $(LIB_CFLAGS) $(INTERNAL)
$(shell mkdir -p $(BUILD) && (echo '$(FLAGS_TEXT)' | cmp -s - $(FLAGS_STAMP) || echo '$(FLAGS_TEXT)' >$(FLAGS_STAMP)))
$(LIB_OBJ) $(CLI_OBJ): $(FLAGS_STAMP)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(INTERNAL) -MMD -MP -c $< -o $@

$(BUILD)/libtailor.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# The shared library exports the public API alone (TL_API in include/tailor.h); its soname follows
# the major version. Static linking (the command, the tests) still sees every internal function.
$(LIB_OBJ): CFLAGS += $(LIB_CFLAGS)
$(BUILD)/$(SO_REAL): $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,$(SO_NAME) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/$(SO_NAME) $(BUILD)/libtailor.so: $(BUILD)/$(SO_REAL)
	ln -sf $(SO_REAL) $@

$(BUILD)/tailor: $(CLI_OBJ) $(BUILD)/libtailor.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(BUILD)/libtailor.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(INTERNAL) $(LDFLAGS) -o $@ $< $(BUILD)/libtailor.a $(LDLIBS)

# The public API's tests see include/ alone, as a program built against an installed libtailor does.
$(BUILD)/tests/%: tests/api/%.c $(wildcard tests/unit/*.h) $(BUILD)/libtailor.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libtailor.a $(LDLIBS)

# The fault-injection test (tests/unit/fault.h) routes the library's allocations and oneDNN calls
# through its counting wrappers.
comma := ,
TL_FAULT_WRAP := $(addprefix -Wl$(comma)--wrap=,malloc calloc realloc aligned_alloc posix_memalign strdup strndup \
                 open_memstream dnnl_engine_create dnnl_stream_create dnnl_memory_desc_init_by_tag dnnl_memory_create \
                 dnnl_memory_set_data_handle dnnl_memory_get_data_handle dnnl_memory_get_memory_desc \
                 dnnl_primitive_attr_create dnnl_primitive_attr_set_scratchpad_mode dnnl_primitive_attr_set_post_ops \
                 dnnl_post_ops_create dnnl_post_ops_append_sum dnnl_primitive_desc_create \
                 dnnl_reorder_primitive_desc_create dnnl_primitive_create dnnl_primitive_execute dnnl_stream_wait)
$(BUILD)/tests/test_fault: LDFLAGS += $(TL_FAULT_WRAP) -rdynamic

$(BUILD)/%: %.c $(BUILD)/libtailor.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(INTERNAL) $(LDFLAGS) -o $@ $< $(BUILD)/libtailor.a $(LDLIBS)

# The fuzz build: clang, the library with ASan + UBSan and libFuzzer's coverage instrumentation, one
# program per target.
FUZZ_CC    ?= clang-14
FUZZ_FLAGS := -std=c11 -D_GNU_SOURCE -O1 -g -fno-omit-frame-pointer $(WARN) -Wno-pass-failed -Werror -fopenmp -Iinclude -Isrc \
              -I/usr/include/x86_64-linux-gnu/openblas-pthread -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_OBJ   := $(LIB_SRC:%.c=build-fuzz/%.o)
FUZZ_BIN   := $(patsubst tests/fuzz/%.c,build-fuzz/%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))
fuzz: $(FUZZ_BIN)

build-fuzz/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

build-fuzz/libtailor.a: $(FUZZ_OBJ)
	@rm -f $@
	ar rcs $@ $^

build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h build-fuzz/libtailor.a
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $< build-fuzz/libtailor.a $(LDLIBS)

# make install [PREFIX=/usr/local] [DESTDIR=] [PYTHONDIR=]: the libraries, the public header(s),
# tailor.pc, the command, its man page (made from the command's own --help by scripts/man.sh) and the
# Python package python/tailor in PYTHONDIR, with _install.py naming LIBDIR relative to it (so the
# package loads the installed libtailor.so.0, under a DESTDIR too).
PREFIX  ?= /usr/local
LIBDIR  ?= $(PREFIX)/lib
INCDIR  ?= $(PREFIX)/include
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man/man1
PYTHONDIR ?= $(PREFIX)/lib/python3/dist-packages
PC_LIBS := $(filter-out -fopenmp,$(LDLIBS)) -lgomp

$(BUILD)/tailor.pc: include/tailor.h Makefile
	@mkdir -p $(dir $@)
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$${prefix}/$(patsubst $(PREFIX)/%,%,$(LIBDIR))' \
	  'includedir=$${prefix}/$(patsubst $(PREFIX)/%,%,$(INCDIR))' '' 'Name: tailor' \
	  'Description: long-tailed (class-imbalanced) classification' 'Version: $(VERSION)' \
	  'Libs: -L$${libdir} -ltailor' 'Libs.private: $(PC_LIBS)' 'Cflags: -I$${includedir}' >$@

$(BUILD)/tailor.1: $(BUILD)/tailor scripts/man.sh
	bash scripts/man.sh $(BUILD)/tailor >$@.tmp && mv $@.tmp $@

install: $(BUILD)/libtailor.a $(BUILD)/$(SO_REAL) $(BUILD)/tailor $(BUILD)/tailor.pc $(BUILD)/tailor.1
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCDIR)/tailor $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)
	install -m 644 $(BUILD)/libtailor.a $(DESTDIR)$(LIBDIR)/
	install -m 755 $(BUILD)/$(SO_REAL) $(DESTDIR)$(LIBDIR)/
	ln -sf $(SO_REAL) $(DESTDIR)$(LIBDIR)/$(SO_NAME)
	ln -sf $(SO_NAME) $(DESTDIR)$(LIBDIR)/libtailor.so
	install -m 644 include/tailor.h $(DESTDIR)$(INCDIR)/
	install -m 644 include/tailor/*.h $(DESTDIR)$(INCDIR)/tailor/
	install -m 644 $(BUILD)/tailor.pc $(DESTDIR)$(LIBDIR)/pkgconfig/
	install -m 755 $(BUILD)/tailor $(DESTDIR)$(BINDIR)/
	install -m 644 $(BUILD)/tailor.1 $(DESTDIR)$(MANDIR)/
	install -d $(DESTDIR)$(PYTHONDIR)/tailor
	install -m 644 python/tailor/*.py $(DESTDIR)$(PYTHONDIR)/tailor/
	printf '"""Written by make install: the folder of libtailor.so.0, relative to this package."""\nLIBDIR = "%s"\n' \
	  "$$(realpath -m --relative-to=$(PYTHONDIR)/tailor $(LIBDIR))" >$(DESTDIR)$(PYTHONDIR)/tailor/_install.py

clean:
	rm -rf build build-san build-fuzz

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(wildcard build-fuzz/src/*/*.d)
