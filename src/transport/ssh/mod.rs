//! The `ssh` transport, on russh: one authenticated connection per target
//! for the whole run, every action a channel on it (at most `max-sessions`
//! at once), host keys checked against `known_hosts`.
//!
//! Every command starts with `echo $$`: sshd makes the shell a session
//! leader (the persistent shell, `shell.rs`, runs each command under
//! `setsid`), so that number is the process group of everything the command
//! starts, and a timeout or a cancellation kills the group through a second
//! channel (closing a channel alone leaves `sleep 60` running).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::ChannelMsg;
use russh::client::{self, Handle};
use russh::keys::{HashAlg, PrivateKey, PrivateKeyWithHashAlg, PublicKey, PublicKeyOrCertificate};

use crate::transport::{
    BoxFuture, Command, Connection, Exec, ExecOutput, OUTPUT_CAP, Stream, Transport, TransportError,
};
use crate::value::Target;

mod config;
mod settings;
mod shell;
mod stage;

use settings::{Agent, HostKeyCheck, Jump, KeySource, Settings};

/// The ssh transport of one run: warns once about `host-key-check: false`;
/// holds the run's bastion connections, shared by every target behind them.
#[derive(Default)]
pub struct Ssh {
    warned_unchecked: AtomicBool,
    /// The connection to each bastion (and each step of a chain), by the
    /// chain up to it and its slot (`bastion-connections`).
    bastions: Mutex<HashMap<String, Arc<Link>>>,
    /// Targets assigned so far behind each chain: they take its slots in turn.
    assigned: Mutex<HashMap<String, usize>>,
    /// The targets' connections, for the cap on idle ones.
    open: Arc<OpenLinks>,
}

/// The run's target connections, so that at most `idle-connections` stay
/// open: when another must open, the least recently used idle ones close
/// (and open again when next needed). In-flight ones are never closed, so
/// at most the cap plus the actions in flight are open at once.
#[derive(Default)]
struct OpenLinks {
    links: Mutex<Vec<std::sync::Weak<Link>>>,
    /// The smallest `idle-connections` of any target (0: not yet known).
    cap: AtomicUsize,
    /// Wakes openers waiting for others' closes (`make_room`).
    closed: tokio::sync::Notify,
}

impl OpenLinks {
    fn add(&self, link: &Arc<Link>, cap: usize) {
        let _ = self
            .cap
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |c| {
                Some(if c == 0 { cap } else { c.min(cap) })
            });
        let mut links = self.links.lock().unwrap_or_else(|e| e.into_inner());
        links.retain(|l| l.strong_count() > 0);
        links.push(Arc::downgrade(link));
    }

    /// Close the least recently used idle connections so that, with `me`
    /// open too, at most the cap stay idle once `me`'s action is done.
    /// Connections another opener is closing count as open until they are
    /// closed: two openers never count on the same one.
    async fn make_room(&self, me: &Link) {
        let cap = self.cap.load(Ordering::Relaxed).max(1);
        loop {
            // Listening before looking: a close that ends in between wakes it.
            let closed = self.closed.notified();
            tokio::pin!(closed);
            closed.as_mut().enable();
            let chosen: Vec<Arc<Link>> = {
                let links = self.links.lock().unwrap_or_else(|e| e.into_inner());
                let mut idle: Vec<Arc<Link>> = links
                    .iter()
                    .filter_map(std::sync::Weak::upgrade)
                    .filter(|l| {
                        !std::ptr::eq(l.as_ref(), me)
                            && l.in_use.load(Ordering::Relaxed) == 0
                            && l.is_open()
                    })
                    .collect();
                if idle.len() < cap {
                    return;
                }
                // Those others are closing already count towards the excess.
                let (all, excess) = (idle.len(), idle.len() + 1 - cap);
                idle.retain(|l| !l.closing.load(Ordering::Relaxed));
                let need = excess.saturating_sub(all - idle.len());
                idle.sort_by_key(|l| l.last_used.load(Ordering::Relaxed));
                idle.truncate(need);
                for link in &idle {
                    link.closing.store(true, Ordering::Relaxed);
                }
                idle
            };
            if chosen.is_empty() {
                // Others are closing enough of them: wait for that.
                closed.await;
                continue;
            }
            futures::future::join_all(chosen.iter().map(|link| async move {
                let _claim = Claim(link, &self.closed);
                link.close_if_idle().await;
            }))
            .await;
        }
    }
}

/// A link claimed by `make_room`: released when it is closed, or when the
/// opener's action is dropped mid-close, waking openers that wait on it.
struct Claim<'a>(&'a Link, &'a tokio::sync::Notify);

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        self.0.closing.store(false, Ordering::Relaxed);
        self.1.notify_waiters();
    }
}

/// Milliseconds since the first call: when a connection was last used.
fn now_ms() -> u64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_millis() as u64
}

impl Ssh {
    /// The connection through which `settings`' target is reached: the
    /// last of its jump hosts, each reached through the one before.
    fn via(&self, settings: &Settings) -> Option<Arc<Link>> {
        let chain = settings
            .jumps
            .iter()
            .map(Jump::to_string)
            .collect::<Vec<_>>();
        if chain.is_empty() {
            return None;
        }
        let slot = {
            let mut assigned = self.assigned.lock().unwrap_or_else(|e| e.into_inner());
            let n = assigned.entry(chain.join(",")).or_default();
            *n += 1;
            (*n - 1) % settings.bastion_connections
        };
        let mut bastions = self.bastions.lock().unwrap_or_else(|e| e.into_inner());
        let mut via: Option<Arc<Link>> = None;
        for (i, jump) in settings.jumps.iter().enumerate() {
            let key = format!("{}#{slot}", chain[..=i].join(","));
            let link = bastions
                .entry(key)
                .or_insert_with(|| Arc::new(Link::new(settings.for_jump(jump), via.clone())))
                .clone();
            via = Some(link);
        }
        via
    }

    /// Close the connections to jump hosts (after the targets' own).
    pub(crate) async fn close(&self) {
        let mut links: Vec<(String, Arc<Link>)> = self
            .bastions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
            .collect();
        // The last jump hosts of a chain first: the earlier ones carry them.
        links.sort_by_key(|(chain, _)| std::cmp::Reverse(chain.matches(',').count()));
        for (_, link) in links {
            link.disconnect().await;
        }
    }
}

impl Transport for Ssh {
    fn connect<'a>(
        &'a self,
        target: &'a Target,
    ) -> BoxFuture<'a, Result<Arc<dyn Connection>, TransportError>> {
        Box::pin(async move {
            let settings = Settings::of(target)?;
            if settings.host_key_check == HostKeyCheck::Off
                && !self.warned_unchecked.swap(true, Ordering::Relaxed)
            {
                eprintln!(
                    "warning: host-key-check is off for {}: SSH host keys are not checked in this run",
                    target.name
                );
            }
            let via = self.via(&settings);
            let cap = settings.idle_connections;
            let conn = SshConnection {
                sessions: Arc::new(tokio::sync::Semaphore::new(settings.max_sessions)),
                warm: Mutex::new(Warm::default()),
                link: Arc::new(Link::new(settings, via)),
                kills: Mutex::new(Vec::new()),
                open: self.open.clone(),
                shell: tokio::sync::Mutex::new(None),
            };
            self.open.add(&conn.link, cap);
            conn.handle().await?;
            Ok(Arc::new(conn) as Arc<dyn Connection>)
        })
    }
}

