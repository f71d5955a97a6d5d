//! The run's connections: one per target for the whole run, made by the
//! transport the inventory names (or the simulator, in a dry run), and the
//! task files staged on them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::local::Local;
use super::sim::Sim;
use super::ssh::Ssh;
use super::staging::Staging;
use super::{Connection, Transport, TransportError};
use crate::value::{Target, TransportKind};

/// A target's connection, made once however many actions want it at once.
type Slot = tokio::sync::OnceCell<Arc<dyn Connection>>;

/// Every connection of one run.
#[derive(Default)]
pub struct Connections {
    slots: Mutex<HashMap<String, Arc<Slot>>>,
    /// Simulated targets (and every target in a dry run).
    sim: Sim,
    /// SSH targets.
    pub ssh: Ssh,
    /// Simulate every target: nothing is connected or started.
    pub dry_run: bool,
    /// Task files uploaded to targets in this run.
    pub staging: Staging,
}

impl Connections {
    /// A new connection to `target`, not the run's shared one (`wait_up`).
    pub(crate) async fn fresh(
        &self,
        target: &Target,
    ) -> Result<Arc<dyn Connection>, TransportError> {
        if self.dry_run {
            return self.sim.connect(target).await;
        }
        match target.transport {
            TransportKind::Local => Local.connect(target).await,
            TransportKind::Ssh => self.ssh.connect(target).await,
            TransportKind::Sim => self.sim.connect(target).await,
        }
    }

    /// The run's connection to `target`, opened on first use. Targets connect
    /// at the same time; actions on one target wait for its one connection.
    pub(crate) async fn get(&self, target: &Target) -> Result<Arc<dyn Connection>, TransportError> {
        let slot = self
            .slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(target.name.clone())
            .or_default()
            .clone();
        slot.get_or_try_init(|| self.fresh(target)).await.cloned()
    }

    /// Remove staged files and close every connection (end of the run);
    /// the removals take permits of the run's `concurrency`, so that no
    /// more connections open at the end than during the run.
    pub(crate) async fn close(&self, concurrency: &tokio::sync::Semaphore) {
        self.staging.clean(concurrency).await;
        let open: Vec<Arc<dyn Connection>> = self
            .slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
            .filter_map(|(_, c)| c.get().cloned())
            .collect();
        // Within the run's concurrency: closing may remove task files.
        futures::future::join_all(open.iter().map(|c| async move {
            let _permit = concurrency.acquire().await;
            c.close().await
        }))
        .await;
        self.ssh.close().await;
    }
}
