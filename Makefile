# ferry: the two commands of the README, and a few more.
#   make        build into build/ (binary build/ferry)
#   make run    install dependencies, build, make a demo, start `ferry serve`
#   make test   install dependencies, build, run every test (also under sanitizers)
#   make bench  run the benchmarks (bench/README.md)
BUILD ?= build
GEN   := -G Ninja
JOBS  ?= $(shell nproc)

.PHONY: all build deps run test test-fast test-asan test-tsan bench fuzz clean
FUZZ_SECONDS ?= 60

all: build

deps:
	@bash scripts/install-deps.sh

build:
	@cmake -S . -B $(BUILD) $(GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

build-asan:
	@cmake -S . -B build-asan $(GEN) -DCMAKE_BUILD_TYPE=Debug -DFERRY_SANITIZE=address >/dev/null
	@cmake --build build-asan -j $(JOBS)

build-tsan:
	@cmake -S . -B build-tsan $(GEN) -DCMAKE_BUILD_TYPE=Debug -DFERRY_SANITIZE=thread >/dev/null
	@cmake --build build-tsan -j $(JOBS)

run: deps build
	@bash scripts/run-demo.sh $(BUILD)/ferry

test: deps
	@bash scripts/test-all.sh

test-fast: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

bench: deps build
	@bash bench/run-all.sh

# libFuzzer (clang) on each target for FUZZ_SECONDS, growing its corpus in tests/fuzz/corpus.
fuzz: deps
	@CC=clang CXX=clang++ cmake -S . -B build-fuzz $(GEN) -DCMAKE_BUILD_TYPE=Debug -DFERRY_FUZZ=ON \
		-DFERRY_SANITIZE=address >/dev/null
	@cmake --build build-fuzz -j $(JOBS)
	@for t in build-fuzz/tests/fuzz_*; do \
		c=tests/fuzz/corpus/$$(basename $$t | sed 's/^fuzz_//'); \
		echo "== $$t ($(FUZZ_SECONDS) s)"; \
		$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $$c || exit 1; \
	done

clean:
	rm -rf build build-asan build-tsan build-fuzz
