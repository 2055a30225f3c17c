//! The `txscore` binary: parse the command line, run the command, report errors.

use clap::Parser;

fn main() -> anyhow::Result<()> {
    let cli = txscore::commands::Cli::parse();
    txscore::commands::init_logging();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(cli.run())
}
