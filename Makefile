# Two entry points for a fresh machine: `make run` and `make test`.
# Both install what is missing (scripts/setup.sh), configure and build into build/.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_BUILD_TYPE ?= Release
STUDY_OUT ?= results/default

.PHONY: all deps configure build run test bench format clean

all: build

deps:
	scripts/setup.sh

configure: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(CMAKE_BUILD_TYPE) \
	  -DGREENBENCH_WITH_TORCH=ON -DGREENBENCH_WITH_TENSORFLOW=ON

build: configure
	cmake --build $(BUILD) -j $(JOBS)

# A second `make run` continues an interrupted study, or says a finished one is complete and
# refreshes its report.
run: build
	$(BUILD)/bin/greenbench run --out $(STUDY_OUT) $(if $(wildcard $(STUDY_OUT)/results.sqlite),--resume)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 900

bench: build
	$(BUILD)/bin/greenbench-bench

format:
	git ls-files '*.cpp' '*.hpp' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD)
