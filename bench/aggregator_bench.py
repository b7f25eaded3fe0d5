#!/usr/bin/env python3
"""`audit --aggregator` at the API's limit: the real binary against bench/aggregator_stub.py serving
100,000 groups over 50 accounts x 4 regions with a latency per request and a request-rate limit.
Reports the wall time against the stand-in's own limit (requests / allowed requests a second) and
the peak RSS. Targets: within 1.3x of that limit, under 150 MB.

Usage: aggregator_bench.py SG_COMPLIANCE_BINARY [--groups N] [--rps R] [--latency S]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--groups", type=int, default=100_000)
    ap.add_argument("--accounts", type=int, default=50)
    ap.add_argument("--regions", type=int, default=4)
    ap.add_argument("--rps", type=float, default=50.0)
    ap.add_argument("--latency", type=float, default=0.05)
    a = ap.parse_args()
    port_file = tempfile.mktemp(prefix="sg-agg-bench-port-")
    stub = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "aggregator_stub.py"), port_file, "--groups", str(a.groups),
         "--accounts", str(a.accounts), "--regions", str(a.regions), "--rps", str(a.rps), "--latency", str(a.latency)],
        stdout=subprocess.PIPE, text=True)
    for _ in range(400):
        if os.path.exists(port_file) and open(port_file).read():
            break
        time.sleep(0.025)
    port = open(port_file).read()
    env = dict(os.environ, AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}", AWS_ACCESS_KEY_ID="testing",
               AWS_SECRET_ACCESS_KEY="testing", AWS_REGION="us-east-1", SG_COMPLIANCE_AGGREGATOR_RPS=str(a.rps))
    out = tempfile.mktemp(prefix="sg-agg-bench-", suffix=".json")
    start = time.monotonic()
    proc = subprocess.Popen([a.binary, "audit", "--aggregator", "org", "--check", "public-ingress", "--param",
                             "blockedTcpPorts=22", "--format", "json", "--output", out], env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    stub.terminate()
    served = json.loads(stub.communicate()[0].strip() or "{}")
    os.remove(port_file)
    rows = len(json.load(open(out)))
    os.remove(out)
    code = os.waitstatus_to_exitcode(status)
    requests = served.get("served", 0)
    floor = max(requests - 1, 1) / a.rps
    peak_mb = usage.ru_maxrss / 1024
    ratio = wall / floor
    print(f"aggregator audit: {a.groups} groups over {a.accounts} accounts x {a.regions} regions, "
          f"stand-in {a.rps:g} requests/s, {a.latency * 1000:.0f} ms a request")
    print(f"  {requests} requests ({served.get('throttled', 0)} throttled, at most {served.get('max_concurrent')} at once), "
          f"{rows} rows, exit {code}")
    ok_time = ratio <= 1.3
    ok_mem = peak_mb < 150
    print(f"  wall {wall:.1f} s against the limit's {floor:.1f} s: {ratio:.2f}x (target 1.3x) {'PASS' if ok_time else 'UNDER'}")
    print(f"  peak RSS {peak_mb:.0f} MB (target 150 MB) {'PASS' if ok_mem else 'UNDER'}")
    if rows != a.groups or code != 1:
        print("  wrong result: every group must be judged once, some non-compliant")
        return 1
    return 0 if ok_time and ok_mem else 1


if __name__ == "__main__":
    sys.exit(main())
