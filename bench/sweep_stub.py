#!/usr/bin/env python3
"""The live sweep's client-side cost, as `make bench` measures it: the release Lambda binary runs a
periodic evaluation (public-ingress, blocked tcp/22) under a local Lambda Runtime API against a
stub AWS endpoint that serves pre-rendered `DescribeSecurityGroups` pages (1,000 groups, 3.5
permissions per group on average) and accepts every `PutEvaluations`. The stub answers from memory,
so the figures are the binary's own: wall time, CPU time (from `wait4`), peak RSS (`VmHWM`) and
the requests it made.

Usage: sweep_stub.py RUST_BINARY|bootstrap.zip [N ...]  -> one line per N; exit 1 when the peak RSS
of a sweep is not under 64 MB, a group was not delivered exactly once, or the calls were not
exactly ceil(N/1000) DescribeSecurityGroups, ceil(N/100) PutEvaluations and one stale-result read.
"""
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import coldstart

PAGE = 1000


def permission(i, j):
    """A group's j-th ingress permission: web, ranged, public SSH, IPv6 and -1 rules in turn."""
    kind = (i + j) % 5
    if kind == 0:
        return ("<item><ipProtocol>tcp</ipProtocol><fromPort>443</fromPort><toPort>443</toPort>"
                f"<groups><item><userId>123456789012</userId><groupId>sg-{j:017x}</groupId></item></groups>"
                "<ipRanges/><ipv6Ranges/><prefixListIds/></item>")
    if kind == 1:
        return ("<item><ipProtocol>tcp</ipProtocol><fromPort>1024</fromPort><toPort>2048</toPort><groups/>"
                f"<ipRanges><item><cidrIp>10.{i % 256}.0.0/16</cidrIp></item></ipRanges><ipv6Ranges/><prefixListIds/></item>")
    if kind == 2:
        return ("<item><ipProtocol>tcp</ipProtocol><fromPort>22</fromPort><toPort>22</toPort><groups/>"
                "<ipRanges><item><cidrIp>0.0.0.0/1</cidrIp></item><item><cidrIp>128.0.0.0/1</cidrIp></item></ipRanges>"
                "<ipv6Ranges/><prefixListIds/></item>")
    if kind == 3:
        return ("<item><ipProtocol>tcp</ipProtocol><fromPort>80</fromPort><toPort>80</toPort><groups/><ipRanges/>"
                "<ipv6Ranges><item><cidrIpv6>::/0</cidrIpv6></item></ipv6Ranges><prefixListIds/></item>")
    return ("<item><ipProtocol>-1</ipProtocol><groups/>"
            "<ipRanges><item><cidrIp>192.168.0.0/16</cidrIp></item></ipRanges><ipv6Ranges/><prefixListIds/></item>")


def group(i):
    perms = "".join(permission(i, j) for j in range(3 + i % 2))  # 3.5 a group on average
    return (f"<item><ownerId>123456789012</ownerId><groupId>sg-{i:017x}</groupId><groupName>group-{i}</groupName>"
            f"<groupDescription>bench</groupDescription><vpcId>vpc-0123456789abcdef0</vpcId>"
            f"<ipPermissions>{perms}</ipPermissions><ipPermissionsEgress><item><ipProtocol>-1</ipProtocol><groups/>"
            "<ipRanges><item><cidrIp>0.0.0.0/0</cidrIp></item></ipRanges><ipv6Ranges/><prefixListIds/></item>"
            f"</ipPermissionsEgress><tagSet><item><key>tier</key><value>{'web' if i % 2 == 0 else 'app'}</value></item></tagSet></item>")


def pages(n):
    out = []
    for start in range(0, n, PAGE):
        items = "".join(group(i) for i in range(start, min(start + PAGE, n)))
        token = f"<nextToken>{start + PAGE}</nextToken>" if start + PAGE < n else ""
        out.append(('<?xml version="1.0" encoding="UTF-8"?>\n<DescribeSecurityGroupsResponse '
                    'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId>'
                    f"<securityGroupInfo>{items}</securityGroupInfo>{token}</DescribeSecurityGroupsResponse>").encode())
    return out


