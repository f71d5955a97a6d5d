//! Name-level checks that need no runtime (spec §7): duplicate plans and
//! parameters, scoping (undefined variables, assignments to outer variables
//! from concurrent bodies), `break`/`continue` placement, `with` options,
//! types, loop counts, and the warnings for unused variables and unreachable
//! statements.

use std::collections::HashMap;

// Scopes are hashed on every variable use; FxHash is much cheaper than SipHash
// for short names, and plans are not adversarial input to a hash table.
use rustc_hash::FxHashMap;

mod calls;

use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::lang::Vocabulary;
use crate::project::tasks::Catalog;

use crate::source::SourceMap;
use crate::syntax::ast::*;

/// Check every plan of `files` together (plan names are global) against the
/// built-ins of `vocab`; the diagnostics and which plans each plan calls. With
/// a task catalog, `run_task` calls with a literal task name are checked
/// against the task's metadata too.
pub(crate) fn check_in(
    files: &[File],
    tasks: Option<&Catalog>,
    vocab: &Vocabulary,
) -> (Vec<Diagnostic>, CallGraph) {
    let mut diags = Vec::new();
    let mut calls = CallGraph::new();
    let signatures = Signatures {
        plans: by_name(files.iter().flat_map(|f| &f.plans)),
        functions: by_name(files.iter().flat_map(|f| &f.functions)),
    };
    let mut seen: HashMap<(&str, bool), Span> = HashMap::new();
    let plans = files.iter().flat_map(|f| &f.plans).map(|p| (p, false));
    let functions = files.iter().flat_map(|f| &f.functions).map(|p| (p, true));
    for (plan, function) in plans.chain(functions) {
        let what = if function { "function" } else { "plan" };
        if let Some(first) = seen.get(&(plan.name.node.as_str(), function)) {
            diags.push(
                Diagnostic::error(
                    if function {
                        "duplicate-function"
                    } else {
                        "duplicate-plan"
                    },
                    plan.name.span,
                    format!("{what} `{}` is defined twice", plan.name.node),
                )
                .with_label("second definition")
                .with_secondary(*first, "first defined here")
                .with_help("rename one of them, or delete the copy"),
            );
        } else {
            seen.insert((&plan.name.node, function), plan.name.span);
        }
        let mut checker = Checker::new(&mut diags, &signatures, tasks, vocab);
        checker.plan(plan);
        if !function {
            calls
                .entry(plan.name.node.clone())
                .or_insert(checker.callees);
        }
    }
    // Tests are checked like plan bodies, with the test functions known.
    let mut tests = files.iter().flat_map(|f| &f.tests).peekable();
    let testing = tests.peek().map(|_| vocab.clone().with_testing());
    for test in tests {
        let testing = testing.as_ref().expect("made when there are tests");
        Checker::new(&mut diags, &signatures, tasks, testing).test(test);
    }
    (diags, calls)
}

fn by_name<'a>(defs: impl Iterator<Item = &'a Plan>) -> HashMap<&'a str, &'a Plan> {
    defs.map(|p| (p.name.node.as_str(), p)).collect()
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

/// The plans and Puppet functions checked together, by name.
struct Signatures<'d> {
    /// For `run_plan` calls.
    plans: HashMap<&'d str, &'d Plan>,
    /// For calls of a module's Puppet-language functions.
    functions: HashMap<&'d str, &'d Plan>,
}

struct Checker<'d> {
    diags: &'d mut Vec<Diagnostic>,
    /// Every plan and function checked together.
    known: &'d Signatures<'d>,
    /// The project's tasks, for `run_task` calls.
    tasks: Option<&'d Catalog>,
    /// The built-in functions and methods.
    vocab: &'d Vocabulary,
    scopes: Vec<Scope>,
    /// Variables whose scope has ended, for "assigned only inside a block"
    /// help; searched only when reporting.
    gone: Vec<(String, Span)>,
    /// The plans this plan calls.
    callees: Callees,
    /// Checking a Puppet-language plan: its lambdas may `break()`/`next()`.
    puppet: bool,
}

/// The plans one plan calls with `run_plan`.
#[derive(Clone, Debug, Default)]
pub struct Callees {
    /// Those named by a literal, as written.
    pub names: Vec<String>,
    /// Whether some call names its plan only at run time.
    pub dynamic: bool,
}

