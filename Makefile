# Two entry points for a fresh machine: `make run` and `make test`.
# Both install what is missing (scripts/setup.sh), configure and build into build/.
# GPU=1 (`make run GPU=1`, `make test GPU=1`) also installs the CUDA builds of the frameworks
# (scripts/setup.sh --gpu) and links greenbench-tf against TensorFlow's CUDA build.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_BUILD_TYPE ?= Release
STUDY_OUT ?= results/default
GPU ?=
GPU_ON := $(filter 1 yes on ON true,$(GPU))

.PHONY: all deps configure build run test bench format clean sanitize fuzz install

all: build

deps:
	scripts/setup.sh $(if $(GPU_ON),--gpu)

configure: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(CMAKE_BUILD_TYPE) \
	  -DGREENBENCH_WITH_TORCH=ON -DGREENBENCH_WITH_TENSORFLOW=ON \
	  -DGREENBENCH_TF_GPU=$(if $(GPU_ON),ON,OFF)

build: configure
	cmake --build $(BUILD) -j $(JOBS)

# A second `make run` continues an interrupted study, or says a finished one is complete and
# refreshes its report.
run: build
	$(BUILD)/bin/greenbench run --out $(STUDY_OUT) $(if $(wildcard $(STUDY_OUT)/results.sqlite),--resume)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 900

# The unit tests once more under AddressSanitizer + UndefinedBehaviorSanitizer, with Clang (whose
# sanitizer builds compile about three times faster than GCC's), in one tree with the libFuzzer
# targets: the library is built once for both, and `make fuzz` after it builds only the targets.
# The framework workers are left out (their prebuilt libraries are not instrumented); the tests
# that need them skip.
SANITIZE_BUILD ?= build-sanitize
FUZZ_BUILD ?= $(SANITIZE_BUILD)
FUZZ_SECONDS ?= 60
# A tree configured with another compiler (GCC, as `make sanitize` once did) is configured anew:
# CMake cannot switch the compiler of an existing cache.
SANITIZE_CONFIGURE = if [ -f $(1)/CMakeCache.txt ] && \
	    ! grep -q '^CMAKE_CXX_COMPILER:.*clang++$$' $(1)/CMakeCache.txt; then \
	  echo "make: $(1) was configured with another compiler; configuring it anew with Clang"; \
	  rm -rf $(1)/CMakeCache.txt $(1)/CMakeFiles; \
	fi; \
	cmake -S . -B $(1) -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
	  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGREENBENCH_SANITIZE=ON -DGREENBENCH_FUZZ=ON \
	  -DGREENBENCH_BUILD_BENCHMARKS=OFF -DGREENBENCH_WITH_TORCH=OFF -DGREENBENCH_WITH_TENSORFLOW=OFF
sanitize: deps
	$(call SANITIZE_CONFIGURE,$(SANITIZE_BUILD))
	cmake --build $(SANITIZE_BUILD) -j $(JOBS)
	cd $(SANITIZE_BUILD) && ASAN_OPTIONS=abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(JOBS) --timeout 900

# libFuzzer targets of the study file, CSV import, marker, checkpoint and RunMetadata parsers,
# each run for FUZZ_SECONDS from the seed corpora of tests/fuzz/corpus.
fuzz: deps
	$(call SANITIZE_CONFIGURE,$(FUZZ_BUILD))
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_targets
	tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

# `make install [PREFIX=/usr/local] [DESTDIR=...]`: greenbench and the workers into $(PREFIX)/bin,
# from what `make` built (it builds nothing itself, so `sudo make install` runs no compiler).
PREFIX ?= /usr/local
install:
	@test -x "$(BUILD)/bin/greenbench" || { echo "make install: nothing built in $(BUILD); run make first" >&2; exit 2; }
	cmake --install "$(BUILD)" --prefix "$(PREFIX)"

bench: build
	$(BUILD)/bin/greenbench-bench

format:
	git ls-files '*.cpp' '*.hpp' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD)