/// Ciphers in order of preference (docs/benchmarks.md measures them).
const CIPHERS: &[russh::cipher::Name] = &[
    russh::cipher::CHACHA20_POLY1305,
    russh::cipher::AES_256_GCM,
    russh::cipher::AES_256_CTR,
    russh::cipher::AES_192_CTR,
    russh::cipher::AES_128_CTR,
];

/// Host certificate types asked for when known_hosts trusts an authority.
const HOST_CERTIFICATES: &[russh::keys::Algorithm] = &[
    russh::keys::Algorithm::Ed25519,
    russh::keys::Algorithm::Ecdsa {
        curve: russh::keys::EcdsaCurve::NistP256,
    },
    russh::keys::Algorithm::Rsa {
        hash: Some(HashAlg::Sha512),
    },
];

/// The client's settings, the same for targets and jump hosts.
fn client_config(s: &Settings) -> Arc<client::Config> {
    Arc::new(client::Config {
        // Without it every exec waits on Nagle: ~47 ms instead of ~3.5 ms.
        nodelay: true,
        keepalive_interval: Some(s.keepalive),
        keepalive_max: 3,
        // AES-GCM runs on ring's hardware-accelerated code; russh's first
        // choice, ChaCha20-Poly1305, is several times slower for uploads.
        preferred: russh::Preferred {
            cipher: std::borrow::Cow::Borrowed(CIPHERS),
            // Ask for a host certificate only where an authority is trusted.
            host_key_certificates: if cert_authorities(s).is_empty() {
                std::borrow::Cow::Borrowed(&[])
            } else {
                std::borrow::Cow::Borrowed(HOST_CERTIFICATES)
            },
            ..russh::Preferred::DEFAULT
        },
        window_size: 8 * 1024 * 1024,
        maximum_packet_size: 65535,
        ..Default::default()
    })
}

/// Known-hosts files are appended to by every `accept-new` target at once.
static KNOWN_HOSTS: Mutex<()> = Mutex::new(());

/// russh's callbacks: the host key check.
struct Client {
    settings: Arc<Settings>,
    /// Why the key was refused, for the error message.
    refusal: Arc<Mutex<Option<String>>>,
    /// Dropped with the session's task, after its socket is shut down.
    _ended: tokio::sync::oneshot::Sender<()>,
}

impl client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let verdict = match key {
            PublicKeyOrCertificate::PublicKey { key, .. } => self.verify(key),
            PublicKeyOrCertificate::Certificate(cert) => self.verify_certificate(cert),
        };
        match verdict {
            Ok(()) => Ok(true),
            Err(why) => {
                *self.refusal.lock().unwrap_or_else(|e| e.into_inner()) = Some(why);
                Ok(false)
            }
        }
    }
}

impl Client {
    /// A host certificate: signed by an authority that an `@cert-authority`
    /// line of known_hosts names for this host, valid now, for this host.
    fn verify_certificate(&self, cert: &russh::keys::Certificate) -> Result<(), String> {
        let s = &self.settings;
        if s.host_key_check == HostKeyCheck::Off {
            return Ok(());
        }
        let authorities = cert_authorities(s);
        if authorities.is_empty() {
            return Err(format!(
                "{} offers a host certificate, but no @cert-authority line of {} names it",
                host_port(s),
                s.known_hosts.display()
            ));
        }
        if cert.cert_type() != russh::keys::ssh_key::certificate::CertType::Host {
            return Err(format!(
                "{} offers a user certificate as its host key",
                host_port(s)
            ));
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let fingerprints: Vec<_> = authorities
            .iter()
            .map(|k| k.fingerprint(HashAlg::Sha256))
            .collect();
        cert.validate_at(now, &fingerprints).map_err(|e| {
            format!(
                "the host certificate of {} is not valid: {e} (signed by {}, valid {} to {})",
                host_port(s),
                cert.signature_key().fingerprint(HashAlg::Sha256),
                cert.valid_after(),
                cert.valid_before()
            )
        })?;
        let principals = cert.valid_principals();
        if !principals.is_empty() && !principals.iter().any(|p| p == &s.host) {
            return Err(format!(
                "the host certificate of {} is for {}, not for {}",
                host_port(s),
                principals.join(", "),
                s.host
            ));
        }
        Ok(())
    }

    fn verify(&self, key: &PublicKey) -> Result<(), String> {
        let s = &self.settings;
        if s.host_key_check == HostKeyCheck::Off {
            return Ok(());
        }
        let path = &s.known_hosts;
        let fingerprint =
            |k: &PublicKey| format!("{} {}", k.algorithm(), k.fingerprint(HashAlg::Sha256));
        let _lock = KNOWN_HOSTS.lock().unwrap_or_else(|e| e.into_inner());
        let recorded = russh::keys::known_hosts::known_host_keys_path(&s.host, s.port, path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if recorded.iter().any(|(_, k)| k.key_data() == key.key_data()) {
            return Ok(());
        }
        if let Some((line, old)) = recorded
            .iter()
            .find(|(_, k)| k.algorithm() == key.algorithm())
        {
            return Err(format!(
                "the host key of {} has CHANGED: {}:{line} records {}, the server offers {}; \
                 if the change is expected, remove that line",
                host_port(s),
                path.display(),
                fingerprint(old),
                fingerprint(key)
            ));
        }
        match s.host_key_check {
            HostKeyCheck::AcceptNew => {
                russh::keys::known_hosts::learn_known_hosts_path(&s.host, s.port, key, path)
                    .map_err(|e| format!("cannot record the host key in {}: {e}", path.display()))
            }
            _ => Err(format!(
                "{} is not a known host: its key {} is not in {}; add it (ssh-keyscan), or set \
                 host-key-check: accept-new",
                host_port(s),
                fingerprint(key),
                path.display()
            )),
        }
    }
}

/// The keys of the `@cert-authority` lines of known_hosts whose patterns
/// name this host (`host`, or `[host]:port` off port 22).
fn cert_authorities(s: &Settings) -> Vec<PublicKey> {
    let Ok(text) = std::fs::read_to_string(&s.known_hosts) else {
        return Vec::new();
    };
    let name = host_port(s);
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            (words.next()? == "@cert-authority").then_some(())?;
            let patterns: Vec<String> = words.next()?.split(',').map(str::to_string).collect();
            let key = words.collect::<Vec<_>>().join(" ");
            config::host_matches(&patterns, &name)
                .then(|| PublicKey::from_openssh(&key).ok())
                .flatten()
        })
        .collect()
}

fn host_port(s: &Settings) -> String {
    if s.port == 22 {
        s.host.clone()
    } else {
        format!("[{}]:{}", s.host, s.port)
    }
}

