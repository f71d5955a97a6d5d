//! Name-level checks that need no runtime (spec §7): duplicate plans and
//! parameters, scoping (undefined variables, assignments to outer variables
//! from concurrent bodies), `break`/`continue` placement, `with` options,
//! types, loop counts, and the warnings for unused variables and unreachable
//! statements.

use std::collections::HashMap;

// Scopes are hashed on every variable use; FxHash is much cheaper than SipHash
// for short names, and plans are not adversarial input to a hash table.
use rustc_hash::FxHashMap;

use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::syntax::ast::*;

/// Type names a plan may use.
pub const TYPE_NAMES: [&str; 20] = [
    "Any",
    "Array",
    "Boolean",
    "Duration",
    "Enum",
    "Error",
    "Float",
    "Future",
    "Hash",
    "Integer",
    "Numeric",
    "Optional",
    "Result",
    "ResultSet",
    "Sensitive",
    "String",
    "Target",
    "TargetSpec",
    "Undef",
    "Variant",
];

/// Options of a `with` block.
pub const WITH_OPTIONS: [&str; 4] = ["retry", "delay", "timeout", "lock"];

/// Check every plan of `files` together (plan names are global).
/// With a task catalog, `run_task` calls with a literal task name are
/// checked against the task's metadata too.
pub fn check(files: &[File], tasks: Option<&crate::project::tasks::Catalog>) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let mut plans: HashMap<&str, Span> = HashMap::new();
    let signatures: HashMap<&str, &Plan> = files
        .iter()
        .flat_map(|f| &f.plans)
        .map(|p| (p.name.node.as_str(), p))
        .collect();
    for plan in files.iter().flat_map(|f| &f.plans) {
        if let Some(first) = plans.get(plan.name.node.as_str()) {
            diags.push(
                Diagnostic::error(
                    "duplicate-plan",
                    plan.name.span,
                    format!("plan `{}` is defined twice", plan.name.node),
                )
                .with_label("second definition")
                .with_secondary(*first, "first defined here")
                .with_help("rename one of them, or delete the copy"),
            );
        } else {
            plans.insert(&plan.name.node, plan.name.span);
        }
        let mut checker = Checker {
            diags: &mut diags,
            scopes: Vec::new(),
            gone: Vec::new(),
            plans: &signatures,
            tasks,
        };
        checker.plan(plan);
    }
    diags
}

/// Where `break`/`continue` would go, and what a scope is.
#[derive(Clone, Copy, PartialEq)]
enum Frame {
    /// An ordinary block.
    Block,
    /// The body of a sequential loop.
    Loop,
    /// A body that runs concurrently: `async`, a parallel/serial loop, a
    /// `parallelize` lambda. Assigning to outer variables stops here.
    Concurrent(&'static str),
    /// A lambda that runs in place (`map`, `each`, ...).
    Lambda,
}

struct Var {
    span: Span,
    used: bool,
    param: bool,
}

struct Scope {
    frame: Frame,
    span: Span,
    vars: FxHashMap<String, Var>,
}

struct Checker<'d> {
    diags: &'d mut Vec<Diagnostic>,
    /// Every plan checked together, for `run_plan` calls.
    plans: &'d HashMap<&'d str, &'d Plan>,
    /// The project's tasks, for `run_task` calls.
    tasks: Option<&'d crate::project::tasks::Catalog>,
    scopes: Vec<Scope>,
    /// Variables whose scope has ended, for "assigned only inside a block"
    /// help; searched only when reporting.
    gone: Vec<(String, Span)>,
}