/// The plans each plan calls, by the caller's name.
pub type CallGraph = HashMap<String, Callees>;

/// The plans running `root` may run: itself and the plans it calls,
/// transitively. `None` when one of them names a plan only at run time (any
/// plan may run then).
pub fn reachable(calls: &CallGraph, root: &str) -> Option<std::collections::HashSet<String>> {
    let mut seen = std::collections::HashSet::new();
    let mut todo = vec![root.to_string()];
    while let Some(name) = todo.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        if let Some(c) = calls.get(&name) {
            if c.dynamic {
                return None;
            }
            todo.extend(c.names.iter().cloned());
        }
    }
    Some(seen)
}

impl<'d> Checker<'d> {
    fn new(
        diags: &'d mut Vec<Diagnostic>,
        known: &'d Signatures<'d>,
        tasks: Option<&'d Catalog>,
        vocab: &'d Vocabulary,
    ) -> Checker<'d> {
        Checker {
            diags,
            scopes: Vec::new(),
            gone: Vec::new(),
            known,
            tasks,
            vocab,
            callees: Callees::default(),
            puppet: false,
        }
    }
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

    /// Puppet's `if` and `case` branches open no scope, yet only one runs:
    /// each may assign a name another assigns too. The names of the current
    /// scope before the first branch, and an empty gathering.
    fn branches_start(&self) -> (Vec<String>, FxHashMap<String, Var>) {
        let scope = self.scopes.last().expect("a scope");
        (scope.vars.keys().cloned().collect(), FxHashMap::default())
    }

    /// After one branch: what it assigned moves aside, out of the next's way.
    fn branch_end(&mut self, before: &[String], assigned: &mut FxHashMap<String, Var>) {
        let scope = self.scopes.last_mut().expect("a scope");
        let new: Vec<String> = scope
            .vars
            .keys()
            .filter(|k| !before.contains(k))
            .cloned()
            .collect();
        for name in new {
            let var = scope.vars.remove(&name).expect("listed");
            assigned
                .entry(name)
                .and_modify(|v| v.used |= var.used)
                .or_insert(var);
        }
    }

    /// After the last branch: the scope has what any branch assigned.
    fn branches_end(&mut self, assigned: FxHashMap<String, Var>) {
        self.scopes
            .last_mut()
            .expect("a scope")
            .vars
            .extend(assigned);
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
        self.puppet = plan.puppet;
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
        if let Some(t) = &plan.returns {
            self.ty(t);
        }
        self.block_in(&plan.body, Frame::Block);
        self.pop();
    }

    fn test(&mut self, test: &Test) {
        self.push(Frame::Block, test.span);
        self.block_in(&test.body, Frame::Block);
        self.pop();
    }

    fn ty(&mut self, ty: &Spanned<Type>) {
        let Type { name, args } = &ty.node;
        if !crate::lang::TYPE_NAMES.contains(&name.node.as_str()) {
            self.diags.push(
                Diagnostic::error(
                    "unknown-type",
                    name.span,
                    format!("unknown type `{}`", name.node),
                )
                .with_label("not a type")
                .with_help_opt(
                    did_you_mean(&name.node, crate::lang::TYPE_NAMES.iter().copied())
                        .map(|s| format!("did you mean `{s}`?")),
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
            "Sensitive" | "Future" | "NotUndef" | "Type" => (
                args.len() <= 1 && type_args == args.len(),
                "at most one type",
            ),
            "Array" => (
                args.iter()
                    .skip(1)
                    .all(|a| matches!(a.node, TypeArg::Int(_)))
                    && args.len() <= 3
                    && type_args <= 1,
                "at most one type and two size bounds, as in `Array[String, 1]`",
            ),
            "Tuple" => (
                !args.is_empty() && type_args == args.len(),
                "one or more types",
            ),
            "Pattern" => (
                !args.is_empty()
                    && args
                        .iter()
                        .all(|a| matches!(a.node, TypeArg::Regex(_) | TypeArg::Str(_))),
                "one or more regular expressions, as in `Pattern[/^web/]`",
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
                    // Puppet: `break()` ends the iteration a lambda is in.
                    Some(Frame::Lambda) if self.puppet => return,
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
                    if crate::lang::WITH_OPTIONS.iter().all(|(o, _)| *o != key) {
                        self.diags.push(
                            Diagnostic::error(
                                "unknown-with-option",
                                o.key.span,
                                format!("unknown `with` option `{key}`"),
                            )
                            .with_label("not an option")
                            .with_help(
                                match did_you_mean(
                                    key,
                                    crate::lang::WITH_OPTIONS.iter().map(|(o, _)| *o),
                                ) {
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
        // Puppet: a variable is assigned once in its scope; a lambda's own
        // variable shadows an outer one.
        if self.puppet {
            let scope = self.scopes.last().expect("a scope");
            if let Some(first) = scope.vars.get(&name.node) {
                let first = first.span;
                self.diags.push(
                    Diagnostic::error(
                        "reassigned-variable",
                        name.span,
                        format!("cannot reassign variable `${}`", name.node),
                    )
                    .with_label("assigned again")
                    .with_secondary(first, "first assigned here")
                    .with_help(
                        "Puppet assigns a variable once in its scope: use a new name, or compute the value in one expression (`$x = if ... { a } else { b }`)",
                    ),
                );
                return;
            }
            self.declare(name, false);
            return;
        }
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
        // Puppet's match variables, set by `=~`.
        if self.puppet && !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()) {
            return;
        }
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
            ExprKind::Type(t) => self.ty(&Spanned::new(t.clone(), expr.span)),
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
                self.method(m, expr.span);
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
            ExprKind::Case { subject, arms, .. } => {
                self.expr(subject);
                let (before, mut assigned) = self.branches_start();
                for (options, body) in arms {
                    for o in options {
                        if let CaseOption::Value(e) = o {
                            self.expr(e);
                        }
                    }
                    self.stmts(&body.stmts);
                    self.branch_end(&before, &mut assigned);
                }
                self.branches_end(assigned);
            }
            // Puppet: the blocks of an `if` open no scope.
            ExprKind::If {
                branches,
                otherwise,
            } => {
                let (before, mut assigned) = self.branches_start();
                for (cond, body) in branches {
                    self.expr(cond);
                    self.stmts(&body.stmts);
                    self.branch_end(&before, &mut assigned);
                }
                if let Some(b) = otherwise {
                    self.stmts(&b.stmts);
                    self.branch_end(&before, &mut assigned);
                }
                self.branches_end(assigned);
            }
        }
    }
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
pub fn check_sources(sources: &SourceMap) -> (Vec<File>, Vec<Diagnostic>) {
    check_sources_in(sources, None, Vocabulary::standard())
}

/// [`check_sources`], with `run_task` calls checked against the tasks'
/// metadata when a catalog is given.
pub fn check_sources_with(
    sources: &SourceMap,
    tasks: Option<&Catalog>,
) -> (Vec<File>, Vec<Diagnostic>) {
    check_sources_in(sources, tasks, Vocabulary::standard())
}

/// [`check_sources_with`] against `vocab`: what `drover check` does, with a
/// vocabulary of the caller's.
pub fn check_sources_in(
    sources: &SourceMap,
    tasks: Option<&Catalog>,
    vocab: &Vocabulary,
) -> (Vec<File>, Vec<Diagnostic>) {
    let (files, diags, _) = check_program(sources, tasks, vocab);
    (files, diags)
}

/// [`check_sources_in`], and the plans each plan calls.
pub(crate) fn check_program(
    sources: &SourceMap,
    tasks: Option<&Catalog>,
    vocab: &Vocabulary,
) -> (Vec<File>, Vec<Diagnostic>, CallGraph) {
    let mut files = Vec::new();
    let mut diags = Vec::new();
    for (id, _) in sources.iter() {
        let parsed = if crate::puppet::is_puppet(&sources.get(id).name) {
            crate::puppet::parse(sources, id)
        } else {
            crate::syntax::parser::parse(sources, id)
        };
        diags.extend(parsed.diagnostics);
        files.extend(parsed.file);
    }
    let (checked, calls) = check_in(&files, tasks, vocab);
    diags.extend(checked);
    crate::diagnostic::sort(&mut diags);
    (files, diags, calls)
}
