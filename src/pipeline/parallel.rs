//! A batch's CPU-bound steps (decoding, scoring owner groups) spread over the machine's cores.
//! Each item is independent of the others, so the results, returned in input order, are the
//! same as a sequential map's; only the time differs.

use std::sync::OnceLock;
use tokio::runtime::{Handle, RuntimeFlavor};

/// Maps `items` with `f` on up to one thread per core, in chunks of at least `min_chunk`.
///
/// Inside a multi-threaded Tokio runtime the calling worker hands its other tasks to the rest
/// of the runtime while it waits, so I/O keeps flowing.
pub fn map<T: Sync, R: Send>(items: &[T], min_chunk: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = cores().min(items.len() / min_chunk.max(1));
    if threads <= 1 {
        return items.iter().map(f).collect();
    }
    let work = || {
        let chunk = items.len().div_ceil(threads);
        std::thread::scope(|scope| {
            let f = &f;
            let handles: Vec<_> = items
                .chunks(chunk)
                .map(|part| scope.spawn(move || part.iter().map(f).collect::<Vec<R>>()))
                .collect();
            handles
                .into_iter()
                .flat_map(|handle| match handle.join() {
                    Ok(results) => results,
                    Err(panic) => std::panic::resume_unwind(panic),
                })
                .collect()
        })
    };
    let multi_threaded = Handle::try_current()
        .is_ok_and(|handle| handle.runtime_flavor() == RuntimeFlavor::MultiThread);
    if multi_threaded {
        tokio::task::block_in_place(work)
    } else {
        work()
    }
}

fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, usize::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_input_order() {
        let items: Vec<u64> = (0..10_000).collect();
        let squares = map(&items, 16, |n| n * n);
        assert_eq!(squares, items.iter().map(|n| n * n).collect::<Vec<_>>());
    }

    #[test]
    fn small_inputs_stay_on_the_calling_thread() {
        let caller = std::thread::current().id();
        let threads = map(&[1, 2, 3], 16, |_| std::thread::current().id());
        assert!(threads.iter().all(|thread| *thread == caller));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn runs_inside_a_multi_threaded_runtime() {
        let items: Vec<u64> = (0..1000).collect();
        assert_eq!(map(&items, 1, |n| n + 1).iter().sum::<u64>(), 500_500);
    }
}
