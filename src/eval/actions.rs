//! Actions on targets (spec §6): `run_command`, `run_script`,
//! `upload_file` and `run_task`. Each fans out over its targets at once
//! (bounded by the run's concurrency), waits for all of them and returns a
//! ResultSet; failures raise `drover/run-failure` unless `_catch_errors`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use indexmap::IndexMap;
use serde_json::json;

use super::args::{Args, targets};
use crate::eval::testing::{Answer, StubKind, UNSTUBBED};
use crate::eval::{BAD_PARAMETERS, Eval, Flow, Interpreter};
use crate::project::tasks::{InputMethod, Task};
use crate::syntax::ast::Span;
use crate::transport::{Command, Connection, Exec, ExecOutput, TransportError, lossy};
use crate::value::Target;
use crate::value::types::describe;
use crate::value::{ActionResult, ErrorValue, Hash, Value};

/// Options every action takes, prefixed with `_` so they never clash with
/// task parameters.
#[derive(Default)]
struct Options {
    catch_errors: bool,
    env: Vec<(String, String)>,
    timeout: Option<Duration>,
    noop: bool,
    run_as: Option<String>,
    /// Named arguments that are not options (task parameters, `arguments`).
    rest: IndexMap<String, (Value, Span)>,
}

fn options(it: &Interpreter, named: IndexMap<String, (Value, Span)>) -> Eval<Options> {
    let mut o = Options::default();
    for (key, (value, span)) in named {
        let bad = |wanted: &str| {
            it.error(
                "drover/type-error",
                format!("`{key}` needs {wanted}, got {}", describe(&value)),
                span,
            )
        };
        match key.as_str() {
            "_catch_errors" => match value {
                Value::Bool(b) => o.catch_errors = b,
                _ => return Err(bad("a Boolean")),
            },
            "_noop" => match value {
                Value::Bool(b) => o.noop = b,
                _ => return Err(bad("a Boolean")),
            },
            "_timeout" => match value {
                Value::Duration(ms) => o.timeout = Some(Duration::from_millis(ms)),
                _ => return Err(bad("a Duration")),
            },
            "_env" | "_env_vars" => match &value {
                Value::Hash(h) => {
                    for (k, v) in h.iter() {
                        o.env.push((k.clone(), env_text(v)));
                    }
                }
                _ => return Err(bad("a Hash")),
            },
            "_description" => {}
            "_run_as" => match value {
                Value::Str(user) if !user.is_empty() => o.run_as = Some(user.to_string()),
                _ => return Err(bad("a user name")),
            },
            other if other.starts_with('_') => {
                return Err(it.error(
                    "drover/type-error",
                    format!("unknown action option `{other}`"),
                    span,
                ));
            }
            _ => {
                o.rest.insert(key, (value, span));
            }
        }
    }
    Ok(o)
}

/// A value as an environment variable: strings as they are, the rest as JSON.
/// Sensitive values are revealed here: the process needs them.
fn env_text(v: &Value) -> String {
    match v {
        Value::Str(s) => s.to_string(),
        Value::Sensitive(s) => env_text(s.reveal()),
        other => revealed_json(other).to_string(),
    }
}

/// JSON of a value with secrets revealed, for task input only.
fn revealed_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Sensitive(s) => revealed_json(s.reveal()),
        Value::Array(items) => items.iter().map(revealed_json).collect(),
        Value::Hash(h) => serde_json::Value::Object(
            h.iter()
                .map(|(k, v)| (k.clone(), revealed_json(v)))
                .collect(),
        ),
        other => other.to_json(),
    }
}

/// What one target does for an action.
enum Work {
    Command(String),
    Script {
        path: PathBuf,
        arguments: Vec<String>,
    },
    Upload {
        source: PathBuf,
        destination: String,
    },
    WaitUp {
        timeout: Duration,
        interval: Duration,
    },
    /// A file of each target to `base/TARGET/NAME` on the controller.
    Download {
        source: String,
        base: PathBuf,
    },
    /// `content` as a file on each target.
    Write {
        content: Vec<u8>,
        destination: String,
    },
    Task {
        task: Arc<Task>,
        /// Checked parameters, defaults filled in.
        params: IndexMap<String, Value>,
        noop: bool,
    },
}

