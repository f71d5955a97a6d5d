//! `config.ssh` of a target, with Bolt's key names, checked.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value as Json;

use super::config;
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
    /// Keys to offer, in order (the inventory's, else IdentityFiles).
    pub(super) keys: Vec<KeySource>,
    /// Where the agent is, if it is asked.
    pub(super) agent: Agent,
    /// CertificateFiles of the OpenSSH config.
    pub(super) certificates: Vec<PathBuf>,
    pub(super) passphrase: Option<String>,
    pub(super) password: Option<String>,
    pub(super) host_key_check: HostKeyCheck,
    pub(super) known_hosts: PathBuf,
    /// Whether the inventory named `known-hosts` (then jump hosts use it too).
    pub(super) known_hosts_given: bool,
    pub(super) connect_timeout: Duration,
    /// Keepalive interval (ServerAliveInterval; default 15 s).
    pub(super) keepalive: Duration,
    pub(super) run_as: Option<String>,
    pub(super) sudo_password: Option<String>,
    pub(super) max_sessions: usize,
    /// The jump hosts on the way, first to last (`proxyjump`).
    pub(super) jumps: Vec<Jump>,
    /// Connections to each jump host, targets spread over them.
    pub(super) bastion_connections: usize,
    /// At most this many idle target connections stay open in the run.
    pub(super) idle_connections: usize,
    /// The OpenSSH config files read (none with `load-config: false`).
    pub(super) config_files: Vec<PathBuf>,
    /// Where the run's private directory of task files goes (Bolt's
    /// `tmpdir`, default `/tmp` as Bolt's), without its trailing `/` (so
    /// `/` is empty).
    pub(super) tmpdir: String,
    /// Commands (not under `run-as`) run in one persistent shell per target
    /// (`shell.rs`).
    pub(super) persistent_shell: bool,
}

/// The SSH agent to ask for keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Agent {
    /// None (the inventory gave a key, IdentitiesOnly, `IdentityAgent none`).
    None,
    /// `SSH_AUTH_SOCK`, if set.
    Env,
    /// This socket (IdentityAgent).
    Socket(PathBuf),
}

/// A jump host: `[user@]host[:port]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Jump {
    pub(super) user: Option<String>,
    pub(super) host: String,
    /// As written; else the config's Port for the host, else 22.
    pub(super) port: Option<u16>,
}

