//! `sg-compliance`: evaluate AWS Config rule events from the command line.

/// The audit judges on every core; mimalloc keeps them from queueing on one allocator (see
/// Cargo.toml). The bench (bench/) runs the command's code with the same allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A runtime thread per core: `audit --org` reads and judges accounts on every core.
#[tokio::main(flavor = "multi_thread")]
async fn main() -> std::process::ExitCode {
    sg_compliance::cli::main().await
}
