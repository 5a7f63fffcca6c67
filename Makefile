# crmwh: `make run` (demo end to end) and `make test` (the whole suite) are
# all a fresh machine needs. See README.md.
GO      ?= go
BIN     := bin/crmwh
TESTOUT ?= $(CURDIR)/testout

.PHONY: all build run demo refresh scheduler test test-deps crashtest fuzz bench bench-scale vet fmt clean

all: build

build:
	@test -x $(BIN) || echo "building crmwh: the first build downloads the Go modules and compiles DuckDB's bindings, a few quiet minutes on 2 cores (about 5); later builds take seconds"
	$(GO) build -o $(BIN) ./cmd/crmwh

# The main job on the demo company: generate it once, then refresh.
run: build
	@test -f data/demo/crm.sqlite || ./$(BIN) demo
	./$(BIN) refresh
	@echo
	@echo "Dashboards: $(CURDIR)/site/index.html"
	@echo "Open file://$(CURDIR)/site/index.html in a browser."

demo: build
	./$(BIN) demo

refresh: build
	./$(BIN) refresh

# The daemon on the demo: runs schedules/*.yaml until Ctrl-C (docs/schedules.md).
scheduler: build
	@test -f data/demo/crm.sqlite || ./$(BIN) demo
	./$(BIN) scheduler

# System packages the tests use: Chromium and CJK fonts for the dashboard
# tests, PostgreSQL server binaries for the source tests (pipelines/pgtest
# starts a throwaway cluster per test from /usr/lib/postgresql/*/bin).
# Installed with apt when missing and running as root; a policy-rc.d that
# denies service starts keeps the package's own cluster from starting, and
# nothing uses it.
test-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || missing="$$missing fonts-noto-cjk"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing:$$missing"; \
			policy=""; if [ ! -e /usr/sbin/policy-rc.d ]; then \
				printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && policy=1; fi; \
			DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
			rc=$$?; [ -n "$$policy" ] && rm -f /usr/sbin/policy-rc.d; [ $$rc = 0 ] || exit $$rc; \
		else \
			echo "missing system packages:$$missing (install them, or run make test as root)"; exit 1; \
		fi; \
	fi

test: test-deps vet
	@mkdir -p $(TESTOUT)
	CRMWH_TEST_OUT=$(TESTOUT) $(GO) test -count=1 -timeout 80m ./...
	$(MAKE) fuzz FUZZTIME=30000x

# The crash suite at length: crmwh extract, build and refresh killed with
# SIGKILL at random times and failpoints on a project with PostgreSQL,
# SQLite, CSV and JSON Lines sources, each run checked against an
# uninterrupted one by content fingerprint (cmd/crmwh/crash_e2e_test.go).
# make test runs one round of each kind. CRMWH_CRASHTEST_SEED=N replays.
CRASHROUNDS ?= 100
crashtest: test-deps
	CRMWH_CRASHTEST_ROUNDS=$(CRASHROUNDS) $(GO) test -count=1 -timeout 4h -run '^TestCrashSuite$$' -v ./cmd/crmwh/

# The fuzz targets, briefly (their seed corpora also run in every go test):
# the CSV record reader against encoding/csv, and the hand-written text
# parsers against the time package and math/big. Budgets are counts of
# executions, not durations: Go 1.26's fuzzing coordinator can report
# "context deadline exceeded" as a failure when a duration ends while a
# worker is busy (go.dev/issue/75804, fixed in Go 1.27); a count has no
# deadline to race.
FUZZTIME ?= 300000x
fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzRecordReader$$' -fuzztime=$(FUZZTIME) ./pipelines/sources/csvfile/
	$(GO) test -run='^$$' -fuzz='^FuzzFastPaths$$' -fuzztime=$(FUZZTIME) ./pipelines/textvalue/
	$(GO) test -run='^$$' -fuzz='^FuzzArrayToJSON$$' -fuzztime=$(FUZZTIME) ./pipelines/sources/postgres/

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet ./...

bench: build
	$(GO) run ./cmd/crmwh-bench $(BENCHFLAGS)

# Every step of a large demo company (generate, extract, full build, a day's
# build, dashboards, sql) at 1 and 5 million customers: hours of machine
# time (docs/BENCHMARKS.md, "Scale"). SCALEFLAGS="-scale-customers 5000000
# -scale-years 12" for the 100-million-order company.
SCALEFLAGS ?=
bench-scale: build
	$(GO) run ./cmd/crmwh-bench -steps scale $(SCALEFLAGS)

clean:
	rm -rf bin site data/lake data/crmwh.duckdb* $(TESTOUT)