impl Work {
    /// What the timeline shows of it: the task, the command's first line,
    /// the script or the file.
    fn detail(&self) -> String {
        match self {
            Work::Command(cmd) => {
                let line = cmd.lines().next().unwrap_or_default();
                let mut short: String = line.chars().take(60).collect();
                if short.len() < cmd.len() {
                    short.push('…');
                }
                short
            }
            Work::Script { path, .. } => path.display().to_string(),
            Work::Upload {
                source,
                destination,
            } => format!("{} -> {destination}", source.display()),
            Work::WaitUp { .. } => String::new(),
            Work::Download { source, base } => format!("{source} -> {}", base.display()),
            Work::Write { destination, .. } => destination.clone(),
            Work::Task { task, .. } => task.name.clone(),
        }
    }

    /// What a stub matches: the task, the command, the script or file as
    /// the plan names it (relative to the project), and the parameters.
    fn stubbed_as(&self, project: &std::path::Path) -> (String, Hash) {
        let relative = |p: &std::path::Path| {
            p.strip_prefix(project)
                .unwrap_or(p)
                .to_string_lossy()
                .into_owned()
        };
        match self {
            Work::Command(cmd) => (cmd.clone(), Hash::new()),
            Work::Script { path, arguments } => {
                let mut params = Hash::new();
                params.insert(
                    "arguments".into(),
                    Value::array(arguments.iter().map(Value::str).collect()),
                );
                (relative(path), params)
            }
            Work::Upload { source, .. } => (relative(source), Hash::new()),
            Work::WaitUp { .. } => (String::new(), Hash::new()),
            Work::Download { source, .. } => (source.clone(), Hash::new()),
            Work::Write { destination, .. } => (destination.clone(), Hash::new()),
            Work::Task { task, params, .. } => (task.name.clone(), params.clone()),
        }
    }
}

/// The actions, each run on all its targets at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    /// `run_command(targets, command)`.
    Command,
    /// `run_script(targets, path, arguments =>)`.
    Script,
    /// `upload_file(targets, source, destination)`.
    Upload,
    /// `run_task(task, targets, params...)`.
    Task,
    /// `wait_up(targets, timeout =>, interval =>)`.
    WaitUp,
    /// Bolt's `wait_until_available(targets, wait_time =>, retry_interval =>)`.
    WaitUntilAvailable,
    /// `download_file(source, destination, targets)`.
    Download,
    /// `write_file(content, destination, targets)`.
    WriteFile,
}

impl Action {
    /// Its name in plans and events.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Action::Command => "run_command",
            Action::Script => "run_script",
            Action::Upload => "upload_file",
            Action::Task => "run_task",
            Action::WaitUp => "wait_up",
            Action::WaitUntilAvailable => "wait_until_available",
            Action::Download => "download_file",
            Action::WriteFile => "write_file",
        }
    }
}

