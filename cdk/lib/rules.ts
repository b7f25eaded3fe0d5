/**
 * Typed options for the Config rules served by the sg-compliance Lambda, and their translation
 * into the exact Config rule input parameters the Rust function reads.
 *
 * One function serves every rule; the `check` input parameter selects the check. Only parameters
 * the user set are passed (plus `check`), so the defaults of the Rust side apply otherwise. The two
 * exceptions are `tierTagKey` (required by the Rust side, so the CDK supplies a default) and
 * `tierTagValue` (defaulted together with it so that the default rule targets `tier=web` groups, not
 * every group carrying a `tier` tag).
 */

/** A value per region name. */
export type PerRegion<T> = { readonly [region: string]: T };

/** Values accepted by Config for `MaximumExecutionFrequency`. */
export type ExecutionFrequency = 'One_Hour' | 'Three_Hours' | 'Six_Hours' | 'Twelve_Hours' | 'TwentyFour_Hours';

export const EXECUTION_FREQUENCIES: readonly ExecutionFrequency[] = [
  'One_Hour',
  'Three_Hours',
  'Six_Hours',
  'Twelve_Hours',
  'TwentyFour_Hours',
];

export const DEFAULT_EXECUTION_FREQUENCY: ExecutionFrequency = 'TwentyFour_Hours';

/** The value of the `check` rule parameter. */
export type Check = 'web-tier' | 'public-ingress' | 'public-egress' | 'broad-private-ingress' | 'tiers';

/** Options shared by every rule. */
export interface RuleOptions {
  /** Deploy this rule. Defaults differ per rule (see `RulesOptions`). */
  readonly enabled?: boolean;
  /** Config rule name (organization rule name in organization mode). */
  readonly ruleName?: string;
  /** Rule description. */
  readonly description?: string;
  /** Periodic sweep frequency for this rule; defaults to the stack-wide frequency. */
  readonly maximumExecutionFrequency?: ExecutionFrequency;
  /** Opt-in automatic remediation (not available for broadPrivateIngress). */
  readonly remediation?: RemediationOptions;
}

/**
 * Opt-in automatic remediation of a rule: an SSM Automation document whose single step invokes the remediation
 * function (binary `sg-compliance-remediate`), which computes the fix with the same engine as the rule, applies it
 * and fails when the group is still non-compliant afterwards or no safe fix exists. Every check except
 * broad-private-ingress (which has no automatic fix) may enable it; single-account mode only.
 */
export interface RemediationOptions {
  /** Create the remediation function, document and `AWS::Config::RemediationConfiguration`. @default false */
  readonly enabled?: boolean;
  /**
   * Pass `DryRun=true`: the function calls EC2 with `DryRun` (permissions are checked, nothing changes) and logs the
   * plan. Set it to false once the logged plans look right. The document's own default (manual runs) is always true.
   * @default true
   */
  readonly dryRun?: boolean;
  /** Let Config run the remediation on its own for non-compliant groups. @default true */
  readonly automatic?: boolean;
  /** Attempts per resource within `retryAttemptSeconds` before Config gives up. @default 5 */
  readonly maximumAutomaticAttempts?: number;
  /** Window, in seconds, for `maximumAutomaticAttempts`. @default 60 */
  readonly retryAttemptSeconds?: number;
  /** `ExecutionControls.SsmControls.ConcurrentExecutionRatePercentage`: share of non-compliant groups remediated at once (1-100). @default 10 */
  readonly concurrentExecutionRatePercentage?: number;
  /** `ExecutionControls.SsmControls.ErrorPercentage`: share of failed executions after which SSM stops (1-100). @default 10 */
  readonly errorPercentage?: number;
}

