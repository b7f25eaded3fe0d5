"""What the stand-in benches share: start a stand-in (bench/*_stub.py) on a port it chooses, run the
command against it measuring wall time and resource usage, stop the stand-in and read its summary."""
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REGIONS = ["eu-west-1", "us-east-1", "ap-southeast-2", "sa-east-1", "eu-central-1", "us-west-2"]
FIRST_ACCOUNT = 100000000000


def stub_arguments(default_rps):
    """A stand-in's command line: PORT_FILE --groups --accounts --regions --rps --latency."""
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("port_file")
    ap.add_argument("--groups", type=int, default=1000)
    ap.add_argument("--accounts", type=int, default=2)
    ap.add_argument("--regions", type=int, default=2)
    ap.add_argument("--rps", type=float, default=default_rps)
    ap.add_argument("--latency", type=float, default=0.0)
    return ap.parse_args()


def bench_arguments(default_rps):
    """A bench's command line: SG_COMPLIANCE_BINARY --groups --accounts --regions --rps --latency."""
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--groups", type=int, default=100_000)
    ap.add_argument("--accounts", type=int, default=50)
    ap.add_argument("--regions", type=int, default=4)
    ap.add_argument("--rps", type=float, default=default_rps)
    ap.add_argument("--latency", type=float, default=0.05)
    return ap.parse_args()


def world(a):
    """The accounts, the regions, and the group numbers of each (account, region), dealt in turn."""
    accounts = [f"{FIRST_ACCOUNT + k:012d}" for k in range(a.accounts)]
    regions = REGIONS[: a.regions]
    scopes = [(acc, reg) for acc in accounts for reg in regions]
    by_scope = {s: [] for s in scopes}
    for i in range(a.groups):
        by_scope[scopes[i % len(scopes)]].append(i)
    return accounts, regions, by_scope


def start(script, a):
    """The stand-in `script` with the bench's --groups, --accounts, --regions, --rps, --latency."""
    port_file = tempfile.mktemp(prefix="sg-bench-port-")
    stub = subprocess.Popen(
        [sys.executable, os.path.join(HERE, script), port_file, "--groups", str(a.groups),
         "--accounts", str(a.accounts), "--regions", str(a.regions), "--rps", str(a.rps), "--latency", str(a.latency)],
        stdout=subprocess.PIPE, text=True)
    for _ in range(400):
        if os.path.exists(port_file) and open(port_file).read():
            break
        time.sleep(0.025)
    port = open(port_file).read()
    os.remove(port_file)
    return stub, port


def run(command, env):
    """Runs the command; returns (exit code, wall seconds, its rusage)."""
    start_time = time.time()
    proc = subprocess.Popen(command, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    run.span = (start_time, time.time())
    return os.waitstatus_to_exitcode(status), run.span[1] - start_time, usage


def stop(stub):
    """SIGTERM; the stand-in's JSON summary of what it served."""
    stub.terminate()
    return json.loads(stub.communicate()[0].strip() or "{}")


def rows_of(path):
    """How many rows the JSON report at `path` holds (0 if there is none); removes it."""
    if not os.path.exists(path):
        return 0
    with open(path) as f:
        rows = len(json.load(f))
    os.remove(path)
    return rows