class Stub(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog is 5: with a page fetched while four PutEvaluations are in
    # flight, a burst of new connections could wait for a SYN retransmit past the SDK's 3.1 s
    # connect timeout, and the retried call would count as an extra one. AWS's endpoints have no
    # such backlog.
    request_queue_size = 128

    def __init__(self, n):
        super().__init__(("127.0.0.1", 0), StubHandler)
        self.pages = pages(n)
        self.lock = threading.Lock()
        self.calls = {}
        self.delivered = {}


class StubHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, body, content_type):
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        target = self.headers.get("X-Amz-Target")
        op = target.split(".")[-1] if target else parse_qs(body.decode())["Action"][0]
        with self.server.lock:
            self.server.calls[op] = self.server.calls.get(op, 0) + 1
        if op == "DescribeSecurityGroups":
            token = parse_qs(body.decode()).get("NextToken", ["0"])[0]
            self.reply(self.server.pages[int(token) // PAGE], "text/xml")
        elif op == "PutEvaluations":
            evaluations = json.loads(body)["Evaluations"]
            with self.server.lock:
                for e in evaluations:
                    rid = e["ComplianceResourceId"]
                    self.server.delivered[rid] = self.server.delivered.get(rid, 0) + 1
            self.reply(b'{"FailedEvaluations": []}', "application/x-amz-json-1.1")
        elif op == "GetComplianceDetailsByConfigRule":
            self.reply(b'{"EvaluationResults": []}', "application/x-amz-json-1.1")
        else:
            self.send_response(400)
            self.send_header("Content-Length", "0")
            self.end_headers()


def sweep(binary, n):
    stub = Stub(n)
    threading.Thread(target=stub.serve_forever, daemon=True).start()
    api = coldstart.RuntimeApi()
    params = {"check": "public-ingress", "blockedTcpPorts": "22"}
    api.event = json.dumps({
        "version": "1.0", "resultToken": "token", "configRuleName": "public-ingress", "accountId": "123456789012",
        "invokingEvent": json.dumps({"awsAccountId": "123456789012", "messageType": "ScheduledNotification",
                                     "notificationCreationTime": "2026-11-21T12:00:00.000Z", "recordVersion": "1.0"}),
        "ruleParameters": json.dumps(params), "eventLeftScope": False,
    }).encode()
    threading.Thread(target=api.serve_forever, daemon=True).start()
    env = dict(coldstart.lambda_environment(stub.server_address[1]),
               AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{api.server_address[1]}", AWS_LAMBDA_FUNCTION_NAME="sweep",
               AWS_LAMBDA_FUNCTION_MEMORY_SIZE="256", AWS_LAMBDA_LOG_LEVEL="WARN", SG_COMPLIANCE_WARMUP="false")
    import subprocess
    start = time.perf_counter()
    # SWEEP_WRAPPER="heaptrack -o /tmp/sweep" runs the binary under a profiler.
    wrapper = os.environ.get("SWEEP_WRAPPER", "").split()
    proc = subprocess.Popen(wrapper + [binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    trace = []
    if os.environ.get("SWEEP_TRACE"):  # RSS every 200 ms, to see how it grows
        def sample():
            while proc.poll() is None and not api.done.is_set():
                try:
                    with open(f"/proc/{proc.pid}/status") as f:
                        rss = next(l for l in f if l.startswith("VmRSS")).split()[1]
                    trace.append(int(rss) // 1024)
                except (OSError, StopIteration):
                    pass
                time.sleep(0.2)
        threading.Thread(target=sample, daemon=True).start()
    answered = api.done.wait(600)
    if trace:
        print("RSS MB every 200 ms:", trace)
    wall = time.perf_counter() - start
    # The binary's own peak: VmHWM starts at exec. (wait4's ru_maxrss would also count the forked
    # harness before exec, which holds every pre-rendered page.)
    with open(f"/proc/{proc.pid}/status") as f:
        hwm_kb = int(next(l for l in f if l.startswith("VmHWM")).split()[1])
    proc.kill()
    _, _, usage = os.wait4(proc.pid, 0)
    proc.returncode = 0
    api.shutdown()
    stub.shutdown()
    kind, body = api.answer if answered else ("timeout", b"")
    ok_delivery = kind == "response" and len(stub.delivered) == n and set(stub.delivered.values()) == {1}
    rss = hwm_kb / 1024
    # The API calls of a sweep: a describe per 1,000 groups, a PutEvaluations per 100, one
    # stale-result read, nothing per group.
    expected_calls = {"DescribeSecurityGroups": -(-n // PAGE), "PutEvaluations": -(-n // 100),
                      "GetComplianceDetailsByConfigRule": 1}
    ok_calls = stub.calls == expected_calls
    ok = ok_delivery and ok_calls and rss < 64
    calls = ", ".join(f"{v} {k}" for k, v in sorted(stub.calls.items()))
    print(f"lambda binary, periodic sweep of {n:>7,} groups: {wall * 1e3:8.1f} ms wall, "
          f"{(usage.ru_utime + usage.ru_stime) * 1e3:8.1f} ms CPU ({(usage.ru_utime + usage.ru_stime) * 1e6 / n:.1f} us a group), "
          f"{rss:5.1f} MB peak (target 64 MB); calls: {calls}; each group delivered once: "
          f"{'yes' if ok_delivery else 'NO (' + kind + ')'}"
          f"{'' if ok_calls else f'; expected calls {expected_calls}'} {'ok' if ok else 'OVER'}")
    return ok


def main():
    binary = sys.argv[1]
    if binary.endswith(".zip"):
        binary = coldstart.unpack(binary)[0]
    sizes = [int(a) for a in sys.argv[2:]] or [10_000, 100_000]
    return 0 if all([sweep(binary, n) for n in sizes]) else 1


if __name__ == "__main__":
    sys.exit(main())
