# ferry: the two commands of the README, and a few more.
#   make        build into build/ (binary build/ferry)
#   make run    install dependencies, build, make a demo, start `ferry serve`
#   make test   install dependencies, build, run every test (also under sanitizers)
#   make bench  run the benchmarks (bench/README.md)
BUILD ?= build
GEN   := -G Ninja
JOBS  ?= $(shell nproc)

.PHONY: all build deps run test test-fast test-asan test-tsan bench clean

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

clean:
	rm -rf build build-asan build-tsan
