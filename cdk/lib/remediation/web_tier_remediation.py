"""sg-compliance web-tier remediation (SSM Automation aws:executeScript step).

Fixes a web-tier security group in place:
  1. authorizes each web port (TCP) from each load balancer security group, unless an existing
     rule already admits that port from that group;
  2. revokes internet access (0.0.0.0/0 and ::/0) from every ingress rule that admits one of the
     web ports over TCP (including all-traffic and port-range rules that cover a web port).

Authorization runs before revocation so that traffic through the load balancer never stops.
With DryRun (the default) nothing is changed: the output lists what would be authorized/revoked.
The script is idempotent, so Config's automatic retries are safe.

EC2 API calls: DescribeSecurityGroups, AuthorizeSecurityGroupIngress, RevokeSecurityGroupIngress.
"""

import json

import boto3

PUBLIC_IPV4 = "0.0.0.0/0"
PUBLIC_IPV6 = "::/0"
RULE_DESCRIPTION = "sg-compliance: web tier from load balancer"


def _truthy(value):
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() not in ("false", "0", "no", "")


def _as_list(value):
    if value is None:
        return []
    if isinstance(value, str):
        value = value.split(",")
    return [str(v).strip() for v in value if str(v).strip()]


def _covers_tcp_port(permission, port):
    protocol = str(permission.get("IpProtocol", ""))
    if protocol == "-1":
        return True
    if protocol not in ("tcp", "6"):
        return False
    return permission.get("FromPort", 0) <= port <= permission.get("ToPort", 65535)


def _admits_from_group(permissions, port, group_id):
    for permission in permissions:
        if not _covers_tcp_port(permission, port):
            continue
        for pair in permission.get("UserIdGroupPairs", []):
            if pair.get("GroupId") == group_id:
                return True
    return False


def plan(group, load_balancer_group_ids, ports):
    """Returns (to_authorize, to_revoke) IpPermissions lists for the described group."""
    permissions = group.get("IpPermissions", [])
    to_authorize = []
    for port in ports:
        for lb_group in load_balancer_group_ids:
            if not _admits_from_group(permissions, port, lb_group):
                to_authorize.append(
                    {
                        "IpProtocol": "tcp",
                        "FromPort": port,
                        "ToPort": port,
                        "UserIdGroupPairs": [{"GroupId": lb_group, "Description": RULE_DESCRIPTION}],
                    }
                )
    to_revoke = []
    for permission in permissions:
        if not any(_covers_tcp_port(permission, port) for port in ports):
            continue
        public_v4 = any(r.get("CidrIp") == PUBLIC_IPV4 for r in permission.get("IpRanges", []))
        public_v6 = any(r.get("CidrIpv6") == PUBLIC_IPV6 for r in permission.get("Ipv6Ranges", []))
        if not (public_v4 or public_v6):
            continue
        revoke = {"IpProtocol": permission["IpProtocol"]}
        if "FromPort" in permission:
            revoke["FromPort"] = permission["FromPort"]
        if "ToPort" in permission:
            revoke["ToPort"] = permission["ToPort"]
        if public_v4:
            revoke["IpRanges"] = [{"CidrIp": PUBLIC_IPV4}]
        if public_v6:
            revoke["Ipv6Ranges"] = [{"CidrIpv6": PUBLIC_IPV6}]
        to_revoke.append(revoke)
    return to_authorize, to_revoke


def handler(event, context):
    group_id = str(event["GroupId"]).strip()
    load_balancer_group_ids = _as_list(event.get("LoadBalancerSecurityGroupIds"))
    ports = sorted({int(p) for p in _as_list(event.get("Ports"))})
    dry_run = _truthy(event.get("DryRun", True))
    if not load_balancer_group_ids:
        raise ValueError("LoadBalancerSecurityGroupIds is empty")
    if not ports:
        raise ValueError("Ports is empty")
    if group_id in load_balancer_group_ids:
        raise ValueError(f"{group_id} is a load balancer security group, not a web-tier group")

    ec2 = boto3.client("ec2")
    group = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    to_authorize, to_revoke = plan(group, load_balancer_group_ids, ports)

    if not dry_run:
        if to_authorize:
            ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=to_authorize)
        if to_revoke:
            ec2.revoke_security_group_ingress(GroupId=group_id, IpPermissions=to_revoke)

    # With DryRun the lists say what would be done; otherwise what was done.
    result = {
        "GroupId": group_id,
        "DryRun": "true" if dry_run else "false",
        "Changed": "true" if (to_authorize or to_revoke) and not dry_run else "false",
        "Authorize": json.dumps(to_authorize),
        "Revoke": json.dumps(to_revoke),
    }
    print(json.dumps(result))
    return result
