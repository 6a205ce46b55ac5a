# tailor: libtailor (static + shared), the `tailor` command, and the C tests.
# Every .c under src/ (except src/cli) is part of the library; every tests/unit/test_*.c is one test binary.
# `make SAN=1` builds into build-san/ with AddressSanitizer + UndefinedBehaviorSanitizer.

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

.PHONY: all lib tests clean
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

$(BUILD)/tests/%: tests/unit/%.c tests/unit/check.h $(BUILD)/libtailor.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libtailor.a $(LDLIBS)

$(BUILD)/%: %.c $(BUILD)/libtailor.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libtailor.a $(LDLIBS)

clean:
	rm -rf build build-san

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)
