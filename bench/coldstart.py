#!/usr/bin/env python3
"""Cold start, as `make bench` measures it: a process is spawned under a local Lambda Runtime API
and timed from spawn to its response to one change event, which makes one PutEvaluations call to
a moto server (TESTMODE). The Rust function (release build) with and without its init warm-up,
and the Python peer (bench/peer_handler.py) under awslambdaric, in the same run, each in the
environment Lambda gives a function (its variables, not this shell's).

The floor (`--floor`, bench/src/bin/coldstart-floor.rs): a standard-library-only process making
the same HTTP exchanges (and the warm-up's call, with it on). No function can start faster here, so
Python's time over the floor's is the highest ratio this machine can show.

The trust store: rustls-native-certs reads the bundle file *and* every file of /etc/ssl/certs. On a
Debian machine that is about 145 more files holding the same certificates; Amazon Linux 2023 follows
Red Hat's layout, bundles only. One more variant runs the function with the bundle alone, to show
that part.

Also the deployment size: the binary and the `bootstrap.zip` Lambda would get (deflated, as
cargo-lambda packs it).

Usage: coldstart.py RUST_BINARY|bootstrap.zip MOTO_SERVER [RUNS] [--floor FLOOR_BINARY]
  -> one line per variant (median, min and max ms; the median CPU time the process used), the
ratios and the sizes; exit 1 when the Rust function is not at most 1/20 of Python or the zip is not
under 4 MB.
"""
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
ACCOUNT = "123456789012"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def change_event():
    conf = {
        "groupId": "sg-0123456789abcdef0", "groupName": "web", "vpcId": "vpc-1", "ownerId": ACCOUNT,
        "tags": [{"key": "tier", "value": "web"}],
        "ipPermissions": [{"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "ipRanges": [],
                           "ipv4Ranges": [], "ipv6Ranges": [], "prefixListIds": [],
                           "userIdGroupPairs": [{"groupId": "sg-0fedcba9876543210", "userId": ACCOUNT}]}],
        "ipPermissionsEgress": [],
    }
    item = {
        "configurationItemVersion": "1.3", "configurationItemCaptureTime": "2026-11-21T09:30:12.418Z",
        "configurationItemStatus": "OK", "awsAccountId": ACCOUNT, "resourceType": "AWS::EC2::SecurityGroup",
        "resourceId": conf["groupId"], "awsRegion": "us-east-1", "tags": {"tier": "web"},
        "configuration": conf, "relationships": [], "supplementaryConfiguration": {},
    }
    invoking = {"configurationItem": item, "messageType": "ConfigurationItemChangeNotification",
                "notificationCreationTime": "2026-11-21T10:00:01.000Z", "recordVersion": "1.3"}
    params = {"tierTagKey": "tier", "tierTagValue": "web", "loadBalancerSecurityGroupIds": "sg-0fedcba9876543210"}
    return {"version": "1.0", "invokingEvent": json.dumps(invoking), "ruleParameters": json.dumps(params),
            "resultToken": "TESTMODE", "eventLeftScope": False, "configRuleName": "web-tier", "accountId": ACCOUNT}


