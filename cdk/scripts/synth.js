#!/usr/bin/env node
/*
 * `npm run synth`: synthesizes every stack (single-account, organization mode and the member role) into
 * cdk.out with bundling skipped, so no Rust toolchain, cargo-lambda or Docker is needed.
 *
 * Every rule is enabled (rules from scripts/synth-rules.json, remediations included, in organization mode too:
 * organizationRemediation) and alerts are on, so that cfn-lint sees every resource type the app can produce. Regions: SYNTH_REGIONS (comma-separated); the
 * default includes me-central-1, where AWS::Lambda::ResourcePolicy does not exist, to exercise the per-account
 * AWS::Lambda::Permission fallback of organization mode (memberAccountIds below). `make cfn-lint` then lints
 * each template for the region it is deployed to (scripts/cfn-lint.js).
 */
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const regions = process.env.SYNTH_REGIONS || 'eu-west-1,us-east-1,me-central-1';
const rulesObject = JSON.parse(fs.readFileSync(path.join(__dirname, 'synth-rules.json'), 'utf8'));
// Group ids are per region: regions of SYNTH_REGIONS that synth-rules.json does not list get a placeholder id.
const lbIds = rulesObject.webTier.loadBalancerSecurityGroupIds;
for (const region of regions.split(',').map((r) => r.trim())) lbIds[region] = lbIds[region] || ['sg-0123456789abcdef0'];
const rules = JSON.stringify(rulesObject);
const cdk = path.join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'cdk.cmd' : 'cdk');

fs.rmSync(path.join(root, 'cdk.out'), { recursive: true, force: true });
const args = [
  'synth',
  '--quiet',
  '--no-notices',
  '--output', 'cdk.out',
  '-c', 'synthAllModes=true',
  '-c', `regions=${regions}`,
  '-c', `rules=${rules}`,
  '-c', 'alerts=true',
  '-c', 'organizationRemediation=true',
  '-c', 'memberAccountIds=111111111111,222222222222',
  ...process.argv.slice(2),
];
const started = Date.now();
const result = spawnSync(cdk, args, {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true', SG_COMPLIANCE_SYNTH_ONLY: '1' },
});
if (result.error) throw result.error;
if (result.status !== 0) process.exit(result.status ?? 1);
const templates = fs.readdirSync(path.join(root, 'cdk.out')).filter((f) => f.endsWith('.template.json'));
console.log(`synth: ${templates.length} templates in cdk.out (${((Date.now() - started) / 1000).toFixed(1)} s): ${templates.join(' ')}`);