impl Checker<'_> {
    fn push(&mut self, frame: Frame, span: Span) {
        self.scopes.push(Scope {
            frame,
            span,
            vars: FxHashMap::default(),
        });
    }

    fn pop(&mut self) {
        let scope = self.scopes.pop().expect("balanced scopes");
        let mut unused: Vec<(&String, &Var)> = scope
            .vars
            .iter()
            .filter(|(name, v)| !v.used && !v.param && !name.starts_with('_'))
            .collect();
        unused.sort_by_key(|(_, v)| v.span.start);
        for (name, var) in unused {
            self.diags.push(
                Diagnostic::warning(
                    "unused-variable",
                    var.span,
                    format!("variable `${name}` is assigned but never used"),
                )
                .with_label("assigned here")
                .with_help(format!(
                    "remove the assignment, or name it `$_{name}` to keep it"
                )),
            );
        }
        self.gone
            .extend(scope.vars.into_iter().map(|(name, var)| (name, var.span)));
    }

    fn declare(&mut self, name: &Spanned<String>, param: bool) {
        let scope = self.scopes.last_mut().expect("a scope");
        scope.vars.insert(
            name.node.clone(),
            Var {
                span: name.span,
                used: false,
                param,
            },
        );
    }

    fn plan(&mut self, plan: &Plan) {
        self.push(Frame::Block, plan.span);
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for p in &plan.params {
            self.ty(&p.ty);
            if let Some(d) = &p.default {
                self.expr(d);
            }
            if let Some(first) = seen.get(p.name.node.as_str()) {
                self.diags.push(
                    Diagnostic::error(
                        "duplicate-parameter",
                        p.name.span,
                        format!("parameter `${}` is declared twice", p.name.node),
                    )
                    .with_label("second declaration")
                    .with_secondary(*first, "first declared here"),
                );
            }
            seen.insert(&p.name.node, p.name.span);
            self.declare(&p.name, true);
        }
        self.block_in(&plan.body, Frame::Block);
        self.pop();
    }

    fn ty(&mut self, ty: &Spanned<Type>) {
        let Type { name, args } = &ty.node;
        if !TYPE_NAMES.contains(&name.node.as_str()) {
            self.diags.push(
                Diagnostic::error(
                    "unknown-type",
                    name.span,
                    format!("unknown type `{}`", name.node),
                )
                .with_label("not a type")
                .with_help_opt(
                    did_you_mean(&name.node, TYPE_NAMES).map(|s| format!("did you mean `{s}`?")),
                ),
            );
            return;
        }
        let type_args = args
            .iter()
            .filter(|a| matches!(a.node, TypeArg::Type(_)))
            .count();
        let (ok, expectation) = match name.node.as_str() {
            "Optional" => (
                args.len() == 1 && type_args == 1,
                "one type, as in `Optional[String]`",
            ),
            "Array" | "Sensitive" | "Future" => (
                args.len() <= 1 && type_args == args.len(),
                "at most one type",
            ),
            "Hash" => (
                (args.is_empty() || args.len() == 2) && type_args == args.len(),
                "no arguments or a key and a value type, as in `Hash[String, Integer]`",
            ),
            "Variant" => (
                !args.is_empty() && type_args == args.len(),
                "one or more types",
            ),
            "Enum" => (
                !args.is_empty()
                    && args
                        .iter()
                        .all(|a| matches!(a.node, TypeArg::Str(_) | TypeArg::Word(_))),
                "one or more strings or bare words, as in `Enum[start, stop]`",
            ),
            "Integer" | "Float" | "Numeric" => (
                args.len() <= 2 && args.iter().all(|a| matches!(a.node, TypeArg::Int(_))),
                "at most two integer bounds, as in `Integer[1, 10]`",
            ),
            "String" => (
                args.len() <= 2 && args.iter().all(|a| matches!(a.node, TypeArg::Int(_))),
                "at most two length bounds, as in `String[1]`",
            ),
            _ => (args.is_empty(), "no arguments"),
        };
        if !ok {
            self.diags.push(
                Diagnostic::error(
                    "bad-type-arguments",
                    ty.span,
                    format!("wrong arguments for type `{}`", name.node),
                )
                .with_label("here")
                .with_help(format!("`{}` takes {expectation}", name.node)),
            );
        }
        for arg in args {
            if let TypeArg::Type(t) = &arg.node {
                self.ty(&Spanned::new(t.clone(), arg.span));
            }
        }
    }

    /// A block in a new scope of the given kind.
    fn block_in(&mut self, block: &Block, frame: Frame) {
        self.push(frame, block.span);
        self.stmts(&block.stmts);
        self.pop();
    }

    fn stmts(&mut self, stmts: &[Stmt]) {
        let mut ended: Option<&Stmt> = None;
        for stmt in stmts {
            if let Some(end) = ended.take() {
                self.diags.push(
                    Diagnostic::warning("unreachable", stmt.span, "unreachable statement")
                        .with_label("never runs")
                        .with_secondary(end.span, "the block always leaves here"),
                );
            }
            self.stmt(stmt);
            if ends_block(stmt) {
                ended = Some(stmt);
            }
        }
    }

    /// The innermost frame that decides where `break` goes.
    fn loop_frame(&self) -> Option<Frame> {
        self.scopes
            .iter()
            .rev()
            .map(|s| s.frame)
            .find(|f| *f != Frame::Block)
    }

    fn stmt(&mut self, stmt: &Stmt) {
        match &stmt.node {
            StmtKind::Assign { name, value } => {
                self.expr(value);
                self.assign(name);
            }
            StmtKind::Expr(e) => self.expr(e),
            StmtKind::Return(e) => {
                if let Some(e) = e {
                    self.expr(e);
                }
            }
            StmtKind::Break | StmtKind::Continue => {
                let word = if stmt.node == StmtKind::Break {
                    "break"
                } else {
                    "continue"
                };
                let (message, help) = match self.loop_frame() {
                    Some(Frame::Loop) => return,
                    None => (
                        format!("`{word}` outside a loop"),
                        "`break` and `continue` belong inside a sequential `foreach`".to_string(),
                    ),
                    Some(Frame::Concurrent(what)) => (
                        format!("`{word}` inside {what}"),
                        format!(
                            "{what} runs concurrently, so `{word}` cannot leave a loop from it; \
                             use `return` to end this branch, or `max_failures` to stop a loop"
                        ),
                    ),
                    Some(_) => (
                        format!("`{word}` inside a lambda"),
                        "a lambda cannot leave the loop around it; use `filter` or a `foreach`"
                            .into(),
                    ),
                };
                self.diags.push(
                    Diagnostic::error("break-outside-loop", stmt.span, message)
                        .with_label("not allowed here")
                        .with_help(help),
                );
            }
            StmtKind::AwaitAll => {}
            StmtKind::If {
                branches,
                otherwise,
            } => {
                for (cond, body) in branches {
                    self.expr(cond);
                    self.block_in(body, Frame::Block);
                }
                if let Some(b) = otherwise {
                    self.block_in(b, Frame::Block);
                }
            }
            StmtKind::Unless {
                cond,
                body,
                otherwise,
            } => {
                self.expr(cond);
                self.block_in(body, Frame::Block);
                if let Some(b) = otherwise {
                    self.block_in(b, Frame::Block);
                }
            }
            StmtKind::Foreach(f) => self.foreach(f),
            StmtKind::Async(block) => self.block_in(block, Frame::Concurrent("`async`")),
            StmtKind::With { options, body } => {
                let mut seen: HashMap<&str, Span> = HashMap::new();
                for o in options {
                    self.expr(&o.value);
                    let key = o.key.node.as_str();
                    if !WITH_OPTIONS.contains(&key) {
                        self.diags.push(
                            Diagnostic::error(
                                "unknown-with-option",
                                o.key.span,
                                format!("unknown `with` option `{key}`"),
                            )
                            .with_label("not an option")
                            .with_help(
                                match did_you_mean(key, WITH_OPTIONS) {
                                    Some(s) => format!("did you mean `{s}`?"),
                                    None => "the options are retry, delay, timeout and lock".into(),
                                },
                            ),
                        );
                    } else if let Some(first) = seen.insert(key, o.key.span) {
                        self.diags.push(
                            Diagnostic::error(
                                "duplicate-with-option",
                                o.key.span,
                                format!("`{key}` is given twice"),
                            )
                            .with_secondary(first, "first given here"),
                        );
                    }
                }
                if seen.contains_key("delay") && !seen.contains_key("retry") {
                    let span = seen["delay"];
                    self.diags.push(
                        Diagnostic::warning(
                            "delay-without-retry",
                            span,
                            "`delay` has no effect without `retry`",
                        )
                        .with_label("ignored"),
                    );
                }
                self.block_in(body, Frame::Block);
            }
            StmtKind::Try {
                body,
                catch,
                finally,
            } => {
                self.block_in(body, Frame::Block);
                if let Some(c) = catch {
                    self.push(Frame::Block, c.body.span);
                    if let Some(v) = &c.var {
                        self.declare(v, true);
                    }
                    self.stmts(&c.body.stmts);
                    self.pop();
                }
                if let Some(f) = finally {
                    self.block_in(f, Frame::Block);
                }
            }
        }
    }

    fn foreach(&mut self, f: &Foreach) {
        self.expr(&f.iterable);
        let (frame, keyword) = match &f.mode {
            LoopMode::Sequential => (Frame::Loop, None),
            LoopMode::Parallel(count) => {
                if let Some(c) = count {
                    self.count(c, "parallel", false);
                }
                (Frame::Concurrent("a `parallel` loop"), Some("parallel"))
            }
            LoopMode::Serial(c) => {
                self.count(c, "serial", true);
                (Frame::Concurrent("a `serial` loop"), Some("serial"))
            }
        };
        if let Some(mf) = &f.max_failures {
            if keyword.is_none() {
                self.diags.push(
                    Diagnostic::error(
                        "max-failures-sequential",
                        mf.span,
                        "`max_failures` needs a `parallel` or `serial` loop",
                    )
                    .with_label("a sequential loop stops at its first failure")
                    .with_help("add `parallel` or `serial N` before `max_failures`, or catch errors with `try`"),
                );
            }
            self.count(mf, "max_failures", true);
        }
        self.push(frame, f.body.span);
        if let Some(k) = &f.key {
            self.declare(k, true);
        }
        self.declare(&f.value, true);
        self.stmts(&f.body.stmts);
        self.pop();
    }

    /// A loop count: literals are checked now, expressions at run time.
    fn count(&mut self, count: &Spanned<Count>, clause: &str, percent_ok: bool) {
        let min = if clause == "max_failures" { 0 } else { 1 };
        match &count.node {
            Count::Percent(_) if !percent_ok => self.diags.push(
                Diagnostic::error(
                    "misplaced-percentage",
                    count.span,
                    format!("a percentage is not allowed after `{clause}`"),
                )
                .with_label("percentage here")
                .with_help(
                    "percentages are allowed after `serial` and `max_failures`; give a number",
                ),
            ),
            Count::Percent(p) if *p < min as u32 || *p > 100 => self.diags.push(
                Diagnostic::error(
                    "bad-count",
                    count.span,
                    format!("`{clause} {p}%` is out of range"),
                )
                .with_label("here")
                .with_help(format!("a percentage here runs from {min}% to 100%")),
            ),
            Count::Percent(_) => {}
            Count::Expr(e) => {
                let literal = match &e.node {
                    ExprKind::Int(n) => Some(*n),
                    _ => None,
                };
                if let Some(n) = literal.filter(|&n| n < min) {
                    self.diags.push(
                        Diagnostic::error(
                            "bad-count",
                            count.span,
                            format!("`{clause} {n}` is out of range"),
                        )
                        .with_label(format!("must be at least {min}"))
                        .with_help(if clause == "max_failures" {
                            "`max_failures` counts tolerated failures: 0 or more".to_string()
                        } else {
                            format!("`{clause}` needs at least 1 iteration at a time")
                        }),
                    );
                }
                self.expr(e);
            }
        }
    }

    fn assign(&mut self, name: &Spanned<String>) {
        // Find the variable, noting any concurrent boundary crossed on the way.
        let mut crossed: Option<(&'static str, Span)> = None;
        for scope in self.scopes.iter_mut().rev() {
            if let Some(var) = scope.vars.get_mut(&name.node) {
                if let Some((what, boundary)) = crossed {
                    let declared = var.span;
                    self.diags.push(
                        Diagnostic::error(
                            "concurrent-assignment",
                            name.span,
                            format!(
                                "cannot assign to `${}` of an enclosing scope inside {what}",
                                name.node
                            ),
                        )
                        .with_label("assigns an outer variable")
                        .with_secondary(declared, "declared outside here")
                        .with_secondary(boundary.end_point(), "the concurrent body ends here")
                        .with_help(
                            "concurrent bodies see a snapshot of outer variables; return the value \
                             (`await` an `async`, collect `parallelize` results) or use a new name",
                        ),
                    );
                }
                return;
            }
            if let Frame::Concurrent(what) = scope.frame {
                crossed.get_or_insert((what, scope.span));
            }
        }
        self.declare(name, false);
    }

    fn use_var(&mut self, name: &str, span: Span) {
        for scope in self.scopes.iter_mut().rev() {
            if let Some(var) = scope.vars.get_mut(name) {
                var.used = true;
                return;
            }
        }
        let mut d = Diagnostic::error(
            "undefined-variable",
            span,
            format!("undefined variable `${name}`"),
        )
        .with_label("not assigned before this use");
        if let Some((_, gone)) = self.gone.iter().find(|(n, _)| n == name) {
            d = d
                .with_secondary(*gone, "assigned only in this inner scope")
                .with_help(format!(
                    "blocks open a scope: assign `${name}` before the block (e.g. `${name} = undef;`)"
                ));
        } else {
            let visible = self
                .scopes
                .iter()
                .flat_map(|s| s.vars.keys().map(String::as_str));
            d = d.with_help_opt(
                did_you_mean(name, visible).map(|s| format!("did you mean `${s}`?")),
            );
        }
        self.diags.push(d);
    }

    fn args(&mut self, args: &[Arg]) {
        for a in args {
            self.expr(a.value());
        }
    }

    fn lambda(&mut self, lambda: &Lambda, frame: Frame) {
        self.push(frame, lambda.body.span);
        for (ty, name) in &lambda.params {
            if let Some(t) = ty {
                self.ty(t);
            }
            self.declare(name, true);
        }
        self.stmts(&lambda.body.stmts);
        self.pop();
    }

    fn expr(&mut self, expr: &Expr) {
        match &expr.node {
            ExprKind::Undef
            | ExprKind::Bool(_)
            | ExprKind::Int(_)
            | ExprKind::Float(_)
            | ExprKind::Duration(_) => {}
            ExprKind::Str(parts) => {
                for p in parts {
                    if let StrPart::Interp(e) = p {
                        self.expr(e);
                    }
                }
            }
            ExprKind::Array(items) => items.iter().for_each(|e| self.expr(e)),
            ExprKind::Hash(entries) => {
                for (k, v) in entries {
                    self.expr(k);
                    self.expr(v);
                }
            }
            ExprKind::Var(name) => self.use_var(name, expr.span),
            ExprKind::Call(call) => {
                self.call(call, expr.span);
                self.args(&call.args);
                if let Some(l) = &call.lambda {
                    let frame = if call.name.node == "parallelize" {
                        Frame::Concurrent("a `parallelize` lambda")
                    } else {
                        Frame::Lambda
                    };
                    self.lambda(l, frame);
                }
            }
            ExprKind::Method(m) => {
                if !crate::eval::functions::METHODS.contains(&m.name.node.as_str()) {
                    let hint = did_you_mean(&m.name.node, crate::eval::functions::METHODS);
                    self.diags.push(
                        Diagnostic::error(
                            "unknown-method",
                            m.name.span,
                            format!("unknown method `.{}`", m.name.node),
                        )
                        .with_label("not a method")
                        .with_help(match hint {
                            Some(h) => format!("did you mean `.{h}`?"),
                            None => "hash values are read with `$hash[\"key\"]`".into(),
                        }),
                    );
                }
                self.expr(&m.recv);
                self.args(&m.args);
                if let Some(l) = &m.lambda {
                    self.lambda(l, Frame::Lambda);
                }
            }
            ExprKind::Index(a, b) | ExprKind::Binary(_, a, b) => {
                self.expr(a);
                self.expr(b);
            }
            ExprKind::Unary(_, e) => self.expr(e),
            ExprKind::Async(block) => self.block_in(block, Frame::Concurrent("`async`")),
        }
    }
}