/// One authenticated SSH connection, to a target or to a jump host, opened
/// again when the last one was lost; through `via` if it is behind one.
struct Link {
    settings: Settings,
    via: Option<Arc<Link>>,
    /// The connection, and what resolves when its session task has ended.
    open: tokio::sync::Mutex<Option<(Arc<Handle<Client>>, Ended)>>,
    /// Bumped at every new connection, and when the idle cap removes the
    /// task files: a reconnected target may have lost them (a reboot).
    epoch: AtomicU64,
    /// The run's directory of task files on the target, removed before the
    /// connection closes (`adopt_temp_dir`).
    temp_dir: Mutex<Option<String>>,
    /// The quickest channel open seen (µs): about one round trip.
    rtt_us: AtomicU64,
    /// Actions using it now, and when it was last used (`now_ms`).
    in_use: AtomicUsize,
    last_used: AtomicU64,
    /// The target cannot keep a persistent shell (no `setsid` or `head`).
    no_shell: AtomicBool,
    /// Claimed by `make_room` to be closed.
    closing: AtomicBool,
}

/// Resolves when a connection's session task has ended.
type Ended = tokio::sync::oneshot::Receiver<()>;

impl Link {
    fn new(settings: Settings, via: Option<Arc<Link>>) -> Link {
        Link {
            settings,
            via,
            open: tokio::sync::Mutex::new(None),
            epoch: AtomicU64::new(0),
            temp_dir: Mutex::new(None),
            rtt_us: AtomicU64::new(u64::MAX),
            in_use: AtomicUsize::new(0),
            last_used: AtomicU64::new(now_ms()),
            no_shell: AtomicBool::new(false),
            closing: AtomicBool::new(false),
        }
    }

    /// Connected, or connecting now.
    fn is_open(&self) -> bool {
        match self.open.try_lock() {
            Ok(slot) => slot.as_ref().is_some_and(|(h, _)| !h.is_closed()),
            Err(_) => true,
        }
    }

    /// Close the connection if nothing uses it (the idle cap), removing the
    /// run's task files first: one exec now instead of a new login at the
    /// end of the run (most closed connections are of targets done with).
    async fn close_if_idle(&self) {
        let Ok(mut slot) = self.open.try_lock() else {
            return;
        };
        // SeqCst with `busy`: either an action about to stage sees the new
        // epoch (and stages again), or this sees it in use.
        if self.in_use.load(Ordering::SeqCst) > 0 {
            return;
        }
        if let Some((h, ended)) = slot.take() {
            let dir = self
                .temp_dir
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take();
            if let Some(dir) = dir {
                self.epoch.fetch_add(1, Ordering::SeqCst);
                let rm = Exec::program("rm", ["-rf", dir.as_str()]);
                let run_as = self.settings.run_as.as_deref();
                let removed = match open_channel(&h).await {
                    Ok(channel) => self
                        .exec_on(&h, channel, false, rm, None, run_as, None)
                        .await
                        .ok(),
                    Err(_) => None,
                };
                if removed.is_none_or(|out| out.exit_code != Some(0)) {
                    // Left for the end of the run.
                    *self.temp_dir.lock().unwrap_or_else(|e| e.into_inner()) = Some(dir);
                }
            }
            let _ = h
                .disconnect(russh::Disconnect::ByApplication, "", "en")
                .await;
            // Closed before the next one opens, so that the cap holds on the
            // server's side too: the session's task ends after it shuts the
            // socket down. Bounded, as a dead peer never answers.
            let _ = tokio::time::timeout(Duration::from_secs(5), ended).await;
        }
    }

    async fn disconnect(&self) {
        if let Some((h, _)) = self.open.lock().await.take() {
            let _ = h
                .disconnect(russh::Disconnect::ByApplication, "", "en")
                .await;
        }
    }

    fn error(&self, reason: impl std::fmt::Display) -> TransportError {
        TransportError::Connect {
            target: self.settings.target.clone(),
            reason: reason.to_string(),
        }
    }

    /// The live connection, opened (again) if there is none; the jump
    /// hosts before it likewise.
    fn handle(&self) -> BoxFuture<'_, Result<Arc<Handle<Client>>, TransportError>> {
        Box::pin(async move {
            let mut slot = self.open.lock().await;
            if let Some((h, _)) = slot.as_ref()
                && !h.is_closed()
            {
                return Ok(h.clone());
            }
            let (handle, ended) = self.connect().await?;
            let handle = Arc::new(handle);
            self.epoch.fetch_add(1, Ordering::SeqCst);
            *slot = Some((handle.clone(), ended));
            Ok(handle)
        })
    }

    /// A TCP connection, or a `direct-tcpip` channel of the jump host
    /// before this one; then the SSH handshake and the login.
    async fn connect(&self) -> Result<(Handle<Client>, Ended), TransportError> {
        let s = &self.settings;
        let config = client_config(s);
        let refusal = Arc::new(Mutex::new(None));
        let (ended, ended_rx) = tokio::sync::oneshot::channel();
        let client = Client {
            settings: Arc::new(s.clone()),
            refusal: refusal.clone(),
            _ended: ended,
        };
        let refused =
            |e: russh::Error| match refusal.lock().unwrap_or_else(|e| e.into_inner()).take() {
                Some(why) => TransportError::HostKey {
                    target: s.target.clone(),
                    reason: why,
                },
                None => self.error(e),
            };
        let attempt = async {
            let mut handle = match &self.via {
                None => client::connect(config, (s.host.as_str(), s.port), client)
                    .await
                    .map_err(refused)?,
                Some(via) => {
                    let jump = via.handle().await?;
                    let channel = jump
                        .channel_open_direct_tcpip(s.host.as_str(), s.port.into(), "127.0.0.1", 0)
                        .await
                        .map_err(|e| {
                            self.error(format!(
                                "{} cannot reach {}: {e}",
                                via.settings.target,
                                host_port(s)
                            ))
                        })?;
                    client::connect_stream(config, Tunnel::new(channel), client)
                        .await
                        .map_err(refused)?
                }
            };
            self.authenticate(&mut handle).await?;
            Ok((handle, ended_rx))
        };
        match tokio::time::timeout(s.connect_timeout, attempt).await {
            Ok(result) => result,
            Err(_) => Err(self.error(format!(
                "no SSH session with {}:{} within {}s (connect-timeout)",
                s.host,
                s.port,
                s.connect_timeout.as_secs()
            ))),
        }
    }

    /// Keys from the inventory, else the agent's and the default key files;
    /// then the password. The error lists what was tried.
    async fn authenticate(&self, handle: &mut Handle<Client>) -> Result<(), TransportError> {
        let s = &self.settings;
        let user = s.user.as_str();
        let failed = |e: russh::Error| self.error(format!("authentication: {e}"));
        let rsa = handle
            .best_supported_rsa_hash()
            .await
            .ok()
            .flatten()
            .flatten();
        let mut tried = Vec::new();
        let mut keys: Vec<(String, Result<PrivateKey, String>)> = Vec::new();
        let agent = match &s.agent {
            Agent::None => None,
            Agent::Env if std::env::var_os("SSH_AUTH_SOCK").is_none() => None,
            Agent::Env => russh::keys::agent::client::AgentClient::connect_env()
                .await
                .ok()
                .map(|a| a.dynamic()),
            Agent::Socket(path) => russh::keys::agent::client::AgentClient::connect_uds(path)
                .await
                .ok()
                .map(|a| a.dynamic()),
        };
        if let Some(mut agent) = agent {
            let identities = agent.request_identities().await.unwrap_or_default();
            for id in identities {
                if let russh::keys::agent::AgentIdentity::PublicKey { key, comment } = id {
                    tried.push(format!("publickey (agent: {comment})"));
                    if handle
                        .authenticate_publickey_with(user, key, rsa, &mut agent)
                        .await
                        .is_ok_and(|r| r.success())
                    {
                        return Ok(());
                    }
                }
            }
        }
        if s.keys.is_empty() {
            let home = std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_default();
            for name in ["id_ed25519", "id_ecdsa", "id_rsa"] {
                let path = home.join(".ssh").join(name);
                if path.is_file() {
                    keys.push(load_key(&KeySource::File(path), s.passphrase.as_deref()));
                }
            }
        } else {
            keys.extend(s.keys.iter().map(|k| load_key(k, s.passphrase.as_deref())));
        }
        for (what, key) in keys {
            match key {
                Ok(key) => {
                    let key = Arc::new(key);
                    // Its certificates first, as OpenSSH offers them.
                    for (path, cert) in certificates(&what, &key, &s.certificates) {
                        let shown = path.display();
                        let cert = match cert {
                            Ok(cert) => cert,
                            Err(why) => {
                                tried.push(format!("certificate ({shown}: {why})"));
                                continue;
                            }
                        };
                        let now = std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .map_or(0, |d| d.as_secs());
                        if now >= cert.valid_before() {
                            tried.push(format!(
                                "certificate ({shown}: expired {} s ago)",
                                now - cert.valid_before()
                            ));
                            continue;
                        }
                        if now < cert.valid_after() {
                            tried.push(format!(
                                "certificate ({shown}: not valid for another {} s)",
                                cert.valid_after() - now
                            ));
                            continue;
                        }
                        tried.push(format!("certificate ({shown})"));
                        if handle
                            .authenticate_openssh_cert(user, key.clone(), cert)
                            .await
                            .map_err(failed)?
                            .success()
                        {
                            return Ok(());
                        }
                    }
                    tried.push(format!("publickey ({what})"));
                    let key = PrivateKeyWithHashAlg::new(key, rsa);
                    if handle
                        .authenticate_publickey(user, key)
                        .await
                        .map_err(failed)?
                        .success()
                    {
                        return Ok(());
                    }
                }
                Err(why) => tried.push(format!("publickey ({what}: {why})")),
            }
        }
        if let Some(password) = &s.password {
            tried.push("password".into());
            if handle
                .authenticate_password(user, password)
                .await
                .map_err(failed)?
                .success()
            {
                return Ok(());
            }
        }
        Err(TransportError::Auth {
            target: s.target.clone(),
            reason: if tried.is_empty() {
                format!("no way to authenticate as {user}: give private-key or password")
            } else {
                format!(
                    "authentication as {user} failed; tried {}",
                    tried.join(", ")
                )
            },
        })
    }
}

