//! `sg-compliance`: evaluate AWS Config rule events from the command line.

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    sg_compliance::cli::main().await
}
