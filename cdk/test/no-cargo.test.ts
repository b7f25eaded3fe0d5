/**
 * With bundling skipped (tests, `npm run synth`), synthesis must not start cargo: cargo-lambda-cdk's
 * RustFunction probes `cargo lambda --version` in its constructor, so SgComplianceFunction does not create
 * one then (placeholder code instead). child_process is mocked for this file so that cargo/docker are
 * recorded, never run.
 */
const spawned: string[] = [];
jest.mock('child_process', () => {
  const actual = jest.requireActual('child_process');
  return {
    ...actual,
    spawnSync: (cmd: string, args?: string[], options?: object) => {
      spawned.push([cmd, ...(args ?? [])].join(' '));
      if (/cargo|docker/.test(cmd)) return { status: 1, error: new Error(`${cmd} blocked in tests`) };
      return actual.spawnSync(cmd, args, options);
    },
  };
});

import { Template } from 'aws-cdk-lib/assertions';
import { SgComplianceStack } from '../lib/sg-compliance-stack';
import { newApp } from './helpers';

test('synth with bundling skipped never starts cargo or docker', () => {
  const app = newApp();
  const single = new SgComplianceStack(app, 'NoCargo', {
    architecture: 'x86_64',
    rules: { publicIngressSshRdp: { remediation: { enabled: true } } }, // the remediation function too
  });
  const org = new SgComplianceStack(app, 'NoCargoOrg', { env: { region: 'eu-west-1' }, organization: { organizationId: 'o-a1b2c3d4e5' } });
  Template.fromStack(single);
  Template.fromStack(org);
  expect(spawned.filter((c) => /cargo|docker/.test(c))).toEqual([]);
});

test('the mock does record the probe when the cache is not pre-seeded (guards the test itself)', () => {
  const { cargoLambdaVersion } = require('cargo-lambda-cdk');
  expect(cargoLambdaVersion()).toBeUndefined();
  expect(spawned).toContain('cargo lambda --version');
});