/// Run `action`; `args` are evaluated. The steps: options, what to do on
/// each target, the targets, the fan-out, the ResultSet.
pub(crate) async fn run(
    it: &Interpreter<'_>,
    action: Action,
    args: Args,
    span: Span,
) -> Eval<Value> {
    let name = action.name();
    let what = format!("`{name}`");
    let Args { positional, named } = args;
    let mut opts = options(it, named)?;
    let (work, targets_at) = work(it, action, &positional, &mut opts, span)?;
    if let Some((k, (_, s))) = opts.rest.first() {
        return Err(it.error(
            "drover/type-error",
            format!("{what} has no parameter `{k}`"),
            *s,
        ));
    }
    let Some((spec, spec_span)) = positional.get(targets_at) else {
        return Err(it.error("drover/type-error", format!("{what} needs targets"), span));
    };
    if positional.len() > targets_at + 1 {
        return Err(it.error(
            "drover/type-error",
            format!("{what} takes {} positional arguments", targets_at + 1),
            positional[targets_at + 1].1,
        ));
    }
    let targets = targets(it, spec, *spec_span)?;
    let location = it.program.location(span);
    let step = it.next_step();
    it.events.step(&crate::eval::Step {
        id: step,
        action: name,
        // A command may hold a secret it was given (`$secret.unwrap`).
        detail: &crate::value::mask(&work.detail()),
        location: &location,
        targets: &targets.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
    });
    let stubs = match &it.test {
        Some(test) => Some(stubbed(
            it,
            test,
            action,
            &work,
            &targets,
            (&location, span),
        )?),
        None => None,
    };
    let results = fan_out(
        it,
        (step, name),
        &targets,
        &work,
        &opts,
        stubs.as_deref(),
        (&location, span),
    )
    .await;
    result_set(name, results, opts.catch_errors, (location, span))
}

/// What `action` does on each target, from its arguments; and which
/// positional argument holds the targets.
fn work(
    it: &Interpreter<'_>,
    action: Action,
    positional: &[(Value, Span)],
    opts: &mut Options,
    span: Span,
) -> Eval<(Work, usize)> {
    let what = format!("`{}`", action.name());
    let string = |i: usize| -> Eval<String> {
        match positional.get(i) {
            Some((Value::Str(s), _)) => Ok(s.to_string()),
            Some((other, s)) => Err(it.error(
                "drover/type-error",
                format!("{what} needs a String here, got {}", describe(other)),
                *s,
            )),
            None => Err(it.error(
                "drover/type-error",
                format!("{what} is missing an argument"),
                span,
            )),
        }
    };
    // The local file named by the first argument, relative to the project.
    // A dry run reads no local file: it only predicts.
    let local_file = |what: &str| -> Eval<PathBuf> {
        let path = it.project.join(string(0)?);
        if !path.is_file() && !it.dry_run {
            return Err(it.error(
                "drover/file-not-found",
                format!("no {what} at {}", path.display()),
                positional[0].1,
            ));
        }
        Ok(path)
    };
    Ok(match action {
        Action::Command => (Work::Command(string(0)?), 1),
        Action::Script => {
            let path = local_file("script")?;
            let arguments = match opts.rest.shift_remove("arguments") {
                None => Vec::new(),
                Some((Value::Array(a), _)) => a.iter().map(env_text).collect(),
                Some((other, s)) => {
                    return Err(it.error(
                        "drover/type-error",
                        format!("`arguments` needs an Array, got {}", describe(&other)),
                        s,
                    ));
                }
            };
            (Work::Script { path, arguments }, 1)
        }
        Action::WaitUp | Action::WaitUntilAvailable => {
            // A Duration, or Bolt's seconds as a number.
            let mut duration = |key: &str, default: u64| -> Eval<Duration> {
                match opts.rest.shift_remove(key) {
                    None => Ok(Duration::from_millis(default)),
                    Some((v, s)) => super::args::seconds(&v).ok_or_else(|| {
                        it.error(
                            "drover/type-error",
                            format!("`{key}` needs a Duration or seconds, got {}", describe(&v)),
                            s,
                        )
                    }),
                }
            };
            let (timeout, interval) = if action == Action::WaitUp {
                (duration("timeout", 300_000)?, duration("interval", 2_000)?)
            } else {
                (
                    duration("wait_time", 120_000)?,
                    duration("retry_interval", 1_000)?,
                )
            };
            let interval = interval.max(Duration::from_millis(10));
            (Work::WaitUp { timeout, interval }, 0)
        }
        Action::Download => {
            let destination = PathBuf::from(string(1)?);
            let base = if destination.is_absolute() {
                destination
            } else {
                it.project.join("downloads").join(destination)
            };
            // Results name absolute paths, as Bolt's do.
            let base = std::path::absolute(&base).unwrap_or(base);
            (
                Work::Download {
                    source: string(0)?,
                    base,
                },
                2,
            )
        }
        Action::WriteFile => {
            let content = match &positional[0].0 {
                Value::Sensitive(s) => s.reveal().to_display(),
                other => other.to_display(),
            };
            (
                Work::Write {
                    content: content.into_bytes(),
                    destination: string(1)?,
                },
                2,
            )
        }
        Action::Upload => {
            let source = local_file("file")?;
            (
                Work::Upload {
                    source,
                    destination: string(1)?,
                },
                2,
            )
        }
        Action::Task => {
            let task = it
                .tasks
                .get(&string(0)?)
                .map_err(|message| it.error("drover/unknown-task", message, positional[0].1))?;
            let given = std::mem::take(&mut opts.rest);
            let params = task
                .bind(given, opts.noop)
                .map_err(|(message, at)| it.error(BAD_PARAMETERS, message, at.unwrap_or(span)))?;
            (
                Work::Task {
                    task,
                    params,
                    noop: opts.noop,
                },
                1,
            )
        }
    })
}