/// A `direct-tcpip` channel as the byte stream of an SSH connection inside
/// it. A task drains the channel into an unbounded queue as data arrives:
/// russh's session loop waits when a channel's (bounded) queue is full, and
/// the inner session stops reading while it waits for the window to send,
/// so reading only on demand (`Channel::into_stream`) deadlocks both under
/// load (20 uploads at once through a chain of two jump hosts did).
struct Tunnel {
    incoming: tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>,
    /// What is left of the last chunk read.
    pending: Vec<u8>,
    outgoing: std::pin::Pin<Box<dyn tokio::io::AsyncWrite + Send>>,
}

impl Tunnel {
    fn new(channel: russh::Channel<client::Msg>) -> Tunnel {
        let (mut read, write) = channel.split();
        let (tx, incoming) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(msg) = read.wait().await {
                match msg {
                    ChannelMsg::Data { data } if tx.send(data.to_vec()).is_err() => return,
                    ChannelMsg::Eof | ChannelMsg::Close => return,
                    _ => {}
                }
            }
        });
        Tunnel {
            incoming,
            pending: Vec::new(),
            outgoing: Box::pin(write.make_writer()),
        }
    }
}

impl tokio::io::AsyncRead for Tunnel {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        use std::task::Poll;
        while self.pending.is_empty() {
            match self.incoming.poll_recv(cx) {
                Poll::Ready(Some(chunk)) => self.pending = chunk,
                // The channel ended: end of stream.
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            }
        }
        let n = buf.remaining().min(self.pending.len());
        buf.put_slice(&self.pending[..n]);
        self.pending.drain(..n);
        Poll::Ready(Ok(()))
    }
}

impl tokio::io::AsyncWrite for Tunnel {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        data: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.outgoing.as_mut().poll_write(cx, data)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        self.outgoing.as_mut().poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        self.outgoing.as_mut().poll_shutdown(cx)
    }
}

/// One target's connection: its [`Link`], and the channels on it.
struct SshConnection {
    link: Arc<Link>,
    open: Arc<OpenLinks>,
    /// Channels at once, so that sshd's MaxSessions is never exceeded.
    sessions: Arc<tokio::sync::Semaphore>,
    /// The next session channel, opened while the last exec runs.
    warm: Mutex<Warm>,
    /// Kills sent for cancelled commands, awaited before closing.
    kills: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    /// The persistent shell (`shell.rs`), once a command started it.
    shell: tokio::sync::Mutex<Option<shell::Shell>>,
}

/// Marks a connection in use while an action runs on it.
struct InUse<'a>(&'a Link);

impl Drop for InUse<'_> {
    fn drop(&mut self) {
        self.0.last_used.store(now_ms(), Ordering::Relaxed);
        self.0.in_use.fetch_sub(1, Ordering::SeqCst);
    }
}

impl SshConnection {
    /// The connection, opened within the idle cap if it is not open.
    async fn handle(&self) -> Result<Arc<Handle<Client>>, TransportError> {
        let _busy = self.busy();
        if !self.link.is_open() {
            self.open.make_room(&self.link).await;
        }
        self.link.handle().await
    }

