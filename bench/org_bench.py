#!/usr/bin/env python3
"""`audit --org` at the API's limit: the real binary against bench/org_stub.py (Organizations, STS,
EC2 and ELBv2 on 127.0.0.1) serving 100,000 groups over 50 accounts x 4 regions, with a latency per
request and EC2's per-account request-rate limit. Reports the wall time against the stand-in's own
limit and the peak RSS. Targets: within 1.3x of that limit, under 150 MB.

On this machine the CPU is the binding limit: EC2's per-account rate is far above what one account's
few requests need, so the floor is the larger of the request floor and the CPU both processes spend
(the debug build's XML parsing and judging, the stand-in's XML writing) spread over the cores.

The limit: each account's EC2 and ELBv2 requests at its rate, every account at once (the floor
of any client: max over accounts of requests / rate), and no account's chain of dependent requests
faster than the latency allows (ListAccounts pages, then AssumeRole, then each region's requests).

Usage: org_bench.py SG_COMPLIANCE_BINARY [--groups N] [--accounts A] [--regions R] [--rps R] [--latency S]
"""
import resource
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stand_in  # noqa: E402


def main():
    a = stand_in.bench_arguments(default_rps=20.0)
    stub, port = stand_in.start("org_stub.py", a)
    env = dict(os.environ, AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}", AWS_ACCESS_KEY_ID="testing",
               AWS_SECRET_ACCESS_KEY="testing", AWS_REGION="us-east-1")
    env.pop("AWS_SESSION_TOKEN", None)
    out = tempfile.mktemp(prefix="sg-org-bench-", suffix=".json")
    code, wall, usage = stand_in.run([a.binary, "audit", "--org", "--regions", ",".join(stand_in.REGIONS[: a.regions]),
                             "--check", "public-ingress", "--param", "blockedTcpPorts=22",
                             "--format", "json", "--output", out], env)
    served = stand_in.stop(stub)
    rows = stand_in.rows_of(out)
    requests = served.get("served", 0)
    per_account = served.get("max_per_account", 0)
    chain = per_account / a.regions * a.latency
    pages = -(-a.accounts // 20)
    request_floor = max(per_account / a.rps, (pages + 2) * a.latency + chain)
    # Both processes share this machine's cores: the CPU they spend is a floor too.
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime
    stub_cpu = children.ru_utime + children.ru_stime - cpu
    cpu_floor = (cpu + stub_cpu) / (os.cpu_count() or 1)
    floor = max(request_floor, cpu_floor)
    peak_mb = usage.ru_maxrss / 1024
    ratio = wall / floor
    print(f"organization audit: {a.groups} groups over {a.accounts} accounts x {a.regions} regions, "
          f"stand-in {a.rps:g} requests/s per account, {a.latency * 1000:.0f} ms a request")
    print(f"  {requests} requests ({served.get('throttled', 0)} throttled, at most {served.get('max_concurrent')} at once, "
          f"{per_account} to the busiest account), {rows} rows, exit {code}")
    if served.get("unknown"):
        print(f"  requests the stand-in does not serve: {served['unknown']}")
    ok_time = ratio <= 1.3
    ok_mem = peak_mb < 150
    print(f"  wall {wall:.1f} s against the limit's {floor:.1f} s: {ratio:.2f}x (target 1.3x) {'PASS' if ok_time else 'UNDER'}")
    print(f"  limits: requests {request_floor:.1f} s (every account at its rate at once, its dependent requests "
          f"in series); CPU {cpu_floor:.1f} s (the command's {cpu:.1f} s and the stand-in's {stub_cpu:.1f} s on "
          f"{os.cpu_count()} cores)")
    print(f"  peak RSS {peak_mb:.0f} MB (target 150 MB) {'PASS' if ok_mem else 'UNDER'}")
    if rows != a.groups or code != 1:
        print("  wrong result: every group must be judged once, some non-compliant")
        return 1
    return 0 if ok_time and ok_mem else 1


if __name__ == "__main__":
    sys.exit(main())