/// In a test: the call recorded, and each target's stubbed answer; an
/// action no stub answers fails the test (`wait_up` succeeds at once).
fn stubbed(
    it: &Interpreter<'_>,
    test: &crate::eval::testing::TestState,
    action: Action,
    work: &Work,
    targets: &[Arc<Target>],
    (location, span): (&str, Span),
) -> Eval<Vec<(Answer, Duration)>> {
    let (name, params) = work.stubbed_as(&it.project);
    let names: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
    test.record(action.name(), &name, &names, &params, location);
    let kind = stub_kind(action);
    let at: Vec<Option<&str>> = names.iter().map(|n| Some(*n)).collect();
    let answers = test.answer(kind, &name, &at, &params);
    let mut out = Vec::with_capacity(answers.len());
    for (answer, target) in answers.into_iter().zip(&names) {
        match answer {
            Some(a) => out.push(a),
            None if kind == StubKind::WaitUp => {
                out.push((Answer::Value(Value::Undef), Duration::ZERO))
            }
            None => {
                let what = match name.as_str() {
                    "" => String::new(),
                    n => format!(" `{n}`"),
                };
                let mut e = ErrorValue::new(
                    UNSTUBBED,
                    format!(
                        "no stub answers {}{what} on {target} (at {location})",
                        action.name()
                    ),
                );
                e.target = Some(target.to_string());
                e.location = location.to_string();
                e.span = Some(span);
                e.details.insert("action".into(), Value::str(action.name()));
                e.details.insert("name".into(), Value::str(&name));
                return Err(test.fail(e));
            }
        }
    }
    Ok(out)
}

/// The stubs that answer `action`.
fn stub_kind(action: Action) -> StubKind {
    match action {
        Action::Task => StubKind::Task,
        Action::Command => StubKind::Command,
        Action::Script => StubKind::Script,
        Action::Upload | Action::Download | Action::WriteFile => StubKind::Upload,
        Action::WaitUp | Action::WaitUntilAvailable => StubKind::WaitUp,
    }
}

/// A stub's answer as the action's result on one target.
fn answered(work: &Work, answer: &Answer, waited: Duration) -> (Hash, Option<ErrorValue>) {
    let mut value = Hash::new();
    match (answer, work) {
        (Answer::Error(e), _) => return (value, Some(e.clone())),
        (
            Answer::Output {
                stdout,
                stderr,
                exit_code,
            },
            _,
        ) => {
            return command_result(ExecOutput {
                stdout: stdout.clone().into_bytes(),
                stderr: stderr.clone().into_bytes(),
                dropped: 0,
                exit_code: Some(*exit_code),
                signal: None,
            });
        }
        (Answer::Value(Value::Hash(h)), Work::Task { .. }) => {
            value = (**h).clone();
        }
        (_, Work::WaitUp { .. }) => {
            value.insert("waited".into(), Value::Duration(waited.as_millis() as u64));
        }
        (_, Work::Upload { destination, .. } | Work::Write { destination, .. }) => {
            value.insert("path".into(), Value::str(destination));
        }
        (_, Work::Download { source, base }) => {
            let name = source.rsplit('/').next().unwrap_or(source);
            value.insert(
                "path".into(),
                Value::str(base.join(name).display().to_string()),
            );
        }
        _ => {}
    }
    (value, None)
}

