#!/usr/bin/env python3
"""`audit --aggregator` at the API's limit: the real binary against bench/aggregator_stub.py serving
100,000 groups over 50 accounts x 4 regions with a latency per request and a request-rate limit.
Reports the wall time against the stand-in's own limit (requests / allowed requests a second) and
the peak RSS. Targets: within 1.3x of that limit, under 150 MB.

Usage: aggregator_bench.py SG_COMPLIANCE_BINARY [--groups N] [--rps R] [--latency S]
"""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stand_in  # noqa: E402


def main():
    a = stand_in.bench_arguments(default_rps=50.0)
    stub, port = stand_in.start("aggregator_stub.py", a)
    env = dict(os.environ, AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}", AWS_ACCESS_KEY_ID="testing",
               AWS_SECRET_ACCESS_KEY="testing", AWS_REGION="us-east-1", SG_COMPLIANCE_AGGREGATOR_RPS=str(a.rps))
    out = tempfile.mktemp(prefix="sg-agg-bench-", suffix=".json")
    code, wall, usage = stand_in.run([a.binary, "audit", "--aggregator", "org", "--check", "public-ingress", "--param",
                             "blockedTcpPorts=22", "--format", "json", "--output", out], env)
    served = stand_in.stop(stub)
    rows = stand_in.rows_of(out)
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
