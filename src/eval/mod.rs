//! The evaluator: runs plans on tokio. This file holds the `Interpreter`
//! handle and what a run shares; statements are in `stmt`, loops in `loops`,
//! expressions in `expr`, plan and lambda calls in `calls`, and the built-ins
//! in `functions`, `methods`, `operators` and `actions`, dispatched through
//! tables that `vocabulary_mismatches` checks against `crate::lang`.
//!
//! Evaluation is async from the start so that actions, `sleep` and `with
//! timeout` suspend rather than block, and so that concurrent bodies can be
//! polled side by side. Every recursive step returns a boxed future.

pub mod actions;
pub mod args;
mod bolt;
mod calls;
mod expr;
mod frame;
pub mod functions;
pub mod inventory;
mod loops;
pub mod methods;
pub mod operators;
mod stmt;
pub mod testing;

pub(crate) use frame::{Branches, Frame};

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use indexmap::IndexMap;

use crate::project::inventory::Inventory;
use crate::source::SourceMap;
use crate::syntax::ast::*;
use crate::transport::connections::Connections;
use crate::value::{ErrorValue, Value};

/// A boxed, non-`Send` future: evaluation of one node.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// Why evaluation left the normal path.
#[derive(Debug)]
pub(crate) enum Flow {
    /// An error was raised.
    Error(Box<ErrorValue>),
    /// `return`.
    Return(Value),
    /// `break`.
    Break,
    /// `continue`.
    Continue,
}

/// The result of evaluating a node.
pub(crate) type Eval<T> = Result<T, Flow>;

/// Where log lines and messages of a run go.
pub trait Events {
    /// `log::debug|info|warn|error(msg)`.
    fn log(&self, level: &str, message: &str, location: &str);
    /// `out::message(msg)`.
    fn message(&self, text: &str, location: &str);
    /// An action starts on these targets.
    fn step(&self, _step: &Step<'_>) {}
    /// `acquire` took `targets` of `pool` after waiting `waited_ms`.
    fn acquired(&self, _pool: &str, _targets: &[String], _scope: &str, _waited_ms: u64) {}
    /// Pool targets were given back: `released`, `run-end` or `lease-lost`.
    fn released(&self, _pool: &str, _targets: &[String], _reason: &str) {}
    /// An action of step `step` (its [`Step::id`]) starts running on one
    /// target: it holds a concurrency permit.
    fn target_start(&self, _step: u64, _action: &str, _target: &str) {}
    /// An action of step `step` finished on one target.
    fn target_result(&self, _step: u64, _result: &crate::value::ActionResult) {}
    /// Batch `index` (from 1) of a `serial` loop at `location` starts, with
    /// `size` iterations.
    fn batch(&self, _location: &str, _index: usize, _size: usize) {}
    /// `sleep` starts waiting `duration_ms`.
    fn sleep(&self, _duration_ms: u64, _location: &str) {}
}

/// One action of the plan as it starts.
pub struct Step<'a> {
    /// The run's steps are numbered from 1 in the order they start.
    pub id: u64,
    /// `run_task`, `run_command`, ...
    pub action: &'a str,
    /// What it runs: the task's name, the command, the script or file.
    pub detail: &'a str,
    /// `file:line:column` of the call.
    pub location: &'a str,
    /// The target names, in inventory order.
    pub targets: &'a [&'a str],
}

/// Parsed and checked plans, with their sources for locations.
pub struct Program {
    /// The plan files' text.
    pub sources: SourceMap,
    /// Their syntax trees.
    pub files: Vec<File>,
}

impl Program {
    /// The plan with this name.
    pub(crate) fn plan(&self, name: &str) -> Option<&Plan> {
        self.files
            .iter()
            .flat_map(|f| &f.plans)
            .find(|p| p.name.node == name)
    }

    /// The Puppet-language function with this name.
    pub(crate) fn function(&self, name: &str) -> Option<&Plan> {
        self.files
            .iter()
            .flat_map(|f| &f.functions)
            .find(|p| p.name.node == name)
    }

    /// Every plan name, for did-you-mean.
    pub(crate) fn plan_names(&self) -> impl Iterator<Item = &str> {
        self.files
            .iter()
            .flat_map(|f| &f.plans)
            .map(|p| p.name.node.as_str())
    }

    /// Whether the file is a Puppet-language plan: its operators mean what
    /// Puppet's do.
    pub(crate) fn is_puppet(&self, file: crate::source::FileId) -> bool {
        crate::puppet::is_puppet(&self.sources.get(file).name)
    }

    /// `file:line:column` of a span.
    pub(crate) fn location(&self, span: Span) -> String {
        let file = self.sources.get(span.file);
        let (line, col) = file.line_col(span.start);
        format!("{}:{line}:{col}", file.name)
    }
}

/// Runs plans of one program. A cheap handle: `async` branches hold a clone,
/// so that they can outlive the statement that started them.
#[derive(Clone)]
pub struct Interpreter<'p>(Rc<Shared<'p>>);

impl<'p> std::ops::Deref for Interpreter<'p> {
    type Target = Shared<'p>;
    fn deref(&self) -> &Shared<'p> {
        &self.0
    }
}

