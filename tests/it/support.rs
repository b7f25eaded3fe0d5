//! Test harnesses: a moto server (the local AWS emulator, from PyPI) on a free 127.0.0.1 port, a
//! minimal Lambda Runtime API that drives the real `sg-compliance-lambda` binary, and a tiny HTTP
//! client for both. Everything listens on 127.0.0.1 and is stopped when dropped.

#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// One HTTP/1.0 request; returns status and body.
pub fn http(port: u16, method: &str, path: &str, body: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        s,
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The `moto_server` of the project's virtualenv (or `SG_COMPLIANCE_MOTO_SERVER`).
fn moto_server() -> PathBuf {
    let exe = std::env::var("SG_COMPLIANCE_MOTO_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/moto_server")
        });
    assert!(
        exe.exists(),
        "moto_server not found at {}: run `make venv` (make test does), or set SG_COMPLIANCE_MOTO_SERVER",
        exe.display()
    );
    exe
}

/// A moto server process.
pub struct Moto {
    child: Child,
    pub port: u16,
    recording: PathBuf,
}

impl Moto {
    pub fn start() -> Moto {
        let exe = moto_server();
        Moto::spawn(|port| {
            let mut cmd = Command::new(&exe);
            cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdout(Stdio::null());
            cmd
        })
        .0
    }

    /// A moto server whose region already holds `groups` security groups (half tagged
    /// `tier=web`) and `lbs` load-balancer groups with ELB interfaces, seeded in moto's process by
    /// `seed_moto.py`. Returns the server and the seeder's answer: `{"expected": {id:
    /// compliance}, "lbs": [...]}` for web-tier with `tierTagKey=tier`, `tierTagValue=web`.
    pub fn start_seeded(groups: usize, lbs: usize) -> (Moto, Value) {
        let python = moto_server().with_file_name("python");
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/seed_moto.py");
        let (moto, stdout) = Moto::spawn(|port| {
            let mut cmd = Command::new(&python);
            cmd.arg(&script)
                .args([port.to_string(), groups.to_string(), lbs.to_string()])
                .stdout(Stdio::piped());
            cmd
        });
        let mut line = String::new();
        BufReader::new(stdout.expect("seeder stdout"))
            .read_line(&mut line)
            .unwrap();
        let answer = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("seed_moto.py said {line:?}: {e}"));
        (moto, answer)
    }

    /// Starts the server `command(port)` builds and waits until it answers.
    fn spawn(command: impl Fn(u16) -> Command) -> (Moto, Option<std::process::ChildStdout>) {
        let port = free_port();
        // Each server records to its own file: the default path is shared by parallel tests.
        let recording = std::env::temp_dir().join(format!(
            "sg-compliance-moto-{}-{port}.rec",
            std::process::id()
        ));
        let mut child = command(port)
            .env("MOTO_RECORDER_FILEPATH", &recording)
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start moto: {e}"));
        let stdout = child.stdout.take();
        let moto = Moto {
            child,
            port,
            recording,
        };
        let start = Instant::now();
        while http(port, "GET", "/moto-api/data.json", "")
            .map(|(s, _)| s != 200)
            .unwrap_or(true)
        {
            assert!(
                start.elapsed() < Duration::from_secs(300),
                "moto did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        (moto, stdout)
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn start_recording(&self) {
        assert_eq!(
            http(self.port, "POST", "/moto-api/recorder/reset-recording", "")
                .unwrap()
                .0,
            200
        );
        assert_eq!(
            http(self.port, "POST", "/moto-api/recorder/start-recording", "")
                .unwrap()
                .0,
            200
        );
    }

    /// The requests moto received since `start_recording`, as JSON objects.
    pub fn recording(&self) -> Vec<Value> {
        http(self.port, "POST", "/moto-api/recorder/stop-recording", "").unwrap();
        let (status, body) = http(
            self.port,
            "GET",
            "/moto-api/recorder/download-recording",
            "",
        )
        .unwrap();
        assert_eq!(status, 200, "{body}");
        // One JSON object per request; requests served at the same time can share a line.
        serde_json::Deserializer::from_str(&body)
            .into_iter::<Value>()
            .map(|r| r.unwrap_or_else(|e| panic!("moto's recording is not JSON: {e}")))
            .collect()
    }

    /// The `sg-compliance` binary with this server as its AWS endpoint (dummy credentials, no
    /// retries, no profile), run to completion.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_sg-compliance"))
            .args(args)
            .env("AWS_ENDPOINT_URL", self.endpoint())
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_MAX_ATTEMPTS", "1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_PROFILE")
            .output()
            .unwrap()
    }

    /// An SDK configuration pointing at this server with dummy credentials and no retries.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(self.endpoint())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_ec2::config::Credentials::new(
                "testing", "testing", None, None, "test",
            ))
            .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
            .load()
            .await
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.recording);
    }
}