/// Run `work` on every target at once (within the run's concurrency bound),
/// or answer it with `stubs` (a test's, one per target); the results in
/// target order.
async fn fan_out(
    it: &Interpreter<'_>,
    (step, name): (u64, &str),
    targets: &[Arc<Target>],
    work: &Work,
    opts: &Options,
    stubs: Option<&[(Answer, Duration)]>,
    (location, span): (&str, Span),
) -> Vec<Arc<ActionResult>> {
    let runs = targets.iter().enumerate().map(|(i, t)| async move {
        let _permit = it
            .concurrency
            .acquire()
            .await
            .expect("the semaphore is never closed");
        it.events.target_start(step, name, &t.name);
        // The run's clock: virtual in a dry run, so durations are predictions.
        let started = tokio::time::Instant::now();
        let outcome = match stubs.map(|s| &s[i]) {
            Some((answer, duration)) => {
                tokio::time::sleep(*duration).await;
                Ok(answered(work, answer, *duration))
            }
            None => on_target(it, t, work, opts).await,
        };
        let mut result = ActionResult {
            target: t.clone(),
            action: name.to_string(),
            value: Hash::new(),
            error: None,
            duration_ms: started.elapsed().as_millis() as u64,
        };
        match outcome {
            Ok((value, error)) => {
                result.value = value;
                result.error = error;
            }
            Err(e) => result.error = Some(transport_error(e)),
        }
        // What the target printed may hold a secret it was given.
        if crate::value::any_secrets() {
            result.value = result
                .value
                .into_iter()
                .map(|(k, v)| (k, crate::value::masked(v)))
                .collect();
            if let Some(e) = &mut result.error {
                e.message = crate::value::mask(&e.message).into_owned();
                e.details = e
                    .details
                    .clone()
                    .into_iter()
                    .map(|(k, v)| (k, crate::value::masked(v)))
                    .collect();
            }
        }
        if let Some(e) = &mut result.error {
            e.target = Some(t.name.clone());
            e.location = location.to_string();
            e.span = Some(span);
        }
        it.events.target_result(step, &result);
        Arc::new(result)
    });
    futures::future::join_all(runs).await
}

/// The ResultSet, or `drover/run-failure` holding it when some target failed
/// and errors are not caught.
fn result_set(
    name: &str,
    results: Vec<Arc<ActionResult>>,
    catch_errors: bool,
    (location, span): (String, Span),
) -> Eval<Value> {
    let targets = results.len();
    let failed = results.iter().filter(|r| !r.ok()).count();
    let set = Value::ResultSet(Arc::new(results));
    if failed > 0 && !catch_errors {
        let mut e = ErrorValue::new(
            "drover/run-failure",
            format!("{name} failed on {failed} of {targets} target(s)"),
        );
        e.location = location;
        e.span = Some(span);
        e.details.insert("result_set".into(), set);
        return Err(Flow::Error(Box::new(e)));
    }
    Ok(set)
}

fn transport_error(e: TransportError) -> ErrorValue {
    let kind = match &e {
        TransportError::Connect { .. } => "drover/connect-failed",
        TransportError::Timeout(_) => "drover/timeout",
        TransportError::Io(_) => "drover/transport-error",
        TransportError::Unsupported(_) => "drover/unsupported",
        TransportError::HostKey { .. } => "drover/host-key",
        TransportError::Auth { .. } => "drover/auth-failed",
        TransportError::ConnectionLost { .. } => "drover/connection-lost",
    };
    ErrorValue::new(kind, e.to_string())
}

