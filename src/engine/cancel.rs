//! Cancellation of a run by a signal: phases stop waiting, teardown still runs.

use tokio::sync::watch;

/// A cheap, cloneable cancellation flag carrying the reason (e.g. `SIGINT`).
#[derive(Debug, Clone)]
pub struct Cancel {
    tx: watch::Sender<Option<String>>,
    /// Targets being torn down right now, by restore id: what a second signal reports.
    removing: std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<String, String>>>,
}

impl Default for Cancel {
    fn default() -> Self {
        Cancel {
            tx: watch::channel(None).0,
            removing: Default::default(),
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

    /// Marks a restore's target as being removed (`Some(description)`) or removed (`None`).
    pub fn removing(&self, restore: &str, what: Option<String>) {
        let mut m = self.removing.lock().unwrap_or_else(|p| p.into_inner());
        match what {
            Some(w) => m.insert(restore.to_owned(), w),
            None => m.remove(restore),
        };
    }

    /// The targets still being removed.
    pub fn still_removing(&self) -> Vec<String> {
        let m = self.removing.lock().unwrap_or_else(|p| p.into_inner());
        m.values().cloned().collect()
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
