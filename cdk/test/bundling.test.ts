/**
 * With bundling on (`make deploy`), each function is a cargo-lambda-cdk RustFunction of this crate: the rule function
 * runs `sg-compliance-lambda`, each remediation function `sg-compliance-remediate`. RustFunction is replaced by a
 * recording stand-in here, so no cargo, cargo-lambda or Docker runs.
 */
const rustFunctions: Record<string, unknown>[] = [];
jest.mock('cargo-lambda-cdk', () => {
  const lambda = jest.requireActual('aws-cdk-lib/aws-lambda');
  const s3 = jest.requireActual('aws-cdk-lib/aws-s3');
  const { Annotations } = jest.requireActual('aws-cdk-lib');
  return {
    RustFunction: class extends lambda.Function {
      constructor(scope: never, id: string, props: Record<string, unknown>) {
        rustFunctions.push(props);
        const { manifestPath: _m, binaryName: _b, bundling: _u, runtime: _r, ...rest } = props;
        const bucket = s3.Bucket.fromBucketName(scope, `${id}Stand-in`, 'stand-in');
        Annotations.of(bucket).acknowledgeWarning('@aws-cdk/aws-lambda:codeFromBucketObjectVersionNotSpecified', 'stand-in');
        super(scope, id, { ...rest, runtime: lambda.Runtime.PROVIDED_AL2023, handler: 'bootstrap', code: lambda.Code.fromBucket(bucket, 'k') });
      }
    },
  };
});

import { Template } from 'aws-cdk-lib/assertions';
import { DEFAULT_MANIFEST_PATH, NOT_DEPLOYABLE_RULE_ID } from '../lib/sg-compliance-function';
import { SgComplianceStack } from '../lib/sg-compliance-stack';
import { newApp } from './helpers';

test('deploy build: the rule function runs sg-compliance-lambda, the remediation functions sg-compliance-remediate', () => {
  const app = newApp({ 'aws:cdk:bundling-stacks': ['**'] }); // bundling required, as in `cdk deploy`
  const stack = new SgComplianceStack(app, 'Deploy', {
    env: { account: '111111111111', region: 'eu-west-1' },
    rules: { webTier: { remediation: { enabled: true } }, publicIngressSshRdp: { remediation: { enabled: true } } },
  });
  expect(stack.bundlingRequired).toBe(true);
  const t = Template.fromStack(stack);
  expect(rustFunctions.map((p) => p.binaryName)).toEqual(['sg-compliance-lambda', 'sg-compliance-remediate', 'sg-compliance-remediate']);
  for (const p of rustFunctions) {
    expect(p).toMatchObject({ manifestPath: DEFAULT_MANIFEST_PATH, runtime: 'provided.al2023', bundling: { architecture: { name: 'arm64' } } });
  }
  t.resourceCountIs('AWS::Lambda::Function', 3);
  // A deployable template: no always-false rule.
  expect(t.toJSON().Rules?.[NOT_DEPLOYABLE_RULE_ID]).toBeUndefined();
});