/// What a built-in function takes: positional arguments from `min` to `max`,
/// these named ones, action options, and whether it needs a lambda.
struct Signature {
    min: usize,
    max: usize,
    named: &'static [&'static str],
    options: bool,
    lambda: bool,
}

const fn sig(
    min: usize,
    max: usize,
    named: &'static [&'static str],
    options: bool,
    lambda: bool,
) -> Signature {
    Signature {
        min,
        max,
        named,
        options,
        lambda,
    }
}

/// Signatures of the built-ins (`run_plan` and `run_task` take any named argument).
fn signature(name: &str) -> Option<Signature> {
    Some(match name {
        "log::debug" | "log::info" | "log::warn" | "log::error" | "out::message" | "to_json"
        | "from_json" | "sleep" | "get_targets" | "get_target" | "release" | "acquired" => {
            sig(1, 1, &[], false, false)
        }
        "fail" => sig(1, 1, &["kind", "details"], false, false),
        "range" => sig(2, 2, &[], false, false),
        "min" | "max" => sig(1, usize::MAX, &[], false, false),
        "parallelize" => sig(1, 1, &["max"], false, true),
        "run_command" => sig(2, 2, &[], true, false),
        "run_script" => sig(2, 2, &["arguments"], true, false),
        "upload_file" => sig(3, 3, &[], true, false),
        "wait_up" => sig(1, 1, &["timeout", "interval"], true, false),
        "acquire" => sig(1, 1, &["scope", "timeout", "count"], false, false),
        _ => return None,
    })
}

