//! OpenSSH client configuration (`~/.ssh/config`, `/etc/ssh/ssh_config`, or
//! the inventory's `ssh-config: PATH`): what applies to one host, read as
//! `ssh` reads it (ssh_config(5)). The first value obtained for a keyword
//! wins, `IdentityFile` and `CertificateFile` accumulate; `Host` patterns
//! with `*`, `?` and `!`; `Match all|host|originalhost|user|localuser`;
//! `Include` in place (globs; relative to `~/.ssh`, or `/etc/ssh` for the
//! system file). Keywords drover has no use for are ignored, as are `Match`
//! blocks on criteria it cannot evaluate (`exec`, `canonical`, `final`).
//!
//! Written here rather than taken from a crate (ssh2-config was the one
//! considered): every error must name its file and line, and the order of
//! evaluation must be OpenSSH's own, `Include` and `Match` included.

use std::path::{Path, PathBuf};

/// What the configuration says about one host; `None` where it is silent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct HostConfig {
    pub(super) hostname: Option<String>,
    pub(super) user: Option<String>,
    pub(super) port: Option<u16>,
    pub(super) identity_files: Vec<String>,
    pub(super) identities_only: Option<bool>,
    pub(super) identity_agent: Option<String>,
    pub(super) certificate_files: Vec<String>,
    pub(super) proxy_jump: Option<String>,
    pub(super) user_known_hosts_file: Option<String>,
    pub(super) strict_host_key_checking: Option<String>,
    pub(super) connect_timeout: Option<u64>,
    pub(super) server_alive_interval: Option<u64>,
}

/// The files read when the inventory names none: the user's, then the
/// system's (each only if it exists).
pub(super) fn default_files(home: &Path) -> Vec<PathBuf> {
    [
        home.join(".ssh/config"),
        PathBuf::from("/etc/ssh/ssh_config"),
    ]
    .into_iter()
    .filter(|p| p.is_file())
    .collect()
}

/// The configuration of `host` (the name the inventory gives) from `files`,
/// in order; `user` is the inventory's user, if any (for `Match user`).
pub(super) fn resolve(
    files: &[PathBuf],
    host: &str,
    user: Option<&str>,
    home: &Path,
) -> Result<HostConfig, String> {
    let mut reader = Reader {
        original: host.to_string(),
        inventory_user: user.map(str::to_string),
        home: home.to_path_buf(),
        out: HostConfig::default(),
    };
    for file in files {
        let base = if file.starts_with("/etc/ssh") {
            PathBuf::from("/etc/ssh")
        } else {
            home.join(".ssh")
        };
        reader.file(file, &base, 0)?;
    }
    let mut out = reader.out;
    // Tokens, once every value is known (ssh_config(5) TOKENS).
    let hostname = out
        .hostname
        .as_deref()
        .map(|h| h.replace("%h", host).replace("%%", "%"))
        .unwrap_or_else(|| host.to_string());
    let remote_user = user
        .map(str::to_string)
        .or(out.user.clone())
        .unwrap_or_else(local_user);
    let port = out.port.unwrap_or(22).to_string();
    let expand = |s: &str| -> String {
        let mut t = String::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                t.push(c);
                continue;
            }
            match chars.next() {
                Some('h') => t.push_str(&hostname),
                Some('n') => t.push_str(host),
                Some('r') => t.push_str(&remote_user),
                Some('p') => t.push_str(&port),
                Some('u') => t.push_str(&local_user()),
                Some('d') => t.push_str(&home.display().to_string()),
                Some('%') => t.push('%'),
                Some(other) => {
                    t.push('%');
                    t.push(other);
                }
                None => t.push('%'),
            }
        }
        match t.strip_prefix("~/") {
            Some(rest) => home.join(rest).display().to_string(),
            None => t,
        }
    };
    out.hostname = Some(hostname.clone());
    for list in [&mut out.identity_files, &mut out.certificate_files] {
        *list = list.iter().map(|s| expand(s)).collect();
    }
    for one in [&mut out.identity_agent, &mut out.user_known_hosts_file] {
        *one = one.as_deref().map(expand);
    }
    Ok(out)
}