    fn busy(&self) -> InUse<'_> {
        self.link.in_use.fetch_add(1, Ordering::SeqCst);
        InUse(&self.link)
    }

    /// Run one command: in the persistent shell when it can, else on a
    /// channel of its own. `file` streams a local file to its standard
    /// input (uploads); `run_as` is off for uploads.
    async fn run(
        &self,
        exec: Exec,
        file: Option<&Path>,
        run_as: Option<&str>,
    ) -> Result<ExecOutput, TransportError> {
        let _busy = self.busy();
        let handle = self.handle().await?;
        // Commands go to the persistent shell unless another command has
        // it, they run as another user, or the target cannot keep one.
        if run_as.is_none()
            && self.link.settings.persistent_shell
            && self.link.settings.max_sessions >= 2
            && !self.link.no_shell.load(Ordering::Relaxed)
            && let Ok(mut slot) = self.shell.try_lock()
            && let Some(done) = self.in_shell(&handle, &mut slot, &exec, file).await
        {
            return done;
        }
        self.warm_up(&handle);
        let (channel, warm, _permit) = self.channel(&handle).await?;
        self.warm_up(&handle);
        self.link
            .exec_on(
                &handle,
                channel,
                warm,
                exec,
                file,
                run_as,
                Some(&self.kills),
            )
            .await
    }

    /// Run `exec` in the persistent shell in `slot`, starting one with it
    /// if there is none; `None` when it cannot (it then takes a channel of
    /// its own).
    async fn in_shell(
        &self,
        handle: &Arc<Handle<Client>>,
        slot: &mut Option<shell::Shell>,
        exec: &Exec,
        file: Option<&Path>,
    ) -> Option<Result<ExecOutput, TransportError>> {
        // One on a connection that is gone, or left mid-command, is closed.
        if slot
            .as_ref()
            .is_some_and(|s| s.dirty || !Arc::ptr_eq(&s.on, handle))
            && let Some(old) = slot.take()
        {
            old.close().await;
        }
        let input = (exec.stdin.is_some() || file.is_some()).then(|| shell::Input {
            bytes: exec.stdin.as_deref().unwrap_or_default(),
            file,
        });
        if slot.is_none() {
            let (channel, warm, permit) = match self.channel(handle).await {
                Ok(c) => c,
                Err(e) => return Some(Err(e)),
            };
            *slot = Some(shell::Shell::new(handle.clone(), channel, warm, permit));
        }
        let shell = slot.as_mut()?;
        let private = !exec.env.is_empty();
        let script = match shell_script(exec) {
            Ok(s) => s,
            Err(e) => return Some(Err(TransportError::Io(e))),
        };
        let mut guard = KillGuard::new(handle.clone(), Some(&self.kills));
        let pgid = guard.pgid.clone();
        let run = shell.run(&script, private, input, exec.on_output.as_ref(), &pgid);
        let outcome = match guard.bound(exec.timeout, run).await {
            Ok(outcome) => outcome,
            Err(timeout) => return Some(Err(timeout)),
        };
        match outcome {
            shell::Outcome::Done(out) => Some(Ok(out)),
            shell::Outcome::Ran(out) => {
                self.link.no_shell.store(true, Ordering::Relaxed);
                *slot = None;
                Some(Ok(out))
            }
            shell::Outcome::Refused => {
                self.link.no_shell.store(true, Ordering::Relaxed);
                *slot = None;
                None
            }
            shell::Outcome::Lost(what) => {
                *slot = None;
                Some(Err(self.link.lost(handle, what)))
            }
        }
    }

    /// A session channel on `handle`, whether it is a warm one (running
    /// `BOOTSTRAP`), and its permit: a warm one that is ready, else a new
    /// one; a warm one still opening when no permit is free.
    async fn channel(
        &self,
        handle: &Arc<Handle<Client>>,
    ) -> Result<
        (
            russh::Channel<client::Msg>,
            bool,
            tokio::sync::OwnedSemaphorePermit,
        ),
        TransportError,
    > {
        loop {
            let (ready, permit) = {
                let mut warm = self.warm.lock().unwrap_or_else(|e| e.into_inner());
                warm.next.retain(|(on, _, _)| Arc::ptr_eq(on, handle));
                // A warm channel opened at least a round trip ago is ready
                // sooner than a new one would be.
                let rtt = Duration::from_micros(self.link.rtt_us.load(Ordering::Relaxed));
                match warm.next.front() {
                    Some((_, since, task)) if task.is_finished() || since.elapsed() >= rtt => {
                        (warm.next.pop_front(), None)
                    }
                    _ => match self.sessions.clone().try_acquire_owned() {
                        Ok(permit) => (None, Some(permit)),
                        Err(_) => {
                            let pending = warm.next.pop_front();
                            if pending.is_none() {
                                warm.waiting += 1;
                            }
                            (pending, None)
                        }
                    },
                }
            };
            if let Some((_, _, task)) = ready {
                match task.await.ok().flatten() {
                    Some((channel, permit)) => return Ok((channel, true, permit)),
                    None => continue,
                }
            }
            let permit = match permit {
                Some(permit) => permit,
                None => {
                    let permit = self.sessions.clone().acquire_owned().await;
                    self.warm.lock().unwrap_or_else(|e| e.into_inner()).waiting -= 1;
                    permit.expect("never closed")
                }
            };
            let opening = std::time::Instant::now();
            return match open_channel(handle).await {
                Ok(channel) => {
                    let took = opening.elapsed().as_micros() as u64;
                    self.link.rtt_us.fetch_min(took, Ordering::Relaxed);
                    Ok((channel, false, permit))
                }
                Err(e) => Err(self
                    .link
                    .lost(handle, format!("cannot open a channel: {e}"))),
            };
        }
    }

    /// Open session channels in the background, so that the next execs go
    /// out at once: one round trip each instead of two (three with input).
    /// A channel takes two round trips to be ready (open, then sshd runs
    /// `BOOTSTRAP` and opens the window), so `WARM` of them are kept coming
    /// for one exec a round trip (commands in the persistent shell need
    /// none). Only with permits to spare and nobody waiting for one, so
    /// they never hold a session another exec needs.
    fn warm_up(&self, handle: &Arc<Handle<Client>>) {
        let mut warm = self.warm.lock().unwrap_or_else(|e| e.into_inner());
        while warm.next.len() < WARM && warm.waiting == 0 {
            let Ok(permit) = self.sessions.clone().try_acquire_owned() else {
                return;
            };
            let task = warm_channel(handle.clone(), permit);
            warm.next
                .push_back((handle.clone(), std::time::Instant::now(), task));
        }
    }
}

/// Warm channels kept coming per connection.
const WARM: usize = 2;

/// A channel running `BOOTSTRAP`, its window open, opened in the background.
fn warm_channel(
    on: Arc<Handle<Client>>,
    permit: tokio::sync::OwnedSemaphorePermit,
) -> tokio::task::JoinHandle<Option<Session>> {
    tokio::spawn(async move {
        let mut channel = open_channel(&on).await.ok()?;
        channel.exec(true, BOOTSTRAP).await.ok()?;
        // sshd opens a session's window only once it runs the command.
        loop {
            match channel.wait().await? {
                ChannelMsg::Success => return Some((channel, permit)),
                ChannelMsg::WindowAdjusted { .. } => {}
                _ => return None,
            }
        }
    })
}

/// A warm channel being opened: on which connection, since when.
type Opening = (
    Arc<Handle<Client>>,
    std::time::Instant,
    tokio::task::JoinHandle<Option<Session>>,
);

/// A session channel and the permit it holds.
type Session = (
    russh::Channel<client::Msg>,
    tokio::sync::OwnedSemaphorePermit,
);