/// The action options of spec §6.
const OPTIONS: [&str; 6] = [
    "_catch_errors",
    "_run_as",
    "_timeout",
    "_env",
    "_description",
    "_noop",
];

impl Checker<'_> {
    fn call(&mut self, call: &Call, span: Span) {
        let name = call.name.node.as_str();
        if name == "run_plan" {
            return self.plan_call(call, span);
        }
        if name == "run_task" {
            return self.task_call(call);
        }
        let Some(sig) = signature(name) else {
            let hint = did_you_mean(name, crate::eval::functions::FUNCTIONS);
            self.diags.push(
                Diagnostic::error(
                    "unknown-function",
                    call.name.span,
                    format!("unknown function `{name}`"),
                )
                .with_label("not a function")
                .with_help_opt(hint.map(|h| format!("did you mean `{h}`?"))),
            );
            return;
        };
        let positional = call
            .args
            .iter()
            .filter(|a| matches!(a, Arg::Positional(_)))
            .count();
        if positional < sig.min || positional > sig.max {
            let wanted = match (sig.min, sig.max) {
                (a, b) if a == b => format!("{a}"),
                (a, usize::MAX) => format!("at least {a}"),
                (a, b) => format!("{a} to {b}"),
            };
            self.diags.push(
                Diagnostic::error(
                    "wrong-arguments",
                    call.name.span,
                    format!("`{name}` takes {wanted} positional argument(s), {positional} given"),
                )
                .with_label("this call"),
            );
        }
        for arg in &call.args {
            let Arg::Named(n, _) = arg else { continue };
            let known = sig.named.contains(&n.node.as_str())
                || (sig.options && OPTIONS.contains(&n.node.as_str()));
            if !known {
                let candidates = sig
                    .named
                    .iter()
                    .copied()
                    .chain(if sig.options { &OPTIONS[..] } else { &[] }.iter().copied());
                let hint = did_you_mean(&n.node, candidates);
                self.diags.push(
                    Diagnostic::error(
                        "wrong-arguments",
                        n.span,
                        format!("`{name}` has no parameter `{}`", n.node),
                    )
                    .with_label("unknown parameter")
                    .with_help(match hint {
                        Some(h) => format!("did you mean `{h}`?"),
                        None if sig.named.is_empty() && !sig.options => {
                            format!("`{name}` takes no named arguments")
                        }
                        None => format!(
                            "it takes {}",
                            sig.named
                                .iter()
                                .chain(if sig.options { &OPTIONS[..] } else { &[] })
                                .map(|s| format!("`{s}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    }),
                );
            }
        }
        if sig.lambda && call.lambda.is_none() {
            self.diags.push(
                Diagnostic::error(
                    "wrong-arguments",
                    span,
                    format!("`{name}` needs a lambda: `{name}(...) |$x| {{ ... }}`"),
                )
                .with_label("no lambda"),
            );
        } else if !sig.lambda && call.lambda.is_some() {
            self.diags.push(
                Diagnostic::error(
                    "wrong-arguments",
                    call.name.span,
                    format!("`{name}` takes no lambda"),
                )
                .with_label("here"),
            );
        }
    }

    /// `run_plan("name", param => value)` against the callee's signature.
    fn plan_call(&mut self, call: &Call, span: Span) {
        let Some(Arg::Positional(first)) = call.args.first() else {
            self.diags.push(
                Diagnostic::error(
                    "wrong-arguments",
                    span,
                    "`run_plan` needs the plan's name first",
                )
                .with_label("this call"),
            );
            return;
        };
        let ExprKind::Str(parts) = &first.node else {
            return;
        };
        let [StrPart::Lit(target)] = parts.as_slice() else {
            return;
        };
        let Some(plan) = self.plans.get(target.as_str()).copied() else {
            let hint = did_you_mean(target, self.plans.keys().copied());
            self.diags.push(
                Diagnostic::warning(
                    "unknown-plan",
                    first.span,
                    format!("plan `{target}` is not among the checked plans"),
                )
                .with_label("not found")
                .with_help_opt(hint.map(|h| format!("did you mean `{h}`?"))),
            );
            return;
        };
        let mut given = Vec::new();
        for arg in &call.args[1..] {
            match arg {
                Arg::Positional(e) => self.diags.push(
                    Diagnostic::error(
                        "wrong-arguments",
                        e.span,
                        "`run_plan` takes parameters as `name => value`",
                    )
                    .with_label("positional"),
                ),
                Arg::Named(n, value) => {
                    given.push(n.node.as_str());
                    match plan.params.iter().find(|p| p.name.node == n.node) {
                        None => {
                            let hint = did_you_mean(
                                &n.node,
                                plan.params.iter().map(|p| p.name.node.as_str()),
                            );
                            self.diags.push(
                                Diagnostic::error(
                                    "wrong-arguments",
                                    n.span,
                                    format!("plan `{target}` has no parameter `{}`", n.node),
                                )
                                .with_label("unknown parameter")
                                .with_secondary(plan.name.span, "the plan is defined here")
                                .with_help_opt(hint.map(|h| format!("did you mean `{h}`?"))),
                            );
                        }
                        Some(p) => {
                            if let Some(v) = literal(value)
                                && let Err(why) = crate::value::types::coerce(v, &p.ty.node)
                            {
                                self.diags.push(
                                    Diagnostic::error(
                                        "wrong-type",
                                        value.span,
                                        format!("parameter `{}` of plan `{target}`: {why}", n.node),
                                    )
                                    .with_label("wrong type")
                                    .with_secondary(p.span, "declared here"),
                                );
                            }
                        }
                    }
                }
            }
        }
        let missing: Vec<String> = plan
            .params
            .iter()
            .filter(|p| {
                p.default.is_none()
                    && p.ty.node.name.node != "Optional"
                    && !given.contains(&p.name.node.as_str())
            })
            .map(|p| {
                format!(
                    "`{}` ({})",
                    p.name.node,
                    crate::value::types::type_text(&p.ty.node)
                )
            })
            .collect();
        if !missing.is_empty() {
            self.diags.push(
                Diagnostic::error(
                    "wrong-arguments",
                    call.name.span,
                    format!("`run_plan` of `{target}` is missing {}", missing.join(", ")),
                )
                .with_label("this call")
                .with_secondary(plan.name.span, "the plan is defined here"),
            );
        }
    }
}

impl Checker<'_> {
    /// `run_task("name", targets, param => value)` against the task's metadata.
    fn task_call(&mut self, call: &Call) {
        let positional: Vec<&Expr> = call
            .args
            .iter()
            .filter_map(|a| match a {
                Arg::Positional(e) => Some(e),
                Arg::Named(..) => None,
            })
            .collect();
        if positional.len() != 2 {
            self.diags.push(
                Diagnostic::error(
                    "wrong-arguments",
                    call.name.span,
                    format!(
                        "`run_task` takes the task's name and the targets, {} positional argument(s) given",
                        positional.len()
                    ),
                )
                .with_label("this call"),
            );
        }
        for arg in &call.args {
            if let Arg::Named(n, _) = arg
                && n.node.starts_with('_')
                && !OPTIONS.contains(&n.node.as_str())
            {
                let hint = did_you_mean(&n.node, OPTIONS);
                self.diags.push(
                    Diagnostic::error(
                        "wrong-arguments",
                        n.span,
                        format!("unknown action option `{}`", n.node),
                    )
                    .with_label("not an option")
                    .with_help_opt(hint.map(|h| format!("did you mean `{h}`?"))),
                );
            }
        }
        let Some(catalog) = self.tasks else {
            return;
        };
        let Some(first) = positional.first() else {
            return;
        };
        let Some(crate::value::Value::Str(name)) = literal(first) else {
            return;
        };
        let task = match catalog.get(&name) {
            Ok(t) => t,
            Err(message) => {
                self.diags.push(
                    Diagnostic::error("unknown-task", first.span, message)
                        .with_label("no such task"),
                );
                return;
            }
        };
        let declared = task
            .metadata
            .as_ref()
            .map(|m| format!("declared in {}", m.display()));
        let mut given = Vec::new();
        for arg in &call.args {
            let Arg::Named(n, value) = arg else { continue };
            if n.node == "_noop"
                && !task.supports_noop
                && literal(value) == Some(crate::value::Value::Bool(true))
            {
                self.diags.push(
                    Diagnostic::error(
                        "wrong-arguments",
                        value.span,
                        format!("task `{name}` does not support `_noop`"),
                    )
                    .with_label("no `supports_noop` in its metadata")
                    .with_help_opt(declared.clone()),
                );
            }
            if n.node.starts_with('_') {
                continue;
            }
            given.push(n.node.as_str());
            let Some(params) = &task.parameters else {
                continue;
            };
            let Some(p) = params.get(&n.node) else {
                let list: Vec<String> = params
                    .iter()
                    .map(|(k, p)| format!("`{k}` ({})", p.ty_text))
                    .collect();
                self.diags.push(
                    Diagnostic::error("wrong-arguments", n.span, task.unknown_parameter(&n.node))
                        .with_label("unknown parameter")
                        .with_help(if list.is_empty() {
                            "the task takes no parameters".to_string()
                        } else {
                            format!("its parameters: {}", list.join(", "))
                        }),
                );
                continue;
            };
            if let Some(v) = literal(value)
                && let Err(why) = crate::value::types::coerce(v, &p.ty)
            {
                self.diags.push(
                    Diagnostic::error(
                        "wrong-type",
                        value.span,
                        format!(
                            "parameter `{}` of task `{name}` is {}: {}",
                            n.node,
                            p.ty_text,
                            p.mismatch(why)
                        ),
                    )
                    .with_label(format!("not {}", p.ty_text))
                    .with_help_opt(declared.clone()),
                );
            }
        }
        let missing = task.missing(given.iter().copied());
        if !missing.is_empty() {
            self.diags.push(
                Diagnostic::error(
                    "wrong-arguments",
                    call.name.span,
                    format!("`run_task` of `{name}` is missing {}", missing.join(", ")),
                )
                .with_label("this call")
                .with_help_opt(declared),
            );
        }
    }
}

/// The value of a literal expression (no variables, no calls), if it is one.
fn literal(e: &Expr) -> Option<crate::value::Value> {
    use crate::value::Value;
    Some(match &e.node {
        ExprKind::Undef => Value::Undef,
        ExprKind::Bool(b) => Value::Bool(*b),
        ExprKind::Int(n) => Value::Int(*n),
        ExprKind::Float(f) => Value::Float(*f),
        ExprKind::Duration(ms) => Value::Duration(*ms),
        ExprKind::Str(parts) => match parts.as_slice() {
            [] => Value::str(""),
            [StrPart::Lit(s)] => Value::str(s),
            _ => return None,
        },
        ExprKind::Array(items) => Value::array(items.iter().map(literal).collect::<Option<_>>()?),
        _ => return None,
    })
}

/// True when nothing after this statement in its block can run.
fn ends_block(stmt: &Stmt) -> bool {
    match &stmt.node {
        StmtKind::Return(_) | StmtKind::Break | StmtKind::Continue => true,
        StmtKind::Expr(e) => matches!(&e.node, ExprKind::Call(c) if c.name.node == "fail"),
        _ => false,
    }
}

/// Parse and check every file of `sources` together (plan names are global).
/// Returns the ASTs of the files that parsed and every diagnostic, sorted by
/// position.
pub fn check_sources(
    sources: &crate::source::SourceMap,
) -> (Vec<crate::syntax::ast::File>, Vec<Diagnostic>) {
    check_sources_with(sources, None)
}

/// [`check_sources`], with `run_task` calls checked against the tasks'
/// metadata when a catalog is given.
pub fn check_sources_with(
    sources: &crate::source::SourceMap,
    tasks: Option<&crate::project::tasks::Catalog>,
) -> (Vec<crate::syntax::ast::File>, Vec<Diagnostic>) {
    let mut files = Vec::new();
    let mut diags = Vec::new();
    for (id, _) in sources.iter() {
        let parsed = crate::syntax::parser::parse(sources, id);
        diags.extend(parsed.diagnostics);
        files.extend(parsed.file);
    }
    diags.extend(check(&files, tasks));
    crate::diagnostic::sort(&mut diags);
    (files, diags)
}
