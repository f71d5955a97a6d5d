//! The evaluator: runs plans on tokio. Sequential semantics live here; the
//! built-in functions and methods are in `builtins`.
//!
//! Evaluation is async from the start so that actions, `sleep` and `with
//! timeout` suspend rather than block, and so that concurrent bodies can be
//! polled side by side. Every recursive step returns a boxed future.

pub mod actions;
pub mod functions;
pub mod methods;
pub mod operators;

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::Poll;

use indexmap::IndexMap;

use crate::project::inventory::Inventory;
use crate::source::SourceMap;
use crate::syntax::ast::*;
use crate::transport::{Connection, Transport, TransportError};
use crate::value::types;
use crate::value::{ErrorValue, FutureSlot, Hash, Value};
use crate::value::{Target, TransportKind};

/// A boxed, non-`Send` future: evaluation of one node.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// Why evaluation left the normal path.
#[derive(Debug)]
pub enum Flow {
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
pub type Eval<T> = Result<T, Flow>;

/// Where log lines and messages of a run go.
pub trait Events {
    /// `log::debug|info|warn|error(msg)`.
    fn log(&self, level: &str, message: &str, location: &str);
    /// `out::message(msg)`.
    fn message(&self, text: &str, location: &str);
    /// An action starts on these targets.
    fn step(&self, _step: &Step<'_>) {}
    /// An action starts running on one target: it holds a concurrency permit.
    fn target_start(&self, _action: &str, _target: &str) {}
    /// An action finished on one target.
    fn target_result(&self, _result: &crate::value::ActionResult) {}
}

/// One action of the plan as it starts.
pub struct Step<'a> {
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
    pub fn plan(&self, name: &str) -> Option<&Plan> {
        self.files
            .iter()
            .flat_map(|f| &f.plans)
            .find(|p| p.name.node == name)
    }

    /// Every plan name, for did-you-mean.
    pub fn plan_names(&self) -> impl Iterator<Item = &str> {
        self.files
            .iter()
            .flat_map(|f| &f.plans)
            .map(|p| p.name.node.as_str())
    }

    /// `file:line:column` of a span.
    pub fn location(&self, span: Span) -> String {
        let file = self.sources.get(span.file);
        let (line, col) = file.line_col(span.start);
        format!("{}:{line}:{col}", file.name)
    }
}

/// Variables of one plan invocation: a stack of block scopes. Names borrow
/// from the AST and scopes are small vectors: a loop iteration allocates at
/// most its own scope.
#[derive(Default)]
pub struct Frame<'p> {
    scopes: Vec<Vec<(&'p str, Value)>>,
    /// The `async` branches of the plan invocation this frame belongs to.
    branches: Option<Rc<Branches<'p>>>,
}

/// The `async` branches of one plan invocation: new ones wait in an inbox
/// until the driver of the plan (see [`Branches::drive`]) polls them beside
/// the plan's body.
#[derive(Default)]
pub struct Branches<'p> {
    inbox: RefCell<Vec<BoxFuture<'p, ()>>>,
    running: RefCell<futures::stream::FuturesUnordered<BoxFuture<'p, ()>>>,
    started: RefCell<Vec<Arc<FutureSlot>>>,
}

impl<'p> Branches<'p> {
    fn start(&self, slot: Arc<FutureSlot>, branch: BoxFuture<'p, ()>) {
        self.started.borrow_mut().push(slot);
        self.inbox.borrow_mut().push(branch);
    }

    /// Poll every branch once (and those they start).
    fn poll(&self, cx: &mut std::task::Context<'_>) {
        use futures::StreamExt;
        loop {
            let new: Vec<_> = self.inbox.borrow_mut().drain(..).collect();
            let mut running = self.running.borrow_mut();
            running.extend(new);
            while let Poll::Ready(Some(())) = running.poll_next_unpin(cx) {}
            drop(running);
            if self.inbox.borrow().is_empty() {
                return;
            }
        }
    }

    /// Run `body` while keeping the branches going.
    async fn drive<T>(&self, body: impl Future<Output = T>) -> T {
        let mut body = std::pin::pin!(body);
        std::future::poll_fn(|cx| {
            self.poll(cx);
            match body.as_mut().poll(cx) {
                Poll::Ready(v) => Poll::Ready(v),
                Poll::Pending => {
                    // The body may have started branches: give them their first poll.
                    self.poll(cx);
                    Poll::Pending
                }
            }
        })
        .await
    }

    /// Wait for every branch not awaited yet; the first failure is the result.
    async fn await_all(&self) -> Result<(), ErrorValue> {
        let mut first = None;
        loop {
            let pending: Vec<Arc<FutureSlot>> = self
                .started
                .borrow()
                .iter()
                .filter(|s| !s.awaited())
                .cloned()
                .collect();
            if pending.is_empty() {
                return first.map_or(Ok(()), Err);
            }
            for slot in pending {
                if let Err(e) = slot.wait().await {
                    first.get_or_insert(e);
                }
            }
        }
    }
}

impl<'p> Frame<'p> {
    fn lookup(&self, name: &str) -> Option<&Value> {
        self.scopes
            .iter()
            .rev()
            .find_map(|s| s.iter().rev().find(|(k, _)| *k == name).map(|(_, v)| v))
    }

    /// Update the nearest variable of this name, else create it here.
    fn assign(&mut self, name: &'p str, value: Value) {
        for scope in self.scopes.iter_mut().rev() {
            if let Some((_, slot)) = scope.iter_mut().rev().find(|(k, _)| *k == name) {
                *slot = value;
                return;
            }
        }
        self.declare(name, value);
    }

