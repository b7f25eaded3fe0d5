#!/usr/bin/env python3
"""The peer `make bench` measures sg-compliance against: an idiomatic Python 3 version of the
Web-Tier and public-SSH checks (the shape of an RDK/rdklib rule's evaluate function, boto3-style
PascalCase input, `ipaddress` for the CIDR union), on the same `describe-security-groups` snapshot.

Usage: peer.py SNAPSHOT.json LB_GROUP_ID  -> prints "groups non_compliant" counts per check.
"""
import ipaddress
import json
import sys

TIER_KEY, TIER_VALUE, WEB_PORTS = "tier", "web", (80, 443)
V4_ALL, V6_ALL = ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0")


def admits(perm, port):
    proto = str(perm.get("IpProtocol"))
    if proto == "-1":
        return True
    if proto not in ("tcp", "6"):
        return False
    return perm.get("FromPort", 0) <= port <= perm.get("ToPort", 65535)


def evaluate_web_tier(group, lb_groups):
    tags = {t["Key"]: t.get("Value", "") for t in group.get("Tags", [])}
    if tags.get(TIER_KEY) != TIER_VALUE:
        return "NOT_APPLICABLE"
    if group["GroupId"] in lb_groups:
        return "NOT_APPLICABLE"
    for perm in group.get("IpPermissions", []):
        if any(admits(perm, p) for p in WEB_PORTS):
            if any(pair.get("GroupId") in lb_groups for pair in perm.get("UserIdGroupPairs", [])):
                return "COMPLIANT"
    return "NON_COMPLIANT"


def evaluate_public_ssh(group, port=22):
    v4, v6 = [], []
    for perm in group.get("IpPermissions", []):
        if admits(perm, port):
            v4 += [ipaddress.ip_network(r["CidrIp"], strict=False) for r in perm.get("IpRanges", [])]
            v6 += [ipaddress.ip_network(r["CidrIpv6"], strict=False) for r in perm.get("Ipv6Ranges", [])]
    for nets, everything in ((v4, V4_ALL), (v6, V6_ALL)):
        if nets and everything in ipaddress.collapse_addresses(nets):
            return "NON_COMPLIANT"
    return "COMPLIANT"


def main():
    with open(sys.argv[1]) as f:
        groups = json.load(f)["SecurityGroups"]
    lb_groups = {sys.argv[2]}
    web = sum(evaluate_web_tier(g, lb_groups) == "NON_COMPLIANT" for g in groups)
    ssh = sum(evaluate_public_ssh(g) == "NON_COMPLIANT" for g in groups)
    print(len(groups), web, ssh)


if __name__ == "__main__":
    main()