fn local_user() -> String {
    std::env::var("USER")
        .or(std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "root".into())
}

struct Reader {
    original: String,
    inventory_user: Option<String>,
    home: PathBuf,
    out: HostConfig,
}

impl Reader {
    fn file(&mut self, path: &Path, base: &Path, depth: usize) -> Result<(), String> {
        if depth > 16 {
            return Err(format!("{}: Include nested too deeply", path.display()));
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        // Lines before the first Host or Match apply to every host.
        let mut active = true;
        for (i, line) in text.lines().enumerate() {
            let at = |why: String| format!("{}:{}: {why}", path.display(), i + 1);
            let words = words(line).map_err(at)?;
            let Some((keyword, args)) = words.split_first() else {
                continue;
            };
            let keyword = keyword.to_ascii_lowercase();
            match keyword.as_str() {
                "host" => {
                    active = host_matches(args, &self.original);
                    continue;
                }
                "match" => {
                    active = self.match_line(args).map_err(at)?;
                    continue;
                }
                _ if !active => continue,
                "include" => {
                    for arg in args {
                        let pattern = expand_home(arg, &self.home);
                        let pattern = if pattern.is_absolute() {
                            pattern
                        } else {
                            base.join(pattern)
                        };
                        for file in glob(&pattern) {
                            self.file(&file, base, depth + 1)?;
                        }
                    }
                    continue;
                }
                _ => {}
            }
            let first = args.first().cloned().unwrap_or_default();
            let need = |what: &str| -> Result<String, String> {
                if args.is_empty() {
                    Err(at(format!("{keyword} needs {what}")))
                } else {
                    Ok(first.clone())
                }
            };
            let number = |what: &str| -> Result<u64, String> {
                need(what)?
                    .parse::<u64>()
                    .map_err(|_| at(format!("{keyword}: `{first}` is not {what}")))
            };
            let yes_no = || -> Result<bool, String> {
                match need("yes or no")?.to_ascii_lowercase().as_str() {
                    "yes" | "true" => Ok(true),
                    "no" | "false" => Ok(false),
                    _ => Err(at(format!("{keyword}: `{first}` is not yes or no"))),
                }
            };
            let o = &mut self.out;
            match keyword.as_str() {
                "hostname" => set(&mut o.hostname, need("a host name")?),
                "user" => set(&mut o.user, need("a user name")?),
                "port" => {
                    let port = number("a port")?;
                    let port = u16::try_from(port)
                        .ok()
                        .filter(|p| *p > 0)
                        .ok_or_else(|| at(format!("Port: `{first}` is not a port")))?;
                    set(&mut o.port, port)
                }
                "identityfile" => o.identity_files.push(need("a file")?),
                "certificatefile" => o.certificate_files.push(need("a file")?),
                "identitiesonly" => {
                    let v = yes_no()?;
                    set(&mut o.identities_only, v)
                }
                "identityagent" => set(&mut o.identity_agent, need("a socket path")?),
                "proxyjump" => set(&mut o.proxy_jump, need("a jump host")?),
                "userknownhostsfile" => set(&mut o.user_known_hosts_file, need("a file")?),
                "stricthostkeychecking" => {
                    let v = need("yes, no, accept-new or ask")?.to_ascii_lowercase();
                    if !["yes", "no", "off", "accept-new", "ask"].contains(&v.as_str()) {
                        return Err(at(format!(
                            "StrictHostKeyChecking: `{first}` is not yes, no, accept-new or ask"
                        )));
                    }
                    set(&mut o.strict_host_key_checking, v)
                }
                "connecttimeout" => {
                    let v = number("a number of seconds")?;
                    set(&mut o.connect_timeout, v)
                }
                "serveraliveinterval" => {
                    let v = number("a number of seconds")?;
                    set(&mut o.server_alive_interval, v)
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Whether a `Match` line applies (every criterion must).
    fn match_line(&self, args: &[String]) -> Result<bool, String> {
        let mut all = true;
        let mut i = 0;
        while i < args.len() {
            let (negated, criterion) = match args[i].strip_prefix('!') {
                Some(c) => (true, c.to_ascii_lowercase()),
                None => (false, args[i].to_ascii_lowercase()),
            };
            i += 1;
            let verdict = match criterion.as_str() {
                "all" => true,
                // drover cannot say: such a block never applies.
                "canonical" | "final" => false,
                "host" | "originalhost" | "user" | "localuser" | "exec" => {
                    let Some(arg) = args.get(i) else {
                        return Err(format!("Match {criterion} needs an argument"));
                    };
                    i += 1;
                    let patterns: Vec<String> = arg.split(',').map(str::to_string).collect();
                    match criterion.as_str() {
                        "host" => {
                            let name = self.out.hostname.as_deref().unwrap_or(&self.original);
                            host_matches(&patterns, name)
                        }
                        "originalhost" => host_matches(&patterns, &self.original),
                        "user" => {
                            let user = self
                                .inventory_user
                                .clone()
                                .or(self.out.user.clone())
                                .unwrap_or_else(local_user);
                            host_matches(&patterns, &user)
                        }
                        "localuser" => host_matches(&patterns, &local_user()),
                        _ => false,
                    }
                }
                other => return Err(format!("Match: unknown criterion `{other}`")),
            };
            all &= verdict != negated;
        }
        Ok(all)
    }
}

/// The first value obtained wins.
fn set<T>(slot: &mut Option<T>, value: T) {
    if slot.is_none() {
        *slot = Some(value);
    }
}

/// A line's words: `Keyword args`, `Keyword=args`, double quotes, `#`
/// comments.
fn words(line: &str) -> Result<Vec<String>, String> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(Vec::new());
    }
    // The keyword may be followed by `=` instead of (or with) spaces.
    let split = line
        .find(|c: char| c.is_whitespace() || c == '=')
        .unwrap_or(line.len());
    let (keyword, rest) = line.split_at(split);
    let rest = rest.trim_start();
    let rest = rest.strip_prefix('=').unwrap_or(rest);
    let mut out = vec![keyword.to_string()];
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&c) = chars.peek() else { break };
        if c == '#' {
            break;
        }
        let mut word = String::new();
        if c == '"' {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some(c) => word.push(c),
                    None => return Err("a quote is not closed".into()),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                word.push(c);
                chars.next();
            }
        }
        out.push(word);
    }
    Ok(out)
}

