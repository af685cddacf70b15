# forestall — top-level targets. Each one first makes sure the Debian packages it needs are
# installed (scripts/bootstrap), then runs the real build in mk/build.mk, where pkg-config can
# be evaluated once the packages exist.
#
#   make            build build/forestall
#   make demo       build, then the disk-pressure demo end to end with real peers (scripts/demo)
#   make run        build, then `forestall serve` on the embedded defaults
#   make test       unit tests, fuzz-corpus replay, integration tests with real peers, docs check
#   make asan       the whole suite under AddressSanitizer + UndefinedBehaviorSanitizer
#   make fuzz       build the libFuzzer targets and run each for FUZZ_SECONDS (default 20)
#   make bench      the benchmarks in bench/, each printing a ratio against its baseline
#   make docs       regenerate the reference pages in docs/ from the code's tables
SHELL := /bin/bash
SUB := $(MAKE) --no-print-directory -f mk/build.mk
FUZZ_SECONDS ?= 20
export FUZZ_SECONDS

.PHONY: all demo run test unit integration asan fuzz fuzz-replay bench docs check-docs format clean

all:
	@scripts/bootstrap build
	@$(SUB) all

demo:
	@scripts/bootstrap demo
	@$(SUB) all
	@scripts/demo

run: all
	build/forestall serve

test:
	@scripts/bootstrap test
	@$(SUB) all unit-bins
	@$(SUB) BUILD=build/fuzz fuzz-bins
	@tests/run --build build --fuzz-build build/fuzz

unit:
	@scripts/bootstrap test
	@$(SUB) all unit-bins
	@tests/run --build build --only unit

integration:
	@scripts/bootstrap test
	@$(SUB) all
	@tests/run --build build --only integration

asan:
	@scripts/bootstrap test
	@$(SUB) BUILD=build/asan SAN=1 all unit-bins
	@$(SUB) BUILD=build/fuzz fuzz-bins
	@tests/run --build build/asan --fuzz-build build/fuzz --sanitized

fuzz:
	@scripts/bootstrap fuzz
	@$(SUB) BUILD=build/fuzz fuzz-bins
	@tests/fuzz/run-fuzzers build/fuzz $(FUZZ_SECONDS)

fuzz-replay:
	@scripts/bootstrap fuzz
	@$(SUB) BUILD=build/fuzz fuzz-bins
	@tests/run --fuzz-build build/fuzz --only fuzz

bench:
	@scripts/bootstrap bench
	@$(SUB) all bench-bins
	@for b in bench/*/run; do echo "== $$b"; $$b || exit 1; done

docs:
	@scripts/bootstrap build
	@$(SUB) all
	@scripts/gen-docs build/forestall docs

check-docs:
	@$(SUB) all
	@scripts/gen-docs build/forestall docs --check

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build