export interface WebTierRuleOptions extends RuleOptions {
  /** Tag key that marks web-tier security groups (`tierTagKey`). @default 'tier' */
  readonly tierTagKey?: string;
  /** Tag value that marks web-tier security groups (`tierTagValue`). @default 'web' */
  readonly tierTagValue?: string;
  /** TCP ports the load balancer must reach (`ports`). Rust default: 80,443. */
  readonly ports?: number[];
  /**
   * Security groups of the web-tier load balancer(s) (`loadBalancerSecurityGroupIds`). Group ids are regional:
   * a list applies to a single region only; for several regions give a map `{ "<region>": ["sg-..."] }`, and each
   * region's stack gets only its own ids (regions not in the map rely on load-balancer discovery). Not allowed in
   * organization mode (ids differ per account).
   */
  readonly loadBalancerSecurityGroupIds?: string[] | PerRegion<string[]>;
  /** Flag web-tier groups that are also open to the internet (`forbidPublicIngress`). Rust default: false. */
  readonly forbidPublicIngress?: boolean;
  /**
   * Also scope the rule to `AWS::ElasticLoadBalancingV2::LoadBalancer`: when a load balancer's security groups
   * change, the groups referencing its old and new groups are evaluated again (the load balancer itself gets
   * NOT_APPLICABLE). @default false
   */
  readonly includeLoadBalancers?: boolean;
}

export interface PublicIngressRuleOptions extends RuleOptions {
  /** Allow-list mode: TCP ports that may be open to the internet (`authorizedTcpPorts`). Rust default: 80,443. */
  readonly authorizedTcpPorts?: number[];
  /** Allow-list mode: UDP ports that may be open to the internet (`authorizedUdpPorts`). Rust default: none. */
  readonly authorizedUdpPorts?: number[];
  /** Deny-list mode: TCP ports that must not be open to the internet (`blockedTcpPorts`). Rust default: none. */
  readonly blockedTcpPorts?: number[];
  /** Deny-list mode: UDP ports that must not be open to the internet (`blockedUdpPorts`). Rust default: none. */
  readonly blockedUdpPorts?: number[];
  /** Also flag public IPv4 sources broader than this prefix on a checked port, 0-24 (`minPublicPrefixLength`). Rust default: 0. */
  readonly minPublicPrefixLength?: number;
  /** The same for IPv6, 0-48 (`minPublicPrefixLengthIpv6`). Rust default: 0. */
  readonly minPublicPrefixLengthIpv6?: number;
  /**
   * Only findings at these effective-exposure levels are NON_COMPLIANT, e.g. `['internet']` for a dashboard of
   * incidents, not hygiene (`exposureLevels`); the function then reads the network around the groups. Rust default: internet,internet-via-load-balancer,latent,unattached.
   */
  readonly exposureLevels?: ('internet' | 'internet-via-load-balancer' | 'latent' | 'unattached')[];
}

export type PublicIngressSshRdpRuleOptions = PublicIngressRuleOptions;

export interface PublicEgressRuleOptions extends RuleOptions {
  /** TCP ports that may be reached on the internet (`authorizedEgressTcpPorts`). Rust default: none. */
  readonly authorizedEgressTcpPorts?: number[];
  /** UDP ports that may be reached on the internet (`authorizedEgressUdpPorts`). Rust default: none. */
  readonly authorizedEgressUdpPorts?: number[];
}

export interface BroadPrivateIngressRuleOptions extends RuleOptions {
  /** Shortest IPv4 prefix accepted as a private source (`minPrefixLengthIpv4`). Rust default: 16. */
  readonly minPrefixLengthIpv4?: number;
  /** Shortest IPv6 prefix accepted as a private source (`minPrefixLengthIpv6`). Rust default: 48. */
  readonly minPrefixLengthIpv6?: number;
}

