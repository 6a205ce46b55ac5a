# tailor: libtailor (static + shared), the `tailor` command, and the C tests.
# Every .c under src/ (except src/cli) is part of the library; every tests/unit/test_*.c is one test binary.
# `make SAN=1` builds into build-san/ with AddressSanitizer + UndefinedBehaviorSanitizer.
# `make fuzz` builds the libFuzzer targets tests/fuzz/fuzz_*.c into build-fuzz/ (clang; tests/fuzz/run.sh).

CC      ?= cc
BUILD   ?= build
OPT     ?= -O3 -march=native
WARN    := -Wall -Wextra -Wno-unused-parameter
CFLAGS  += -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) -fno-math-errno -fopenmp -fPIC -Iinclude -Isrc -I/usr/include/x86_64-linux-gnu/openblas-pthread
LDLIBS  += -ldnnl -lopenblas -lplplot -lpng -ljpeg -lz -lm -fopenmp

ifeq ($(SAN),1)
BUILD   := build-san
OPT     := -O1 -g -fno-omit-frame-pointer -march=native
CFLAGS  += -fsanitize=address,undefined -fno-sanitize-recover=all -Werror
LDFLAGS += -fsanitize=address,undefined
endif

LIB_SRC  := $(sort $(filter-out src/cli/%,$(wildcard src/*/*.c)))
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
TEST_SRC := $(sort $(wildcard tests/unit/test_*.c))

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_BIN := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_SRC := $(sort $(wildcard tests/parity/*.c bench/*.c))
TOOL_BIN := $(TOOL_SRC:%.c=$(BUILD)/%)

.PHONY: all lib tests fuzz clean
all: $(BUILD)/libtailor.a $(BUILD)/libtailor.so $(BUILD)/tailor $(TEST_BIN) $(TOOL_BIN)
lib: $(BUILD)/libtailor.a $(BUILD)/libtailor.so
tests: $(TEST_BIN) $(TOOL_BIN)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libtailor.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libtailor.so: $(LIB_OBJ)
	$(CC) -shared $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tailor: $(CLI_OBJ) $(BUILD)/libtailor.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(BUILD)/libtailor.a
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
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libtailor.a $(LDLIBS)

# The fuzz build: clang, the library (plus src/cli but its main, for the run-folder reader) with ASan + UBSan and
# libFuzzer's coverage instrumentation, one program per target.
FUZZ_CC    ?= clang-14
FUZZ_FLAGS := -std=c11 -D_GNU_SOURCE -O1 -g -fno-omit-frame-pointer $(WARN) -Wno-pass-failed -Werror -fopenmp -Iinclude -Isrc \
              -I/usr/include/x86_64-linux-gnu/openblas-pthread -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_OBJ   := $(LIB_SRC:%.c=build-fuzz/%.o) $(patsubst %.c,build-fuzz/%.o,$(filter-out src/cli/main.c,$(CLI_SRC)))
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

clean:
	rm -rf build build-san build-fuzz

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(wildcard build-fuzz/src/*/*.d)
