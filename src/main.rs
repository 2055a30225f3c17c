//! The `txscore` binary: parse the command line, run the command, report errors.

use clap::Parser;

/// Scoring allocates and frees many small, short-lived values per message (decoded fields,
/// keys, encoded documents) from several threads; mimalloc's per-thread free lists serve
/// them at a fraction of the system allocator's cost.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let cli = txscore::commands::Cli::parse();
    txscore::commands::init_logging();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(txscore::commands::async_workers())
        .enable_all()
        .build()?;
    runtime.block_on(cli.run())
}
