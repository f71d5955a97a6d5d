//! A target as plans see it: everything the inventory says about one server.

use serde_json::{Map, Value as Json};

use super::Hash;

/// How drover reaches a target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportKind {
    /// OpenSSH-compatible SSH (default).
    Ssh,
    /// Processes on this machine.
    Local,
    /// A simulated target (spec §9).
    Sim,
}

impl TransportKind {
    /// The kind an inventory names, if it names one.
    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s {
            "ssh" => Some(TransportKind::Ssh),
            "local" => Some(TransportKind::Local),
            "sim" => Some(TransportKind::Sim),
            _ => None,
        }
    }

    /// The name as written in inventories.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            TransportKind::Ssh => "ssh",
            TransportKind::Local => "local",
            TransportKind::Sim => "sim",
        }
    }
}

/// A target with everything the inventory says about it.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    /// Its name (the URI unless the inventory names it).
    pub name: String,
    /// How to reach it, as given.
    pub uri: String,
    /// Host part of the URI.
    pub host: String,
    /// Port, if the URI or config gives one.
    pub port: Option<u16>,
    /// User, if the URI or config gives one.
    pub user: Option<String>,
    /// Transport.
    pub transport: TransportKind,
    /// Merged `config` (sections such as `ssh`, `local`, `sim`).
    pub config: Map<String, Json>,
    /// Merged `vars`.
    pub vars: Hash,
    /// Merged `facts`.
    pub facts: Hash,
    /// Groups it belongs to, in inventory order.
    pub groups: Vec<String>,
    /// Bolt's `features` (`shell`, `powershell`, `puppet-agent`, ...), which
    /// choose among a task's implementations.
    pub features: Vec<String>,
    /// Paths in `config` (`["ssh", "password"]`) whose values came from a
    /// secret (a `pkcs7` or `prompt` plugin): never shown.
    pub secret_config: Vec<Vec<String>>,
}

impl Target {
    /// The config section of its transport (`config.ssh`, ...).
    pub(crate) fn transport_config(&self) -> Option<&Map<String, Json>> {
        self.config
            .get(self.transport.as_str())
            .and_then(Json::as_object)
    }
}