/// The body of a recorded request as text (decoding base64 bodies).
pub fn body_text(req: &Value) -> String {
    let body = req["body"].as_str().unwrap_or_default();
    if req["body_encoded"].as_bool().unwrap_or(false) {
        base64_decode(body)
    } else {
        body.to_string()
    }
}

fn base64_decode(s: &str) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut buf, mut bits) = (0u32, 0);
    for c in s.bytes().filter(|c| *c != b'=' && !c.is_ascii_whitespace()) {
        let Some(v) = T.iter().position(|t| *t == c) else {
            continue;
        };
        buf = (buf << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
        }
    }
    String::from_utf8_lossy(&out).to_string()
}

/// The `X-Amz-Target` (JSON protocols) or `Action` (query protocols) of a recorded request.
pub fn operation(req: &Value) -> String {
    let headers = &req["headers"];
    if let Some(target) = headers.as_object().and_then(|h| {
        h.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("x-amz-target"))
            .and_then(|(_, v)| v.as_str())
    }) {
        return target.rsplit('.').next().unwrap_or_default().to_string();
    }
    body_text(req)
        .split('&')
        .find_map(|kv| kv.strip_prefix("Action="))
        .unwrap_or_default()
        .to_string()
}

pub fn header<'a>(req: &'a Value, name: &str) -> Option<&'a str> {
    req["headers"]
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))?
        .1
        .as_str()
}

/// The evaluations of every recorded `PutEvaluations` call, and the calls' bodies.
pub fn put_evaluations(recording: &[Value]) -> (Vec<Value>, Vec<Value>) {
    let calls: Vec<Value> = recording
        .iter()
        .filter(|r| operation(r) == "PutEvaluations")
        .map(|r| serde_json::from_str(&body_text(r)).unwrap())
        .collect();
    let evals = calls
        .iter()
        .flat_map(|c| c["Evaluations"].as_array().cloned().unwrap_or_default())
        .collect();
    (evals, calls)
}

type Queue = Arc<(Mutex<VecDeque<(String, String)>>, Condvar)>;
type Results = Arc<(Mutex<HashMap<String, (String, String)>>, Condvar)>;

/// A minimal Lambda Runtime API (`/2018-06-01/runtime/...`) serving queued events.
pub struct RuntimeApi {
    pub port: u16,
    queue: Queue,
    results: Results,
    next_id: Mutex<u64>,
}

