# sg-compliance CDK app (cdk/): included by the top-level Makefile, whose recipes run from the repo root.
# Uses VENV (cfn-lint, cargo-lambda) and ARCH from the top-level Makefile.
#
#   make cdk-test   npm ci (only when needed), type check, jest (with cdk-nag), synth, the non-CDK templates,
#                   Control Tower's proactive-control guard rules (scripts/guard.js), cfn-lint
#   make synth      every template (single-account, organization, member role) into cdk/cdk.out; no Rust build
#   make templates  CloudFormation without CDK into cdk/dist: self-contained template (code from CodeS3Bucket/
#                   CodeS3Key, remediation functions from RemediationCodeS3Key), conformance pack (existing
#                   function ARN), member role (with REGIONS)
#   make cfn-lint   cfn-lint on every template in cdk/cdk.out (and cdk/dist), for each template's regions
#   make deploy     real deployment (builds the Lambda with cargo-lambda); never run in CI, see below

CDK_DIR := cdk
# npm ci wipes node_modules, so a stamp inside it also records "node_modules exists".
CDK_STAMP := $(CDK_DIR)/node_modules/.npm-ci.stamp
CFN_LINT_IGNORE := W3005
# A placeholder key ARN for the Control Tower check of LOG_KMS_KEY_ARN (templates only, never deployed).
GUARD_LOG_KEY := arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab

.PHONY: cdk-deps cdk-test synth templates cfn-lint deploy cdk-clean

$(CDK_STAMP): $(CDK_DIR)/package-lock.json $(CDK_DIR)/package.json
	cd $(CDK_DIR) && npm ci --no-audit --no-fund
	touch $@

cdk-deps: $(CDK_STAMP)

cdk-test: $(CDK_STAMP) venv
	cd $(CDK_DIR) && npm run --silent build
	cd $(CDK_DIR) && npm test
	@$(MAKE) --no-print-directory synth
	@# The non-CDK templates with every option on (remediation, alerts, member role, organization remediation), next to the
	@# synth output; TEMPLATES_STRICT fails if one is over CloudFormation's 51,200-byte TemplateBody limit.
	cd $(CDK_DIR) && TEMPLATES_DIR=cdk.out/templates TEMPLATES_STRICT=true REGIONS=eu-west-1,us-east-1 ALERTS=true ORGANIZATION_REMEDIATION=true \
		RULES="$$(cat scripts/template-test-rules.json)" npx ts-node --transpile-only bin/templates.ts
	@# Control Tower proactive controls (their cfn-guard rules): the defaults, and the options that meet the log controls.
	cd $(CDK_DIR) && node scripts/guard.js cdk.out/templates --defaults
	cd $(CDK_DIR) && TEMPLATES_DIR=cdk.out/templates-controls TEMPLATES_STRICT=true REGIONS=eu-west-1,us-east-1 ALERTS=true \
		ORGANIZATION_REMEDIATION=true LOG_RETENTION_DAYS=365 LOG_KMS_KEY_ARN=$(GUARD_LOG_KEY) \
		RULES="$$(cat scripts/template-test-rules.json)" npx ts-node --transpile-only bin/templates.ts
	cd $(CDK_DIR) && node scripts/guard.js cdk.out/templates-controls
	@$(MAKE) --no-print-directory cfn-lint

# Bundling is skipped (synthAllModes): no cargo, cargo-lambda or Docker needed.
synth: $(CDK_STAMP)
	cd $(CDK_DIR) && npm run --silent synth

# CloudFormation for deployments without CDK (lib/templates.ts) into cdk/dist; needs no Rust build.
# Pass-through variables: RULES, ARCH, ALERTS=true, ALERT_TOPIC_ARN, and for the member role REGIONS,
# MEMBER_ROLE_NAME, LAMBDA_ACCOUNT_ID (see the variables of `deploy` below); ORGANIZATION_REMEDIATION=true for the
# member remediation and organization conformance pack templates.
ALERTS ?=
ORGANIZATION_REMEDIATION ?=
ALERT_TOPIC_ARN ?=
ALERT_ON_COMPLIANT ?=
LOG_RETENTION_DAYS ?=
LOG_KMS_KEY_ARN ?=
LAMBDA_ACCOUNT_ID ?=
templates: $(CDK_STAMP)
	cd $(CDK_DIR) && RULES='$(RULES)' ARCH='$(ARCH)' REGIONS='$(REGIONS)' MEMBER_ROLE_NAME='$(MEMBER_ROLE_NAME)' \
		LAMBDA_ACCOUNT_ID='$(LAMBDA_ACCOUNT_ID)' ALERTS='$(ALERTS)' ALERT_TOPIC_ARN='$(ALERT_TOPIC_ARN)' ALERT_ON_COMPLIANT='$(ALERT_ON_COMPLIANT)' \
		ORGANIZATION_REMEDIATION='$(ORGANIZATION_REMEDIATION)' LOG_RETENTION_DAYS='$(LOG_RETENTION_DAYS)' LOG_KMS_KEY_ARN='$(LOG_KMS_KEY_ARN)' \
		npx ts-node --transpile-only bin/templates.ts