export interface TiersRuleOptions extends RuleOptions {
  /** Tag key whose value names a group's tier (`tierTagKey`). @default 'tier' */
  readonly tierTagKey?: string;
  /**
   * Which tiers may reach which (`tierRules`), required: `TARGET<-SOURCE[|SOURCE...]:PORTS` separated by `;`, e.g.
   * `web<-lb:80,443; app<-web:8080; db<-app:5432`; the source `lb` means load balancers' groups.
   */
  readonly tierRules?: string;
  /** Whether a group may admit groups of its own tier (`allowSameTier`). Rust default: true. */
  readonly allowSameTier?: boolean;
  /** CIDR sources accepted in any tier, e.g. a VPN range (`allowedSourceCidrs`). Rust default: none. */
  readonly allowedSourceCidrs?: string[];
  /** Load balancers' groups, the `lb` source (a list, for one region); discovered when unset. */
  readonly loadBalancerSecurityGroupIds?: string[];
  /** Also scope the rule to load balancers (see `WebTierRuleOptions.includeLoadBalancers`). @default false */
  readonly includeLoadBalancers?: boolean;
}

/** All rules. Enabled by default: webTier, publicIngressSshRdp, publicIngress. */
export interface RulesOptions {
  readonly webTier?: WebTierRuleOptions;
  readonly publicIngressSshRdp?: PublicIngressSshRdpRuleOptions;
  readonly publicIngress?: PublicIngressRuleOptions;
  readonly publicEgress?: PublicEgressRuleOptions;
  readonly broadPrivateIngress?: BroadPrivateIngressRuleOptions;
  readonly tiers?: TiersRuleOptions;
}

export type RuleKey = keyof RulesOptions;

/** A rule's remediation, fully resolved. */
export interface ResolvedRemediation {
  readonly dryRun: boolean;
  readonly automatic: boolean;
  readonly maximumAutomaticAttempts: number;
  readonly retryAttemptSeconds: number;
  readonly concurrentExecutionRatePercentage: number;
  readonly errorPercentage: number;
}

/** A rule ready to be turned into CloudFormation. */
export interface RuleDefinition {
  readonly key: RuleKey;
  readonly check: Check;
  readonly ruleName: string;
  readonly description: string;
  readonly maximumExecutionFrequency: ExecutionFrequency;
  /** Exact Config rule input parameters (all strings). */
  readonly inputParameters: Record<string, string>;
  /** The rule's resource types: security groups, and load balancers when asked for. */
  readonly resourceTypes: string[];
  readonly remediation?: ResolvedRemediation;
}

export const DEFAULT_RULE_NAMES: Record<RuleKey, string> = {
  webTier: 'web-tier-security-group',
  publicIngressSshRdp: 'public-ingress-ssh-rdp',
  publicIngress: 'public-ingress',
  publicEgress: 'public-egress',
  broadPrivateIngress: 'broad-private-ingress',
  tiers: 'security-group-tiers',
};

const DEFAULT_ENABLED: Record<RuleKey, boolean> = {
  webTier: true,
  publicIngressSshRdp: true,
  publicIngress: true,
  publicEgress: false,
  broadPrivateIngress: false,
  tiers: false,
};

export const SECURITY_GROUP_TYPE = 'AWS::EC2::SecurityGroup';
export const LOAD_BALANCER_TYPE = 'AWS::ElasticLoadBalancingV2::LoadBalancer';

export const DEFAULT_TIER_TAG_KEY = 'tier';
export const DEFAULT_TIER_TAG_VALUE = 'web';
export const DEFAULT_SSH_RDP_BLOCKED_TCP_PORTS = [22, 3389];

export const DEFAULT_REMEDIATION_ATTEMPTS = 5;
export const DEFAULT_REMEDIATION_RETRY_SECONDS = 60;
export const DEFAULT_REMEDIATION_CONCURRENCY_PERCENTAGE = 10;
export const DEFAULT_REMEDIATION_ERROR_PERCENTAGE = 10;

// Config rule names: 1-128 characters; organization rule names: 1-64. Keep to the stricter set.
const RULE_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const SECURITY_GROUP_ID = /^sg-[0-9a-f]{8,17}$/;

export class RuleConfigError extends Error {
  constructor(message: string) {
    super(`sg-compliance: ${message}`);
    this.name = 'RuleConfigError';
  }
}

