#!/usr/bin/env python3
"""Writes the bundled audit fixtures (deterministic; rerun after editing, then review the diff):

fixtures/audit/organization.json   `aws configservice select-aggregate-resource-config` output for two
                                   accounts x two regions: web, app and database tiers, load balancers,
                                   bastions; security groups and the load balancers' network interfaces.
fixtures/audit/describe-security-groups.json, fixtures/audit/network-interfaces.json
                                   one account and region as `aws ec2 describe-security-groups` /
                                   `describe-network-interfaces` print it.
"""
import json, os

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "audit")
ACCOUNTS = ["111122223333", "444455556666"]
REGIONS = ["eu-west-1", "us-east-1"]


def gid(scope, n):
    return "sg-0%02x%02x%012x" % (scope, n, 0xA11CE + scope * 97 + n)


def perm(proto, ports=None, cidrs=(), v6=(), groups=()):
    p = {"ipProtocol": proto, "ipv4Ranges": [{"cidrIp": c} for c in cidrs],
         "ipv6Ranges": [{"cidrIpv6": c} for c in v6], "prefixListIds": [],
         "userIdGroupPairs": [{"groupId": g} for g in groups]}
    if ports:
        p["fromPort"], p["toPort"] = ports
    return p


def scope_groups(s, account, region):
    vpc = "vpc-0%02x%014x" % (s, 0xBEEF + s)
    alb, web, web_legacy, web_8080, app, db, bastion, rdp, default = (gid(s, n) for n in range(9))
    egress = [perm("-1", cidrs=["0.0.0.0/0"])]
    groups = [
        (alb, "web-alb", {"tier": "web", "app": "shop"},
         [perm("tcp", (443, 443), ["0.0.0.0/0"], ["::/0"]), perm("tcp", (80, 80), ["0.0.0.0/0"])]),
        (web, "web-servers", {"tier": "web", "app": "shop"}, [perm("tcp", (443, 443), groups=[alb])]),
        (app, "app-servers", {"tier": "app"}, [perm("tcp", (8080, 8080), groups=[web])]),
        (db, "orders-db", {"tier": "db"},
         [perm("tcp", (5432, 5432), groups=[app])] + ([perm("tcp", (5432, 5432), ["10.0.0.0/8"])] if s % 2 == 0 else [])),
        (default, "default", {}, [perm("-1", groups=[default])]),
    ]
    if s in (0, 3):
        groups.append((web_legacy, "web-legacy", {"tier": "web"}, [perm("tcp", (80, 80), ["0.0.0.0/0"])]))
    if s in (1, 2):
        groups.append((web_8080, "web-canary", {"tier": "web", "app": "shop"}, [perm("tcp", (8080, 8080), groups=[alb])]))
    if s != 3:
        groups.append((bastion, "bastion", {"Name": "bastion"},
                       [perm("tcp", (22, 22), ["0.0.0.0/1"]), perm("tcp", (22, 22), ["128.0.0.0/1"])] if s == 0
                       else [perm("tcp", (22, 22), ["203.0.113.0/24"])]))
    if s == 2:
        groups.append((rdp, "windows-admin", {}, [perm("tcp", (3389, 3389), ["0.0.0.0/0"])]))
    out = []
    for group_id, name, tags, ingress in groups:
        out.append({
            "groupId": group_id, "groupName": name, "description": name, "vpcId": vpc, "ownerId": account,
            "ipPermissions": ingress, "ipPermissionsEgress": egress,
            "tags": [{"key": k, "value": v} for k, v in tags.items()],
        })
    enis = [{
        "networkInterfaceId": "eni-0%02x%014x" % (s, n), "description": "ELB app/web-alb/%016x" % (0x5EED + s),
        "requesterId": "amazon-elb", "requesterManaged": True, "interfaceType": "interface", "vpcId": vpc,
        "groups": [{"groupId": alb, "groupName": "web-alb"}],
    } for n in range(2)]
    return out, enis


def main():
    results = []
    first = None
    s = 0
    for account in ACCOUNTS:
        for region in REGIONS:
            groups, enis = scope_groups(s, account, region)
            if first is None:
                first = (groups, enis)
            for g in groups:
                results.append(json.dumps({
                    "accountId": account, "awsRegion": region, "resourceId": g["groupId"],
                    "resourceType": "AWS::EC2::SecurityGroup", "configuration": g, "tags": g["tags"]},
                    separators=(",", ":"), sort_keys=True))
            for e in enis:
                results.append(json.dumps({
                    "accountId": account, "awsRegion": region, "resourceId": e["networkInterfaceId"],
                    "resourceType": "AWS::EC2::NetworkInterface", "configuration": e, "tags": []},
                    separators=(",", ":"), sort_keys=True))
            s += 1
    fields = ["accountId", "awsRegion", "resourceId", "resourceType", "configuration", "tags"]
    with open(os.path.join(ROOT, "organization.json"), "w") as f:
        json.dump({"Results": results, "QueryInfo": {"SelectFields": [{"Name": n} for n in fields]}}, f, indent=2)
        f.write("\n")

    def pascal(p):
        out = {"IpProtocol": p["ipProtocol"],
               "IpRanges": [{"CidrIp": r["cidrIp"]} for r in p["ipv4Ranges"]],
               "Ipv6Ranges": [{"CidrIpv6": r["cidrIpv6"]} for r in p["ipv6Ranges"]],
               "PrefixListIds": [],
               "UserIdGroupPairs": [{"GroupId": g["groupId"], "UserId": ACCOUNTS[0]} for g in p["userIdGroupPairs"]]}
        if "fromPort" in p:
            out["FromPort"], out["ToPort"] = p["fromPort"], p["toPort"]
        return out

    groups, enis = first
    described = {"SecurityGroups": [{
        "Description": g["description"], "GroupName": g["groupName"], "GroupId": g["groupId"],
        "OwnerId": g["ownerId"], "VpcId": g["vpcId"],
        "IpPermissions": [pascal(p) for p in g["ipPermissions"]],
        "IpPermissionsEgress": [pascal(p) for p in g["ipPermissionsEgress"]],
        "Tags": [{"Key": t["key"], "Value": t["value"]} for t in g["tags"]],
    } for g in groups]}
    with open(os.path.join(ROOT, "describe-security-groups.json"), "w") as f:
        json.dump(described, f, indent=2)
        f.write("\n")
    interfaces = {"NetworkInterfaces": [{
        "Description": e["description"], "InterfaceType": "interface", "NetworkInterfaceId": e["networkInterfaceId"],
        "RequesterId": "amazon-elb", "RequesterManaged": True, "VpcId": e["vpcId"], "OwnerId": ACCOUNTS[0],
        "Groups": [{"GroupId": g["groupId"], "GroupName": g["groupName"]} for g in e["groups"]],
    } for e in enis]}
    with open(os.path.join(ROOT, "network-interfaces.json"), "w") as f:
        json.dump(interfaces, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
