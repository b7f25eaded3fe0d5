#!/usr/bin/env python3
"""A local stand-in for AWS Config's SelectAggregateResourceConfig (awsJson1_1 on 127.0.0.1), with a
request-rate limit (ThrottlingException beyond it) and a latency per request, serving generated
security groups over ACCOUNTS x REGIONS. It answers the two queries `audit --aggregator` sends: the
`COUNT(*) ... GROUP BY accountId, awsRegion` partition list (500 rows a page) and the per-partition
`... AND accountId = 'A' AND awsRegion = 'R'` query (at most Limit, 100, a page).

Usage: aggregator_stub.py PORT_FILE --groups N --accounts A --regions R --rps RATE --latency SECONDS
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



def group(i, account, region):
    conf = {
        "groupId": f"sg-{i:017x}", "groupName": f"g{i}", "ownerId": account, "vpcId": "vpc-0123456789abcdef0",
        "ipPermissions": [
            {"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "ipv4Ranges": [{"cidrIp": "0.0.0.0/0"}]},
            {"ipProtocol": "tcp", "fromPort": 22, "toPort": 22,
             "ipv4Ranges": [{"cidrIp": "0.0.0.0/0" if i % 7 == 0 else "10.0.0.0/8"}]},
        ],
        "ipPermissionsEgress": [{"ipProtocol": "-1", "ipv4Ranges": [{"cidrIp": "0.0.0.0/0"}]}],
    }
    return json.dumps({"accountId": account, "awsRegion": region, "resourceId": conf["groupId"],
                       "resourceType": "AWS::EC2::SecurityGroup", "configuration": conf,
                       "tags": [{"key": "tier", "value": "web" if i % 3 == 0 else "app"}]})


def main():
    a = stand_in.stub_arguments(default_rps=50.0)
    accounts, regions, by_scope = stand_in.world(a)
    lock = threading.Lock()
    state = {"served": 0, "throttled": 0, "window": time.monotonic(), "tokens": a.rps, "max_concurrent": 0, "now": 0}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def reply(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            with lock:
                # Token bucket: `rps` tokens a second, a burst of one second's worth.
                now = time.monotonic()
                state["tokens"] = min(a.rps, state["tokens"] + (now - state["window"]) * a.rps)
                state["window"] = now
                if state["tokens"] < 1:
                    state["throttled"] += 1
                    throttled = True
                else:
                    state["tokens"] -= 1
                    state["served"] += 1
                    throttled = False
                state["now"] += 1
                state["max_concurrent"] = max(state["max_concurrent"], state["now"])
            try:
                if a.latency:
                    time.sleep(a.latency)
                if throttled:
                    return self.reply(400, {"__type": "ThrottlingException", "message": "Rate exceeded"})
                expr = body.get("Expression", "")
                token = int(body.get("NextToken") or 0)
                if "GROUP BY" in expr:
                    rows = [json.dumps({"accountId": acc, "awsRegion": reg, "COUNT(*)": len(ids)})
                            for (acc, reg), ids in by_scope.items() if ids]
                    page, size = rows[token: token + 500], 500
                    total = len(rows)
                else:
                    m = re.search(r"accountId = '([^']*)' AND awsRegion = '([^']*)'", expr)
                    ids = by_scope.get((m.group(1), m.group(2)), []) if m else []
                    size = min(int(body.get("Limit") or 25), 100)
                    page = [group(i, m.group(1), m.group(2)) for i in ids[token: token + size]]
                    total = len(ids)
                out = {"Results": page, "QueryInfo": {"SelectFields": []}}
                if token + size < total:
                    out["NextToken"] = str(token + size)
                self.reply(200, out)
            finally:
                with lock:
                    state["now"] -= 1

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.request_queue_size = 128
    with open(a.port_file, "w") as f:
        f.write(str(server.server_address[1]))

    def stop(*_):
        print(json.dumps({"served": state["served"], "throttled": state["throttled"],
                          "max_concurrent": state["max_concurrent"]}), flush=True)
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, stop)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