# Every template for every region it is deployed to (scripts/cfn-lint.js): cdk.out by stack region, cdk/dist
# and cdk/cdk.out/templates (make templates) for every region cfn-lint knows.
cfn-lint: venv
	cd $(CDK_DIR) && node scripts/cfn-lint.js $(abspath $(VENV))/bin/cfn-lint $(CFN_LINT_IGNORE)

# Real deployment with AWS credentials; bundles the Rust function with cargo-lambda from the venv
# (release build, ARCH=arm64 default or ARCH=x86_64). Pass-through variables:
#   REGIONS=eu-west-1,us-east-1        one stack per region (default: the CLI's default region)
#   ORGANIZATION=true ORGANIZATION_ID=o-xxxxxxxxxx [MEMBER_ROLE_NAME=...] [EXCLUDED_ACCOUNTS=1111...,2222...]
#     [INVOKE_PERMISSION=sourceOrgId|accounts] [MEMBER_ACCOUNT_IDS=1111...,2222...] [MEMBER_ROLE_STACK=false]
#     [ORGANIZATION_REMEDIATION=true]
#   ALERTS=true [ALERT_TOPIC_ARN=arn:aws:sns:...] [ALERT_ON_COMPLIANT=true]   opt-in alerts (SNS, EventBridge, alarms,
#     on-failure queue); ALERT_ON_COMPLIANT also alerts when a non-compliant group becomes compliant
#   LOG_RETENTION_DAYS=365 LOG_KMS_KEY_ARN=arn:aws:kms:...   log retention and encryption (Control Tower controls)
#   RULES='{"publicEgress":{"enabled":true}}'  per-rule options (or put "rules" in cdk/cdk.json context)
#   CDK_ARGS='--require-approval never' or other CLI flags / -c key=value context
REGIONS ?=
ORGANIZATION ?= false
ORGANIZATION_ID ?=
MEMBER_ROLE_NAME ?=
EXCLUDED_ACCOUNTS ?=
INVOKE_PERMISSION ?=
MEMBER_ACCOUNT_IDS ?=
MEMBER_ROLE_STACK ?=
RULES ?=
CDK_ARGS ?=
deploy: package-tools $(CDK_STAMP)
	cd $(CDK_DIR) && npx cdk deploy --all \
		-c architecture=$(ARCH) -c organization=$(ORGANIZATION) \
		$(if $(REGIONS),-c regions=$(REGIONS)) \
		$(if $(ORGANIZATION_ID),-c organizationId=$(ORGANIZATION_ID)) \
		$(if $(MEMBER_ROLE_NAME),-c memberRoleName=$(MEMBER_ROLE_NAME)) \
		$(if $(EXCLUDED_ACCOUNTS),-c excludedAccounts=$(EXCLUDED_ACCOUNTS)) \
		$(if $(INVOKE_PERMISSION),-c invokePermission=$(INVOKE_PERMISSION)) \
		$(if $(MEMBER_ACCOUNT_IDS),-c memberAccountIds=$(MEMBER_ACCOUNT_IDS)) \
		$(if $(MEMBER_ROLE_STACK),-c memberRoleStack=$(MEMBER_ROLE_STACK)) \
		$(if $(ORGANIZATION_REMEDIATION),-c organizationRemediation=$(ORGANIZATION_REMEDIATION)) \
		$(if $(ALERTS),-c alerts=$(ALERTS)) \
		$(if $(ALERT_TOPIC_ARN),-c alertTopicArn=$(ALERT_TOPIC_ARN)) \
		$(if $(ALERT_ON_COMPLIANT),-c alertOnCompliant=$(ALERT_ON_COMPLIANT)) \
		$(if $(LOG_RETENTION_DAYS),-c logRetentionDays=$(LOG_RETENTION_DAYS)) \
		$(if $(LOG_KMS_KEY_ARN),-c logKmsKeyArn=$(LOG_KMS_KEY_ARN)) \
		$(if $(RULES),-c 'rules=$(RULES)') \
		$(CDK_ARGS)

cdk-clean:
	rm -rf $(CDK_DIR)/cdk.out $(CDK_DIR)/dist