function exposureLevels(name: string, value: readonly string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  const known = ['internet', 'internet-via-load-balancer', 'latent', 'unattached'];
  if (!Array.isArray(value) || value.length === 0 || value.some((l) => !known.includes(l))) {
    throw new RuleConfigError(`${name} must be a non-empty list of ${known.join(', ')}`);
  }
  return [...new Set(value)].join(',');
}

function ports(name: string, value: readonly number[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw new RuleConfigError(`${name} must be a list of ports`);
  for (const p of value) {
    if (!Number.isInteger(p) || p < 0 || p > 65535) {
      throw new RuleConfigError(`${name}: ${JSON.stringify(p)} is not a port (integer 0-65535)`);
    }
  }
  if (value.length === 0) return undefined;
  return [...new Set(value)].join(',');
}

/** Lists whose Rust default is NOT empty cannot be set to "empty" without passing an empty string. */
function nonEmptyPorts(name: string, value: readonly number[] | undefined, rustDefault: string): string | undefined {
  if (value !== undefined && Array.isArray(value) && value.length === 0) {
    throw new RuleConfigError(
      `${name} is an empty list: empty parameters are not passed, so the Rust default (${rustDefault}) would apply. ` +
        'Leave it unset for the default or list at least one port.',
    );
  }
  return ports(name, value);
}

function securityGroupIds(name: string, value: readonly string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw new RuleConfigError(`${name} must be a list of security group IDs`);
  for (const id of value) {
    if (typeof id !== 'string' || !SECURITY_GROUP_ID.test(id)) {
      throw new RuleConfigError(`${name}: ${JSON.stringify(id)} is not a security group ID (sg-...)`);
    }
  }
  if (value.length === 0) return undefined;
  return [...new Set(value)].join(',');
}

function groupIdList(value: string[] | PerRegion<string[]> | undefined): string[] | undefined {
  if (value === undefined || value === null || Array.isArray(value)) return value ?? undefined;
  throw new RuleConfigError(
    'webTier.loadBalancerSecurityGroupIds is a per-region map here: resolve it with rulesForRegion (the stack needs a concrete region)',
  );
}

function prefixLength(name: string, value: number | undefined, max: number): string | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RuleConfigError(`${name} must be an integer between 0 and ${max}, got ${JSON.stringify(value)}`);
  }
  return String(value);
}

function bool(name: string, value: boolean | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw new RuleConfigError(`${name} must be a boolean`);
  return value ? 'true' : 'false';
}

function nonEmptyString(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '') throw new RuleConfigError(`${name} must be a non-empty string`);
  return value;
}

/** Drops undefined values so that only set parameters are passed. */
function compact(params: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined) out[k] = v;
  }
  return out;
}

function frequency(value: ExecutionFrequency | undefined, fallback: ExecutionFrequency): ExecutionFrequency {
  const f = value ?? fallback;
  if (!EXECUTION_FREQUENCIES.includes(f)) {
    throw new RuleConfigError(`maximumExecutionFrequency must be one of ${EXECUTION_FREQUENCIES.join(', ')}, got ${JSON.stringify(f)}`);
  }
  return f;
}

function percentage(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > 100) throw new RuleConfigError(`${name} must be an integer 1-100, got ${JSON.stringify(value)}`);
  return value;
}