/// What a warm channel runs: it reads the command (a line count, then the
/// lines) from standard input and runs it, the rest of the input its own.
/// sshd gives a session no window until its command runs, so input sent
/// with a new command waits a round trip; a warm channel has it already.
/// (`read` takes a byte at a time from a pipe: none of the input is lost.)
const BOOTSTRAP: &str = "IFS= read -r drover_n || exit 0; drover_s=; \
    while [ \"$drover_n\" -gt 0 ]; do IFS= read -r drover_l || exit 0; \
    drover_s=\"$drover_s$drover_l\n\"; drover_n=$((drover_n - 1)); done; \
    unset drover_n drover_l; eval \"$drover_s\"";

/// The warm channel of a connection.
#[derive(Default)]
struct Warm {
    /// Being opened (or open) on that handle, oldest first.
    next: std::collections::VecDeque<Opening>,
    /// Execs waiting for a permit: no warm-up takes one from them.
    waiting: usize,
}

impl Link {
    #[allow(clippy::too_many_arguments)] // one exec's parts, each used once
    /// Run one command on `channel` of `handle`; a kill for a command cut
    /// short is registered in `kills`.
    async fn exec_on(
        &self,
        handle: &Arc<Handle<Client>>,
        channel: russh::Channel<client::Msg>,
        warm: bool,
        exec: Exec,
        file: Option<&Path>,
        run_as: Option<&str>,
        kills: Option<&Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    ) -> Result<ExecOutput, TransportError> {
        let sudo_password = run_as.and(self.settings.sudo_password.as_deref());
        let remote =
            command_line(&exec, run_as, sudo_password.is_some()).map_err(TransportError::Io)?;
        let lost = |what: &str, e: russh::Error| self.lost(handle, format!("{what}: {e}"));
        let mut input = Vec::new();
        if warm || remote.private {
            // BOOTSTRAP reads the script from standard input. On a new
            // channel that costs a round trip more: only when it is private.
            if !warm {
                channel
                    .exec(true, BOOTSTRAP)
                    .await
                    .map_err(|e| lost("cannot start the command", e))?;
            }
            input.extend_from_slice(framed(&remote.line).as_bytes());
        } else {
            channel
                .exec(true, remote.line)
                .await
                .map_err(|e| lost("cannot start the command", e))?;
        }
        let (mut read, write) = channel.split();
        let mut guard = KillGuard::new(handle.clone(), kills);
        let pgid = guard.pgid.clone();
        if let Some(pw) = sudo_password {
            input.extend_from_slice(pw.as_bytes());
            input.push(b'\n');
        }
        if let Some(inner) = &remote.inner {
            input.extend_from_slice(framed(inner).as_bytes());
        }
        input.extend(exec.stdin.iter().flatten());
        let feed = async {
            if !input.is_empty() {
                write.data(&input[..]).await.map_err(|e| e.to_string())?;
            }
            if let Some(path) = file {
                let f = tokio::fs::File::open(path)
                    .await
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                send_file(&write, f, path, None).await?;
            }
            write.eof().await.map_err(|e| e.to_string())
        };
        let sink = exec.on_output.clone();
        let collect = async {
            let mut out = ExecOutput::default();
            let mut group = GroupLine::default();
            while let Some(msg) = read.wait().await {
                match msg {
                    ChannelMsg::Data { data } => {
                        let data = group.strip(&data, &pgid);
                        keep(&mut out.stdout, &mut out.dropped, data);
                        if let (Some(sink), false) = (&sink, data.is_empty()) {
                            sink(Stream::Stdout, data);
                        }
                    }
                    ChannelMsg::ExtendedData { data, ext: 1 } => {
                        keep(&mut out.stderr, &mut out.dropped, &data);
                        if let Some(sink) = &sink {
                            sink(Stream::Stderr, &data);
                        }
                    }
                    ChannelMsg::ExitStatus { exit_status } => {
                        out.exit_code = Some(exit_status as i32)
                    }
                    ChannelMsg::ExitSignal { signal_name, .. } => {
                        out.signal = Some(signal_number(&signal_name))
                    }
                    ChannelMsg::Close => break,
                    _ => {}
                }
            }
            out
        };
        // A command that ends without reading all its input (it failed)
        // closes the channel: its input is not waited on then.
        let work = async {
            tokio::pin!(feed, collect);
            let mut fed = None;
            loop {
                tokio::select! {
                    done = &mut feed, if fed.is_none() => fed = Some(done),
                    out = &mut collect => break (fed.unwrap_or(Ok(())), out),
                }
            }
        };
        let (fed, out) = guard.bound(exec.timeout, work).await?;
        if out.exit_code.is_none() && out.signal.is_none() {
            return Err(self.lost(handle, "the command ended without an exit status".into()));
        }
        if let Err(e) = fed
            && out.exit_code != Some(0)
        {
            return Err(TransportError::Io(format!("cannot send input: {e}")));
        }
        Ok(out)
    }

    /// A failure on a connection that is gone is `connection-lost`.
    fn lost(&self, handle: &Handle<Client>, what: String) -> TransportError {
        if handle.is_closed() {
            TransportError::ConnectionLost {
                target: self.settings.target.clone(),
                reason: what,
            }
        } else {
            TransportError::Io(what)
        }
    }
}

/// A new session channel. sshd frees a session only once it has our reply
/// to its close, so a channel opened right after another closed can be
/// refused for a moment (MaxSessions): retry refusals for up to 2 s.
async fn open_channel(
    handle: &Handle<Client>,
) -> Result<russh::Channel<client::Msg>, russh::Error> {
    let mut delay = Duration::from_millis(5);
    let give_up = tokio::time::Instant::now() + Duration::from_secs(2);
    loop {
        match handle.channel_open_session().await {
            Err(russh::Error::ChannelOpenFailure(_)) if tokio::time::Instant::now() < give_up => {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_millis(200));
            }
            other => return other,
        }
    }
}

/// The first line of a command's standard output, its process group (`echo
/// $$`), taken off the front of the data.
#[derive(Default)]
struct GroupLine {
    head: Vec<u8>,
    read: bool,
}

impl GroupLine {
    /// The output in `data` (all of it once the line is read); the group
    /// into `pgid` when the line ends in it.
    fn strip<'d>(&mut self, data: &'d [u8], pgid: &AtomicU32) -> &'d [u8] {
        if self.read {
            return data;
        }
        let Some(end) = data.iter().position(|b| *b == b'\n') else {
            self.head.extend_from_slice(data);
            return &[];
        };
        self.head.extend_from_slice(&data[..end]);
        if let Some(group) = std::str::from_utf8(&self.head)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            pgid.store(group, Ordering::SeqCst);
        }
        self.read = true;
        &data[end + 1..]
    }
}

/// Send the open file `f` (read from `path`) down `write`: exactly `len`
/// bytes when given (a file that shrinks as it is read is an error), else
/// to its end. In big chunks: russh cuts them into packets, where tokio's
/// copy would send 8 KiB at a time, several times slower.
async fn send_file(
    write: &russh::ChannelWriteHalf<client::Msg>,
    mut f: tokio::fs::File,
    path: &Path,
    len: Option<u64>,
) -> Result<(), String> {
    use tokio::io::AsyncReadExt;
    let mut buf = vec![0u8; 1 << 20];
    let mut left = len.unwrap_or(u64::MAX);
    while left > 0 {
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = f
            .read(&mut buf[..want])
            .await
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if n == 0 {
            return match len {
                Some(_) => Err(format!("{} shrank as it was sent", path.display())),
                None => Ok(()),
            };
        }
        write
            .data_bytes(buf[..n].to_vec())
            .await
            .map_err(|e| format!("cannot send the command's input: {e}"))?;
        left -= n as u64;
    }
    Ok(())
}

