//! The `sim` transport (spec §9): simulated targets for demos, tests and
//! dry runs. Every action takes the target's `latency` (on tokio's clock, so
//! a dry run on a paused clock costs nothing), `reboot` makes the target
//! refuse connections for `reboot_downtime` and come back with a new boot id,
//! `fail` names tasks and command prefixes that fail, and `responses` script
//! results, first match wins. The stdlib `reboot` plan's target vars
//! `reboot_command` and `boot_id_command` are understood too, so that a dry
//! run of a fleet that reboots with its own command predicts the reboot.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Map, Value as Json};
use tokio::time::Instant;

use crate::transport::{
    BoxFuture, Command, Connection, Exec, ExecOutput, Transport, TransportError,
};
use crate::value::Target;

/// What the inventory says about a simulated target.
#[derive(Clone, Debug, Default)]
struct Settings {
    latency: Duration,
    reboot_downtime: Duration,
    fail: Vec<String>,
    responses: Vec<Map<String, Json>>,
    /// The target's `vars.reboot_command`: a command that reboots it.
    reboot_command: Option<String>,
    /// The target's `vars.boot_id_command`: a command that prints its boot id.
    boot_id_command: Option<String>,
}

fn duration(v: Option<&Json>) -> Duration {
    match v {
        Some(Json::String(s)) => crate::duration::parse(s)
            .map(Duration::from_millis)
            .unwrap_or_default(),
        Some(Json::Number(n)) => Duration::from_millis(n.as_u64().unwrap_or(0)),
        _ => Duration::ZERO,
    }
}

impl Settings {
    fn of(target: &Target) -> Self {
        let var = |name: &str| match target.vars.get(name) {
            Some(crate::value::Value::Str(s)) => Some(s.to_string()),
            _ => None,
        };
        let conventions = Settings {
            reboot_command: var("reboot_command"),
            boot_id_command: var("boot_id_command"),
            ..Settings::default()
        };
        let Some(sim) = target.config.get("sim").and_then(Json::as_object) else {
            return conventions;
        };
        Settings {
            latency: duration(sim.get("latency")),
            reboot_downtime: duration(sim.get("reboot_downtime")),
            fail: sim
                .get("fail")
                .and_then(Json::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Json::as_str)
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default(),
            responses: sim
                .get("responses")
                .and_then(Json::as_array)
                .map(|a| a.iter().filter_map(Json::as_object).cloned().collect())
                .unwrap_or_default(),
            ..conventions
        }
    }
}

#[derive(Debug)]
struct State {
    down_until: Option<Instant>,
    boots: u32,
}

/// Simulated targets of one run; their state (reboots) outlives connections.
#[derive(Default, Clone)]
pub(crate) struct Sim {
    states: Arc<Mutex<HashMap<String, State>>>,
}

impl Sim {
    fn with_state<T>(&self, name: &str, f: impl FnOnce(&mut State) -> T) -> T {
        let mut states = self.states.lock().unwrap_or_else(|e| e.into_inner());
        let state = states.entry(name.to_string()).or_insert(State {
            down_until: None,
            boots: 1,
        });
        f(state)
    }

    fn check_up(&self, name: &str) -> Result<(), TransportError> {
        let down = self.with_state(name, |s| s.down_until.is_some_and(|t| Instant::now() < t));
        if down {
            return Err(TransportError::Connect {
                target: name.to_string(),
                reason: "connection refused (the simulated target is rebooting)".into(),
            });
        }
        Ok(())
    }

    fn reboot(&self, name: &str, downtime: Duration) {
        self.with_state(name, |s| {
            s.down_until = Some(Instant::now() + downtime);
            s.boots += 1;
        });
    }

    fn boot_id(&self, name: &str) -> String {
        let boots = self.with_state(name, |s| s.boots);
        format!("{name}-boot-{boots}")
    }
}

impl Transport for Sim {
    fn connect<'a>(
        &'a self,
        target: &'a Target,
    ) -> BoxFuture<'a, Result<Arc<dyn Connection>, TransportError>> {
        Box::pin(async move {
            self.check_up(&target.name)?;
            Ok(Arc::new(SimConnection {
                sim: self.clone(),
                name: target.name.clone(),
                settings: Settings::of(target),
                facts: crate::value::Value::hash(target.facts.clone()).to_json(),
            }) as Arc<dyn Connection>)
        })
    }
}

struct SimConnection {
    sim: Sim,
    name: String,
    settings: Settings,
    /// The target's inventory facts: what a simulated `facts` task reports.
    facts: Json,
}

fn output(stdout: String, stderr: String, exit_code: i32) -> ExecOutput {
    ExecOutput {
        stdout: stdout.into_bytes(),
        stderr: stderr.into_bytes(),
        exit_code: Some(exit_code),
        ..ExecOutput::default()
    }
}

