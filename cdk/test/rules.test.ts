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
        publicIngressSshRdp: { blockedTcpPorts: [22], blockedUdpPorts: [3389] },
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

  test('remediation resolution', () => {
    const r = byName(
      resolveRules({
        webTier: { loadBalancerSecurityGroupIds: ['sg-0123456789abcdef0'], remediation: { enabled: true } },
        publicIngressSshRdp: { remediation: { enabled: true, automatic: false, maximumAutomaticAttempts: 3, retryAttemptSeconds: 600 } },
      }),
    );
    expect(r['web-tier-security-group'].remediation).toEqual({
      kind: 'web-tier',
      automatic: true,
      maximumAutomaticAttempts: 5,
      retryAttemptSeconds: 60,
      dryRun: false,
      ports: [80, 443],
      loadBalancerSecurityGroupIds: ['sg-0123456789abcdef0'],
    });
    expect(r['public-ingress-ssh-rdp'].remediation).toEqual({
      kind: 'disable-public-ssh-rdp',
      automatic: false,
      maximumAutomaticAttempts: 3,
      retryAttemptSeconds: 600,
    });
  });

  test.each([
    ['web-tier remediation without load balancer group', { webTier: { remediation: { enabled: true } } }, /loadBalancerSecurityGroupIds/],
    ['invalid port', { publicIngress: { authorizedTcpPorts: [70000] } }, /not a port/],
    ['non-integer port', { publicIngress: { authorizedUdpPorts: [1.5] } }, /not a port/],
    ['empty list whose Rust default is not empty', { publicIngress: { authorizedTcpPorts: [] } }, /Rust default \(80,443\)/],
    ['empty web ports', { webTier: { ports: [] } }, /Rust default/],
    ['bad security group id', { webTier: { loadBalancerSecurityGroupIds: ['lb-sg'] } }, /security group ID/],
    ['allow and deny lists mixed', { publicIngress: { authorizedTcpPorts: [443], blockedTcpPorts: [22] } }, /not both/],
    ['allow list on the SSH/RDP rule', { publicIngressSshRdp: { authorizedTcpPorts: [443] } }, /deny-list/],
    ['prefix length out of range', { broadPrivateIngress: { enabled: true, minPrefixLengthIpv4: 33 } }, /between 0 and 32/],
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
});
