//! `sg-compliance-remediate`: the Config auto-remediation function (provided.al2023), invoked by
//! the SSM Automation document with `{"groupId", "ruleParameters", "dryRun"}`.

use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde_json::Value;
use sg_compliance::lambda::RemediationHandler;

/// The same allocator as the command (see Cargo.toml).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// One thread: a function gets at most one vCPU below 1,769 MB, and every AWS call is awaited
/// concurrently, not in parallel, so worker threads would only cost start-up time.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let handler = RemediationHandler::init().await;
    let handler = &handler;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        handler.handle(event.payload).await.map_err(|e| {
            tracing::error!(error_type = e.kind(), error = %e, "remediation failed");
            Diagnostic::from(e)
        })
    }))
    .await
}