/// Keep output up to the cap, count the rest.
fn keep(buf: &mut Vec<u8>, dropped: &mut u64, data: &[u8]) {
    let room = OUTPUT_CAP.saturating_sub(buf.len()).min(data.len());
    buf.extend_from_slice(&data[..room]);
    *dropped += (data.len() - room) as u64;
}

fn signal_number(sig: &russh::Sig) -> i32 {
    use russh::Sig::*;
    match sig {
        HUP => 1,
        INT => 2,
        QUIT => 3,
        ILL => 4,
        ABRT => 6,
        FPE => 8,
        KILL => 9,
        USR1 => 10,
        SEGV => 11,
        PIPE => 13,
        ALRM => 14,
        TERM => 15,
        Custom(_) => 0,
    }
}

fn load_key(source: &KeySource, passphrase: Option<&str>) -> (String, Result<PrivateKey, String>) {
    let (what, text) = match source {
        KeySource::File(path) => (
            path.display().to_string(),
            std::fs::read_to_string(path).map_err(|e| format!("cannot read it: {e}")),
        ),
        KeySource::Data(data) => ("key-data".to_string(), Ok(data.clone())),
    };
    let key = text.and_then(|t| {
        russh::keys::decode_secret_key(&t, passphrase).map_err(|e| match e {
            russh::keys::Error::KeyIsEncrypted => {
                "it is encrypted: give passphrase in config.ssh or DROVER_SSH_PASSPHRASE"
                    .to_string()
            }
            other => format!("cannot load it: {other}"),
        })
    });
    (what, key)
}

/// The certificates for the key loaded from `what` (a path, or `key-data`):
/// the CertificateFiles that certify it, then `KEY-cert.pub` beside it.
fn certificates(
    what: &str,
    key: &PrivateKey,
    files: &[PathBuf],
) -> Vec<(PathBuf, Result<russh::keys::Certificate, String>)> {
    let mut paths: Vec<PathBuf> = files.to_vec();
    if what != "key-data" {
        paths.push(PathBuf::from(format!("{what}-cert.pub")));
    }
    paths.dedup();
    paths
        .into_iter()
        .filter(|p| p.is_file())
        .filter_map(|p| {
            let cert = russh::keys::load_openssh_certificate(&p)
                .map_err(|e| format!("cannot read it: {e}"));
            match &cert {
                Ok(c) if c.public_key() != key.public_key().key_data() => None,
                _ => Some((p, cert)),
            }
        })
        .collect()
}

/// Kills the command's process group when the command is cancelled (its
/// future dropped) or timed out.
struct KillGuard<'a> {
    handle: Arc<Handle<Client>>,
    /// The group, once the command's first line said it (0 before).
    pgid: Arc<AtomicU32>,
    /// Where a kill sent from `drop` is registered; `None` once finished.
    kills: Option<&'a Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl<'a> KillGuard<'a> {
    fn new(
        handle: Arc<Handle<Client>>,
        kills: Option<&'a Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    ) -> Self {
        KillGuard {
            handle,
            pgid: Arc::default(),
            kills,
        }
    }

    fn group(&self) -> Option<u32> {
        Some(self.pgid.load(Ordering::SeqCst)).filter(|g| *g != 0)
    }

    /// `work` (the command, which fills in `pgid`) to its end, when the
    /// guard stands down; or stopped at `limit`, its group killed.
    async fn bound<T>(
        &mut self,
        limit: Option<Duration>,
        work: impl std::future::Future<Output = T>,
    ) -> Result<T, TransportError> {
        let done = match limit {
            None => work.await,
            Some(limit) => match tokio::time::timeout(limit, work).await {
                Ok(done) => done,
                Err(_) => {
                    if let Some(pgid) = self.group() {
                        kill_group(self.handle.clone(), pgid).await;
                    }
                    self.kills = None;
                    return Err(TransportError::Timeout(limit));
                }
            },
        };
        self.kills = None;
        Ok(done)
    }
}

impl Drop for KillGuard<'_> {
    fn drop(&mut self) {
        if let (Some(kills), Some(pgid)) = (self.kills, self.group()) {
            let handle = self.handle.clone();
            let task = tokio::spawn(kill_group(handle, pgid));
            kills.lock().unwrap_or_else(|e| e.into_inner()).push(task);
        }
    }
}

/// TERM the group, KILL what is left a second later; on its own channel.
/// (`kill -s SIG -- -PGID`: dash's `kill` refuses `kill -TERM -- -PGID`.)
async fn kill_group(handle: Arc<Handle<Client>>, pgid: u32) {
    let script = format!(
        "kill -s TERM -- -{pgid} 2>/dev/null; i=0; while [ $i -lt 10 ] && kill -s 0 -- -{pgid} 2>/dev/null; \
         do sleep 0.1; i=$((i + 1)); done; kill -s KILL -- -{pgid} 2>/dev/null; true"
    );
    let run = async {
        let mut channel = open_channel(&handle).await.ok()?;
        channel.exec(true, script).await.ok()?;
        while let Some(msg) = channel.wait().await {
            if matches!(msg, ChannelMsg::Close) {
                break;
            }
        }
        Some(())
    };
    let _ = tokio::time::timeout(Duration::from_secs(5), run).await;
}