impl RuntimeApi {
    pub fn start() -> RuntimeApi {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let queue: Queue = Arc::new((Mutex::new(VecDeque::new()), Condvar::new()));
        let results: Results = Arc::new((Mutex::new(HashMap::new()), Condvar::new()));
        let (q, r) = (queue.clone(), results.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let (q, r) = (q.clone(), r.clone());
                std::thread::spawn(move || serve(conn, q, r));
            }
        });
        RuntimeApi {
            port,
            queue,
            results,
            next_id: Mutex::new(0),
        }
    }

    /// Queues an event and waits for the function's answer: ("response" | "error", body).
    pub fn invoke(&self, event: &Value, timeout: Duration) -> (String, Value) {
        let id = {
            let mut n = self.next_id.lock().unwrap();
            *n += 1;
            format!("req-{n}")
        };
        let (lock, cv) = &*self.queue;
        lock.lock()
            .unwrap()
            .push_back((id.clone(), event.to_string()));
        cv.notify_all();
        let (lock, cv) = &*self.results;
        let deadline = Instant::now() + timeout;
        let mut results = lock.lock().unwrap();
        loop {
            if let Some((kind, body)) = results.remove(&id) {
                return (
                    kind,
                    serde_json::from_str(&body).unwrap_or(Value::String(body)),
                );
            }
            if let Some((kind, body)) = results.remove("init") {
                panic!("the function failed to initialise ({kind}): {body}");
            }
            let left = deadline
                .checked_duration_since(Instant::now())
                .unwrap_or_else(|| panic!("no answer to {id} in {timeout:?}"));
            results = cv.wait_timeout(results, left).unwrap().0;
        }
    }
}

fn serve(conn: TcpStream, queue: Queue, results: Results) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut conn = conn;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, path) = (
            parts.next().unwrap_or("").to_string(),
            parts.next().unwrap_or("").to_string(),
        );
        let mut length = 0usize;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            if h == "\r\n" || h == "\n" {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let body = String::from_utf8_lossy(&body).to_string();
        let reply = if method == "GET" && path.ends_with("/runtime/invocation/next") {
            let (lock, cv) = &*queue;
            let mut q = lock.lock().unwrap();
            let (id, event) = loop {
                if let Some(item) = q.pop_front() {
                    break item;
                }
                q = cv.wait(q).unwrap();
            };
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis()
                + 300_000;
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: {id}\r\nLambda-Runtime-Deadline-Ms: {deadline}\r\nLambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:sg-compliance\r\nContent-Length: {}\r\n\r\n{event}",
                event.len()
            )
        } else {
            let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
            let (key, kind) = match segs.as_slice() {
                [_, "runtime", "invocation", id, kind] => (id.to_string(), kind.to_string()),
                [_, "runtime", "init", "error"] => ("init".to_string(), "error".to_string()),
                _ => ("unknown".to_string(), path.clone()),
            };
            let (lock, cv) = &*results;
            lock.lock().unwrap().insert(key, (kind, body));
            cv.notify_all();
            "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n{\"status\":\"OK\"}\n".to_string()
        };
        if conn.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

/// The real Lambda binary, running against a runtime API and a moto server.
pub struct Function {
    child: Child,
    pub api: RuntimeApi,
    log: PathBuf,
}

impl Function {
    /// The rule function (`sg-compliance-lambda`).
    pub fn start(moto: &Moto, extra_env: &[(&str, &str)]) -> Function {
        Function::start_binary(moto, env!("CARGO_BIN_EXE_sg-compliance-lambda"), extra_env)
    }

