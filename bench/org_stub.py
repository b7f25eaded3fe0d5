#!/usr/bin/env python3
"""A local stand-in for what `audit --org` calls (on 127.0.0.1, one endpoint for every service):
Organizations `ListAccounts` (awsJson1_1, 20 accounts a page), STS `GetCallerIdentity` and
`AssumeRole` (the assumed credentials name their account: `ASIA<account>`), EC2
`DescribeSecurityGroups` (1000 a page) and the network look-ups effective exposure makes
(`DescribeNetworkInterfaces`, `-Subnets`, `-RouteTables`, `-NetworkAcls`, ELBv2
`DescribeLoadBalancers`: empty answers), serving generated groups over ACCOUNTS x REGIONS.

Each request waits LATENCY; EC2 and ELBv2 requests are limited per account (a token bucket of RPS
requests a second, the way EC2 meters each account; beyond it `RequestLimitExceeded`, HTTP 503).

Usage: org_stub.py PORT_FILE --groups N --accounts A --regions R --rps RATE --latency SECONDS
Writes the port it listens on into PORT_FILE; prints a JSON summary of what it served on SIGTERM.
"""
import json
import re
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import stand_in
from urllib.parse import parse_qs

EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/"
STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
ELB_NS = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"
MANAGEMENT = f"{stand_in.FIRST_ACCOUNT:012d}"


def perm(protocol, port, cidr):
    ports = "" if port is None else f"<fromPort>{port}</fromPort><toPort>{port}</toPort>"
    return (f"<item><ipProtocol>{protocol}</ipProtocol>{ports}<groups/><ipRanges><item><cidrIp>{cidr}</cidrIp>"
            f"</item></ipRanges><ipv6Ranges/><prefixListIds/></item>")


def group(i, account):
    tier = "web" if i % 3 == 0 else "app"
    ssh = "0.0.0.0/0" if i % 7 == 0 else "10.0.0.0/8"
    return (f"<item><ownerId>{account}</ownerId><groupId>sg-{i:017x}</groupId><groupName>g{i}</groupName>"
            f"<groupDescription>bench</groupDescription><vpcId>vpc-0123456789abcdef0</vpcId>"
            f"<ipPermissions>{perm('tcp', 443, '0.0.0.0/0')}{perm('tcp', 22, ssh)}</ipPermissions>"
            f"<ipPermissionsEgress>{perm('-1', None, '0.0.0.0/0')}</ipPermissionsEgress>"
            f"<tagSet><item><key>tier</key><value>{tier}</value></item></tagSet></item>")


