# The real build, run by the top-level Makefile after scripts/bootstrap. Not meant to be called
# directly. BUILD selects the output tree; SAN=1 adds ASan+UBSan; the fuzz tree uses clang.
BUILD ?= build
SAN ?=
PKGS := libmicrohttpd libcurl sqlite3 jansson yaml-0.1 libcrypto libpcre2-8
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS := $(shell pkg-config --libs $(PKGS)) -lpthread -lm

ifeq ($(BUILD),build/fuzz)
CC := clang-14
OPT := -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
       -fno-sanitize-recover=all
else ifeq ($(SAN),1)
OPT := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
else
OPT := -O2 -g
endif
CC ?= cc

WARN := -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wno-unused-parameter -Wvla
# Truncation by snprintf into fixed buffers is deliberate (messages, paths); gcc's guesswork
# about it is noise. clang does not know the flag.
ifneq ($(findstring clang,$(CC)),clang)
WARN += -Wno-format-truncation
endif
CFLAGS := -std=gnu11 $(OPT) $(WARN) -fno-common -Isrc -I$(BUILD)/gen $(PKG_CFLAGS) $(EXTRA_CFLAGS)
LDFLAGS := $(OPT) $(EXTRA_LDFLAGS)

SRC := $(sort $(wildcard src/*/*.c))
MAIN := src/cli/main.c
LIBOBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(filter-out $(MAIN),$(SRC))) \
          $(BUILD)/obj/gen/embed.o $(BUILD)/obj/gen/embed_table.o

# Files compiled into the binary.
EMBED := etc/forestall.yaml etc/catalog.yaml etc/policy.yaml $(sort $(wildcard etc/playbooks/*.yaml)) $(sort $(wildcard src/store/sql/*/*.sql))
# The web console (api_console.c serves web/NAME at /ui/NAME).
EMBED += $(sort $(wildcard web/*))

UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))
TOOL_SRC := $(sort $(wildcard tests/tools/*.c))
TOOL_BINS := $(patsubst tests/tools/%.c,$(BUILD)/tools/%,$(TOOL_SRC))
BENCH_SRC := $(sort $(wildcard bench/tools/*.c))
BENCH_BINS := $(patsubst bench/tools/%.c,$(BUILD)/bench/%,$(BENCH_SRC))

.PHONY: all unit-bins fuzz-bins bench-bins
all: $(BUILD)/forestall $(TOOL_BINS)
unit-bins: $(UNIT_BINS)
fuzz-bins: $(FUZZ_BINS)
bench-bins: $(BENCH_BINS)

$(BUILD)/gen/embed.S $(BUILD)/gen/embed_table.c &: $(EMBED) scripts/gen-embed mk/build.mk
	@scripts/gen-embed $(BUILD)/gen $(EMBED)

# .incbin reads the files when assembling: a changed file must reassemble even when embed.S
# itself is unchanged.
$(BUILD)/obj/gen/embed.o: $(BUILD)/gen/embed.S $(EMBED)
	@mkdir -p $(@D)
	@echo "  AS      $<"
	@$(CC) -c $< -o $@

$(BUILD)/obj/gen/embed_table.o: $(BUILD)/gen/embed_table.c
	@mkdir -p $(@D)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libforestall.a: $(LIBOBJ)
	@rm -f $@
	@echo "  AR      $@"
	@ar rcs $@ $^

$(BUILD)/forestall: $(BUILD)/obj/$(MAIN:.c=.o) $(BUILD)/libforestall.a
	@echo "  LINK    $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libforestall.a tests/unit/unit.h
	@mkdir -p $(@D)
	@echo "  LINK    $@"
	@$(CC) $(CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(BUILD)/libforestall.a $(PKG_LIBS) -lcmocka

$(BUILD)/tools/%: tests/tools/%.c $(BUILD)/libforestall.a
	@mkdir -p $(@D)
	@echo "  LINK    $@"
	@$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libforestall.a $(PKG_LIBS)

$(BUILD)/bench/%: bench/tools/%.c $(BUILD)/libforestall.a
	@mkdir -p $(@D)
	@echo "  LINK    $@"
	@$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libforestall.a $(PKG_LIBS)

$(BUILD)/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz_payload.h $(BUILD)/libforestall.a
	@mkdir -p $(@D)
	@echo "  LINK    $@"
	@$(CC) $(CFLAGS) -fsanitize=fuzzer $(LDFLAGS) -o $@ $< $(BUILD)/libforestall.a $(PKG_LIBS)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