class RuntimeApi(ThreadingHTTPServer):
    """Serves one event per spawned process and notes when its answer arrives."""
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.event = json.dumps(change_event()).encode()
        self.done = threading.Event()
        self.answer = None
        self.answered_at = None
        self.asked_at = None
        self.seq = 0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def handle(self):
        try:
            super().handle()
        except ConnectionError:
            pass  # the timed process is killed once it has answered

    def reply(self, status, body=b"{}", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path.endswith("/runtime/invocation/next"):
            if self.server.done.is_set():
                time.sleep(3600)  # one event per process; it is killed after answering
            self.server.asked_at = time.perf_counter()  # init is over
            self.server.seq += 1
            self.reply(200, self.server.event, [
                ("Content-Type", "application/json"),  # awslambdaric's client spins without it
                ("Lambda-Runtime-Aws-Request-Id", f"req-{self.server.seq}"),
                ("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 60_000)),
                ("Lambda-Runtime-Invoked-Function-Arn", f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:sg"),
                ("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000"),
            ])
        else:
            self.reply(404)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        self.reply(202)
        if "/invocation/" in self.path or self.path.endswith("/init/error"):
            self.server.answered_at = time.perf_counter()
            self.server.answer = (self.path.rsplit("/", 1)[-1], body)
            self.server.done.set()


def spawn_and_time(cmd, env, cwd=None):
    api = RuntimeApi()
    threading.Thread(target=api.serve_forever, daemon=True).start()
    env = dict(env, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{api.server_address[1]}")
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not api.done.wait(60):
            raise SystemExit(f"coldstart: {cmd[0]} did not answer within 60 s")
    finally:
        os.kill(proc.pid, signal.SIGKILL)  # not proc.kill(): it would reap a process that has exited
        _, status, usage = os.wait4(proc.pid, 0)  # the CPU time it used (idle once it has answered)
        proc.returncode = status
        api.shutdown()
        api.server_close()
    kind, body = api.answer
    if kind != "response":
        raise SystemExit(f"coldstart: {' '.join(cmd)} failed: {body[:300]!r}")
    cpu = (usage.ru_utime + usage.ru_stime) * 1000
    return (api.answered_at - start) * 1000, (api.asked_at - start) * 1000, cpu


def unpack(package):
    """The `bootstrap` of a deployment zip, extracted to a temporary directory, and the zip's size."""
    import tempfile
    unpacked = tempfile.mkdtemp(prefix="sg-compliance-bench-")
    with zipfile.ZipFile(package) as z:
        z.extract("bootstrap", unpacked)
    binary = os.path.join(unpacked, "bootstrap")
    os.chmod(binary, 0o755)
    return binary, os.path.getsize(package)


def zipped_size(binary):
    """The size of `bootstrap.zip` holding the binary as `bootstrap`."""
    import io
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(binary, "bootstrap")
    return len(buf.getvalue())


# Where openssl-probe (and so rustls-native-certs) looks for a bundle file on Linux, in its order.
BUNDLES = ["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
           "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/ca-bundle.pem", "/etc/pki/tls/cacert.pem",
           "/etc/ssl/cert.pem"]


def lambda_environment(port):
    """The variables Lambda sets for a function (none of this shell's), for the local endpoint."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "en_US.UTF-8", "TZ": ":UTC",
        "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_LAMBDA_FUNCTION_NAME": "sg-compliance", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "INFO",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand", "LAMBDA_TASK_ROOT": HERE,
    }


def main():
    args = sys.argv[1:]
    floor = None
    if "--floor" in args:
        i = args.index("--floor")
        floor = os.path.abspath(args[i + 1])
        del args[i:i + 2]
    rust, moto_server = (os.path.abspath(a) for a in args[0:2])
    if rust.endswith(".zip"):  # the deployment package itself: run the bootstrap inside it
        rust, packed = unpack(rust)
    else:
        packed = zipped_size(rust)
    size = os.path.getsize(rust)
    small = packed < 4 * 1024 * 1024
    print(f"deployment size: binary {size / 1048576:.1f} MB, bootstrap.zip {packed / 1048576:.2f} MB "
          f"(target under 4 MB) {'ok' if small else 'OVER'}")
    runs = int(args[2]) if len(args) > 2 else 30
    port = free_port()
    moto = subprocess.Popen([moto_server, "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/data.json", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        base = lambda_environment(port)
        no_warm_up = dict(base, SG_COMPLIANCE_WARMUP="false")
        python = os.path.join(os.path.dirname(moto_server), "python")
        variants = [
            ("rust, warm-up at init", [rust], base),
            ("rust, no warm-up", [rust], no_warm_up),
            ("python peer under awslambdaric", [python, "-m", "awslambdaric", "peer_handler.handler"],
             dict(base, PYTHONPATH=HERE, _HANDLER="peer_handler.handler")),
        ]
        bundle = next((b for b in BUNDLES if os.path.isfile(b)), None)
        if bundle:
            import tempfile
            variants.append(("rust, no warm-up, bundle only", [rust],
                             dict(no_warm_up, SSL_CERT_FILE=bundle, SSL_CERT_DIR=tempfile.mkdtemp())))
        if floor:
            variants += [("floor, warm-up call", [floor], base), ("floor", [floor], no_warm_up)]
        times = {name: [] for name, _, _ in variants}
        inits = {name: [] for name, _, _ in variants}
        cpus = {name: [] for name, _, _ in variants}
        for i in range(runs + 1):  # interleaved; the first round warms the page cache and is dropped
            for name, cmd, env in variants:
                took, init, cpu = spawn_and_time(cmd, env, cwd=HERE)
                if i:
                    times[name].append(took)
                    inits[name].append(init)
                    cpus[name].append(cpu)
        medians = {}
        cpu = {}
        for name, _, _ in variants:
            t = times[name]
            medians[name] = statistics.median(t)
            cpu[name] = statistics.median(cpus[name])
            print(f"cold start to first response: {name:<32} median {medians[name]:7.1f} ms "
                  f"(min {min(t):.1f}, max {max(t):.1f}; init {statistics.median(inits[name]):.1f} ms; "
                  f"CPU {cpu[name]:.1f} ms; {len(t)} runs)")
        py = medians["python peer under awslambdaric"]
        ratio = py / medians["rust, warm-up at init"]
        ok = ratio >= 20
        print(f"cold start: python / rust = {ratio:.1f}x with the warm-up, "
              f"{py / medians['rust, no warm-up']:.1f}x without (target at least 20x) {'ok' if ok else 'UNDER'}")
        print(f"cold start: CPU time (each process's own, no waiting on moto or the runtime API), python / rust = "
              f"{cpu['python peer under awslambdaric'] / cpu['rust, warm-up at init']:.1f}x with the warm-up, "
              f"{cpu['python peer under awslambdaric'] / cpu['rust, no warm-up']:.1f}x without")
        if floor:
            fw, f0 = medians["floor, warm-up call"], medians["floor"]
            print(f"cold start: python / floor = {py / fw:.1f}x with the warm-up call, {py / f0:.1f}x without "
                  f"(the most any function could show here); rust above the floor: "
                  f"+{medians['rust, warm-up at init'] - fw:.1f} ms with the warm-up, "
                  f"+{medians['rust, no warm-up'] - f0:.1f} ms without")
        if bundle:
            print(f"cold start: this machine's trust store beyond the bundle costs "
                  f"{medians['rust, no warm-up'] - medians['rust, no warm-up, bundle only']:+.1f} ms")
        return 0 if ok and small else 1
    finally:
        moto.kill()
        moto.wait()


if __name__ == "__main__":
    sys.exit(main())
