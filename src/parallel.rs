//! Order-preserving work on every core (the machines gunj-mesh runs on in CI have two).

/// Applies `f` to every item, on up to `available_parallelism` threads that each take one
/// contiguous run of about equal `weight`, and returns the results in item order. The error
/// returned is the first in item order. Below `min_weight` in total it stays on this thread:
/// starting threads costs more than small inputs take.
pub fn try_map<'a, T, R, E>(
    items: &'a [T],
    weight: impl Fn(&T) -> usize,
    min_weight: usize,
    f: impl Fn(&'a T) -> Result<R, E> + Sync,
) -> Result<Vec<R>, E>
where
    T: Sync,
    R: Send,
    E: Send,
{
    let total: usize = items.iter().map(&weight).sum();
    if total < min_weight.max(1) || threads() < 2 {
        return map_run(items, &f);
    }
    let threads = threads();
    let mut runs = Vec::with_capacity(threads);
    let (mut start, mut acc) = (0, 0);
    for (i, item) in items.iter().enumerate() {
        acc += weight(item);
        if acc * threads >= total * (runs.len() + 1) && runs.len() + 1 < threads {
            runs.push(&items[start..=i]);
            start = i + 1;
        }
    }
    runs.push(&items[start..]);
    let f = &f;
    // This thread takes the last run itself: one thread fewer to start per call.
    let last = runs.pop().expect("at least one run");
    std::thread::scope(|scope| {
        // A run whose thread cannot start (out of memory or of threads) is done here.
        let workers: Vec<_> = runs
            .into_iter()
            .map(|run| {
                std::thread::Builder::new()
                    .spawn_scoped(scope, move || map_run(run, f))
                    .map_err(|_| run)
            })
            .collect();
        let mine = map_run(last, f);
        let mut out = Vec::with_capacity(items.len());
        for worker in workers {
            out.extend(match worker {
                Ok(handle) => handle.join().expect("a worker thread panicked")?,
                Err(run) => map_run(run, f)?,
            });
        }
        out.extend(mine?);
        Ok(out)
    })
}

/// Runs `other` on another thread while this one runs `here`, and returns both results;
/// when no thread can be started (out of memory or of threads), `other` runs here after
/// `here`.
pub fn both<A: Send, B>(other: impl FnOnce() -> A + Send, here: impl FnOnce() -> B) -> (A, B) {
    // Whichever thread runs `other` takes it from here.
    let slot = std::sync::Mutex::new(Some(other));
    let take = || {
        slot.lock()
            .expect("never poisoned: nothing runs under the lock")
            .take()
            .expect("taken once")
    };
    std::thread::scope(
        |scope| match std::thread::Builder::new().spawn_scoped(scope, || take()()) {
            Ok(handle) => {
                let b = here();
                (handle.join().expect("a worker thread panicked"), b)
            }
            Err(_) => {
                let b = here();
                (take()(), b)
            }
        },
    )
}

/// `f` over one run, into a vector sized once (collecting `Result`s grows it by doubling,
/// copying results that can be large).
fn map_run<'a, T, R, E>(run: &'a [T], f: &impl Fn(&'a T) -> Result<R, E>) -> Result<Vec<R>, E> {
    let mut out = Vec::with_capacity(run.len());
    for item in run {
        out.push(f(item)?);
    }
    Ok(out)
}

/// How many threads the machine gives this process, asked once: the standard library reads
/// `/proc/self/cgroup` and the cgroup's CPU quota files on every call (a dozen system calls).
pub fn threads() -> usize {
    static THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *THREADS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// [`try_map`] for work that cannot fail.
pub fn map<'a, T: Sync, R: Send>(
    items: &'a [T],
    weight: impl Fn(&T) -> usize,
    min_weight: usize,
    f: impl Fn(&'a T) -> R + Sync,
) -> Vec<R> {
    match try_map(items, weight, min_weight, |t| {
        Ok::<_, std::convert::Infallible>(f(t))
    }) {
        Ok(out) => out,
        Err(never) => match never {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_and_reports_the_first_error() {
        let items: Vec<usize> = (0..10_000).collect();
        let doubled = map(&items, |_| 1, 0, |i| i * 2);
        assert_eq!(doubled, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        let failed = try_map(
            &items,
            |_| 1,
            0,
            |&i| if i % 3000 == 2999 { Err(i) } else { Ok(i) },
        );
        assert_eq!(failed, Err(2999));
        // Uneven weights still cover every item once.
        let weighted = map(&items, |&i| if i < 10 { 1000 } else { 1 }, 0, |&i| i);
        assert_eq!(weighted, items);
    }
}
