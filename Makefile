# The two commands of the README:
#   make demo   installs what is missing, builds a release, seeds synthetic patients and starts a node
#   make test   builds the debug (sanitizer) preset and runs every test, PostgreSQL included
# Everything else here is a convenience for developers.

JOBS ?= $(shell nproc)
CTEST_ARGS ?=
# Extra CMake cache settings, such as -DKAVACH_WERROR=ON (CI sets it).
CMAKE_ARGS ?=

.PHONY: demo demo-build test deps build release fuzz fuzz-run format lint clean

deps:
	./scripts/install-deps.sh

# npm packages: the web app's toolchain (web/) and the browser tests' driver (tests/browser/).
NPM_TREES = web/node_modules/.package-lock.json tests/browser/node_modules/.package-lock.json

build: deps tests/conformance/node_modules/.package-lock.json tests/fhir_client/node_modules/.package-lock.json $(NPM_TREES)
	cmake --preset debug $(CMAKE_ARGS)
	cmake --build --preset debug -j $(JOBS)

# From the npm registry: the ABDM conformance check's validator (Ajv) and YAML reader, the
# off-the-shelf FHIR client (fhir-kit-client) the end-to-end test drives a node with, the web
# app's toolchain (Vite, Preact, htm, a QR encoder) and the browser tests' driver (playwright-core
# with axe-core; the browser is Debian's Chromium).
%/node_modules/.package-lock.json: %/package-lock.json
	cd $* && npm ci --no-audit --no-fund --loglevel=error

release: deps web/node_modules/.package-lock.json
	cmake --preset release $(CMAKE_ARGS)
	cmake --build --preset release -j $(JOBS)

# Runs against the PostgreSQL named by KAVACH_TEST_POSTGRES_* if set, else a throw-away cluster.
test: build
	@if [ -n "$$KAVACH_TEST_POSTGRES_HOST" ]; then \
	  ctest --preset debug -j $(JOBS) $(CTEST_ARGS); \
	else \
	  ./scripts/with-postgres.sh ctest --preset debug -j $(JOBS) $(CTEST_ARGS); \
	fi

# The demo needs the binary and the web app only: the release preset's tests and benchmarks are
# most of what a fresh `make release` compiles.
demo-build: deps web/node_modules/.package-lock.json
	cmake --preset release $(CMAKE_ARGS)
	cmake --build --preset release -j $(JOBS) --target kavach kavach_web

demo: demo-build
	./scripts/demo.sh

fuzz: deps
	cmake --preset fuzz $(CMAKE_ARGS)
	cmake --build --preset fuzz -j $(JOBS)

# Runs every fuzz target for FUZZ_SECONDS each (the request-body and query parsers for
# FUZZ_LONG_SECONDS), starting from its corpus.
FUZZ_SECONDS ?= 60
FUZZ_LONG_SECONDS ?= $(FUZZ_SECONDS)
fuzz-run: fuzz
	./scripts/run-fuzzers.sh build/fuzz $(FUZZ_SECONDS) $(FUZZ_LONG_SECONDS)

format:
	git ls-files '*.cc' '*.h' | xargs clang-format -i

lint: build
	git ls-files 'src/*.cc' | xargs clang-tidy -p build/debug --quiet

clean:
	rm -rf build