function resolveRemediation(key: RuleKey, r: RemediationOptions | undefined): ResolvedRemediation | undefined {
  if (r === undefined || r === null) return undefined;
  if (typeof r !== 'object' || Array.isArray(r)) throw new RuleConfigError(`${key}.remediation must be an object`);
  if (bool(`${key}.remediation.enabled`, r.enabled) !== 'true') return undefined;
  if (key === 'broadPrivateIngress') {
    throw new RuleConfigError(
      'broadPrivateIngress.remediation: broad-private-ingress has no automatic fix (which narrower sources are meant is not known); ' +
        'fix by hand, e.g. reference the client tier\'s security group instead of 10.0.0.0/8, and leave remediation disabled for this rule',
    );
  }
  const attempts = r.maximumAutomaticAttempts ?? DEFAULT_REMEDIATION_ATTEMPTS;
  const seconds = r.retryAttemptSeconds ?? DEFAULT_REMEDIATION_RETRY_SECONDS;
  if (!Number.isInteger(attempts) || attempts < 1 || attempts > 25) {
    throw new RuleConfigError(`${key}.remediation.maximumAutomaticAttempts must be an integer 1-25`);
  }
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 2678000) {
    throw new RuleConfigError(`${key}.remediation.retryAttemptSeconds must be an integer 1-2678000`);
  }
  return {
    dryRun: (bool(`${key}.remediation.dryRun`, r.dryRun) ?? 'true') === 'true',
    automatic: (bool(`${key}.remediation.automatic`, r.automatic) ?? 'true') === 'true',
    maximumAutomaticAttempts: attempts,
    retryAttemptSeconds: seconds,
    concurrentExecutionRatePercentage: percentage(
      `${key}.remediation.concurrentExecutionRatePercentage`,
      r.concurrentExecutionRatePercentage ?? DEFAULT_REMEDIATION_CONCURRENCY_PERCENTAGE,
    ),
    errorPercentage: percentage(`${key}.remediation.errorPercentage`, r.errorPercentage ?? DEFAULT_REMEDIATION_ERROR_PERCENTAGE),
  };
}

function assertSingleMode(key: RuleKey, o: PublicIngressRuleOptions) {
  const allow = o.authorizedTcpPorts !== undefined || o.authorizedUdpPorts !== undefined;
  const deny = (o.blockedTcpPorts?.length ?? 0) > 0 || (o.blockedUdpPorts?.length ?? 0) > 0;
  if (allow && deny) {
    throw new RuleConfigError(
      `${key}: set either authorized*Ports (allow-list mode) or blocked*Ports (deny-list mode), not both`,
    );
  }
}

/**
 * The options of one region's stack: per-region maps (`webTier.loadBalancerSecurityGroupIds`) replaced by that
 * region's value. `region` undefined (environment-agnostic stack): a map is an error.
 */
export function rulesForRegion(rules: RulesOptions | undefined, region: string | undefined): RulesOptions | undefined {
  const ids = rules?.webTier?.loadBalancerSecurityGroupIds;
  if (ids === undefined || ids === null || Array.isArray(ids)) return rules;
  if (typeof ids !== 'object') throw new RuleConfigError('webTier.loadBalancerSecurityGroupIds must be a list or a map of region to list');
  if (region === undefined) {
    throw new RuleConfigError(
      'webTier.loadBalancerSecurityGroupIds is a per-region map: the stack needs a concrete region (the region-agnostic `make templates` output takes a list)',
    );
  }
  const own = ids[region] ?? [];
  return { ...rules, webTier: { ...rules!.webTier, loadBalancerSecurityGroupIds: own } };
}

/** Region names of a per-region `loadBalancerSecurityGroupIds` map (undefined for a list or unset). */
export function perRegionGroupIdRegions(rules: RulesOptions | undefined): string[] | undefined {
  const ids = rules?.webTier?.loadBalancerSecurityGroupIds;
  return ids && typeof ids === 'object' && !Array.isArray(ids) ? Object.keys(ids) : undefined;
}

/**
 * Resolves the user's options into the list of enabled rules with their exact input parameters.
 * Throws `RuleConfigError` on invalid input.
 */