/// `{stdout, stderr, exit_code}` and the failure of a non-zero exit.
fn command_result(out: ExecOutput) -> (Hash, Option<ErrorValue>) {
    let mut value = Hash::new();
    value.insert("stdout".into(), Value::str(lossy(&out.stdout)));
    value.insert("stderr".into(), Value::str(lossy(&out.stderr)));
    value.insert(
        "exit_code".into(),
        out.exit_code.map_or(Value::Undef, |c| Value::Int(c.into())),
    );
    if out.dropped > 0 {
        value.insert(
            "output_dropped_bytes".into(),
            Value::Int(out.dropped as i64),
        );
    }
    let error = match (out.exit_code, out.signal) {
        (Some(0), _) => None,
        (Some(code), _) => {
            let mut e = ErrorValue::new(
                "drover/command-failed",
                format!("the command exited with {code}"),
            );
            e.details
                .insert("exit_code".into(), Value::Int(code.into()));
            Some(e)
        }
        (None, sig) => Some(ErrorValue::new(
            "drover/command-failed",
            format!("the command was killed by signal {}", sig.unwrap_or(0)),
        )),
    };
    (value, error)
}

async fn on_target(
    it: &Interpreter<'_>,
    target: &Arc<Target>,
    work: &Work,
    opts: &Options,
) -> Result<(Hash, Option<ErrorValue>), TransportError> {
    let conn = match work {
        Work::WaitUp { timeout, interval } => {
            return wait_up(it, target, *timeout, *interval).await;
        }
        _ => it.connections.get(target).await?,
    };
    let exec = |command: Command| Exec {
        command,
        env: opts.env.clone(),
        stdin: None,
        timeout: opts.timeout,
        on_output: it.stream.as_ref().map(|sinks| sinks(&target.name)),
        run_as: opts.run_as.clone(),
    };
    match work {
        Work::WaitUp { .. } => unreachable!("handled above"),
        Work::Download { source, base } => download(it, target, &conn, source, base).await,
        Work::Write {
            content,
            destination,
        } => {
            let mut e = exec(Command::Program(
                "sh".into(),
                vec![
                    "-c".into(),
                    "cat > \"$1\"".into(),
                    "sh".into(),
                    destination.clone(),
                ],
            ));
            e.stdin = Some(content.clone());
            e.on_output = None;
            let (mut value, error) = command_result(conn.exec(e).await?);
            value.insert("path".into(), Value::str(destination));
            Ok((value, error))
        }
        Work::Command(cmd) => Ok(command_result(
            conn.exec(exec(Command::Shell(cmd.clone()))).await?,
        )),
        Work::Upload {
            source,
            destination,
        } => {
            conn.upload(source, destination).await?;
            let mut value = Hash::new();
            value.insert("path".into(), Value::str(destination));
            Ok((value, None))
        }
        Work::Script { path, arguments } => {
            // Staged like a task's files: once per target per run.
            let bundle = it.connections.staging.script(path)?;
            let _hold = conn.hold();
            let name = bundle.files[0].1.clone();
            let mut e = exec(Command::default());
            e.timeout = opts.timeout;
            let arguments = arguments.clone();
            let run = move |dir: &str| Exec {
                command: Command::Program(format!("{dir}/{name}"), arguments),
                ..e
            };
            let staging = &it.connections.staging;
            Ok(command_result(
                staging.run(target, &conn, &bundle, run).await?,
            ))
        }
        Work::Task { task, params, noop } => {
            if let Some(simulated) = conn.task(&task.name) {
                return Ok(task_result(&task.name, simulated.await?));
            }
            run_task(
                it,
                target,
                &conn,
                task,
                params,
                *noop,
                exec(Command::default()),
            )
            .await
        }
    }
}

