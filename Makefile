# sg-compliance — every task of the project goes through here.
# One warm target directory for you, CI and every clone (aws-sdk-ec2 is slow to compile).
export CARGO_TARGET_DIR ?= $(HOME)/.cache/sg-compliance/target
VENV ?= .venv
PY ?= python3
# moto (local AWS emulator) and cfn-lint for the tests, pinned; cargo-lambda (Lambda packaging, with
# its 400 MB zig toolchain) only when packaging.
PY_TOOLS = moto[server,ec2,config,elbv2,sts,organizations]==5.2.5 cfn-lint==1.58.0
PACKAGE_TOOLS = cargo-lambda==1.9.2
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export SG_COMPLIANCE_MOTO_SERVER ?= $(CURDIR)/$(VENV)/bin/moto_server

.PHONY: all build install package-tools fuzz test test-rust lint bench demo package synth deploy venv clean
all: build

venv: $(VENV)/.stamp
$(VENV)/.stamp:
	$(PY) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check '$(word 1,$(PY_TOOLS))' $(wordlist 2,9,$(PY_TOOLS))
	touch $@

build:
	cargo build --all-targets

# The `sg-compliance` command (with AWS access: --live, --aggregator, --org) into ~/.cargo/bin.
install:
	cargo install --locked --path . --bin sg-compliance --profile cli

test: venv test-rust cdk-test

# Unit, property, CLI, aws-smithy-mocks and moto end-to-end tests (no doc tests: there are none).
test-rust: venv
	cargo test --lib --tests

lint:
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings

# The engine needs no AWS SDK: bench/ is its own crate on the library without it (a release build of
# the small dependencies only), run with the Python peer (bench/peer.py) on the same data, then its
# criterion benchmarks of one group's cost (bench/benches/per_group.rs). Then the
# Lambda function's cold start against the Python peer under awslambdaric and against the floor
# (bench/src/bin/coldstart-floor.rs: the same HTTP exchanges, nothing else), and the size of its
# deployment zip, built for this machine's architecture as `make package ARCH=x86_64` does (about
# 15 minutes from a cold target dir), and that binary's periodic sweep against a stub endpoint
# (bench/sweep_stub.py), and `audit --aggregator` against a rate-limited stand-in of
# SelectAggregateResourceConfig (bench/aggregator_bench.py: 100,000 groups over 50 accounts x 4 regions),
# and `audit --org` against a stand-in of Organizations, STS, EC2 and ELBv2 with EC2's per-account
# request limit (bench/org_bench.py: the same 100,000 groups), and `scan` of a 5,000-group template,
# a 5,000-group plan and a template of 1,024 condition combinations (bench/scan_bench.py).
# Every part runs; the bench fails at the end if any figure missed its target.
BENCH_TOOLS = awslambdaric==4.2.2
bench: venv package-tools $(VENV)/.bench-stamp
	@fail=0; \
	(cd bench && CARGO_TARGET_DIR=$(CARGO_TARGET_DIR)/bench cargo run --release --quiet) || fail=1; \
	(cd bench && CARGO_TARGET_DIR=$(CARGO_TARGET_DIR)/bench cargo bench --quiet --bench per_group -- --quiet) || fail=1; \
	cargo lambda build --release --quiet --bin sg-compliance-lambda --compiler cargo --output-format zip --lambda-dir dist && \
	(cd bench && CARGO_TARGET_DIR=$(CARGO_TARGET_DIR)/bench cargo build --release --quiet --bin coldstart-floor) && \
	$(VENV)/bin/python bench/coldstart.py dist/sg-compliance-lambda/bootstrap.zip $(VENV)/bin/moto_server \
	  --floor $(CARGO_TARGET_DIR)/bench/release/coldstart-floor || fail=1; \
	$(VENV)/bin/python bench/sweep_stub.py dist/sg-compliance-lambda/bootstrap.zip || fail=1; \
	cargo build --quiet --bin sg-compliance && \
	$(VENV)/bin/python bench/aggregator_bench.py $(CARGO_TARGET_DIR)/debug/sg-compliance || fail=1; \
	$(VENV)/bin/python bench/org_bench.py $(CARGO_TARGET_DIR)/debug/sg-compliance || fail=1; \
	$(VENV)/bin/python bench/scan_bench.py $(CARGO_TARGET_DIR)/debug/sg-compliance || fail=1; \
	exit $$fail
$(VENV)/.bench-stamp: $(VENV)/.stamp
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --only-binary=:all: $(BENCH_TOOLS)
	touch $@

# libFuzzer (nightly toolchain, cargo-fuzz) over event/parameter parsing, the audit's input files and
# the evaluation + fix of arbitrary groups; FUZZ_SECONDS each. Seeds in fuzz/corpus/, what libFuzzer
# learns in fuzz/work/ (not committed); a crash lands in fuzz/artifacts/ and becomes a regression test.
FUZZ_SECONDS ?= 30
FUZZ_TARGETS = event inventory evaluate
fuzz:
	@command -v cargo-fuzz >/dev/null 2>&1 || cargo install --locked cargo-fuzz
	cd fuzz && for t in $(FUZZ_TARGETS); do \
	  mkdir -p work/$$t && \
	  CARGO_TARGET_DIR=$(CARGO_TARGET_DIR)/fuzz cargo +nightly fuzz run $$t work/$$t corpus/$$t -- -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -max_len=65536 || exit 1; \
	done

# The audit on a bundled organization snapshot (2 accounts x 2 regions): no AWS account, no network.
# Builds the CLI without the AWS SDK (the engine is pure), so a cold build takes about a minute.
demo:
	@echo "demo: building sg-compliance without the AWS SDK (about a minute the first time)..."
	cargo build --no-default-features --bin sg-compliance
	@./scripts/demo.sh "$(CARGO_TARGET_DIR)/debug/sg-compliance"

# Lambda deployment zip (provided.al2023, arm64 by default; ARCH=x86_64 for x86).
ARCH ?= arm64
# cargo-lambda (and its zig toolchain) for packaging and deploying only.
package-tools: $(VENV)/.package-stamp
$(VENV)/.package-stamp: $(VENV)/.stamp
	$(VENV)/bin/pip install --quiet --disable-pip-version-check $(PACKAGE_TOOLS)
	touch $@

package: package-tools
	for bin in sg-compliance-lambda sg-compliance-remediate; do \
	  cargo lambda build --release --bin $$bin $(if $(filter arm64,$(ARCH)),--arm64,--compiler cargo) --output-format zip --lambda-dir dist || exit 1; \
	done
	@ls -l dist/*/bootstrap.zip

clean:
	cargo clean

include cdk/cdk.mk
