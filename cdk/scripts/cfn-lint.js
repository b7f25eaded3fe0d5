#!/usr/bin/env node
/*
 * `make cfn-lint`: cfn-lint every template for every region it is deployed to (plain cfn-lint checks us-east-1
 * only and misses resource types that do not exist elsewhere, E3006).
 *
 *  - cdk.out/*.template.json: the region of the stack's environment (cdk.out/manifest.json); environment-agnostic
 *    stacks (the member role, deployed with StackSets) for every region of the other stacks;
 *  - dist/*.template.json (`make templates`) and cdk.out/templates/*.template.json (the same, built by
 *    `make cdk-test` with every option on), region-agnostic: every region cfn-lint knows.
 *
 * Usage: node scripts/cfn-lint.js CFN_LINT_BIN IGNORE_CHECKS
 */
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const [cfnLint, ignore] = process.argv.slice(2);
if (!cfnLint) {
  console.error('usage: node scripts/cfn-lint.js CFN_LINT_BIN [IGNORE_CHECKS]');
  process.exit(2);
}

const groups = new Map(); // regions (comma-separated) -> templates
const add = (regions, file) => {
  const key = [...new Set(regions)].sort().join(',');
  groups.set(key, [...(groups.get(key) ?? []), file]);
};

const out = path.join(root, 'cdk.out');
const manifestPath = path.join(out, 'manifest.json');
if (!fs.existsSync(manifestPath)) {
  console.error('cfn-lint: no cdk/cdk.out/manifest.json (run `make synth` first)');
  process.exit(1);
}
const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
const stacks = Object.values(manifest.artifacts ?? {})
  .filter((a) => a.type === 'aws:cloudformation:stack')
  .map((a) => ({ file: path.join('cdk.out', a.properties.templateFile), region: a.environment.split('/').pop() }));
const known = [...new Set(stacks.map((s) => s.region).filter((r) => r !== 'unknown-region'))];
for (const s of stacks) add(s.region === 'unknown-region' ? (known.length ? known : ['us-east-1']) : [s.region], s.file);

for (const dir of ['dist', path.join('cdk.out', 'templates')]) {
  if (!fs.existsSync(path.join(root, dir))) continue;
  for (const f of fs.readdirSync(path.join(root, dir)).sort()) {
    if (f.endsWith('.template.json')) add(['ALL_REGIONS'], path.join(dir, f));
  }
}

// cfn-lint 1.58's IAM principal ARN patterns know only the aws, aws-cn and aws-us-gov partitions: in other
// partitions (aws-eusc, the ISO partitions) CDK's literal partition makes W1032 a false positive.
const OTHER_PARTITION = /^(eusc-|[a-z]+-iso[a-z]*-)/;

let failed = false;
for (const [regions, files] of groups) {
  const checks = [...(ignore ? ignore.split(',') : []), ...(regions.split(',').some((r) => OTHER_PARTITION.test(r)) ? ['W1032'] : [])];
  console.log(`cfn-lint --regions ${regions}${checks.length ? ` --ignore-checks ${checks.join(',')}` : ''}: ${files.join(' ')}`);
  const args = ['--regions', ...regions.split(','), ...(checks.length ? ['--ignore-checks', ...checks] : []), '--', ...files];
  const r = spawnSync(cfnLint, args, { cwd: root, stdio: 'inherit' });
  if (r.error) throw r.error;
  if (r.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