/// `Host` patterns (also comma-separated lists of `Match`): some positive
/// pattern matches and no negated one does.
pub(super) fn host_matches(patterns: &[String], name: &str) -> bool {
    let mut hit = false;
    for p in patterns {
        match p.strip_prefix('!') {
            Some(neg) if wildcard(neg, name) => return false,
            Some(_) => {}
            None => hit |= wildcard(p, name),
        }
    }
    hit
}

/// `*` and `?` wildcards, case-insensitive as OpenSSH matches host names.
fn wildcard(pattern: &str, name: &str) -> bool {
    fn go(p: &[u8], n: &[u8]) -> bool {
        match p.split_first() {
            None => n.is_empty(),
            Some((b'*', rest)) => (0..=n.len()).any(|i| go(rest, &n[i..])),
            Some((b'?', rest)) => !n.is_empty() && go(rest, &n[1..]),
            Some((c, rest)) => n
                .split_first()
                .is_some_and(|(d, n)| c.eq_ignore_ascii_case(d) && go(rest, n)),
        }
    }
    go(pattern.as_bytes(), name.as_bytes())
}

fn expand_home(path: &str, home: &Path) -> PathBuf {
    match path.strip_prefix("~/") {
        Some(rest) => home.join(rest),
        None => PathBuf::from(path),
    }
}