/// The helper commands drover runs around scripts and tasks: instantaneous.
fn is_helper(command: &Command) -> bool {
    matches!(command, Command::Program(p, _) if matches!(p.as_str(), "mktemp" | "mkdir" | "chmod" | "rm"))
}

impl SimConnection {
    fn response(&self, key: &str, wanted: &str) -> Option<&Map<String, Json>> {
        self.settings.responses.iter().find(|r| {
            r.get(key)
                .and_then(Json::as_str)
                .is_some_and(|p| wanted == p || wanted.starts_with(p))
        })
    }

    fn fails(&self, what: &str) -> bool {
        self.settings
            .fail
            .iter()
            .any(|p| what == p || what.starts_with(p.as_str()))
    }

    /// Run simulated task `name`.
    pub(crate) fn task(&self, name: &str) -> BoxFuture<'_, Result<ExecOutput, TransportError>> {
        let name = name.to_string();
        Box::pin(async move {
            self.sim.check_up(&self.name)?;
            tokio::time::sleep(self.settings.latency).await;
            if self.fails(&name) {
                let err = serde_json::json!({"_error": {"kind": "sim/failure", "msg": format!("simulated failure of {name}")}});
                return Ok(output(err.to_string(), String::new(), 1));
            }
            if name == "reboot" {
                self.sim.reboot(&self.name, self.settings.reboot_downtime);
            }
            // Without a response of its own, the `facts` task (Bolt's, the
            // stdlib's) reports what the inventory says of the machine.
            let value = self
                .response("task", &name)
                .and_then(|r| r.get("value"))
                .cloned()
                .unwrap_or_else(|| match name.as_str() {
                    "facts" => self.facts.clone(),
                    // The Forge reboot module's task: a time that changes
                    // with every boot, so that its plan sees the reboot.
                    n if n.ends_with("last_boot_time") => {
                        serde_json::json!({"_output": format!("{}\n", self.sim.boot_id(&self.name))})
                    }
                    _ => Json::Object(Map::new()),
                });
            Ok(output(value.to_string(), String::new(), 0))
        })
    }
}

impl Connection for SimConnection {
    fn exec(&self, exec: Exec) -> BoxFuture<'_, Result<ExecOutput, TransportError>> {
        Box::pin(async move {
            self.sim.check_up(&self.name)?;
            if is_helper(&exec.command) {
                let out = match &exec.command {
                    Command::Program(p, _) if p == "mktemp" => "/tmp/drover-sim\n".to_string(),
                    _ => String::new(),
                };
                return Ok(output(out, String::new(), 0));
            }
            let text = match &exec.command {
                Command::Shell(s) => s.clone(),
                Command::Program(p, args) => std::iter::once(p.clone())
                    .chain(args.iter().cloned())
                    .collect::<Vec<_>>()
                    .join(" "),
            };
            match exec.timeout {
                Some(limit) if limit < self.settings.latency => {
                    tokio::time::sleep(limit).await;
                    return Err(TransportError::Timeout(limit));
                }
                _ => tokio::time::sleep(self.settings.latency).await,
            }
            if self.fails(&text) {
                return Ok(output(
                    String::new(),
                    format!("simulated failure of `{text}`\n"),
                    1,
                ));
            }
            if text.starts_with("reboot") || self.settings.reboot_command.as_ref() == Some(&text) {
                self.sim.reboot(&self.name, self.settings.reboot_downtime);
            }
            if let Some(r) = self.response("command", &text) {
                let field = |k: &str| {
                    r.get(k)
                        .and_then(Json::as_str)
                        .unwrap_or_default()
                        .to_string()
                };
                let code = r.get("exit_code").and_then(Json::as_i64).unwrap_or(0) as i32;
                return Ok(output(field("stdout"), field("stderr"), code));
            }
            if text == "cat /proc/sys/kernel/random/boot_id"
                || self.settings.boot_id_command.as_ref() == Some(&text)
            {
                return Ok(output(
                    format!("{}\n", self.sim.boot_id(&self.name)),
                    String::new(),
                    0,
                ));
            }
            Ok(output(String::new(), String::new(), 0))
        })
    }

    fn upload<'a>(
        &'a self,
        _source: &'a Path,
        destination: &'a str,
    ) -> BoxFuture<'a, Result<(), TransportError>> {
        Box::pin(async move {
            self.sim.check_up(&self.name)?;
            if !destination.starts_with("/tmp/drover-sim/") {
                tokio::time::sleep(self.settings.latency).await;
            }
            Ok(())
        })
    }

    fn task<'a>(
        &'a self,
        name: &'a str,
    ) -> Option<BoxFuture<'a, Result<ExecOutput, TransportError>>> {
        Some(SimConnection::task(self, name))
    }
}
