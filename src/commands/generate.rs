//! `txscore generate`: write the synthetic stream to a real topic (for a stack to chew on).

use super::feed::feed_topic;
use crate::synth::{generate as synthesize, StreamSpec};

#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// bootstrap.servers of the target cluster.
    #[arg(long, env = "TXSCORE_BROKERS", default_value = "localhost:9092")]
    brokers: String,
    #[arg(long, default_value = "transactions")]
    topic: String,
    #[arg(long, default_value_t = 10_000)]
    transactions: usize,
    #[arg(long, default_value_t = 1_000)]
    cards: usize,
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Transaction ids are `<prefix>-<sequence>`: vary it to write new transactions each run.
    #[arg(long, default_value = "T")]
    txn_prefix: String,
}

pub async fn generate(args: GenerateArgs) -> anyhow::Result<()> {
    let spec = StreamSpec {
        seed: args.seed,
        transactions: args.transactions,
        cards: args.cards,
        txn_prefix: args.txn_prefix,
        ..StreamSpec::default()
    };
    let messages = synthesize(&spec);
    feed_topic(&args.brokers, &args.topic, &messages).await?;
    println!(
        "wrote {} transactions to {} at {}",
        messages.len(),
        args.topic,
        args.brokers
    );
    Ok(())
}
