#!/usr/bin/env python3
"""`scan` of large inputs: the real binary on generated files of the shapes `scan` reads.

1. A CloudFormation template of N groups (default 5,000) as `cdk synth` writes them: inline rules,
   one rule from a parameter without a value (INSUFFICIENT_DATA), tier tags, and one standalone
   AWS::EC2::SecurityGroupIngress per group joined with Fn::GetAtt, judged by public-ingress and
   tiers (which reads the other groups' tags).
2. A Terraform plan of N groups with one aws_security_group_rule each whose security_group_id is
   known only after apply: joined through the configuration references with count.index.
3. A template of 200 groups whose rules read 10 open conditions: 1,024 combinations.

Targets (debug build, as `make bench` builds the CLI): each under 5 s (the conditions: 10 s), peak
RSS under 150 MB; every group gets its row per check.

Usage: scan_bench.py SG_COMPLIANCE_BINARY [--groups N]
"""
import argparse
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stand_in  # noqa: E402


def template(n):
    resources = {}
    tiers = ["web", "app", "db"]
    for i in range(n):
        resources[f"Group{i}"] = {
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {
                "GroupDescription": f"group {i}",
                "VpcId": {"Ref": "Vpc"},
                "SecurityGroupIngress": [
                    {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0"},
                    {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": {"Ref": "Office"}},
                ],
                "Tags": [{"Key": "tier", "Value": tiers[i % 3]}],
            },
        }
        resources[f"Group{i}From{(i + 1) % n}"] = {
            "Type": "AWS::EC2::SecurityGroupIngress",
            "Properties": {
                "GroupId": {"Fn::GetAtt": [f"Group{i}", "GroupId"]},
                "IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080,
                "SourceSecurityGroupId": {"Fn::GetAtt": [f"Group{(i + 1) % n}", "GroupId"]},
            },
        }
    return {"Parameters": {"Vpc": {"Type": "AWS::EC2::VPC::Id"}, "Office": {"Type": "String"}},
            "Resources": resources}


def plan(n):
    changes = []
    for i in range(n):
        changes.append({"address": f"aws_security_group.g[{i}]", "mode": "managed", "type": "aws_security_group",
                        "name": "g", "index": i,
                        "change": {"actions": ["create"], "before": None, "after": {"name": f"g{i}"},
                                   "after_unknown": {"id": True, "ingress": True, "egress": True}}})
        changes.append({"address": f"aws_security_group_rule.ssh[{i}]", "mode": "managed",
                        "type": "aws_security_group_rule", "name": "ssh", "index": i,
                        "change": {"actions": ["create"], "before": None,
                                   "after": {"type": "ingress", "protocol": "tcp", "from_port": 22, "to_port": 22,
                                             "cidr_blocks": ["0.0.0.0/0"], "self": False},
                                   "after_unknown": {"security_group_id": True, "id": True}}})
    configuration = {"root_module": {"resources": [
        {"address": "aws_security_group.g", "type": "aws_security_group", "name": "g",
         "expressions": {"name": {"references": ["count.index"]}}, "count_expression": {"constant_value": n}},
        {"address": "aws_security_group_rule.ssh", "type": "aws_security_group_rule", "name": "ssh",
         "expressions": {"security_group_id": {"references": ["aws_security_group.g[count.index].id",
                                                             "aws_security_group.g", "count.index"]}}},
    ]}}
    return {"format_version": "1.2", "terraform_version": "1.9.5", "resource_changes": changes,
            "configuration": configuration}


def conditions(n=200, k=10):
    resources = {}
    for i in range(n):
        resources[f"Group{i}"] = {"Type": "AWS::EC2::SecurityGroup", "Properties": {
            "GroupDescription": "g",
            "SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                                      "CidrIp": {"Fn::If": [f"C{i % k}", "0.0.0.0/0", "10.0.0.0/8"]}}]}}
    return {"Parameters": {"P": {"Type": "String"}},
            "Conditions": {f"C{j}": {"Fn::Equals": [{"Ref": "P"}, f"v{j}"]} for j in range(k)},
            "Resources": resources}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("binary")
    p.add_argument("--groups", type=int, default=5000)
    a = p.parse_args()
    work = tempfile.mkdtemp(prefix="sg-scan-bench-")
    cases = [
        ("CloudFormation template", "big.template.json", template(a.groups), a.groups,
         ["--check", "public-ingress", "--check", "tiers", "--param", "tierTagKey=tier",
          "--param", "tierRules=web<-lb:443; app<-web:8080; db<-app:8080"], 2, 5.0),
        ("Terraform plan", "big.plan.json", plan(a.groups), a.groups, ["--check", "public-ingress"], 1, 5.0),
        ("template with 10 open conditions (1,024 combinations)", "conditions.template.json", conditions(), 200,
         ["--check", "public-ingress", "--check", "broad-private-ingress"], 2, 10.0),
    ]
    ok = True
    for title, name, document, groups, checks, per_group, target in cases:
        path = os.path.join(work, name)
        with open(path, "w") as f:
            json.dump(document, f, indent=1)
        size_mb = os.path.getsize(path) / 1e6
        out = os.path.join(work, "out.json")
        code, wall, usage = stand_in.run([a.binary, "scan", path, *checks, "--format", "json", "--output", out],
                                         dict(os.environ))
        rows = stand_in.rows_of(out)
        peak_mb = usage.ru_maxrss / 1024
        good = wall < target and peak_mb < 150 and rows == groups * per_group and code in (0, 1)
        ok = ok and good
        print(f"scan of a {title}: {groups} groups, {size_mb:.1f} MB: {rows} rows, exit {code}, "
              f"wall {wall:.2f} s (target {target:g} s), peak RSS {peak_mb:.0f} MB (target 150 MB) "
              f"{'PASS' if good else 'UNDER'}")
        os.remove(path)
    os.rmdir(work)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