export function resolveRules(
  rules: RulesOptions = {},
  defaultFrequency: ExecutionFrequency = DEFAULT_EXECUTION_FREQUENCY,
): RuleDefinition[] {
  const known = new Set(Object.keys(DEFAULT_RULE_NAMES));
  for (const k of Object.keys(rules)) {
    if (!known.has(k)) throw new RuleConfigError(`unknown rule "${k}" (known: ${[...known].join(', ')})`);
  }
  const out: RuleDefinition[] = [];
  const enabled = (key: RuleKey) => rules[key]?.enabled ?? DEFAULT_ENABLED[key];
  const common = (key: RuleKey, o: RuleOptions, description: string) => {
    const ruleName = o.ruleName ?? DEFAULT_RULE_NAMES[key];
    if (!RULE_NAME.test(ruleName)) {
      throw new RuleConfigError(`${key}.ruleName must match ${RULE_NAME} (got ${JSON.stringify(ruleName)})`);
    }
    const lbs = (o as { includeLoadBalancers?: boolean }).includeLoadBalancers;
    if (lbs !== undefined && typeof lbs !== 'boolean') throw new RuleConfigError(`${key}.includeLoadBalancers must be a boolean`);
    if (lbs && key !== 'webTier' && key !== 'tiers') {
      throw new RuleConfigError(`${key}.includeLoadBalancers: only webTier and tiers depend on load balancers' groups`);
    }
    return {
      key,
      ruleName,
      resourceTypes: lbs ? [SECURITY_GROUP_TYPE, LOAD_BALANCER_TYPE] : [SECURITY_GROUP_TYPE],
      description: o.description ?? description,
      maximumExecutionFrequency: frequency(o.maximumExecutionFrequency, defaultFrequency),
      remediation: resolveRemediation(key, o.remediation),
    };
  };

  if (enabled('webTier')) {
    const o = rules.webTier ?? {};
    const params = compact({
      check: 'web-tier',
      tierTagKey: nonEmptyString('webTier.tierTagKey', o.tierTagKey ?? DEFAULT_TIER_TAG_KEY),
      tierTagValue: nonEmptyString('webTier.tierTagValue', o.tierTagValue ?? DEFAULT_TIER_TAG_VALUE),
      ports: nonEmptyPorts('webTier.ports', o.ports, '80,443'),
      loadBalancerSecurityGroupIds: securityGroupIds('webTier.loadBalancerSecurityGroupIds', groupIdList(o.loadBalancerSecurityGroupIds)),
      forbidPublicIngress: bool('webTier.forbidPublicIngress', o.forbidPublicIngress),
    });
    out.push({
      ...common(
        'webTier',
        o,
        'Web-tier security groups must admit the web ports only from the web-tier load balancer security group.',
      ),
      check: 'web-tier',
      inputParameters: params,
    });
  }

  if (enabled('publicIngressSshRdp')) {
    const o = rules.publicIngressSshRdp ?? {};
    assertSingleMode('publicIngressSshRdp', o);
    if (o.authorizedTcpPorts !== undefined || o.authorizedUdpPorts !== undefined) {
      throw new RuleConfigError('publicIngressSshRdp is a deny-list rule: use blockedTcpPorts/blockedUdpPorts');
    }
    const blockedTcp = o.blockedTcpPorts ?? (o.blockedUdpPorts?.length ? undefined : DEFAULT_SSH_RDP_BLOCKED_TCP_PORTS);
    const params = compact({
      check: 'public-ingress',
      blockedTcpPorts: ports('publicIngressSshRdp.blockedTcpPorts', blockedTcp),
      blockedUdpPorts: ports('publicIngressSshRdp.blockedUdpPorts', o.blockedUdpPorts),
      minPublicPrefixLength: prefixLength('publicIngressSshRdp.minPublicPrefixLength', o.minPublicPrefixLength, 24),
      minPublicPrefixLengthIpv6: prefixLength('publicIngressSshRdp.minPublicPrefixLengthIpv6', o.minPublicPrefixLengthIpv6, 48),
      exposureLevels: exposureLevels('publicIngressSshRdp.exposureLevels', o.exposureLevels),
    });
    if (params.blockedTcpPorts === undefined && params.blockedUdpPorts === undefined) {
      throw new RuleConfigError('publicIngressSshRdp needs at least one blocked port');
    }
    out.push({
      ...common('publicIngressSshRdp', o, 'Security groups must not open SSH (22) or RDP (3389) to the internet.'),
      check: 'public-ingress',
      inputParameters: params,
    });
  }

  if (enabled('publicIngress')) {
    const o = rules.publicIngress ?? {};
    assertSingleMode('publicIngress', o);
    const params = compact({
      check: 'public-ingress',
      authorizedTcpPorts: nonEmptyPorts('publicIngress.authorizedTcpPorts', o.authorizedTcpPorts, '80,443'),
      authorizedUdpPorts: ports('publicIngress.authorizedUdpPorts', o.authorizedUdpPorts),
      blockedTcpPorts: ports('publicIngress.blockedTcpPorts', o.blockedTcpPorts),
      blockedUdpPorts: ports('publicIngress.blockedUdpPorts', o.blockedUdpPorts),
      minPublicPrefixLength: prefixLength('publicIngress.minPublicPrefixLength', o.minPublicPrefixLength, 24),
      minPublicPrefixLengthIpv6: prefixLength('publicIngress.minPublicPrefixLengthIpv6', o.minPublicPrefixLengthIpv6, 48),
      exposureLevels: exposureLevels('publicIngress.exposureLevels', o.exposureLevels),
    });
    out.push({
      ...common('publicIngress', o, 'Security groups may open only the authorized ports to the internet.'),
      check: 'public-ingress',
      inputParameters: params,
    });
  }

  if (enabled('publicEgress')) {
    const o = rules.publicEgress ?? {};
    const params = compact({
      check: 'public-egress',
      authorizedEgressTcpPorts: ports('publicEgress.authorizedEgressTcpPorts', o.authorizedEgressTcpPorts),
      authorizedEgressUdpPorts: ports('publicEgress.authorizedEgressUdpPorts', o.authorizedEgressUdpPorts),
    });
    out.push({
      ...common('publicEgress', o, 'Security groups may reach only the authorized ports on the internet.'),
      check: 'public-egress',
      inputParameters: params,
    });
  }

  if (enabled('broadPrivateIngress')) {
    const o = rules.broadPrivateIngress ?? {};
    const params = compact({
      check: 'broad-private-ingress',
      minPrefixLengthIpv4: prefixLength('broadPrivateIngress.minPrefixLengthIpv4', o.minPrefixLengthIpv4, 32),
      minPrefixLengthIpv6: prefixLength('broadPrivateIngress.minPrefixLengthIpv6', o.minPrefixLengthIpv6, 128),
    });
    out.push({
      ...common('broadPrivateIngress', o, 'Security groups must not admit overly broad private address ranges.'),
      check: 'broad-private-ingress',
      inputParameters: params,
    });
  }

  if (enabled('tiers')) {
    const o = rules.tiers ?? {};
    if (o.tierRules === undefined) {
      throw new RuleConfigError('tiers.tierRules is required, e.g. "web<-lb:80,443; app<-web:8080; db<-app:5432"');
    }
    const cidrs = o.allowedSourceCidrs;
    if (cidrs !== undefined && (!Array.isArray(cidrs) || cidrs.some((c) => typeof c !== 'string' || !c.includes('/')))) {
      throw new RuleConfigError('tiers.allowedSourceCidrs must be a list of CIDRs, e.g. ["10.8.0.0/16"]');
    }
    const params = compact({
      check: 'tiers',
      tierTagKey: nonEmptyString('tiers.tierTagKey', o.tierTagKey ?? DEFAULT_TIER_TAG_KEY),
      tierRules: nonEmptyString('tiers.tierRules', o.tierRules),
      allowSameTier: bool('tiers.allowSameTier', o.allowSameTier),
      allowedSourceCidrs: cidrs && cidrs.length > 0 ? cidrs.join(',') : undefined,
      loadBalancerSecurityGroupIds: securityGroupIds('tiers.loadBalancerSecurityGroupIds', o.loadBalancerSecurityGroupIds),
    });
    out.push({
      ...common('tiers', o, 'Each tier admits only the tiers in front of it, by security-group reference.'),
      check: 'tiers',
      inputParameters: params,
    });
  }

  const names = new Set<string>();
  for (const r of out) {
    if (names.has(r.ruleName)) throw new RuleConfigError(`duplicate rule name "${r.ruleName}"`);
    names.add(r.ruleName);
  }
  return out;
}
