/**
 * Region facts the app needs at synth time: which region names are valid and which CloudFormation resource
 * types of the app do not exist in which region.
 *
 * MISSING_RESOURCE_TYPES mirrors cfn-lint's per-region resource schemas (what `cfn-lint --regions R` reports as
 * E3006) for every resource type the app can produce. test/regions.test.ts lints a probe template with all
 * those types for every region cfn-lint knows and fails when this table and cfn-lint disagree, so a cfn-lint
 * upgrade that adds or removes a region's type shows up there.
 */
import { RuleConfigError } from './rules';

/** Resource type -> regions where CloudFormation does not offer it. */
export const MISSING_RESOURCE_TYPES: Readonly<Record<string, readonly string[]>> = {
  'AWS::Lambda::ResourcePolicy': ['cn-north-1', 'cn-northwest-1', 'me-central-1', 'us-gov-east-1', 'us-gov-west-1'],
  'AWS::Config::RemediationConfiguration': ['ap-east-2', 'ap-southeast-6', 'ap-southeast-7', 'mx-central-1'],
};

/**
 * Region names: `us-east-1`, `us-gov-west-1`, `cn-north-1`, `ap-southeast-7`, `eusc-de-east-1`,
 * `us-isob-east-1`, `eu-isoe-west-1`: a 2-4 letter prefix, one or more words, a number.
 */
export const REGION_NAME = /^[a-z]{2,4}(-[a-z]+)+-\d{1,2}$/;

export function isRegionName(region: string): boolean {
  return REGION_NAME.test(region);
}

/** Whether CloudFormation offers `resourceType` in `region` (unknown or unresolved regions: assumed yes). */
export function hasResourceType(region: string | undefined, resourceType: string): boolean {
  if (region === undefined) return true;
  return !(MISSING_RESOURCE_TYPES[resourceType] ?? []).includes(region);
}

/** Throws a RuleConfigError naming the region and the resource type when the type does not exist there. */
export function requireResourceType(region: string | undefined, resourceType: string, what: string, fix: string): void {
  if (!hasResourceType(region, resourceType)) {
    throw new RuleConfigError(`${what} needs ${resourceType}, which does not exist in ${region}; ${fix}`);
  }
}

/** Regions where `resourceType` is missing (for CloudFormation conditions in region-agnostic templates). */
export function regionsWithout(resourceType: string): readonly string[] {
  return MISSING_RESOURCE_TYPES[resourceType] ?? [];
}
