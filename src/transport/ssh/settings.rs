//! `config.ssh` of a target, with Bolt's key names, checked.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value as Json;

use crate::transport::TransportError;
use crate::value::Target;

/// How host keys are checked (`host-key-check`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum HostKeyCheck {
    /// Known hosts only.
    Strict,
    /// Record unknown hosts; refuse changed keys.
    AcceptNew,
    /// No checking.
    Off,
}

/// A private key: a file, or the key itself from the inventory.
#[derive(Clone, Debug)]
pub(super) enum KeySource {
    File(PathBuf),
    Data(String),
}

/// `config.ssh` of a target, with Bolt's names.
#[derive(Clone)]
pub(super) struct Settings {
    pub(super) target: String,
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) user: String,
    pub(super) key: Option<KeySource>,
    pub(super) passphrase: Option<String>,
    pub(super) password: Option<String>,
    pub(super) host_key_check: HostKeyCheck,
    pub(super) known_hosts: PathBuf,
    pub(super) connect_timeout: Duration,
    pub(super) run_as: Option<String>,
    pub(super) sudo_password: Option<String>,
    pub(super) max_sessions: usize,
}

impl Settings {
    /// The settings of `target`, or why its `config.ssh` is wrong.
    pub(super) fn of(target: &Target) -> Result<Settings, TransportError> {
        let empty = serde_json::Map::new();
        let c = target.transport_config().unwrap_or(&empty);
        let bad = |key: &str, wanted: &str| TransportError::Connect {
            target: target.name.clone(),
            reason: format!("config.ssh.{key} must be {wanted}"),
        };
        let string = |key: &str| -> Result<Option<String>, TransportError> {
            match c.get(key) {
                None | Some(Json::Null) => Ok(None),
                Some(Json::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(bad(key, "a string")),
            }
        };
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default();
        let key = match c.get("private-key") {
            None | Some(Json::Null) => None,
            Some(Json::String(path)) => Some(KeySource::File(expand(path, &home))),
            Some(Json::Object(o)) => match o.get("key-data") {
                Some(Json::String(data)) => Some(KeySource::Data(data.clone())),
                _ => return Err(bad("private-key", "a path or { key-data: ... }")),
            },
            Some(_) => return Err(bad("private-key", "a path or { key-data: ... }")),
        };
        let host_key_check = match c.get("host-key-check") {
            None | Some(Json::Null) | Some(Json::Bool(true)) => HostKeyCheck::Strict,
            Some(Json::Bool(false)) => HostKeyCheck::Off,
            Some(Json::String(s)) if s == "accept-new" => HostKeyCheck::AcceptNew,
            Some(_) => return Err(bad("host-key-check", "true, false or accept-new")),
        };
        let connect_timeout = match c.get("connect-timeout") {
            None | Some(Json::Null) => 10,
            Some(v) => v
                .as_u64()
                .filter(|s| *s > 0)
                .ok_or_else(|| bad("connect-timeout", "a number of seconds"))?,
        };
        let max_sessions = match c.get("max-sessions") {
            None | Some(Json::Null) => 8,
            Some(v) => v
                .as_u64()
                .filter(|n| (1..=1000).contains(n))
                .ok_or_else(|| bad("max-sessions", "a number from 1 to 1000"))?
                as usize,
        };
        let user = target
            .user
            .clone()
            .or(std::env::var("USER").ok())
            .unwrap_or_else(|| "root".into());
        Ok(Settings {
            target: target.name.clone(),
            host: target.host.clone(),
            port: target.port.unwrap_or(22),
            user,
            key,
            passphrase: string("passphrase")?.or(std::env::var("DROVER_SSH_PASSPHRASE").ok()),
            password: string("password")?,
            host_key_check,
            known_hosts: string("known-hosts")?
                .map(|p| expand(&p, &home))
                .unwrap_or_else(|| home.join(".ssh/known_hosts")),
            connect_timeout: Duration::from_secs(connect_timeout),
            run_as: string("run-as")?,
            sudo_password: string("sudo-password")?.or(string("password")?),
            max_sessions,
        })
    }
}

/// `~/` at the start of a path is the home directory.
fn expand(path: &str, home: &Path) -> PathBuf {
    match path.strip_prefix("~/") {
        Some(rest) => home.join(rest),
        None => PathBuf::from(path),
    }
}
