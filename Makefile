# sg-compliance — every task of the project goes through here.
# One warm target directory for you, CI and every clone (aws-sdk-ec2 is slow to compile).
export CARGO_TARGET_DIR ?= $(HOME)/.cache/sg-compliance/target
VENV ?= .venv
PY ?= python3
# moto (local AWS emulator), cargo-lambda (Lambda packaging) and cfn-lint, pinned.
PY_TOOLS = moto[server,ec2,config,elbv2,sts]==5.2.5 cargo-lambda==1.9.2 cfn-lint==1.58.0
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export SG_COMPLIANCE_MOTO_SERVER ?= $(CURDIR)/$(VENV)/bin/moto_server

.PHONY: all build test test-rust lint bench demo package synth deploy venv clean
all: build

venv: $(VENV)/.stamp
$(VENV)/.stamp:
	$(PY) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check '$(word 1,$(PY_TOOLS))' $(wordlist 2,9,$(PY_TOOLS))
	touch $@

build:
	cargo build --all-targets

test: venv test-rust cdk-test

# Unit, property, CLI, aws-smithy-mocks and moto end-to-end tests (no doc tests: there are none).
test-rust: venv
	cargo test --lib --tests

lint:
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings

bench:
	cargo bench --bench engine

# The rule on bundled fixture events: no AWS account, no network.
demo:
	cargo build --quiet --bin sg-compliance
	@./scripts/demo.sh "$(CARGO_TARGET_DIR)/debug/sg-compliance"

# Lambda deployment zip (provided.al2023, arm64 by default; ARCH=x86_64 for x86).
ARCH ?= arm64
package: venv
	cargo lambda build --release --bin sg-compliance-lambda $(if $(filter arm64,$(ARCH)),--arm64,--compiler cargo) --output-format zip --lambda-dir dist
	@ls -l dist/sg-compliance-lambda/bootstrap.zip

clean:
	cargo clean

include cdk/cdk.mk