/// What every part of a run shares.
pub struct Shared<'p> {
    /// The plans.
    pub program: &'p Program,
    /// Where logs and messages go.
    pub events: &'p dyn Events,
    /// The targets, and the run's changes to them.
    pub inventory: inventory::RunInventory<'p>,
    /// Compiled regular expressions by source.
    pub(crate) regexes: Mutex<HashMap<String, Arc<regex::Regex>>>,
    /// How deep `run_plan` calls nest, to stop runaway recursion.
    depth: std::cell::Cell<usize>,
    /// Steps started so far (their ids).
    steps: std::cell::Cell<u64>,
    /// `Timestamp()`'s origin: the wall clock and the run's clock at its
    /// first call.
    pub(crate) clock_origin: std::cell::OnceCell<(f64, tokio::time::Instant)>,
    /// Scripts, files and tasks are found relative to this.
    pub project: std::path::PathBuf,
    /// The run-wide bound on target operations at once.
    pub concurrency: tokio::sync::Semaphore,
    /// One connection per target for the whole run.
    pub connections: Connections,
    /// The pool targets this run holds, as (pool, target), for the
    /// `release` events at its end.
    pub(crate) holding: std::cell::RefCell<Vec<(String, String)>>,
    /// Resource pools, shared with other runs of the same manager.
    pub pools: Arc<dyn crate::pools::PoolManager>,
    /// This run, as a holder of pool targets.
    pub run_id: crate::pools::Holder,
    /// Simulate every action: nothing is connected or started.
    pub dry_run: bool,
    /// Where targets' output goes as it arrives (`--stream`): a sink per
    /// target and action.
    pub stream: Option<StreamSinks>,
    /// The project's tasks.
    pub tasks: Arc<crate::project::tasks::Catalog>,
    /// The test being run (`drover test`): its stubs answer every action.
    pub(crate) test: Option<Rc<testing::TestState>>,
}

/// Makes the output sink of one action on one target (by target name).
pub(crate) type StreamSinks = Arc<dyn Fn(&str) -> crate::transport::OutputSink>;

/// The default run-wide concurrency (spec §6).
pub(crate) const DEFAULT_CONCURRENCY: usize = 100;

/// Error kind of a plan call whose arguments do not fit the plan.
pub(crate) const BAD_PARAMETERS: &str = "drover/bad-parameters";

/// Deepest nesting of `run_plan` calls.
pub(crate) const MAX_PLAN_DEPTH: usize = 64;

impl<'p> Interpreter<'p> {
    /// An interpreter for `program` reporting to `events`.
    pub fn new(program: &'p Program, inventory: &'p Inventory, events: &'p dyn Events) -> Self {
        Interpreter(Rc::new(Shared {
            program,
            events,
            inventory: inventory::RunInventory::new(inventory),
            regexes: Mutex::new(HashMap::new()),
            depth: std::cell::Cell::new(0),
            steps: std::cell::Cell::new(0),
            clock_origin: std::cell::OnceCell::new(),
            project: std::path::PathBuf::from("."),
            concurrency: tokio::sync::Semaphore::new(DEFAULT_CONCURRENCY),
            connections: Connections::default(),
            holding: Default::default(),
            pools: Arc::new(crate::pools::MemoryPools::default()),
            dry_run: false,
            test: None,
            stream: None,
            tasks: Arc::new(crate::project::tasks::Catalog::new(
                crate::project::Project::new(std::path::Path::new(".")),
            )),
            run_id: {
                static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
                NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            },
        }))
    }

    /// Send every target's output to `sinks` as it arrives.
    pub(crate) fn with_stream(mut self, sinks: Option<StreamSinks>) -> Self {
        self.configure().stream = sinks;
        self
    }

    /// Simulate every action (`drover run --dry-run`).
    pub fn with_dry_run(mut self, dry_run: bool) -> Self {
        let shared = self.configure();
        shared.dry_run = dry_run;
        shared.connections.dry_run = dry_run;
        self
    }

    /// Run a plan test: stubs answer every action, nothing is connected or
    /// changed, and names the inventory does not know are ad-hoc targets.
    pub fn with_test(mut self, test: Rc<testing::TestState>) -> Self {
        let shared = self.configure();
        shared.test = Some(test);
        shared.dry_run = true;
        shared.connections.dry_run = true;
        shared.inventory.adhoc = true;
        self
    }

    /// Record that a statement runs (for `drover test --coverage`).
    #[inline]
    pub(crate) fn cover(&self, span: Span) {
        if let Some(t) = &self.test {
            t.cover(span);
        }
    }

    /// Run a top-level plan, then end the run: release every pool target it
    /// holds and close its connections, however the plan ended.
    pub async fn run(
        &self,
        name: &str,
        args: IndexMap<String, Value>,
    ) -> Result<Value, Box<ErrorValue>> {
        let result = self.run_plan(name, args, None).await;
        self.release_pools();
        self.connections.close(&self.concurrency).await;
        result
    }

    /// Give back every pool target this run holds; returns how many.
    pub(crate) fn release_pools(&self) -> usize {
        self.release_pools_for("run-end")
    }