    fn declare(&mut self, name: &'p str, value: Value) {
        let scope = self.scopes.last_mut().expect("a scope is open");
        match scope.iter_mut().find(|(k, _)| *k == name) {
            Some((_, slot)) => *slot = value,
            None => scope.push((name, value)),
        }
    }

    fn push(&mut self) {
        self.scopes.push(Vec::new());
    }

    /// Every visible variable, innermost first-wins, for a concurrent body.
    fn snapshot(&self) -> Arc<Vec<(&'p str, Value)>> {
        let mut vars: Vec<(&'p str, Value)> = Vec::new();
        for scope in self.scopes.iter().rev() {
            for (k, v) in scope.iter().rev() {
                if !vars.iter().any(|(n, _)| n == k) {
                    vars.push((k, v.clone()));
                }
            }
        }
        Arc::new(vars)
    }

    /// A frame whose outermost scope is a snapshot; its branches are the same plan's.
    fn from_snapshot(vars: Arc<Vec<(&'p str, Value)>>, branches: Option<Rc<Branches<'p>>>) -> Self {
        Frame {
            scopes: vec![(*vars).clone()],
            branches,
        }
    }

    fn pop(&mut self) {
        self.scopes.pop();
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
    /// The targets.
    pub inventory: &'p Inventory,
    /// `with lock` holders of this run.
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Compiled regular expressions by source.
    pub(crate) regexes: Mutex<HashMap<String, Arc<regex::Regex>>>,
    /// How deep `run_plan` calls nest, to stop runaway recursion.
    depth: std::cell::Cell<usize>,
    /// Scripts, files and tasks are found relative to this.
    pub project: std::path::PathBuf,
    /// The run-wide bound on target operations at once.
    pub concurrency: tokio::sync::Semaphore,
    /// One connection per target for the whole run.
    connections: Mutex<HashMap<String, Arc<ConnectionSlot>>>,
    /// Resource pools, shared with other runs of the same manager.
    pub pools: Arc<dyn crate::pools::PoolManager>,
    /// This run, as a holder of pool targets.
    pub run_id: crate::pools::Holder,
    /// Simulated targets (and every target in a dry run).
    sim: crate::transport::sim::Sim,
    /// SSH targets.
    pub ssh: crate::transport::ssh::Ssh,
    /// Simulate every action: nothing is connected or started.
    pub dry_run: bool,
    /// Where targets' output goes as it arrives (`--stream`): a sink per
    /// target and action.
    pub stream: Option<StreamSinks>,
    /// The project's tasks.
    pub tasks: Arc<crate::project::tasks::Catalog>,
    /// Task files uploaded to targets in this run.
    pub(crate) staging: crate::eval::actions::Staging,
}

/// Makes the output sink of one action on one target (by target name).
pub type StreamSinks = Arc<dyn Fn(&str) -> crate::transport::OutputSink>;

/// A target's connection, made once however many actions want it at once.
type ConnectionSlot = tokio::sync::OnceCell<Arc<dyn Connection>>;

/// The default run-wide concurrency (spec §6).
pub const DEFAULT_CONCURRENCY: usize = 100;

/// Error kind of a plan call whose arguments do not fit the plan.
pub const BAD_PARAMETERS: &str = "drover/bad-parameters";

/// Deepest nesting of `run_plan` calls.
pub const MAX_PLAN_DEPTH: usize = 64;

impl<'p> Interpreter<'p> {
    /// An interpreter for `program` reporting to `events`.
    pub fn new(program: &'p Program, inventory: &'p Inventory, events: &'p dyn Events) -> Self {
        Interpreter(Rc::new(Shared {
            program,
            events,
            inventory,
            locks: Mutex::new(HashMap::new()),
            regexes: Mutex::new(HashMap::new()),
            depth: std::cell::Cell::new(0),
            project: std::path::PathBuf::from("."),
            concurrency: tokio::sync::Semaphore::new(DEFAULT_CONCURRENCY),
            connections: Mutex::new(HashMap::new()),
            pools: Arc::new(crate::pools::MemoryPools::default()),
            sim: crate::transport::sim::Sim::default(),
            ssh: crate::transport::ssh::Ssh::default(),
            dry_run: false,
            stream: None,
            tasks: Arc::new(crate::project::tasks::Catalog::new(
                crate::project::Project::new(std::path::Path::new(".")),
            )),
            staging: Default::default(),
            run_id: {
                static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
                NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            },
        }))
    }

    /// Send every target's output to `sinks` as it arrives.
    pub fn with_stream(mut self, sinks: Option<StreamSinks>) -> Self {
        self.configure().stream = sinks;
        self
    }

    /// Simulate every action (`drover run --dry-run`).
    pub fn with_dry_run(mut self, dry_run: bool) -> Self {
        self.configure().dry_run = dry_run;
        self
    }

    /// A new connection to `target`, not the run's shared one (`wait_up`).
    pub async fn fresh_connection(
        &self,
        target: &Target,
    ) -> Result<Arc<dyn Connection>, TransportError> {
        if self.dry_run || target.transport == TransportKind::Sim {
            return self.sim.connect(target).await;
        }
        match target.transport {
            TransportKind::Local => crate::transport::local::Local.connect(target).await,
            TransportKind::Ssh => self.ssh.connect(target).await,
            TransportKind::Sim => self.sim.connect(target).await,
        }
    }

    /// Take pool targets from `pools` (shared with other runs).
    pub fn with_pools(mut self, pools: Arc<dyn crate::pools::PoolManager>) -> Self {
        self.configure().pools = pools;
        self
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
        self.close_connections().await;
        result
    }

    /// Give back every pool target this run holds; returns how many.
    pub fn release_pools(&self) -> usize {
        self.pools.release_all(self.run_id)
    }

    /// Allow at most `n` target operations at once in the whole run.
    pub fn with_concurrency(mut self, n: usize) -> Self {
        self.configure().concurrency = tokio::sync::Semaphore::new(n.max(1));
        self
    }

    /// The shared state, while the interpreter is still being configured
    /// (before any branch holds a clone of it).
    fn configure(&mut self) -> &mut Shared<'p> {
        Rc::get_mut(&mut self.0).expect("configured before the run")
    }

    /// Find scripts and files under the catalog's project root, and tasks in it.
    pub fn with_tasks(mut self, tasks: Arc<crate::project::tasks::Catalog>) -> Self {
        let shared = self.configure();
        shared.project = tasks.project().root.clone();
        shared.tasks = tasks;
        self
    }

    /// Close every connection of the run.
    pub async fn close_connections(&self) {
        self.staging.clean().await;
        let open: Vec<Arc<dyn Connection>> = self
            .connections
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
            .filter_map(|(_, c)| c.get().cloned())
            .collect();
        futures::future::join_all(open.iter().map(|c| c.close())).await;
    }

    /// The run's connection to `target`, opened on first use. Targets connect
    /// at the same time; actions on one target wait for its one connection.
    pub async fn connection(&self, target: &Target) -> Result<Arc<dyn Connection>, TransportError> {
        let slot = self
            .connections
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(target.name.clone())
            .or_default()
            .clone();
        slot.get_or_try_init(|| self.fresh_connection(target))
            .await
            .cloned()
    }

    /// An error raised at `span`.
    pub fn error(&self, kind: &str, message: impl Into<String>, span: Span) -> Flow {
        let mut e = ErrorValue::new(kind, message);
        e.location = self.program.location(span);
        e.span = Some(span);
        Flow::Error(Box::new(e))
    }

    /// A `drover/type-error` raised at `span`.
    pub(crate) fn type_error(&self, message: impl Into<String>, span: Span) -> Flow {
        self.error("drover/type-error", message, span)
    }

    /// Run plan `name` with named arguments (already values). Checks the
    /// arguments against the plan's signature first.
    pub fn run_plan<'a>(
        &'a self,
        name: &'a str,
        args: IndexMap<String, Value>,
        call: Option<Span>,
    ) -> BoxFuture<'a, Result<Value, Box<ErrorValue>>> {
        Box::pin(async move {
            // Top-level binding errors have no location: the command line
            // reports them as bad usage.
            let fail = |message: String| {
                let mut e = ErrorValue::new(BAD_PARAMETERS, message);
                if let Some(span) = call {
                    e.location = self.program.location(span);
                }
                Box::new(e)
            };
            let Some(plan) = self.program.plan(name) else {
                let hint = crate::diagnostic::did_you_mean(name, self.program.plan_names())
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                return Err(fail(format!("unknown plan `{name}`{hint}")));
            };
            if self.depth.get() >= MAX_PLAN_DEPTH {
                return Err(fail(format!(
                    "plans nest deeper than {MAX_PLAN_DEPTH} calls"
                )));
            }
            let branches = Rc::new(Branches::default());
            let mut frame = Frame {
                branches: Some(branches.clone()),
                ..Frame::default()
            };
            frame.push();
            let mut args = args;
            for p in &plan.params {
                let value = match args.shift_remove(&p.name.node) {
                    Some(v) => v,
                    None => match &p.default {
                        Some(d) => match self.expr(&mut frame, d).await {
                            Ok(v) => v,
                            Err(Flow::Error(e)) => return Err(e),
                            Err(_) => Value::Undef,
                        },
                        None if p.ty.node.name.node == "Optional" => Value::Undef,
                        None => {
                            return Err(fail(format!(
                                "plan `{name}` needs parameter `{}` ({})",
                                p.name.node,
                                types::type_text(&p.ty.node)
                            )));
                        }
                    },
                };
                let value = types::coerce(value, &p.ty.node)
                    .and_then(|v| self.resolve_target_param(v, &p.ty.node))
                    .map_err(|why| {
                        fail(format!(
                            "parameter `{}` of plan `{name}`: {why}",
                            p.name.node
                        ))
                    })?;
                frame.declare(&p.name.node, value);
            }
            if let Some((unknown, _)) = args.first() {
                let known = plan.params.iter().map(|p| p.name.node.as_str());
                let hint = crate::diagnostic::did_you_mean(unknown, known)
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                return Err(fail(format!(
                    "plan `{name}` has no parameter `{unknown}`{hint}"
                )));
            }
            self.depth.set(self.depth.get() + 1);
            let result = branches.drive(self.block(&mut frame, &plan.body)).await;
            // A plan finishes with its branches (the implicit `await;`); an
            // unawaited branch that failed fails the plan.
            let waited = branches.drive(branches.await_all()).await;
            self.depth.set(self.depth.get() - 1);
            let value = match result {
                Ok(()) | Err(Flow::Break | Flow::Continue) => Value::Undef,
                Err(Flow::Return(v)) => v,
                Err(Flow::Error(e)) => return Err(e),
            };
            waited.map(|()| value).map_err(Box::new)
        })
    }