    /// Any of the crate's Lambda binaries.
    pub fn start_binary(moto: &Moto, exe: &str, extra_env: &[(&str, &str)]) -> Function {
        let api = RuntimeApi::start();
        let log = std::env::temp_dir().join(format!(
            "sg-compliance-lambda-{}-{}.log",
            std::process::id(),
            api.port
        ));
        let mut cmd = Command::new(exe);
        for var in [
            "AWS_PROFILE",
            "AWS_CONFIG_FILE",
            "AWS_SHARED_CREDENTIALS_FILE",
            "AWS_SESSION_TOKEN",
            "SG_COMPLIANCE_ASSUME_ROLE",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{}", api.port))
            .env("AWS_LAMBDA_FUNCTION_NAME", "sg-compliance")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .env("AWS_LAMBDA_LOG_LEVEL", "DEBUG")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_ENDPOINT_URL", moto.endpoint())
            .env("AWS_MAX_ATTEMPTS", "1")
            .env("AWS_EC2_METADATA_DISABLED", "true");
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let child = cmd
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        Function { child, api, log }
    }

    pub fn invoke(&self, event: &Value) -> (String, Value) {
        self.api.invoke(event, Duration::from_secs(120))
    }

    /// The function's log lines so far (JSON objects).
    pub fn logs(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| {
                serde_json::from_str(l).unwrap_or_else(|_| panic!("log line is not JSON: {l}"))
            })
            .collect()
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// A VPC (10.0.0.0/16) in moto; returns its id.
pub async fn vpc(ec2: &aws_sdk_ec2::Client) -> String {
    let out = ec2
        .create_vpc()
        .cidr_block("10.0.0.0/16")
        .send()
        .await
        .unwrap();
    out.vpc().unwrap().vpc_id().unwrap().to_string()
}

/// A security group in `vpc`, tagged `tier=web` when `web` is set; returns its id.
pub async fn security_group(ec2: &aws_sdk_ec2::Client, vpc: &str, name: &str, web: bool) -> String {
    use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};
    let mut req = ec2
        .create_security_group()
        .group_name(name)
        .description(name)
        .vpc_id(vpc);
    if web {
        req = req.tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::SecurityGroup)
                .tags(Tag::builder().key("tier").value("web").build())
                .build(),
        );
    }
    req.send().await.unwrap().group_id().unwrap().to_string()
}

/// Authorizes `perms` on `group`.
pub async fn allow(
    ec2: &aws_sdk_ec2::Client,
    group: &str,
    perms: Vec<aws_sdk_ec2::types::IpPermission>,
) {
    ec2.authorize_security_group_ingress()
        .group_id(group)
        .set_ip_permissions(Some(perms))
        .send()
        .await
        .unwrap();
}

/// `tcp from-to` from `cidr`.
pub fn tcp_from(from: i32, to: i32, cidr: &str) -> aws_sdk_ec2::types::IpPermission {
    aws_sdk_ec2::types::IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(from)
        .to_port(to)
        .ip_ranges(aws_sdk_ec2::types::IpRange::builder().cidr_ip(cidr).build())
        .build()
}

/// An internet-facing network load balancer `edge` in `subnet`, forwarding tcp/22 (listener and
/// target group `ssh`) to `instance`.
pub async fn internet_facing_nlb_target(
    base: &aws_config::SdkConfig,
    vpc: &str,
    subnet: &str,
    instance: &str,
) {
    use aws_sdk_elasticloadbalancingv2::types::{
        Action, ActionTypeEnum, LoadBalancerSchemeEnum, LoadBalancerTypeEnum, ProtocolEnum,
        TargetDescription,
    };
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(base);
    let lb = elb
        .create_load_balancer()
        .name("edge")
        .r#type(LoadBalancerTypeEnum::Network)
        .scheme(LoadBalancerSchemeEnum::InternetFacing)
        .subnets(subnet)
        .send()
        .await
        .unwrap();
    let lb = lb.load_balancers()[0]
        .load_balancer_arn()
        .unwrap()
        .to_string();
    let tg = elb
        .create_target_group()
        .name("ssh")
        .protocol(ProtocolEnum::Tcp)
        .port(22)
        .vpc_id(vpc)
        .send()
        .await
        .unwrap();
    let tg = tg.target_groups()[0]
        .target_group_arn()
        .unwrap()
        .to_string();
    elb.create_listener()
        .load_balancer_arn(&lb)
        .protocol(ProtocolEnum::Tcp)
        .port(22)
        .default_actions(
            Action::builder()
                .r#type(ActionTypeEnum::Forward)
                .target_group_arn(&tg)
                .build(),
        )
        .send()
        .await
        .unwrap();
    elb.register_targets()
        .target_group_arn(&tg)
        .targets(TargetDescription::builder().id(instance).build())
        .send()
        .await
        .unwrap();
}

/// A property test's case count: `PROPTEST_CASES` when set (a longer run), else the test's own.
pub fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
