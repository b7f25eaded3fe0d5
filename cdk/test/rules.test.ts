import { RuleConfigError, resolveRules } from '../lib/rules';

const byName = (rules: ReturnType<typeof resolveRules>) => Object.fromEntries(rules.map((r) => [r.ruleName, r]));

describe('resolveRules', () => {
  test('defaults: web tier, SSH/RDP deny-list and public-ingress allow-list; egress and broad-private off', () => {
    const rules = resolveRules();
    expect(rules.map((r) => r.ruleName)).toEqual(['web-tier-security-group', 'public-ingress-ssh-rdp', 'public-ingress']);
    const r = byName(rules);
    // Only `check` plus what the CDK must supply (the required tier tag); Rust defaults apply to the rest.
    expect(r['web-tier-security-group'].inputParameters).toEqual({ check: 'web-tier', tierTagKey: 'tier', tierTagValue: 'web' });
    expect(r['public-ingress-ssh-rdp'].inputParameters).toEqual({ check: 'public-ingress', blockedTcpPorts: '22,3389' });
    expect(r['public-ingress'].inputParameters).toEqual({ check: 'public-ingress' });
    for (const rule of rules) {
      expect(rule.maximumExecutionFrequency).toBe('TwentyFour_Hours');
      expect(rule.remediation).toBeUndefined();
    }
  });

  test('every parameter the user sets is passed with its exact name, as a string', () => {
    const rules = resolveRules(
      {
        webTier: {
          tierTagKey: 'Tier',
          tierTagValue: 'frontend',
          ports: [443, 8443, 443],
          loadBalancerSecurityGroupIds: ['sg-0123456789abcdef0', 'sg-11111111'],
          forbidPublicIngress: true,
          maximumExecutionFrequency: 'One_Hour',
        },
        publicIngressSshRdp: { blockedTcpPorts: [22], blockedUdpPorts: [3389], minPublicPrefixLength: 24, minPublicPrefixLengthIpv6: 48 },
        publicIngress: { authorizedTcpPorts: [443], authorizedUdpPorts: [53, 123] },
        publicEgress: { enabled: true, authorizedEgressTcpPorts: [80, 443], authorizedEgressUdpPorts: [123] },
        broadPrivateIngress: { enabled: true, minPrefixLengthIpv4: 20, minPrefixLengthIpv6: 56 },
      },
      'Six_Hours',
    );
    const r = byName(rules);
    expect(r['web-tier-security-group'].inputParameters).toEqual({
      check: 'web-tier',
      tierTagKey: 'Tier',
      tierTagValue: 'frontend',
      ports: '443,8443',
      loadBalancerSecurityGroupIds: 'sg-0123456789abcdef0,sg-11111111',
      forbidPublicIngress: 'true',
    });
    expect(r['web-tier-security-group'].maximumExecutionFrequency).toBe('One_Hour');
    expect(r['public-ingress-ssh-rdp'].inputParameters).toEqual({
      check: 'public-ingress',
      blockedTcpPorts: '22',
      blockedUdpPorts: '3389',
      minPublicPrefixLength: '24',
      minPublicPrefixLengthIpv6: '48',
    });
    expect(r['public-ingress'].inputParameters).toEqual({
      check: 'public-ingress',
      authorizedTcpPorts: '443',
      authorizedUdpPorts: '53,123',
    });
    expect(r['public-egress'].inputParameters).toEqual({
      check: 'public-egress',
      authorizedEgressTcpPorts: '80,443',
      authorizedEgressUdpPorts: '123',
    });
    expect(r['broad-private-ingress'].inputParameters).toEqual({
      check: 'broad-private-ingress',
      minPrefixLengthIpv4: '20',
      minPrefixLengthIpv6: '56',
    });
    expect(r['public-egress'].maximumExecutionFrequency).toBe('Six_Hours');
  });

  test('empty lists are not passed as empty strings', () => {
    const r = byName(
      resolveRules({
        publicIngress: { authorizedUdpPorts: [] },
        publicEgress: { enabled: true, authorizedEgressTcpPorts: [], authorizedEgressUdpPorts: [] },
        webTier: { loadBalancerSecurityGroupIds: [] },
      }),
    );
    expect(r['public-ingress'].inputParameters).toEqual({ check: 'public-ingress' });
    expect(r['public-egress'].inputParameters).toEqual({ check: 'public-egress' });
    expect(r['web-tier-security-group'].inputParameters).toEqual({ check: 'web-tier', tierTagKey: 'tier', tierTagValue: 'web' });
    for (const rule of Object.values(r)) {
      for (const v of Object.values(rule.inputParameters)) expect(v).not.toBe('');
    }
  });

  test('rules can be disabled and renamed', () => {
    const rules = resolveRules({
      webTier: { enabled: false },
      publicIngressSshRdp: { ruleName: 'no-admin-ports' },
      publicIngress: { enabled: false },
    });
    expect(rules.map((r) => r.ruleName)).toEqual(['no-admin-ports']);
  });

  test('remediation resolution: off by default; on: DryRun true, automatic, retries and execution controls always set', () => {
    const r = byName(
      resolveRules({
        webTier: { remediation: { enabled: true } }, // no load balancer ids needed: the remediation function discovers them too
        publicIngressSshRdp: {
          remediation: {
            enabled: true,
            dryRun: false,
            automatic: false,
            maximumAutomaticAttempts: 3,
            retryAttemptSeconds: 600,
            concurrentExecutionRatePercentage: 25,
            errorPercentage: 5,
          },
        },
        publicIngress: { remediation: { enabled: false } },
        publicEgress: { enabled: true, remediation: { enabled: true } },
        broadPrivateIngress: { enabled: true, remediation: { enabled: false } },
      }),
    );
    const defaults = {
      dryRun: true,
      automatic: true,
      maximumAutomaticAttempts: 5,
      retryAttemptSeconds: 60,
      concurrentExecutionRatePercentage: 10,
      errorPercentage: 10,
    };
    expect(r['web-tier-security-group'].remediation).toEqual(defaults);
    expect(r['public-egress'].remediation).toEqual(defaults);
    expect(r['public-ingress-ssh-rdp'].remediation).toEqual({
      dryRun: false,
      automatic: false,
      maximumAutomaticAttempts: 3,
      retryAttemptSeconds: 600,
      concurrentExecutionRatePercentage: 25,
      errorPercentage: 5,
    });
    expect(r['public-ingress'].remediation).toBeUndefined();
    expect(r['broad-private-ingress'].remediation).toBeUndefined();
  });

  test.each([
    [
      'remediation of broad-private-ingress (no automatic fix)',
      { broadPrivateIngress: { enabled: true, remediation: { enabled: true } } },
      /broadPrivateIngress\.remediation: broad-private-ingress has no automatic fix/,
    ],
    ['error percentage out of range', { publicIngress: { remediation: { enabled: true, errorPercentage: 0 } } }, /errorPercentage must be an integer 1-100/],
    [
      'concurrency out of range',
      { publicEgress: { enabled: true, remediation: { enabled: true, concurrentExecutionRatePercentage: 101 } } },
      /concurrentExecutionRatePercentage must be an integer 1-100/,
    ],
    ['dryRun not a boolean', { publicIngress: { remediation: { enabled: true, dryRun: 'false' } } }, /dryRun must be a boolean/],
    ['invalid port', { publicIngress: { authorizedTcpPorts: [70000] } }, /not a port/],
    ['non-integer port', { publicIngress: { authorizedUdpPorts: [1.5] } }, /not a port/],
    ['empty list whose Rust default is not empty', { publicIngress: { authorizedTcpPorts: [] } }, /Rust default \(80,443\)/],
    ['empty web ports', { webTier: { ports: [] } }, /Rust default/],
    ['bad security group id', { webTier: { loadBalancerSecurityGroupIds: ['lb-sg'] } }, /security group ID/],
    ['allow and deny lists mixed', { publicIngress: { authorizedTcpPorts: [443], blockedTcpPorts: [22] } }, /not both/],
    ['allow list on the SSH/RDP rule', { publicIngressSshRdp: { authorizedTcpPorts: [443] } }, /deny-list/],
    ['prefix length out of range', { broadPrivateIngress: { enabled: true, minPrefixLengthIpv4: 33 } }, /between 0 and 32/],
    ['public prefix length out of range', { publicIngress: { minPublicPrefixLength: 25 } }, /between 0 and 24/],
    ['unknown rule', { webtier: {} }, /unknown rule "webtier"/],
    ['duplicate names', { publicIngress: { ruleName: 'public-ingress-ssh-rdp' } }, /duplicate rule name/],
    ['bad rule name', { publicIngress: { ruleName: 'has space' } }, /ruleName/],
    ['bad frequency', { publicIngress: { maximumExecutionFrequency: 'Daily' } }, /maximumExecutionFrequency/],
    ['too many attempts', { publicIngressSshRdp: { remediation: { enabled: true, maximumAutomaticAttempts: 26 } } }, /1-25/],
    ['empty tag key', { webTier: { tierTagKey: ' ' } }, /tierTagKey/],
  ])('rejects %s', (_name, rules, message) => {
    expect(() => resolveRules(rules as never)).toThrow(RuleConfigError);
    expect(() => resolveRules(rules as never)).toThrow(message);
  });

  test('tiers: opt-in, tierRules required, parameters passed as the Rust check reads them', () => {
    expect(resolveRules({}).some((r) => r.check === 'tiers')).toBe(false);
    const [tiers] = resolveRules({
      webTier: { enabled: false },
      publicIngress: { enabled: false },
      publicIngressSshRdp: { enabled: false },
      tiers: {
        enabled: true,
        tierRules: 'web<-lb:80,443; app<-web:8080; db<-app:5432',
        allowSameTier: false,
        allowedSourceCidrs: ['10.8.0.0/16', '10.9.0.0/16'],
        loadBalancerSecurityGroupIds: ['sg-0123456789abcdef0'],
      },
    });
    expect(tiers.ruleName).toBe('security-group-tiers');
    expect(tiers.inputParameters).toEqual({
      check: 'tiers',
      tierTagKey: 'tier',
      tierRules: 'web<-lb:80,443; app<-web:8080; db<-app:5432',
      allowSameTier: 'false',
      allowedSourceCidrs: '10.8.0.0/16,10.9.0.0/16',
      loadBalancerSecurityGroupIds: 'sg-0123456789abcdef0',
    });
    expect(() => resolveRules({ tiers: { enabled: true } })).toThrow(RuleConfigError);
    expect(() => resolveRules({ tiers: { enabled: true, tierRules: 'db<-app:5432', allowedSourceCidrs: ['nope'] } })).toThrow(
      /allowedSourceCidrs/,
    );
  });

  test('includeLoadBalancers scopes webTier and tiers rules to load balancers too, and nothing else', () => {
    const [web] = resolveRules({ webTier: { includeLoadBalancers: true }, publicIngress: { enabled: false }, publicIngressSshRdp: { enabled: false } });
    expect(web.resourceTypes).toEqual(['AWS::EC2::SecurityGroup', 'AWS::ElasticLoadBalancingV2::LoadBalancer']);
    expect(resolveRules({}).every((r) => r.resourceTypes.length === 1)).toBe(true);
    expect(() => resolveRules({ publicIngress: { includeLoadBalancers: true } as never })).toThrow(/only webTier and tiers/);
  });
});