    /// Start an `async` branch on a snapshot of the variables; it runs beside
    /// the code that follows, driven by its plan's [`Branches`].
    fn start_branch(
        &self,
        frame: &Frame<'p>,
        block: &'p Block,
        span: Span,
    ) -> Eval<Arc<FutureSlot>> {
        let Some(branches) = frame.branches.clone() else {
            return Err(self.unsupported("`async` outside a plan", span));
        };
        let slot = Arc::new(FutureSlot::default());
        let it = self.clone();
        let mut own = Frame::from_snapshot(frame.snapshot(), Some(branches.clone()));
        let done = slot.clone();
        branches.start(
            slot.clone(),
            Box::pin(async move {
                let outcome = match it.block(&mut own, block).await {
                    Ok(()) | Err(Flow::Break | Flow::Continue) => Ok(Value::Undef),
                    Err(Flow::Return(v)) => Ok(v),
                    Err(Flow::Error(e)) => Err(*e),
                };
                done.complete(outcome);
            }),
        );
        Ok(slot)
    }

    /// A `Target` parameter given as a name becomes the inventory's target.
    fn resolve_target_param(&self, value: Value, ty: &Type) -> Result<Value, String> {
        let is_target = match ty.name.node.as_str() {
            "Target" => true,
            "Optional" => {
                matches!(ty.args.first().map(|a| &a.node), Some(TypeArg::Type(t)) if t.name.node == "Target")
            }
            _ => false,
        };
        match value {
            Value::Str(name) if is_target => {
                let mut targets = self.inventory.resolve(&name)?;
                match targets.len() {
                    1 => Ok(Value::Target(targets.remove(0))),
                    n => Err(format!(
                        "`{name}` names {n} targets, a Target is exactly one"
                    )),
                }
            }
            other => Ok(other),
        }
    }

