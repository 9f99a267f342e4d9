//! Cancellation of a run by a signal: phases stop waiting, teardown still runs.

use tokio::sync::watch;

/// A cheap, cloneable cancellation flag carrying the reason (e.g. `SIGINT`).
#[derive(Debug, Clone)]
pub struct Cancel {
    tx: watch::Sender<Option<String>>,
}

impl Default for Cancel {
    fn default() -> Self {
        Cancel {
            tx: watch::channel(None).0,
        }
    }
}

impl Cancel {
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels (the first reason wins).
    pub fn cancel(&self, reason: &str) {
        self.tx.send_if_modified(|r| {
            if r.is_none() {
                *r = Some(reason.to_owned());
                true
            } else {
                false
            }
        });
    }

    pub fn reason(&self) -> Option<String> {
        self.tx.borrow().clone()
    }

    /// Resolves once cancelled.
    pub async fn cancelled(&self) {
        let mut rx = self.tx.subscribe();
        let _ = rx.wait_for(Option::is_some).await;
    }
}