    /// [`Interpreter::release_pools`], with the `release` events' reason.
    pub(crate) fn release_pools_for(&self, reason: &str) -> usize {
        let held = std::mem::take(&mut *self.holding.borrow_mut());
        let mut pools: Vec<(&str, Vec<String>)> = Vec::new();
        for (pool, target) in &held {
            match pools.iter_mut().find(|(p, _)| p == pool) {
                Some((_, ts)) => ts.push(target.clone()),
                None => pools.push((pool, vec![target.clone()])),
            }
        }
        for (pool, targets) in &pools {
            self.events.released(pool, targets, reason);
        }
        self.pools.release_all(self.run_id)
    }

    /// Share pools (and, through them, targets) with the other runs of `pools`.
    pub(crate) fn with_pools(mut self, pools: Arc<dyn crate::pools::PoolManager>) -> Self {
        self.configure().pools = pools;
        self
    }

    /// Allow at most `n` target operations at once in the whole run.
    pub(crate) fn with_concurrency(mut self, n: usize) -> Self {
        self.configure().concurrency = tokio::sync::Semaphore::new(n.max(1));
        self
    }

    /// The shared state, while the interpreter is still being configured
    /// (before any branch holds a clone of it).
    fn configure(&mut self) -> &mut Shared<'p> {
        Rc::get_mut(&mut self.0).expect("configured before the run")
    }

    /// Find scripts and files under the catalog's project root, and tasks in it.
    pub(crate) fn with_tasks(mut self, tasks: Arc<crate::project::tasks::Catalog>) -> Self {
        let shared = self.configure();
        shared.project = tasks.project().root.clone();
        shared.tasks = tasks;
        self
    }

    /// The id of a step that starts now.
    pub(crate) fn next_step(&self) -> u64 {
        self.steps.set(self.steps.get() + 1);
        self.steps.get()
    }

    /// An error raised at `span`.
    pub(crate) fn error(&self, kind: &str, message: impl Into<String>, span: Span) -> Flow {
        let mut e = ErrorValue::new(kind, message);
        e.location = self.program.location(span);
        e.span = Some(span);
        Flow::Error(Box::new(e))
    }

    /// A `drover/type-error` raised at `span`.
    pub(crate) fn type_error(&self, message: impl Into<String>, span: Span) -> Flow {
        self.error("drover/type-error", message, span)
    }
}

/// Where `vocab` and the evaluator disagree: each built-in the vocabulary
/// lists that the evaluator does not implement (or implements as another
/// kind), and each implementation the vocabulary does not list. Empty for
/// [`crate::lang::Vocabulary::standard`]; `tests/vocabulary.rs` keeps it so.
pub fn vocabulary_mismatches(vocab: &crate::lang::Vocabulary) -> Vec<String> {
    use crate::lang::Kind;
    let mut out = Vec::new();
    for b in vocab.functions() {
        match (b.kind, functions::lookup(b.name)) {
            (_, None) => out.push(format!(
                "function `{}` is in the vocabulary but the evaluator does not implement it \
                 (add it to eval::functions::FUNCTIONS)",
                b.name
            )),
            (Kind::Action, Some(functions::Function::Action(_))) => {}
            (Kind::Action, Some(_)) => out.push(format!(
                "`{}` is an action in the vocabulary but not in the evaluator",
                b.name
            )),
            (_, Some(functions::Function::Action(_))) => out.push(format!(
                "`{}` is an action in the evaluator but not in the vocabulary",
                b.name
            )),
            _ => {}
        }
    }
    for (name, _) in functions::FUNCTIONS {
        if vocab.function(name).is_none() {
            out.push(format!(
                "function `{name}` is implemented but missing from the vocabulary (crate::lang)"
            ));
        }
    }
    // The functions of `test` blocks, in their own tables.
    for b in crate::lang::TESTING {
        if !functions::TEST_FUNCTIONS.iter().any(|(n, _)| *n == b.name) {
            out.push(format!(
                "test function `{}` is in crate::lang::TESTING but not in eval::functions::TEST_FUNCTIONS",
                b.name
            ));
        }
    }
    for (name, _) in functions::TEST_FUNCTIONS {
        if !crate::lang::TESTING.iter().any(|b| b.name == *name) {
            out.push(format!(
                "test function `{name}` is implemented but missing from crate::lang::TESTING"
            ));
        }
    }
    for b in vocab.methods() {
        match methods::lookup(b.name) {
            None => out.push(format!(
                "method `.{}` is in the vocabulary but the evaluator does not implement it \
                 (add it to eval::methods::METHODS)",
                b.name
            )),
            Some(m) if matches!(m, methods::Method::Lambda(_)) != b.lambda => out.push(format!(
                "method `.{}` takes a lambda in one of the vocabulary and the evaluator only",
                b.name
            )),
            Some(_) => {}
        }
    }
    for (name, _) in methods::METHODS {
        if vocab.method(name).is_none() {
            out.push(format!(
                "method `.{name}` is implemented but missing from the vocabulary (crate::lang)"
            ));
        }
    }
    out
}