    fn block<'a>(&'a self, frame: &'a mut Frame<'p>, block: &'p Block) -> BoxFuture<'a, Eval<()>> {
        Box::pin(async move {
            frame.push();
            let mut result = Ok(());
            for stmt in &block.stmts {
                result = match self.simple_stmt(frame, stmt) {
                    Some(r) => r,
                    None => self.stmt(frame, stmt).await,
                };
                if result.is_err() {
                    break;
                }
            }
            frame.pop();
            result
        })
    }

    /// An expression's value: synchronously when it is simple, else suspending.
    async fn value(&self, frame: &mut Frame<'p>, e: &'p Expr) -> Eval<Value> {
        match self.simple(frame, e) {
            Some(r) => r,
            None => self.expr(frame, e).await,
        }
    }

    /// Run an assignment or expression statement without suspending, when its
    /// expression needs no call (the common case in loops).
    fn simple_stmt(&self, frame: &mut Frame<'p>, stmt: &'p Stmt) -> Option<Eval<()>> {
        match &stmt.node {
            StmtKind::Assign { name, value } => Some(match self.simple(frame, value)? {
                Ok(v) => {
                    frame.assign(&name.node, v);
                    Ok(())
                }
                Err(e) => Err(e),
            }),
            StmtKind::Expr(e) => Some(self.simple(frame, e)?.map(|_| ())),
            _ => None,
        }
    }

    /// Evaluate without suspending if the expression needs no call:
    /// literals, variables, operators, indexing, interpolation of those.
    /// `None` means "not simple"; what was evaluated so far had no effects.
    fn simple(&self, frame: &Frame<'p>, e: &'p Expr) -> Option<Eval<Value>> {
        let sub = |x: &'p Expr| self.simple(frame, x);
        Some(match &e.node {
            ExprKind::Undef => Ok(Value::Undef),
            ExprKind::Bool(b) => Ok(Value::Bool(*b)),
            ExprKind::Int(n) => Ok(Value::Int(*n)),
            ExprKind::Float(f) => Ok(Value::Float(*f)),
            ExprKind::Duration(ms) => Ok(Value::Duration(*ms)),
            ExprKind::Var(name) => match frame.lookup(name) {
                Some(v) => Ok(v.clone()),
                None => Err(self.error(
                    "drover/undefined-variable",
                    format!("undefined variable `${name}`"),
                    e.span,
                )),
            },
            ExprKind::Str(parts) => {
                let mut s = String::new();
                for part in parts {
                    match part {
                        StrPart::Lit(text) => s.push_str(text),
                        StrPart::Interp(x) => match sub(x)? {
                            Ok(v) => s.push_str(&v.to_display()),
                            Err(f) => return Some(Err(f)),
                        },
                    }
                }
                Ok(Value::str(s))
            }
            ExprKind::Unary(UnaryOp::Not, x) => sub(x)?.map(|v| Value::Bool(!v.truthy())),
            ExprKind::Binary(op @ (BinaryOp::And | BinaryOp::Or), a, b) => {
                let l = match sub(a)? {
                    Ok(v) => v.truthy(),
                    Err(f) => return Some(Err(f)),
                };
                if l == (*op == BinaryOp::Or) {
                    return Some(Ok(Value::Bool(l)));
                }
                sub(b)?.map(|v| Value::Bool(v.truthy()))
            }
            ExprKind::Binary(op, a, b) => {
                let (l, r) = (sub(a)?, sub(b)?);
                match (l, r) {
                    (Ok(l), Ok(r)) => operators::binary(self, *op, l, r, e.span),
                    (Err(f), _) | (_, Err(f)) => Err(f),
                }
            }
            ExprKind::Method(m) if m.lambda.is_none() => {
                let recv = match sub(&m.recv)? {
                    Ok(v) => v,
                    Err(f) => return Some(Err(f)),
                };
                let mut args = functions::Args::default();
                for a in &m.args {
                    let (x, name) = match a {
                        Arg::Positional(x) => (x, None),
                        Arg::Named(n, x) => (x, Some(n)),
                    };
                    let v = match sub(x)? {
                        Ok(v) => v,
                        Err(f) => return Some(Err(f)),
                    };
                    match name {
                        None => args.positional.push((v, x.span)),
                        Some(n) => {
                            args.named.insert(n.node.clone(), (v, n.span));
                        }
                    }
                }
                methods::plain_method(self, recv, m, &args, e.span)
            }
            ExprKind::Index(a, b) => {
                let (r, i) = (sub(a)?, sub(b)?);
                match (r, i) {
                    (Ok(r), Ok(i)) => operators::index(self, r, i, e.span),
                    (Err(f), _) | (_, Err(f)) => Err(f),
                }
            }
            _ => return None,
        })
    }