/// 128 random bits in hex, for a private directory's name.
fn random_name() -> Result<String, String> {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| format!("cannot read /dev/urandom: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// POSIX single quotes: safe for every byte but NUL.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A program and its arguments, each quoted.
fn words(program: &str, args: &[String]) -> String {
    std::iter::once(program)
        .chain(args.iter().map(String::as_str))
        .map(quote)
        .collect::<Vec<_>>()
        .join(" ")
}

/// What one exec runs on the target. The environment is set by `export` in a
/// script read from standard input, never as arguments: no process listing,
/// sshd's command or sudo's log shows it (task parameters, Sensitive ones
/// too, travel in the environment).
#[derive(Debug, PartialEq)]
struct Remote {
    /// The shell script: the process group first (`echo $$`), then the
    /// command, under `sudo` for `run_as`.
    line: String,
    /// `line` sets the environment: it goes on standard input (`BOOTSTRAP`),
    /// never as sshd's command.
    private: bool,
    /// Under sudo with an environment, the script that the shell sudo starts
    /// (`BOOTSTRAP` again) reads from standard input, after the password.
    inner: Option<String>,
}

/// `script` framed for `BOOTSTRAP`: its line count, then its lines.
fn framed(script: &str) -> String {
    format!("{}\n{script}\n", script.split('\n').count())
}

/// `export NAME='value'` lines of the command's environment.
fn exports(exec: &Exec) -> Result<String, String> {
    let mut exports = String::new();
    for (k, v) in &exec.env {
        let valid = k.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(format!("`{k}` is not an environment variable name"));
        }
        if v.contains('\0') {
            return Err(format!("the value of `{k}` contains a NUL byte"));
        }
        exports.push_str(&format!("export {k}={}\n", quote(v)));
    }
    Ok(exports)
}

/// The script of a command in the persistent shell (`setsid /bin/sh`
/// `eval`s it): its process group first, its environment, then a shell
/// command `eval`ed in that same shell (one program less to start than
/// `exec /bin/sh -c`), or a program `exec`ed.
fn shell_script(exec: &Exec) -> Result<String, String> {
    let exports = exports(exec)?;
    let run = match &exec.command {
        Command::Shell(cmd) => format!("eval {}", quote(cmd)),
        Command::Program(program, args) => format!("exec {}", words(program, args)),
    };
    Ok(format!("echo $$; {exports}{run}"))
}

/// The remote side of `exec`. A sudo password comes first on stdin, read by
/// the shell and piped to `sudo -S` only if sudo asks: never on a command
/// line.
fn command_line(exec: &Exec, run_as: Option<&str>, password: bool) -> Result<Remote, String> {
    let exports = exports(exec)?;
    let program = match &exec.command {
        Command::Shell(cmd) => format!("/bin/sh -c {}", quote(cmd)),
        Command::Program(program, args) => words(program, args),
    };
    let Some(user) = run_as else {
        return Ok(Remote {
            line: format!("echo $$; {exports}exec {program}"),
            private: !exports.is_empty(),
            inner: None,
        });
    };
    let (inner, script) = if exports.is_empty() {
        (program, None)
    } else {
        (
            format!("/bin/sh -c {}", quote(BOOTSTRAP)),
            Some(format!("{exports}exec {program}")),
        )
    };
    let u = quote(user);
    let body = if password {
        format!(
            "IFS= read -r drover_pw; if sudo -n -u {u} true 2>/dev/null; then unset drover_pw; \
             exec sudo -n -u {u} -- {inner}; else {{ printf '%s\\n' \"$drover_pw\"; unset drover_pw; \
             exec cat; }} | sudo -S -p '' -u {u} -- {inner}; fi"
        )
    } else {
        format!("exec sudo -n -u {u} -- {inner}")
    };
    Ok(Remote {
        line: format!("echo $$; {body}"),
        private: false,
        inner: script,
    })
}

impl Connection for SshConnection {
    fn exec(&self, exec: Exec) -> BoxFuture<'_, Result<ExecOutput, TransportError>> {
        Box::pin(async move {
            let run_as = exec.run_as.clone().or(self.link.settings.run_as.clone());
            self.run(exec, None, run_as.as_deref()).await
        })
    }

    fn upload<'a>(
        &'a self,
        source: &'a Path,
        destination: &'a str,
    ) -> BoxFuture<'a, Result<(), TransportError>> {
        Box::pin(async move {
            use std::os::unix::fs::PermissionsExt;
            let mode = tokio::fs::metadata(source)
                .await
                .map_err(|e| TransportError::Io(format!("cannot read {}: {e}", source.display())))?
                .permissions()
                .mode()
                & 0o7777;
            let dest = quote(destination);
            // Streamed to `cat` on the channel: any size, no SFTP subsystem
            // needed (docs/benchmarks.md compares).
            let exec = Exec {
                command: Command::Shell(format!(
                    "umask 077 && cat > {dest} && chmod {mode:o} {dest}"
                )),
                ..Exec::default()
            };
            let out = self.run(exec, Some(source), None).await?;
            if out.exit_code == Some(0) {
                Ok(())
            } else {
                Err(TransportError::Io(format!(
                    "cannot write {destination}: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                )))
            }
        })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let dir = self
                .link
                .temp_dir
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take();
            if let Some(dir) = dir {
                let _ = self.exec(Exec::program("rm", ["-rf", dir.as_str()])).await;
            }
            let kills: Vec<_> =
                std::mem::take(&mut *self.kills.lock().unwrap_or_else(|e| e.into_inner()));
            for k in kills {
                let _ = k.await;
            }
            self.link.disconnect().await;
        })
    }

    fn epoch(&self) -> u64 {
        self.link.epoch.load(Ordering::SeqCst)
    }

    fn stage<'a>(
        &'a self,
        dir: Option<&'a str>,
        sub: &'a str,
        files: &'a [(std::path::PathBuf, String)],
    ) -> BoxFuture<'a, Result<String, TransportError>> {
        Box::pin(self.stage_files(dir, sub, files))
    }

    fn stage_and_exec<'a>(
        &'a self,
        dir: Option<&'a str>,
        sub: &'a str,
        files: &'a [(std::path::PathBuf, String)],
        then: Box<dyn FnOnce(&str) -> Exec + Send + 'a>,
        staged: tokio::sync::oneshot::Sender<String>,
    ) -> BoxFuture<'a, Result<ExecOutput, TransportError>> {
        Box::pin(self.stage_and_run(dir, sub, files, then, staged))
    }

    fn adopt_temp_dir(&self, dir: &str) -> bool {
        *self.link.temp_dir.lock().unwrap_or_else(|e| e.into_inner()) = Some(dir.to_string());
        true
    }

    fn hold(&self) -> Box<dyn Send + '_> {
        Box::new(self.busy())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_quote_everything() {
        let exec = Exec {
            command: Command::Program("/tmp/x y/task".into(), vec!["it's".into(), "$(id)".into()]),
            env: vec![("PT_a".into(), "`id`\n'q'".into())],
            ..Exec::default()
        };
        let remote = command_line(&exec, None, false).unwrap();
        assert_eq!(
            remote.line,
            r#"echo $$; export PT_a='`id`
'\''q'\'''
exec '/tmp/x y/task' 'it'\''s' '$(id)'"#
        );
        assert!(remote.private && remote.inner.is_none());
        let bad = Exec {
            env: vec![("A B".into(), "x".into())],
            ..Exec::default()
        };
        assert!(command_line(&bad, None, false).is_err());
        let sudo = command_line(&Exec::default(), Some("root"), true).unwrap();
        assert!(sudo.line.contains("sudo -S -p '' -u 'root'"), "{sudo:?}");
        assert!(!sudo.line.contains("password"), "{sudo:?}");
        assert!(!sudo.private && sudo.inner.is_none());
    }

    #[test]
    fn the_environment_under_sudo_is_read_from_standard_input() {
        let exec = Exec {
            command: Command::Shell("echo \"$PT_a\"".into()),
            env: vec![("PT_a".into(), "secret".into())],
            ..Exec::default()
        };
        let remote = command_line(&exec, Some("root"), false).unwrap();
        assert!(!remote.line.contains("secret"), "{remote:?}");
        assert!(!remote.private);
        assert_eq!(
            remote.inner.as_deref(),
            Some("export PT_a='secret'\nexec /bin/sh -c 'echo \"$PT_a\"'")
        );
        assert_eq!(framed("a\nb"), "2\na\nb\n");
    }
}