/// `download_file` on one target: its file read through the connection and
/// written to `base/TARGET/NAME` (nothing is written in a dry run).
async fn download(
    it: &Interpreter<'_>,
    target: &Target,
    conn: &Arc<dyn Connection>,
    source: &str,
    base: &std::path::Path,
) -> Result<(Hash, Option<ErrorValue>), TransportError> {
    // A target name may be a URI: a directory name must not be a path.
    let dir: String = target
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-@".contains(c) {
                c.to_string()
            } else {
                format!("%{:02X}", c as u32)
            }
        })
        .collect();
    let name = source
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|n| !n.is_empty() && *n != "." && *n != "..")
        .unwrap_or("download");
    let local = base.join(dir).join(name);
    let mut value = Hash::new();
    value.insert("path".into(), Value::str(local.display().to_string()));
    if it.dry_run {
        return Ok((value, None));
    }
    let out = conn.exec(Exec::program("cat", ["--", source])).await?;
    let failed = |message: String| {
        let mut e = ErrorValue::new("drover/download-failed", message);
        e.details.insert("source".into(), Value::str(source));
        Ok((Hash::new(), Some(e)))
    };
    if out.exit_code != Some(0) {
        return failed(format!(
            "cannot read {source} on {}: {}",
            target.name,
            lossy(&out.stderr).trim()
        ));
    }
    if out.dropped > 0 {
        return failed(format!(
            "{source} on {} is larger than {} bytes, the most drover downloads",
            target.name,
            crate::transport::OUTPUT_CAP
        ));
    }
    let written = local
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::write(&local, &out.stdout));
    if let Err(e) = written {
        return failed(format!("cannot write {}: {e}", local.display()));
    }
    Ok((value, None))
}

/// Up when a new connection can be made and a no-op command runs on it;
/// tried every `interval` until `timeout`.
async fn wait_up(
    it: &Interpreter<'_>,
    target: &Arc<Target>,
    timeout: Duration,
    interval: Duration,
) -> Result<(Hash, Option<ErrorValue>), TransportError> {
    let started = tokio::time::Instant::now();
    loop {
        let attempt = async {
            let conn = it.connections.fresh(target).await?;
            let out = conn
                .exec(Exec {
                    command: Command::Shell("true".into()),
                    timeout: Some(interval.max(Duration::from_secs(1))),
                    ..Exec::default()
                })
                .await;
            // A probe: the run's own connection is another one.
            conn.close().await;
            out
        };
        let last = match attempt.await {
            Ok(out) if out.exit_code == Some(0) => {
                let mut value = Hash::new();
                value.insert(
                    "waited".into(),
                    Value::Duration(started.elapsed().as_millis() as u64),
                );
                return Ok((value, None));
            }
            Ok(out) => format!("the no-op command exited with {:?}", out.exit_code),
            Err(e @ TransportError::Unsupported(_)) => return Err(e),
            Err(e) => e.to_string(),
        };
        // Poll every `interval`, and once more at the deadline itself.
        let remaining = timeout.saturating_sub(started.elapsed());
        if remaining.is_zero() {
            let mut e = ErrorValue::new(
                "drover/timeout",
                format!(
                    "{} was not up within {}: {last}",
                    target.name,
                    crate::duration::format(timeout.as_millis() as u64)
                ),
            );
            e.details.insert("last_error".into(), Value::str(&last));
            return Ok((Hash::new(), Some(e)));
        }
        tokio::time::sleep(interval.min(remaining)).await;
    }
}