    fn unsupported(&self, what: &str, span: Span) -> Flow {
        self.error(
            "drover/unsupported",
            format!("{what} is not supported by this version of drover yet"),
            span,
        )
    }

    fn stmt<'a>(&'a self, frame: &'a mut Frame<'p>, stmt: &'p Stmt) -> BoxFuture<'a, Eval<()>> {
        Box::pin(async move {
            match &stmt.node {
                StmtKind::Assign { name, value } => {
                    let v = self.expr(frame, value).await?;
                    frame.assign(&name.node, v);
                }
                StmtKind::Expr(e) => {
                    self.expr(frame, e).await?;
                }
                StmtKind::Return(e) => {
                    let v = match e {
                        Some(e) => self.expr(frame, e).await?,
                        None => Value::Undef,
                    };
                    return Err(Flow::Return(v));
                }
                StmtKind::Break => return Err(Flow::Break),
                StmtKind::Continue => return Err(Flow::Continue),
                StmtKind::If {
                    branches,
                    otherwise,
                } => {
                    for (cond, body) in branches {
                        if self.value(frame, cond).await?.truthy() {
                            return self.block(frame, body).await;
                        }
                    }
                    if let Some(b) = otherwise {
                        return self.block(frame, b).await;
                    }
                }
                StmtKind::Unless {
                    cond,
                    body,
                    otherwise,
                } => {
                    if !self.value(frame, cond).await?.truthy() {
                        return self.block(frame, body).await;
                    } else if let Some(b) = otherwise {
                        return self.block(frame, b).await;
                    }
                }
                StmtKind::Foreach(f) => return Box::pin(self.foreach(frame, f, stmt.span)).await,
                StmtKind::With { options, body } => {
                    return Box::pin(self.with(frame, options, body, stmt.span)).await;
                }
                StmtKind::Try {
                    body,
                    catch,
                    finally,
                } => {
                    let mut result = self.block(frame, body).await;
                    if let (Err(Flow::Error(e)), Some(c)) = (&result, catch) {
                        let error = Value::Error(Arc::new((**e).clone()));
                        frame.push();
                        if let Some(var) = &c.var {
                            frame.declare(&var.node, error);
                        }
                        result = self.block(frame, &c.body).await;
                        frame.pop();
                    }
                    if let Some(f) = finally {
                        // An error in `finally` replaces the outcome of the block.
                        self.block(frame, f).await?;
                    }
                    return result;
                }
                StmtKind::Async(block) => {
                    self.start_branch(frame, block, stmt.span)?;
                }
                StmtKind::AwaitAll => {
                    if let Some(b) = frame.branches.clone() {
                        b.await_all().await.map_err(|e| Flow::Error(Box::new(e)))?;
                    }
                }
            }
            Ok(())
        })
    }

