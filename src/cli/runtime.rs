//! The one async runtime the commands run on, and the signals (SIGINT, SIGTERM) that cancel a run.

use crate::exit;

/// Runs `work` on a fresh runtime, with a cancel flag that SIGINT and SIGTERM set.
pub(super) fn with_signals<F, Fut>(work: F) -> u8
where
    F: FnOnce(crate::engine::Cancel) -> Fut,
    Fut: std::future::Future<Output = u8>,
{
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return exit::ERROR;
        }
    };
    rt.block_on(async {
        let cancel = crate::engine::Cancel::new();
        watch_signals(&cancel);
        work(cancel).await
    })
}

pub(super) fn watch_signals(cancel: &crate::engine::Cancel) {
    use tokio::signal::unix::{SignalKind, signal};
    for (kind, name) in [
        (SignalKind::interrupt(), "SIGINT"),
        (SignalKind::terminate(), "SIGTERM"),
    ] {
        let cancel = cancel.clone();
        if let Ok(mut s) = signal(kind) {
            tokio::spawn(async move {
                while s.recv().await.is_some() {
                    if cancel.reason().is_none() {
                        cancel.cancel(name);
                        eprintln!("restore-drill: {name} received; tearing down before exit");
                        continue;
                    }
                    // Again: teardown is never cut short; say what it is still removing and
                    // what a hard kill would leave.
                    let left = cancel.still_removing();
                    if left.is_empty() {
                        eprintln!(
                            "restore-drill: {name} again; finishing the reports, nothing is left to remove"
                        );
                    } else {
                        eprintln!(
                            "restore-drill: {name} again; still removing {}. Teardown is not cut short: if this process is killed now, these are left behind for `restore-drill sweep` to remove",
                            left.join(", ")
                        );
                    }
                }
            });
        }
    }
}

/// Runs `work` on a fresh runtime, for commands without signal handling of their own.
pub(crate) fn with_result<F, Fut, T>(work: F) -> std::io::Result<T>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    Ok(runtime()?.block_on(work()))
}

/// The runtime every command runs on: two worker threads (restores wait on the network and on
/// child processes; checks stream rows), timers and I/O enabled.
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}
