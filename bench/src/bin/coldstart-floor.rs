//! The cold-start floor for `bench/coldstart.py`: a process that does only what the rule function
//! must do on the wire, with the standard library and nothing else. It takes the event from the
//! Lambda Runtime API, sends one fixed `PutEvaluations` to the endpoint in `AWS_ENDPOINT_URL`
//! (plain HTTP: moto) and posts the answer back. No SDK, no TLS, no JSON parsing, no signing (moto
//! does not check signatures). With `SG_COMPLIANCE_WARMUP` unset or not `false` it first makes the
//! warm-up's `GetResourceConfigHistory` call, as the function's init does.
//!
//! No time in the rule function can be below this: it is the cost of spawning a process and of the
//! three (four) HTTP exchanges, most of which is moto's and the runtime API's.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;

/// An HTTP answer: the status code, the headers (lowercase names) and the body.
type Answer = (u16, Vec<(String, String)>, Vec<u8>);

/// One request on a new connection.
fn exchange(addr: &str, request: &[u8]) -> std::io::Result<Answer> {
    let mut stream = TcpStream::connect(addr)?;
    stream.write_all(request)?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok((status, headers, body))
}

/// A `POST /` of the JSON protocol Config speaks.
fn config_call(endpoint: &str, target: &str, body: &str) -> std::io::Result<(u16, Vec<u8>)> {
    let request = format!(
        "POST / HTTP/1.1\r\nhost: {endpoint}\r\ncontent-type: application/x-amz-json-1.1\r\n\
         x-amz-target: StarlingDoveService.{target}\r\n\
         authorization: AWS4-HMAC-SHA256 Credential=testing/20261202/us-east-1/config/aws4_request, \
         SignedHeaders=content-type;host, Signature=0\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let (status, _, body) = exchange(endpoint, request.as_bytes())?;
    Ok((status, body))
}

fn run() -> Result<(), String> {
    let var = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
    let api = var("AWS_LAMBDA_RUNTIME_API")?;
    let endpoint = var("AWS_ENDPOINT_URL")?;
    let endpoint = endpoint
        .strip_prefix("http://")
        .ok_or("AWS_ENDPOINT_URL must be http://")?
        .trim_end_matches('/')
        .to_string();
    let io = |e: std::io::Error| e.to_string();
    if std::env::var("SG_COMPLIANCE_WARMUP").map_or(true, |v| v != "false") {
        // Its answer does not matter, as in the function's warm-up.
        config_call(
            &endpoint,
            "GetResourceConfigHistory",
            r#"{"resourceType":"AWS::EC2::SecurityGroup","resourceId":"sg-00000000","limit":1}"#,
        )
        .map_err(io)?;
    }
    let next = format!("GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nhost: {api}\r\n\r\n");
    let (_, headers, event) = exchange(&api, next.as_bytes()).map_err(io)?;
    let request_id = headers
        .iter()
        .find(|(n, _)| n == "lambda-runtime-aws-request-id")
        .map(|(_, v)| v.clone())
        .ok_or("no request id from the runtime API")?;
    let evaluations = r#"{"Evaluations":[{"ComplianceResourceType":"AWS::EC2::SecurityGroup","ComplianceResourceId":"sg-0123456789abcdef0","ComplianceType":"COMPLIANT","Annotation":"floor","OrderingTimestamp":1795253412.418}],"ResultToken":"TESTMODE","TestMode":true}"#;
    let (status, answer) = config_call(&endpoint, "PutEvaluations", evaluations).map_err(io)?;
    let (kind, body) = if status == 200 {
        ("response", format!("{{\"event\":{}}}", event.len()))
    } else {
        (
            "error",
            format!(
                "{{\"errorType\":\"PutEvaluations\",\"errorMessage\":{:?}}}",
                String::from_utf8_lossy(&answer)
            ),
        )
    };
    let post = format!(
        "POST /2018-06-01/runtime/invocation/{request_id}/{kind} HTTP/1.1\r\nhost: {api}\r\n\
         content-length: {}\r\n\r\n{body}",
        body.len()
    );
    exchange(&api, post.as_bytes()).map_err(io)?;
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("coldstart-floor: {e}");
            ExitCode::FAILURE
        }
    }
}