    async fn foreach(&self, frame: &mut Frame<'p>, f: &'p Foreach, span: Span) -> Eval<()> {
        let items: Vec<(Value, Value)> = match self.expr(frame, &f.iterable).await? {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| (Value::Int(i as i64), v.clone()))
                .collect(),
            Value::Hash(h) => h.iter().map(|(k, v)| (Value::str(k), v.clone())).collect(),
            Value::ResultSet(rs) => rs
                .iter()
                .enumerate()
                .map(|(i, r)| (Value::Int(i as i64), Value::Result(r.clone())))
                .collect(),
            Value::Undef => Vec::new(),
            other => {
                return Err(self.error(
                    "drover/type-error",
                    format!(
                        "`foreach` needs an Array or a Hash, got {}",
                        types::describe(&other)
                    ),
                    f.iterable.span,
                ));
            }
        };
        if f.mode.is_concurrent() {
            return self.foreach_concurrent(frame, f, items, span).await;
        }
        for (key, value) in items {
            frame.push();
            if let Some(k) = &f.key {
                frame.declare(&k.node, key);
            }
            frame.declare(&f.value.node, value);
            let result = self.block(frame, &f.body).await;
            frame.pop();
            match result {
                Ok(()) | Err(Flow::Continue) => {}
                Err(Flow::Break) => break,
                Err(other) => return Err(other),
            }
        }
        Ok(())
    }

    /// A loop count: an Integer of at least `min`, or a percentage of `len`
    /// rounded up (at least 1).
    async fn count(
        &self,
        frame: &mut Frame<'p>,
        count: &'p Spanned<Count>,
        len: usize,
        min: i64,
    ) -> Eval<usize> {
        match &count.node {
            Count::Percent(p) => Ok(((len * *p as usize).div_ceil(100)).max(min as usize)),
            Count::Expr(e) => match self.value(frame, e).await? {
                Value::Int(n) if n >= min => Ok(n as usize),
                other => Err(self.error(
                    "drover/type-error",
                    format!(
                        "a loop count must be an Integer of at least {min}, got {}",
                        types::describe(&other)
                    ),
                    count.span,
                )),
            },
        }
    }

    /// `parallel` (a sliding window) and `serial` (batches) loops. Every
    /// iteration runs on a snapshot of the variables; after more than
    /// `max_failures` failures no iteration starts, those running finish,
    /// and `drover/loop-failure` names every failed element.
    async fn foreach_concurrent(
        &self,
        frame: &mut Frame<'p>,
        f: &'p Foreach,
        items: Vec<(Value, Value)>,
        span: Span,
    ) -> Eval<()> {
        use futures::stream::{FuturesUnordered, StreamExt};
        let len = items.len();
        let (window, batches) = match &f.mode {
            LoopMode::Parallel(None) => (len.max(1), false),
            LoopMode::Parallel(Some(c)) => (self.count(frame, c, len, 1).await?, false),
            LoopMode::Serial(c) => (self.count(frame, c, len, 1).await?, true),
            LoopMode::Sequential => unreachable!("sequential loops do not come here"),
        };
        let tolerated = match &f.max_failures {
            Some(c) => self.count(frame, c, len, 0).await?,
            None => 0,
        };
        let snapshot = frame.snapshot();
        let frame_branches = frame.branches.clone();
        let iteration = |index: usize, key: Value, value: Value| {
            let mut own = Frame::from_snapshot(snapshot.clone(), frame_branches.clone());
            async move {
                own.push();
                if let Some(k) = &f.key {
                    own.declare(&k.node, key);
                }
                own.declare(&f.value.node, value.clone());
                let result = self.block(&mut own, &f.body).await;
                (index, value, result)
            }
        };
        let mut failures: Vec<(usize, Value, Box<ErrorValue>)> = Vec::new();
        let mut pending = items.into_iter().enumerate();
        let mut running = FuturesUnordered::new();
        // `return` ends an iteration; break/continue are check errors here.
        let record = |done: (usize, Value, Eval<()>), failures: &mut Vec<_>| {
            if let Err(Flow::Error(e)) = done.2 {
                failures.push((done.0, done.1, e));
            }
        };
        loop {
            // Start what the window or the batch allows, unless too much failed.
            if failures.len() <= tolerated && (!batches || running.is_empty()) {
                while running.len() < window {
                    let Some((i, (k, v))) = pending.next() else {
                        break;
                    };
                    running.push(iteration(i, k, v));
                }
            }
            match running.next().await {
                Some(done) => record(done, &mut failures),
                None => break,
            }
        }
        if failures.is_empty() {
            return Ok(());
        }
        failures.sort_by_key(|(i, _, _)| *i);
        let location = self.program.location(span);
        if failures.len() <= tolerated {
            for (_, value, e) in &failures {
                self.events.log(
                    "warn",
                    &format!(
                        "{} failed (tolerated): {}",
                        value.to_display(),
                        e.cause().message
                    ),
                    &location,
                );
            }
            return Ok(());
        }
        let never_started = pending.len();
        let mut e = ErrorValue::new(
            "drover/loop-failure",
            format!(
                "{} of {len} iterations failed (max_failures {tolerated}); {never_started} never started",
                failures.len()
            ),
        );
        e.location = location;
        e.details.insert(
            "failed".into(),
            Value::array(
                failures
                    .into_iter()
                    .map(|(i, value, err)| {
                        let mut h = Hash::new();
                        h.insert("index".into(), Value::Int(i as i64));
                        h.insert("element".into(), value);
                        h.insert("error".into(), Value::Error(Arc::new(*err)));
                        Value::hash(h)
                    })
                    .collect(),
            ),
        );
        e.details
            .insert("never_started".into(), Value::Int(never_started as i64));
        Err(Flow::Error(Box::new(e)))
    }

    async fn with(
        &self,
        frame: &mut Frame<'p>,
        options: &'p [WithOption],
        body: &'p Block,
        span: Span,
    ) -> Eval<()> {
        let (mut retry, mut delay, mut timeout, mut lock) = (0i64, 0u64, None, None);
        for o in options {
            let v = self.expr(frame, &o.value).await?;
            match (o.key.node.as_str(), v) {
                ("retry", Value::Int(n)) if n >= 0 => retry = n,
                ("delay", Value::Duration(ms)) => delay = ms,
                ("timeout", Value::Duration(ms)) => timeout = Some(ms),
                ("lock", Value::Str(s)) => lock = Some(s),
                (key, v) => {
                    let wanted = match key {
                        "retry" => "a non-negative Integer",
                        "lock" => "a String",
                        _ => "a Duration",
                    };
                    return Err(self.error(
                        "drover/type-error",
                        format!("`with {key}` needs {wanted}, got {}", types::describe(&v)),
                        o.value.span,
                    ));
                }
            }
        }
        // The lock is held across every attempt.
        let guard = match &lock {
            Some(name) => {
                let mutex = self
                    .locks
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .entry(name.to_string())
                    .or_default()
                    .clone();
                Some(mutex.lock_owned().await)
            }
            None => None,
        };
        let mut attempt = 0;
        let result = loop {
            let run = self.block(frame, body);
            let result = match timeout {
                Some(ms) => {
                    match tokio::time::timeout(std::time::Duration::from_millis(ms), run).await {
                        Ok(r) => r,
                        Err(_) => Err(self.error(
                            "drover/timeout",
                            format!(
                                "the block did not finish within {}",
                                crate::duration::format(ms)
                            ),
                            span,
                        )),
                    }
                }
                None => run.await,
            };
            match result {
                Err(Flow::Error(_)) if attempt < retry => {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
                }
                other => break other,
            }
        };
        drop(guard);
        result
    }

    /// Evaluate an expression.
    pub fn expr<'a>(
        &'a self,
        frame: &'a mut Frame<'p>,
        expr: &'p Expr,
    ) -> BoxFuture<'a, Eval<Value>> {
        Box::pin(async move {
            Ok(match &expr.node {
                ExprKind::Undef => Value::Undef,
                ExprKind::Bool(b) => Value::Bool(*b),
                ExprKind::Int(n) => Value::Int(*n),
                ExprKind::Float(f) => Value::Float(*f),
                ExprKind::Duration(ms) => Value::Duration(*ms),
                ExprKind::Str(parts) => {
                    let mut s = String::new();
                    for part in parts {
                        match part {
                            StrPart::Lit(text) => s.push_str(text),
                            StrPart::Interp(e) => {
                                s.push_str(&self.expr(frame, e).await?.to_display())
                            }
                        }
                    }
                    Value::str(s)
                }
                ExprKind::Array(items) => {
                    let mut out = Vec::with_capacity(items.len());
                    for item in items {
                        out.push(self.expr(frame, item).await?);
                    }
                    Value::array(out)
                }
                ExprKind::Hash(entries) => {
                    let mut h = Hash::with_capacity(entries.len());
                    for (k, v) in entries {
                        let key = match self.expr(frame, k).await? {
                            Value::Str(s) => s.to_string(),
                            other @ (Value::Int(_) | Value::Bool(_)) => other.to_display(),
                            other => {
                                return Err(self.error(
                                    "drover/type-error",
                                    format!(
                                        "hash keys are strings, got {}",
                                        types::describe(&other)
                                    ),
                                    k.span,
                                ));
                            }
                        };
                        let value = self.expr(frame, v).await?;
                        h.insert(key, value);
                    }
                    Value::hash(h)
                }
                ExprKind::Var(name) => match frame.lookup(name) {
                    Some(v) => v.clone(),
                    None => {
                        return Err(self.error(
                            "drover/undefined-variable",
                            format!("undefined variable `${name}`"),
                            expr.span,
                        ));
                    }
                },
                ExprKind::Call(call) => {
                    return Box::pin(functions::call(self, frame, call, expr.span)).await;
                }
                ExprKind::Method(m) => {
                    let recv = self.expr(frame, &m.recv).await?;
                    let args = self.args(frame, &m.args).await?;
                    return Box::pin(methods::method(self, frame, recv, m, args, expr.span)).await;
                }
                ExprKind::Index(recv, index) => {
                    let r = self.expr(frame, recv).await?;
                    let i = self.expr(frame, index).await?;
                    operators::index(self, r, i, expr.span)?
                }
                ExprKind::Unary(UnaryOp::Not, e) => {
                    Value::Bool(!self.expr(frame, e).await?.truthy())
                }
                ExprKind::Unary(UnaryOp::Neg, e) => match self.expr(frame, e).await? {
                    Value::Int(n) => Value::Int(n.checked_neg().ok_or_else(|| {
                        self.error("drover/overflow", "integer overflow in negation", expr.span)
                    })?),
                    Value::Float(f) => Value::Float(-f),
                    other => {
                        return Err(self.error(
                            "drover/type-error",
                            format!("cannot negate {}", types::describe(&other)),
                            expr.span,
                        ));
                    }
                },
                ExprKind::Unary(UnaryOp::Await, e) => match self.expr(frame, e).await? {
                    Value::Future(slot) => slot
                        .wait()
                        .await
                        .map_err(|err| Flow::Error(Box::new(err)))?,
                    other => {
                        return Err(self.error(
                            "drover/type-error",
                            format!("`await` needs a Future, got {}", types::describe(&other)),
                            e.span,
                        ));
                    }
                },
                ExprKind::Binary(BinaryOp::And, a, b) => Value::Bool(
                    self.expr(frame, a).await?.truthy() && self.expr(frame, b).await?.truthy(),
                ),
                ExprKind::Binary(BinaryOp::Or, a, b) => Value::Bool(
                    self.expr(frame, a).await?.truthy() || self.expr(frame, b).await?.truthy(),
                ),
                ExprKind::Binary(op, a, b) => {
                    let l = self.expr(frame, a).await?;
                    let r = self.expr(frame, b).await?;
                    operators::binary(self, *op, l, r, expr.span)?
                }
                ExprKind::Async(block) => {
                    Value::Future(self.start_branch(frame, block, expr.span)?)
                }
            })
        })
    }

    pub(crate) async fn args(
        &self,
        frame: &mut Frame<'p>,
        args: &'p [Arg],
    ) -> Eval<functions::Args> {
        let mut out = functions::Args::default();
        for a in args {
            match a {
                Arg::Positional(e) => out.positional.push((self.expr(frame, e).await?, e.span)),
                Arg::Named(n, e) => {
                    let v = self.expr(frame, e).await?;
                    out.named.insert(n.node.clone(), (v, n.span));
                }
            }
        }
        Ok(out)
    }

    /// `parallelize(items, max => N) |$x| { ... }`: the lambda's values in
    /// input order; when any element fails, the others finish and
    /// `drover/parallel-failure` names the failed indices.
    pub(crate) async fn parallelize(
        &self,
        frame: &mut Frame<'p>,
        call: &'p Call,
        args: functions::Args,
        span: Span,
    ) -> Eval<Value> {
        use futures::stream::{FuturesUnordered, StreamExt};
        let Some(lambda) = &call.lambda else {
            return Err(self.error("drover/type-error", "`parallelize` needs a lambda", span));
        };
        let items: Vec<Value> = match args.positional.first() {
            Some((Value::Array(a), _)) => a.to_vec(),
            Some((Value::ResultSet(rs), _)) => {
                rs.iter().map(|r| Value::Result(r.clone())).collect()
            }
            Some((other, s)) => {
                return Err(self.error(
                    "drover/type-error",
                    format!(
                        "`parallelize` needs an Array, got {}",
                        types::describe(other)
                    ),
                    *s,
                ));
            }
            None => {
                return Err(self.error("drover/type-error", "`parallelize` needs an Array", span));
            }
        };
        let max = match args.named.get("max") {
            None => items.len().max(1),
            Some((Value::Int(n), _)) if *n >= 1 => *n as usize,
            Some((other, s)) => {
                return Err(self.error(
                    "drover/type-error",
                    format!(
                        "`max` must be an Integer of at least 1, got {}",
                        types::describe(other)
                    ),
                    *s,
                ));
            }
        };
        let snapshot = frame.snapshot();
        let frame_branches = frame.branches.clone();
        let mut results: Vec<Option<Eval<Value>>> = (0..items.len()).map(|_| None).collect();
        let mut pending = items.into_iter().enumerate();
        let mut running = FuturesUnordered::new();
        loop {
            while running.len() < max {
                let Some((i, item)) = pending.next() else {
                    break;
                };
                let mut own = Frame::from_snapshot(snapshot.clone(), frame_branches.clone());
                running
                    .push(async move { (i, self.call_lambda(&mut own, lambda, vec![item]).await) });
            }
            match running.next().await {
                Some((i, r)) => results[i] = Some(r),
                None => break,
            }
        }
        let mut values = Vec::with_capacity(results.len());
        let mut failed = Vec::new();
        for (i, r) in results.into_iter().enumerate() {
            match r.expect("every element ran") {
                Ok(v) => values.push(v),
                Err(Flow::Error(e)) => {
                    values.push(Value::Undef);
                    failed.push((i, e));
                }
                Err(_) => values.push(Value::Undef),
            }
        }
        if failed.is_empty() {
            return Ok(Value::array(values));
        }
        let mut e = ErrorValue::new(
            "drover/parallel-failure",
            format!(
                "{} of {} parallelize elements failed",
                failed.len(),
                values.len()
            ),
        );
        e.location = self.program.location(span);
        e.details.insert(
            "failed".into(),
            Value::array(failed.iter().map(|(i, _)| Value::Int(*i as i64)).collect()),
        );
        e.details.insert(
            "errors".into(),
            Value::array(
                failed
                    .into_iter()
                    .map(|(_, err)| Value::Error(Arc::new(*err)))
                    .collect(),
            ),
        );
        Err(Flow::Error(Box::new(e)))
    }

    pub(crate) async fn call_plan(&self, args: functions::Args, span: Span) -> Eval<Value> {
        let name = match args.positional.first() {
            Some((Value::Str(s), _)) => s.to_string(),
            _ => {
                return Err(self.error(
                    "drover/type-error",
                    "`run_plan` needs a plan name first",
                    span,
                ));
            }
        };
        if args.positional.len() > 1 {
            return Err(self.error(
                "drover/type-error",
                "`run_plan` takes its parameters as `name => value`",
                span,
            ));
        }
        let params = args.named.into_iter().map(|(k, (v, _))| (k, v)).collect();
        self.run_plan(&name, params, Some(span))
            .await
            .map_err(Flow::Error)
    }

    /// Call a lambda with arguments, returning the value of its last expression statement.
    pub fn call_lambda<'a>(
        &'a self,
        frame: &'a mut Frame<'p>,
        lambda: &'p Lambda,
        args: Vec<Value>,
    ) -> BoxFuture<'a, Eval<Value>> {
        Box::pin(async move {
            if args.len() < lambda.params.len() {
                return Err(self.error(
                    "drover/type-error",
                    format!(
                        "the lambda takes {} parameter(s), {} given",
                        lambda.params.len(),
                        args.len()
                    ),
                    lambda.span,
                ));
            }
            frame.push();
            let mut result = Ok(Value::Undef);
            for ((ty, name), value) in lambda.params.iter().zip(args) {
                let value = match ty {
                    Some(t) => match types::coerce(value, &t.node) {
                        Ok(v) => v,
                        Err(why) => {
                            result = Err(self.error(
                                "drover/type-error",
                                format!("lambda parameter `${}`: {why}", name.node),
                                name.span,
                            ));
                            break;
                        }
                    },
                    None => value,
                };
                frame.declare(&name.node, value);
            }
            if result.is_ok() {
                frame.push();
                for stmt in &lambda.body.stmts {
                    result = match &stmt.node {
                        StmtKind::Expr(e) => self.expr(frame, e).await,
                        _ => self.stmt(frame, stmt).await.map(|()| Value::Undef),
                    };
                    if result.is_err() {
                        break;
                    }
                }
                frame.pop();
            }
            frame.pop();
            match result {
                Err(Flow::Return(v)) => Ok(v),
                other => other,
            }
        })
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