/// Run a real task on one target: choose its implementation, stage its files
/// (once per target per run), pass its parameters as the metadata says.
async fn run_task(
    it: &Interpreter<'_>,
    target: &Arc<Target>,
    conn: &Arc<dyn Connection>,
    task: &Task,
    params: &IndexMap<String, Value>,
    noop: bool,
    mut exec: Exec,
) -> Result<(Hash, Option<ErrorValue>), TransportError> {
    let failed = |kind: &str, message: String| {
        let mut e = ErrorValue::new(kind, message);
        e.details.insert("task".into(), Value::str(&task.name));
        Ok((Hash::new(), Some(e)))
    };
    let implementation = match task.implementation_for(&target.features) {
        Ok(i) => i,
        Err(message) => return failed("drover/task-unsupported", message),
    };
    // What is wrong with an implementation matters only once it is chosen.
    let unusable = |why: String| {
        format!(
            "task `{}` cannot run on `{}`: {why}",
            task.name, target.name
        )
    };
    if implementation.input_method == InputMethod::Powershell {
        return failed(
            "drover/task-unsupported",
            unusable(format!(
                "implementation `{}` takes its parameters as PowerShell arguments, which drover cannot pass",
                implementation.name
            )),
        );
    }
    let bundle = match implementation.bundle(it.tasks.project(), &task.module) {
        Ok(b) => b,
        Err(why) => return failed("drover/task-files", unusable(why)),
    };
    let mut input: serde_json::Map<String, serde_json::Value> = params
        .iter()
        .map(|(k, v)| (k.clone(), revealed_json(v)))
        .collect();
    input.insert("_task".into(), json!(task.name));
    if noop {
        input.insert("_noop".into(), json!(true));
    }
    let installdir = !implementation.files.is_empty();
    let method = implementation.input_method;
    let executable = implementation.executable(&task.module);
    // The directory is known once the transport has chosen it: staging and
    // the run may go out as one exec.
    let run = move |dir: &str| {
        if installdir {
            input.insert("_installdir".into(), json!(dir));
        }
        if method != InputMethod::Stdin {
            for (k, v) in &input {
                let text = match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                exec.env.push((format!("PT_{k}"), text));
            }
        }
        if method != InputMethod::Environment {
            exec.stdin = Some(serde_json::to_vec(&input).unwrap_or_default());
        }
        exec.command = Command::Program(format!("{dir}/{executable}"), Vec::new());
        exec
    };
    // Held to the task's end: the idle cap would remove the files under it.
    let _hold = conn.hold();
    let out = it
        .connections
        .staging
        .run(target, conn, bundle, run)
        .await?;
    Ok(task_result(&task.name, out))
}

/// Bolt's reading of task output: a JSON object is the value; other output
/// is `{"_output": ...}`; `_error` or a non-zero exit is a failure.
fn task_result(name: &str, out: ExecOutput) -> (Hash, Option<ErrorValue>) {
    let stdout = lossy(&out.stdout);
    let mut value = match serde_json::from_str::<serde_json::Value>(stdout.trim()) {
        Ok(serde_json::Value::Object(map)) => map
            .iter()
            .map(|(k, v)| (k.clone(), Value::from_json(v)))
            .collect(),
        _ => {
            let mut h = Hash::new();
            h.insert("_output".into(), Value::str(&stdout));
            h
        }
    };
    let error = if let Some(Value::Hash(e)) = value.get("_error") {
        let kind = e
            .get("kind")
            .map(Value::to_display)
            .unwrap_or_else(|| "puppetlabs.tasks/task-error".into());
        let msg = e
            .get("msg")
            .map(Value::to_display)
            .unwrap_or_else(|| format!("task {name} failed"));
        let mut err = ErrorValue::new(kind, msg);
        if let Some(Value::Hash(d)) = e.get("details") {
            err.details = (**d).clone();
        }
        Some(err)
    } else if out.exit_code != Some(0) {
        let mut err = ErrorValue::new(
            "puppetlabs.tasks/task-error",
            format!(
                "task {name} exited with {}",
                out.exit_code.map_or("a signal".into(), |c| c.to_string())
            ),
        );
        err.details.insert(
            "exit_code".into(),
            out.exit_code.map_or(Value::Undef, |c| Value::Int(c.into())),
        );
        Some(err)
    } else {
        None
    };
    if !out.stderr.is_empty() {
        value
            .entry("_stderr".into())
            .or_insert_with(|| Value::str(lossy(&out.stderr)));
    }
    // Bolt's `_sensitive`: the task says this part of its result is a secret.
    if let Some(secret) = value.shift_remove("_sensitive") {
        value.insert(
            "_sensitive".into(),
            Value::Sensitive(crate::value::Secret::new(secret)),
        );
    }
    if out.dropped > 0 {
        value.insert(
            "_output_dropped_bytes".into(),
            Value::Int(out.dropped as i64),
        );
    }
    (value, error)
}