impl std::fmt::Display for Jump {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(user) = &self.user {
            write!(f, "{user}@")?;
        }
        match (self.host.contains(':'), self.port) {
            (true, Some(port)) => write!(f, "[{}]:{port}", self.host),
            (true, None) => write!(f, "[{}]", self.host),
            (false, Some(port)) => write!(f, "{}:{port}", self.host),
            (false, None) => write!(f, "{}", self.host),
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
                None => None,
                Some(p) => Some(
                    p.parse::<u16>()
                        .ok()
                        .filter(|p| *p > 0)
                        .ok_or_else(|| format!("`{one}`: `{p}` is not a port"))?,
                ),
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
        let fail = |reason: String| TransportError::Connect {
            target: target.name.clone(),
            reason,
        };
        let bad = |key: &str, wanted: &str| fail(format!("config.ssh.{key} must be {wanted}"));
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
        // The OpenSSH client configuration, unless `load-config: false`.
        let config_files = match (c.get("load-config"), string("ssh-config")?) {
            (Some(Json::Bool(false)), _) => Vec::new(),
            (None | Some(Json::Null) | Some(Json::Bool(true)), Some(path)) => {
                vec![expand(&path, &home)]
            }
            (None | Some(Json::Null) | Some(Json::Bool(true)), None) => {
                config::default_files(&home)
            }
            (Some(_), _) => return Err(bad("load-config", "true or false")),
        };
        let cfg = config::resolve(&config_files, &target.host, target.user.as_deref(), &home)
            .map_err(|why| fail(format!("ssh config: {why}")))?;
        let mut keys = match c.get("private-key") {
            None | Some(Json::Null) => Vec::new(),
            Some(Json::String(path)) => vec![KeySource::File(expand(path, &home))],
            Some(Json::Object(o)) => match o.get("key-data") {
                Some(Json::String(data)) => vec![KeySource::Data(data.clone())],
                _ => return Err(bad("private-key", "a path or { key-data: ... }")),
            },
            Some(_) => return Err(bad("private-key", "a path or { key-data: ... }")),
        };
        // The inventory's key is the only one tried; else the agent, then
        // the config's IdentityFiles (else the default key files).
        let agent = if !keys.is_empty() || cfg.identities_only == Some(true) {
            Agent::None
        } else {
            match cfg.identity_agent.as_deref() {
                Some("none") => Agent::None,
                None | Some("SSH_AUTH_SOCK") => Agent::Env,
                Some(path) => Agent::Socket(PathBuf::from(path)),
            }
        };
        if keys.is_empty() {
            keys = cfg
                .identity_files
                .iter()
                .map(|f| KeySource::File(PathBuf::from(f)))
                .collect();
        }
        let host_key_check = match c.get("host-key-check") {
            None | Some(Json::Null) => match cfg.strict_host_key_checking.as_deref() {
                Some("no" | "off") => HostKeyCheck::Off,
                Some("accept-new") => HostKeyCheck::AcceptNew,
                _ => HostKeyCheck::Strict,
            },
            Some(Json::Bool(true)) => HostKeyCheck::Strict,
            Some(Json::Bool(false)) => HostKeyCheck::Off,
            Some(Json::String(s)) if s == "accept-new" => HostKeyCheck::AcceptNew,
            Some(_) => return Err(bad("host-key-check", "true, false or accept-new")),
        };
        let connect_timeout = match c.get("connect-timeout") {
            None | Some(Json::Null) => cfg.connect_timeout.filter(|s| *s > 0).unwrap_or(10),
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
        let jumps = match (c.get("proxyjump"), &cfg.proxy_jump) {
            (None | Some(Json::Null), None) => Vec::new(),
            (None | Some(Json::Null), Some(s)) => {
                parse_jumps(s).map_err(|why| fail(format!("ssh config: ProxyJump {why}")))?
            }
            (Some(Json::String(s)), _) => {
                parse_jumps(s).map_err(|why| fail(format!("config.ssh.proxyjump: {why}")))?
            }
            (Some(_), _) => {
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
        let idle_connections = match c.get("idle-connections") {
            None | Some(Json::Null) => crate::transport::open_files_limit() as usize / 2,
            Some(v) => v
                .as_u64()
                .filter(|n| *n >= 1)
                .ok_or_else(|| bad("idle-connections", "a number of at least 1"))?
                as usize,
        };
        let user = target
            .user
            .clone()
            .or(cfg.user.clone())
            .or(std::env::var("USER").ok())
            .unwrap_or_else(|| "root".into());
        Ok(Settings {
            target: target.name.clone(),
            host: cfg.hostname.clone().unwrap_or_else(|| target.host.clone()),
            port: target.port.or(cfg.port).unwrap_or(22),
            user,
            keys,
            agent,
            certificates: cfg.certificate_files.iter().map(PathBuf::from).collect(),
            passphrase: string("passphrase")?.or(std::env::var("DROVER_SSH_PASSPHRASE").ok()),
            password: string("password")?,
            host_key_check,
            known_hosts: string("known-hosts")?
                .map(|p| expand(&p, &home))
                .or(cfg.user_known_hosts_file.as_deref().map(PathBuf::from))
                .unwrap_or_else(|| home.join(".ssh/known_hosts")),
            known_hosts_given: c.get("known-hosts").is_some_and(|v| !v.is_null()),
            connect_timeout: Duration::from_secs(connect_timeout),
            keepalive: Duration::from_secs(
                cfg.server_alive_interval.filter(|s| *s > 0).unwrap_or(15),
            ),
            run_as: string("run-as")?,
            sudo_password: string("sudo-password")?.or(string("password")?),
            max_sessions,
            jumps,
            bastion_connections,
            idle_connections,
            config_files,
            tmpdir: match string("tmpdir")? {
                None => "/tmp".into(),
                Some(dir) if dir.is_empty() || dir.contains(['\0', '\n']) => {
                    return Err(bad("tmpdir", "a directory on the target"));
                }
                Some(dir) => dir.trim_end_matches('/').to_string(),
            },
            persistent_shell: match c.get("persistent-shell") {
                None | Some(Json::Null) => true,
                Some(Json::Bool(b)) => *b,
                Some(_) => return Err(bad("persistent-shell", "true or false")),
            },
        })
    }

    /// The settings for the jump host `jump` on the way to this target:
    /// what the OpenSSH config says for its name (HostName, User, Port,
    /// IdentityFile, UserKnownHostsFile), else the jump's own address and
    /// user, else the target's user, keys, known hosts and timeout; never
    /// its password or `run-as`.
    pub(super) fn for_jump(&self, jump: &Jump) -> Settings {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default();
        let cfg = config::resolve(&self.config_files, &jump.host, jump.user.as_deref(), &home)
            .unwrap_or_default();
        let keys = if cfg.identity_files.is_empty() {
            self.keys.clone()
        } else {
            cfg.identity_files
                .iter()
                .map(|f| KeySource::File(PathBuf::from(f)))
                .collect()
        };
        Settings {
            target: format!("jump host {jump}"),
            host: cfg.hostname.clone().unwrap_or_else(|| jump.host.clone()),
            port: jump.port.or(cfg.port).unwrap_or(22),
            user: jump
                .user
                .clone()
                .or(cfg.user)
                .unwrap_or_else(|| self.user.clone()),
            keys,
            known_hosts: match (&cfg.user_known_hosts_file, self.known_hosts_given) {
                (Some(file), false) => PathBuf::from(file),
                _ => self.known_hosts.clone(),
            },
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
            ["ops@bastion.example:2200", "[::1]:22", "inner"]
        );
        assert!(parse_jumps("none").unwrap().is_empty());
        assert_eq!(parse_jumps("ssh://a@b").unwrap()[0].to_string(), "a@b");
        for bad in ["@host", "host:0", "host:x", "[::1", "a b", "a,,b"] {
            assert!(parse_jumps(bad).is_err(), "{bad}");
        }
    }
}
