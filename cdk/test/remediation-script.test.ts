/**
 * Runs the web-tier remediation script (the aws:executeScript step of the SSM document) with python3
 * against a stub boto3 EC2 client: no AWS, no network.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { REMEDIATION_SCRIPT_PATH } from '../lib/web-tier-document';

const python = ['python3', 'python'].find((p) => spawnSync(p, ['--version']).status === 0);
const describe_ = python ? describe : describe.skip;

const LB = 'sg-0aaaaaaaaaaaaaaaa';
const WEB = 'sg-0bbbbbbbbbbbbbbbb';

const STUB = `
import json
CALLS = []
GROUP = {}
class _EC2:
    def describe_security_groups(self, GroupIds):
        CALLS.append(["describe", GroupIds])
        return {"SecurityGroups": [GROUP]}
    def authorize_security_group_ingress(self, GroupId, IpPermissions):
        CALLS.append(["authorize", GroupId, IpPermissions])
    def revoke_security_group_ingress(self, GroupId, IpPermissions):
        CALLS.append(["revoke", GroupId, IpPermissions])
def client(name):
    assert name == "ec2"
    return _EC2()
`;

interface Run {
  result: Record<string, string>;
  calls: [string, ...unknown[]][];
}

function run(group: Record<string, unknown>, event: Record<string, unknown>): Run {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sg-remediation-'));
  fs.writeFileSync(path.join(dir, 'boto3.py'), STUB);
  const code = `
import json, sys, boto3
boto3.GROUP.update(json.loads(sys.argv[1]))
import web_tier_remediation as m
result = m.handler(json.loads(sys.argv[2]), None)
sys.stdout.write("\\nRESULT " + json.dumps({"result": result, "calls": boto3.CALLS}))
`;
  const p = spawnSync(python!, ['-c', code, JSON.stringify(group), JSON.stringify(event)], {
    env: { ...process.env, PYTHONPATH: [dir, path.dirname(REMEDIATION_SCRIPT_PATH)].join(path.delimiter), PYTHONDONTWRITEBYTECODE: '1' },
    encoding: 'utf8',
  });
  if (p.status !== 0) throw new Error(p.stderr);
  const line = p.stdout.split('\n').find((l) => l.startsWith('RESULT '))!;
  return JSON.parse(line.slice('RESULT '.length));
}

const publicWeb = {
  GroupId: WEB,
  IpPermissions: [
    { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '0.0.0.0/0' }], Ipv6Ranges: [{ CidrIpv6: '::/0' }], UserIdGroupPairs: [] },
    { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '0.0.0.0/0' }, { CidrIp: '10.0.0.0/8' }], UserIdGroupPairs: [{ GroupId: LB }] },
    { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }], UserIdGroupPairs: [] },
  ],
};

describe_('web-tier remediation script', () => {
  test('DryRun (default) reports the plan and changes nothing', () => {
    const { result, calls } = run(publicWeb, { GroupId: WEB, LoadBalancerSecurityGroupIds: [LB], Ports: ['80', '443'] });
    expect(calls.map((c) => c[0])).toEqual(['describe']);
    expect(result.DryRun).toBe('true');
    expect(result.Changed).toBe('false');
    // 80 from the LB already exists: only 443 is authorized.
    expect(JSON.parse(result.Authorize)).toEqual([
      { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, UserIdGroupPairs: [{ GroupId: LB, Description: 'sg-compliance: web tier from load balancer' }] },
    ]);
    // Public access to 80/443 is revoked (IPv4 and IPv6); 10.0.0.0/8 and port 22 are not web-port public rules to touch.
    expect(JSON.parse(result.Revoke)).toEqual([
      { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '0.0.0.0/0' }], Ipv6Ranges: [{ CidrIpv6: '::/0' }] },
      { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
    ]);
  });

  test('DryRun=false authorizes from the load balancer first, then revokes from the internet', () => {
    const { result, calls } = run(publicWeb, { GroupId: WEB, LoadBalancerSecurityGroupIds: [LB], Ports: ['80', '443'], DryRun: false });
    expect(calls.map((c) => c[0])).toEqual(['describe', 'authorize', 'revoke']);
    expect(calls[1][1]).toBe(WEB);
    expect(result.Changed).toBe('true');
  });

  test('all-traffic and port-range public rules covering a web port are revoked as they are', () => {
    const group = {
      GroupId: WEB,
      IpPermissions: [
        { IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
        { IpProtocol: 'tcp', FromPort: 0, ToPort: 1000, Ipv6Ranges: [{ CidrIpv6: '::/0' }] },
        { IpProtocol: 'udp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
      ],
    };
    const { result } = run(group, { GroupId: WEB, LoadBalancerSecurityGroupIds: LB, Ports: '443', DryRun: 'true' });
    expect(JSON.parse(result.Revoke)).toEqual([
      { IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
      { IpProtocol: 'tcp', FromPort: 0, ToPort: 1000, Ipv6Ranges: [{ CidrIpv6: '::/0' }] },
    ]);
  });

  test('an already compliant group is left alone (idempotent retries)', () => {
    const group = {
      GroupId: WEB,
      IpPermissions: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 443, UserIdGroupPairs: [{ GroupId: LB }] }],
    };
    const { result, calls } = run(group, { GroupId: WEB, LoadBalancerSecurityGroupIds: [LB], Ports: ['80', '443'], DryRun: false });
    expect(calls.map((c) => c[0])).toEqual(['describe']);
    expect(result.Changed).toBe('false');
  });

  test('refuses to run on the load balancer group itself or without a load balancer group', () => {
    expect(() => run(publicWeb, { GroupId: LB, LoadBalancerSecurityGroupIds: [LB], Ports: ['443'], DryRun: false })).toThrow(
      /load balancer security group/,
    );
    expect(() => run(publicWeb, { GroupId: WEB, LoadBalancerSecurityGroupIds: [], Ports: ['443'] })).toThrow(/empty/);
  });
});
