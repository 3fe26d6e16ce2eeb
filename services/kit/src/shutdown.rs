//! Shutdown: one trigger, many listeners; fired by SIGTERM/SIGINT or by a test.

use tokio::sync::watch;

/// Fires shutdown for every [`ShutdownSignal`] made from it.
#[derive(Debug, Clone)]
pub struct Shutdown {
    sender: watch::Sender<bool>,
}

/// Completes when shutdown has been fired.
#[derive(Debug, Clone)]
pub struct ShutdownSignal {
    receiver: watch::Receiver<bool>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

impl Shutdown {
    /// A trigger that has not fired.
    pub fn new() -> Self {
        Self {
            sender: watch::channel(false).0,
        }
    }

    /// A listener.
    pub fn signal(&self) -> ShutdownSignal {
        ShutdownSignal {
            receiver: self.sender.subscribe(),
        }
    }

    /// Fires shutdown.
    pub fn fire(&self) {
        self.sender.send_replace(true);
    }

    /// Fires shutdown on SIGTERM or SIGINT (Ctrl-C), from a background task.
    pub fn fire_on_os_signal(&self) {
        let this = self.clone();
        tokio::spawn(async move {
            let ctrl_c = tokio::signal::ctrl_c();
            #[cfg(unix)]
            {
                let mut term =
                    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    {
                        Ok(term) => term,
                        Err(e) => {
                            tracing::error!(error = %e, "cannot listen for SIGTERM");
                            let _ = ctrl_c.await;
                            this.fire();
                            return;
                        }
                    };
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            #[cfg(not(unix))]
            let _ = ctrl_c.await;
            tracing::info!("shutdown signal received; draining");
            this.fire();
        });
    }
}

impl ShutdownSignal {
    /// Completes once shutdown has fired (at once if it already has).
    pub async fn fired(&mut self) {
        if self.receiver.wait_for(|fired| *fired).await.is_err() {
            // Every trigger is gone, so shutdown can no longer fire.
            std::future::pending::<()>().await;
        }
    }

    /// Whether shutdown has fired.
    pub fn is_fired(&self) -> bool {
        *self.receiver.borrow()
    }
}