/// The files a pattern with wildcards in its last component names, sorted.
fn glob(pattern: &Path) -> Vec<PathBuf> {
    let name = pattern
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !name.contains(['*', '?']) {
        return if pattern.is_file() {
            vec![pattern.to_path_buf()]
        } else {
            Vec::new()
        };
    }
    let dir = pattern.parent().unwrap_or(Path::new("/"));
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| wildcard(&name, &e.file_name().to_string_lossy()))
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A home directory with `files` in its `.ssh`.
    struct Home(PathBuf);

    impl Home {
        fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Home {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn config(files: &[(&str, &str)]) -> (Home, Vec<PathBuf>) {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("drover-ssh-config-{}-{n}", std::process::id()));
        std::fs::create_dir_all(dir.join(".ssh")).unwrap();
        let paths = files
            .iter()
            .map(|(name, text)| {
                let p = dir.join(".ssh").join(name);
                std::fs::write(&p, text).unwrap();
                p
            })
            .collect();
        (Home(dir), paths)
    }

    #[test]
    fn first_value_wins_identities_accumulate_and_tokens_expand() {
        let (home, files) = config(&[(
            "config",
            "Host web*  !web9\n  HostName %h.example.net\n  User deploy\n  IdentityFile ~/.ssh/%r-%h\nHost *\n  User nobody\n  Port=2200\n  IdentityFile \"/keys/with space\"\n",
        )]);
        let c = resolve(&files, "web1", None, home.path()).unwrap();
        assert_eq!(c.hostname.as_deref(), Some("web1.example.net"));
        assert_eq!(c.user.as_deref(), Some("deploy"));
        assert_eq!(c.port, Some(2200));
        assert_eq!(
            c.identity_files,
            [
                format!("{}/.ssh/deploy-web1.example.net", home.path().display()),
                "/keys/with space".to_string()
            ]
        );
        let negated = resolve(&files, "web9", None, home.path()).unwrap();
        assert_eq!(negated.user.as_deref(), Some("nobody"));
        assert_eq!(negated.hostname.as_deref(), Some("web9"));
    }

    #[test]
    fn match_and_include() {
        let (home, files) = config(&[
            ("extra.conf", "Host db\n  Port 5022\n"),
            (
                "config",
                "Include extra.*\nMatch host db.internal\n  User dba\nHost db\n  HostName db.internal\nMatch originalhost db user ops\n  IdentityFile /k/ops\nMatch exec \"true\"\n  User never\n",
            ),
        ]);
        let c = resolve(&files[1..], "db", Some("ops"), home.path()).unwrap();
        assert_eq!(c.port, Some(5022), "included in place");
        assert_eq!(c.hostname.as_deref(), Some("db.internal"));
        // `Match host` is evaluated when reached: HostName came later.
        assert_eq!(c.user, None);
        assert_eq!(c.identity_files, ["/k/ops"]);
    }

    #[test]
    fn mistakes_name_their_file_and_line() {
        let (home, files) = config(&[("config", "Host a\n  Port seventy\n")]);
        let e = resolve(&files, "a", None, home.path()).unwrap_err();
        assert!(
            e.ends_with("config:2: port: `seventy` is not a port"),
            "{e}"
        );
        let (home, files) = config(&[("config", "Match sometimes x\n")]);
        let e = resolve(&files, "a", None, home.path()).unwrap_err();
        assert!(
            e.contains("config:1: Match: unknown criterion `sometimes`"),
            "{e}"
        );
        let (home, files) = config(&[("config", "IdentityFile \"/a\n")]);
        assert!(
            resolve(&files, "a", None, home.path())
                .unwrap_err()
                .contains("config:1:")
        );
        // drover reads only the blocks that apply to the host.
        let (home, files) = config(&[("config", "Host other\n  Port 0\n")]);
        assert!(
            resolve(&files, "a", None, home.path()).is_ok(),
            "inactive blocks are skipped"
        );
    }
}