def main():
    a = stand_in.stub_arguments(default_rps=20.0)
    accounts, regions, by_scope = stand_in.world(a)
    lock = threading.Lock()
    buckets = {}
    state = {"actions": {}, "served": 0, "throttled": 0, "per_account": {}, "max_concurrent": 0, "now": 0, "unknown": []}

    def take(account):
        """A token of the account's bucket (RPS a second, a burst of one second's worth)."""
        now = time.monotonic()
        tokens, last = buckets.get(account, (a.rps, now))
        tokens = min(a.rps, tokens + (now - last) * a.rps)
        if tokens < 1:
            buckets[account] = (tokens, now)
            return False
        buckets[account] = (tokens - 1, now)
        return True

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def reply(self, status, body, content_type="text/xml"):
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            auth = self.headers.get("Authorization", "")
            m = re.search(r"Credential=([^/]+)/\d+/([^/]+)/([^/]+)/", auth)
            key, region, service = (m.group(1), m.group(2), m.group(3)) if m else ("", "us-east-1", "")
            account = key[4:] if key.startswith("ASIA") and key[4:].isdigit() else MANAGEMENT
            target = self.headers.get("X-Amz-Target", "")
            form = {} if target else {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            self.json_body = json.loads(raw or b"{}") if target else {}
            action = target.split(".")[-1] if target else form.get("Action", "")
            metered = service in ("ec2", "elasticloadbalancing")
            with lock:
                allowed = take(account) if metered else True
                if allowed:
                    state["served"] += 1
                    state["actions"][action] = state["actions"].get(action, 0) + 1
                    if metered:
                        state["per_account"][account] = state["per_account"].get(account, 0) + 1
                else:
                    state["throttled"] += 1
                state["now"] += 1
                state.setdefault("first", time.time())
                state["last"] = time.time()
                state["max_concurrent"] = max(state["max_concurrent"], state["now"])
            try:
                if a.latency:
                    time.sleep(a.latency)
                if not allowed:
                    return self.reply(503, "<Response><Errors><Error><Code>RequestLimitExceeded</Code>"
                                           "<Message>Request limit exceeded.</Message></Error></Errors>"
                                           "<RequestID>x</RequestID></Response>")
                self.answer(action, form, account, region)
            finally:
                with lock:
                    state["now"] -= 1

        def answer(self, action, form, account, region):
            if action == "ListAccounts":
                token = int(self.json_body.get("NextToken") or 0)
                page = accounts[token: token + 20]
                out = {"Accounts": [{"Id": acc, "Arn": f"arn:aws:organizations::{MANAGEMENT}:account/o-bench/{acc}",
                                     "Name": f"a{acc}", "Email": f"{acc}@example.com", "Status": "ACTIVE",
                                     "State": "ACTIVE"} for acc in page]}
                if token + 20 < len(accounts):
                    out["NextToken"] = str(token + 20)
                return self.reply(200, json.dumps(out), "application/x-amz-json-1.1")
            if action == "GetCallerIdentity":
                return self.reply(200, f'<GetCallerIdentityResponse xmlns="{STS_NS}"><GetCallerIdentityResult>'
                                       f"<Arn>arn:aws:iam::{account}:user/bench</Arn><UserId>AIDABENCH</UserId>"
                                       f"<Account>{account}</Account></GetCallerIdentityResult><ResponseMetadata>"
                                       f"<RequestId>x</RequestId></ResponseMetadata></GetCallerIdentityResponse>")
            if action == "AssumeRole":
                target = re.search(r"::(\d{12}):", form.get("RoleArn", ""))
                target = target.group(1) if target else MANAGEMENT
                return self.reply(200, f'<AssumeRoleResponse xmlns="{STS_NS}"><AssumeRoleResult><Credentials>'
                                       f"<AccessKeyId>ASIA{target}</AccessKeyId><SecretAccessKey>s</SecretAccessKey>"
                                       f"<SessionToken>t</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration>"
                                       f"</Credentials><AssumedRoleUser><Arn>{form.get('RoleArn')}/sg-compliance</Arn>"
                                       f"<AssumedRoleId>AROABENCH:sg-compliance</AssumedRoleId></AssumedRoleUser>"
                                       f"</AssumeRoleResult><ResponseMetadata><RequestId>x</RequestId>"
                                       f"</ResponseMetadata></AssumeRoleResponse>")
            if action == "DescribeSecurityGroups":
                ids = by_scope.get((account, region), [])
                token = int(form.get("NextToken") or 0)
                size = min(int(form.get("MaxResults") or 1000), 1000)
                items = "".join(group(i, account) for i in ids[token: token + size])
                more = f"<nextToken>{token + size}</nextToken>" if token + size < len(ids) else ""
                return self.reply(200, f'<DescribeSecurityGroupsResponse xmlns="{EC2_NS}"><requestId>x</requestId>'
                                       f"<securityGroupInfo>{items}</securityGroupInfo>{more}"
                                       f"</DescribeSecurityGroupsResponse>")
            empty = {"DescribeNetworkInterfaces": "networkInterfaceSet", "DescribeSubnets": "subnetSet",
                     "DescribeRouteTables": "routeTableSet", "DescribeNetworkAcls": "networkAclSet"}
            if action in empty:
                return self.reply(200, f'<{action}Response xmlns="{EC2_NS}"><requestId>x</requestId>'
                                       f"<{empty[action]}/></{action}Response>")
            if action == "DescribeLoadBalancers":
                return self.reply(200, f'<DescribeLoadBalancersResponse xmlns="{ELB_NS}"><DescribeLoadBalancersResult>'
                                       f"<LoadBalancers/></DescribeLoadBalancersResult><ResponseMetadata>"
                                       f"<RequestId>x</RequestId></ResponseMetadata></DescribeLoadBalancersResponse>")
            with lock:
                state["unknown"].append(action)
            return self.reply(400, f"<Response><Errors><Error><Code>InvalidAction</Code><Message>{action} is not "
                                   f"served by the stand-in</Message></Error></Errors></Response>")

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 256

    server = Server(("127.0.0.1", 0), Handler)
    with open(a.port_file, "w") as f:
        f.write(str(server.server_address[1]))

    def stop(*_):
        per = state["per_account"]
        print(json.dumps({"first": state.get("first"), "last": state.get("last"), "actions": state["actions"], "served": state["served"], "throttled": state["throttled"],
                          "max_concurrent": state["max_concurrent"], "unknown": sorted(set(state["unknown"])),
                          "max_per_account": max(per.values()) if per else 0}), flush=True)
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, stop)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
