//! The `txscore` binary: parse the command line, run the command, report errors.

use clap::Parser;

/// Scoring allocates and frees many small, short-lived values per message (decoded fields,
/// keys, encoded documents) from several threads; mimalloc's per-thread free lists serve
/// them at a fraction of the system allocator's cost. It is built without transparent huge
/// pages (`no_thp`): with them, every page it hands out again after returning it to the system
/// came back as a fresh 2 MiB page for the kernel to zero, a sixth of the machine's busy CPU at
/// full throughput.
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
