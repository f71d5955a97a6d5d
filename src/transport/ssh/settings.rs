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
    /// The jump hosts on the way, first to last (`proxyjump`).
    pub(super) jumps: Vec<Jump>,
    /// Connections to each jump host, targets spread over them.
    pub(super) bastion_connections: usize,
}

/// A jump host: `[user@]host[:port]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Jump {
    pub(super) user: Option<String>,
    pub(super) host: String,
    pub(super) port: u16,
}

impl std::fmt::Display for Jump {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(user) = &self.user {
            write!(f, "{user}@")?;
        }
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// `proxyjump` / `ProxyJump`: `none`, or jump hosts separated by commas,
/// each `[user@]host[:port]` (an IPv6 address in brackets), optionally as
/// `ssh://[user@]host[:port]`.
pub(super) fn parse_jumps(text: &str) -> Result<Vec<Jump>, String> {
    let text = text.trim();
    if text.is_empty() || text.eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(|one| {
            let one = one.trim();
            let bare = one.strip_prefix("ssh://").unwrap_or(one);
            let (user, rest) = match bare.rsplit_once('@') {
                Some((u, r)) if !u.is_empty() => (Some(u.to_string()), r),
                Some(_) => return Err(format!("`{one}` has an empty user")),
                None => (None, bare),
            };
            let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
                let (host, after) = v6
                    .split_once(']')
                    .ok_or_else(|| format!("`{one}`: `[` without `]`"))?;
                match after {
                    "" => (host, None),
                    p => (
                        host,
                        Some(
                            p.strip_prefix(':')
                                .ok_or_else(|| format!("`{one}`: junk after `]`"))?,
                        ),
                    ),
                }
            } else {
                match rest.rsplit_once(':') {
                    Some((h, p)) if !h.contains(':') => (h, Some(p)),
                    _ => (rest, None),
                }
            };
            if host.is_empty() || host.contains(['/', ' ']) {
                return Err(format!("`{one}` is not [user@]host[:port]"));
            }
            let port = match port {
                None => 22,
                Some(p) => p
                    .parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| format!("`{one}`: `{p}` is not a port"))?,
            };
            Ok(Jump {
                user,
                host: host.to_string(),
                port,
            })
        })
        .collect()
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
        let jumps = match c.get("proxyjump") {
            None | Some(Json::Null) => Vec::new(),
            Some(Json::String(s)) => parse_jumps(s).map_err(|why| TransportError::Connect {
                target: target.name.clone(),
                reason: format!("config.ssh.proxyjump: {why}"),
            })?,
            Some(_) => {
                return Err(bad(
                    "proxyjump",
                    "a string ([user@]host[:port], or a chain a,b)",
                ));
            }
        };
        let bastion_connections = match c.get("bastion-connections") {
            None | Some(Json::Null) => 1,
            Some(v) => v
                .as_u64()
                .filter(|n| (1..=1000).contains(n))
                .ok_or_else(|| bad("bastion-connections", "a number from 1 to 1000"))?
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
            jumps,
            bastion_connections,
        })
    }

    /// The settings for the jump host `jump` on the way to this target: its
    /// own address and user (else the target's), the target's keys,
    /// known hosts and timeout; no password, no `run-as`.
    pub(super) fn for_jump(&self, jump: &Jump) -> Settings {
        Settings {
            target: format!("jump host {jump}"),
            host: jump.host.clone(),
            port: jump.port,
            user: jump.user.clone().unwrap_or_else(|| self.user.clone()),
            password: None,
            run_as: None,
            sudo_password: None,
            jumps: Vec::new(),
            ..self.clone()
        }
    }
}

/// `~/` at the start of a path is the home directory.
fn expand(path: &str, home: &Path) -> PathBuf {
    match path.strip_prefix("~/") {
        Some(rest) => home.join(rest),
        None => PathBuf::from(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jump_hosts_read_as_openssh_reads_them() {
        let j = parse_jumps("ops@bastion.example:2200,[::1]:22,inner").unwrap();
        assert_eq!(
            j.iter().map(Jump::to_string).collect::<Vec<_>>(),
            ["ops@bastion.example:2200", "[::1]:22", "inner:22"]
        );
        assert!(parse_jumps("none").unwrap().is_empty());
        assert_eq!(parse_jumps("ssh://a@b").unwrap()[0].to_string(), "a@b:22");
        for bad in ["@host", "host:0", "host:x", "[::1", "a b", "a,,b"] {
            assert!(parse_jumps(bad).is_err(), "{bad}");
        }
    }
}
