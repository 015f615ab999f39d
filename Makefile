# Front door. `make demo` and `make test` work on a fresh Debian 12 machine as root.
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: all bootstrap build demo demo-s3 test test-asan bench clean format format-check

all: build

bootstrap:
	@bash scripts/bootstrap.sh

$(BUILD)/build.ninja: CMakeLists.txt | bootstrap
	cmake -S . -B $(BUILD) -G Ninja

build: bootstrap $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

# The demo needs only the `strata` program, not the tests.
demo: bootstrap $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS) --target strata
	bash scripts/demo.sh $(BUILD)/strata

# The shop with its lake on S3 (s3rver, started by the script) and its clickstream posted to
# `strata collect`, after a local run: the marts built from the database and the API must match.
demo-s3: bootstrap $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS) --target strata
	DEMO_FINGERPRINT=/tmp/strata-demo-local.txt bash scripts/demo.sh $(BUILD)/strata
	DEMO_LAKE=s3 DEMO_EVENTS=collector DEMO_FINGERPRINT=/tmp/strata-demo-s3.txt bash scripts/demo.sh $(BUILD)/strata
	@diff /tmp/strata-demo-local.txt /tmp/strata-demo-s3.txt && echo "demo-s3: the marts equal the local run's"

test: build format-check
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 900

# Sources must be clang-format clean (.clang-format); `make format` formats them.
SOURCES = $(shell git ls-files 'src/*.cc' 'src/*.h' 'tests/*.cc' 'tests/*.h' 'bench/*.cc' 'bench/*.h' 2>/dev/null)
format-check: bootstrap
	@clang-format --dry-run --Werror $(SOURCES) || { echo "format-check: run 'make format'"; exit 1; }

format:
	clang-format -i $(SOURCES)

# The same tests built with AddressSanitizer and UBSan (slower; not part of `make test`).
test-asan: bootstrap
	cmake -S . -B build-asan -G Ninja -DSTRATA_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug '-DCMAKE_CXX_FLAGS_DEBUG=-O1 -g1'
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j $(JOBS) --timeout 3600

bench: build
	bash bench/run.sh $(BUILD)

clean:
	rm -rf $(BUILD) build-asan
