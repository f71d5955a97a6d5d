//! Calls of plans and lambdas: `run_plan` with its parameters checked,
//! `async` branches started, lambdas run in the caller's frame.

use std::rc::Rc;
use std::sync::Arc;

use indexmap::IndexMap;

use super::args::Args;
use super::testing::{Answer, StubKind};
use super::{BAD_PARAMETERS, BoxFuture, Branches, Eval, Flow, Frame, Interpreter, MAX_PLAN_DEPTH};
use crate::syntax::ast::{Block, Lambda, Plan, Span, StmtKind, Type, TypeArg};
use crate::value::{ErrorValue, FutureSlot, Value, types};

impl<'p> Interpreter<'p> {
    /// Run plan `name` with named arguments (already values). Checks the
    /// arguments against the plan's signature first.
    pub(crate) fn run_plan<'a>(
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
                    e.span = Some(span);
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
            if let Some(test) = &self.test {
                test.ran_plan(name);
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

    /// Call a module's Puppet-language function: a frame of its own, the
    /// arguments bound to its parameters in order (defaults for the rest),
    /// its value the last expression's or `return`'s, checked against its
    /// return type.
    pub(crate) fn call_function<'a>(
        &'a self,
        f: &'p Plan,
        args: Args,
        span: Span,
    ) -> BoxFuture<'a, Eval<Value>> {
        Box::pin(async move {
            let name = &f.name.node;
            if self.depth.get() >= MAX_PLAN_DEPTH {
                return Err(self.error(
                    "drover/too-deep",
                    format!("plans and functions nest deeper than {MAX_PLAN_DEPTH} calls"),
                    span,
                ));
            }
            if let Some((n, (_, at))) = args.named.first() {
                return Err(self.type_error(
                    format!("function `{name}` takes positional arguments only, not `{n}`"),
                    *at,
                ));
            }
            if args.positional.len() > f.params.len() {
                return Err(self.type_error(
                    format!(
                        "function `{name}` takes {} argument(s), {} given",
                        f.params.len(),
                        args.positional.len()
                    ),
                    span,
                ));
            }
            let branches = Rc::new(Branches::default());
            let mut frame = Frame {
                branches: Some(branches.clone()),
                ..Frame::default()
            };
            frame.push();
            let mut given = args.positional.into_iter();
            for p in &f.params {
                let (value, at) = match given.next() {
                    Some(arg) => arg,
                    None => match &p.default {
                        Some(d) => (self.expr(&mut frame, d).await?, d.span),
                        None if p.ty.node.name.node == "Optional" => (Value::Undef, span),
                        None => {
                            return Err(self.type_error(
                                format!("function `{name}` needs argument `${}`", p.name.node),
                                span,
                            ));
                        }
                    },
                };
                let value = types::coerce(value, &p.ty.node).map_err(|why| {
                    self.type_error(
                        format!("argument `${}` of function `{name}`: {why}", p.name.node),
                        at,
                    )
                })?;
                frame.declare(&p.name.node, value);
            }
            self.depth.set(self.depth.get() + 1);
            let result = branches.drive(self.block_value(&mut frame, &f.body)).await;
            let waited = branches.drive(branches.await_all()).await;
            self.depth.set(self.depth.get() - 1);
            let value = match result {
                Ok(v) | Err(Flow::Return(v)) => v,
                Err(Flow::Break | Flow::Continue) => Value::Undef,
                Err(e) => return Err(e),
            };
            waited.map_err(|e| Flow::Error(Box::new(e)))?;
            match &f.returns {
                Some(t) if !types::is_instance(&value, &t.node) => Err(self.type_error(
                    format!(
                        "function `{name}` returned {}, not {}",
                        types::describe(&value),
                        types::type_text(&t.node)
                    ),
                    span,
                )),
                _ => Ok(value),
            }
        })
    }

    /// Start an `async` branch on a snapshot of the variables; it runs beside
    /// the code that follows, driven by its plan's [`Branches`].
    pub(super) fn start_branch(
        &self,
        frame: &Frame<'p>,
        block: &'p Block,
        span: Span,
    ) -> Eval<Arc<FutureSlot>> {
        self.start_branch_valued(frame, block, span, false)
    }

    /// [`Interpreter::start_branch`]; with `last`, the branch's value is its
    /// last expression statement's (Bolt's `background` lambda), not undef.
    pub(super) fn start_branch_valued(
        &self,
        frame: &Frame<'p>,
        block: &'p Block,
        span: Span,
        last: bool,
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
                let run = async {
                    if !last {
                        return it.block(&mut own, block).await.map(|()| Value::Undef);
                    }
                    let mut value = Value::Undef;
                    own.push();
                    for stmt in &block.stmts {
                        it.cover(stmt.span);
                        value = match &stmt.node {
                            StmtKind::Expr(e) => it.expr(&mut own, e).await?,
                            _ => {
                                it.stmt(&mut own, stmt).await?;
                                Value::Undef
                            }
                        };
                    }
                    Ok(value)
                };
                let outcome = match run.await {
                    Ok(v) => Ok(v),
                    Err(Flow::Break | Flow::Continue) => Ok(Value::Undef),
                    Err(Flow::Return(v)) => Ok(v),
                    Err(Flow::Error(e)) => Err(*e),
                };
                done.complete(outcome);
            }),
        );
        Ok(slot)
    }

    /// A `Target` parameter given as a name becomes the inventory's target.
    pub(super) fn resolve_target_param(&self, value: Value, ty: &Type) -> Result<Value, String> {
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

    pub(crate) async fn call_plan(&self, args: Args, span: Span) -> Eval<Value> {
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
        // Inside a test, a plan the plan under test runs may be stubbed.
        if let Some(test) = self.test.as_ref().filter(|_| self.depth.get() > 0) {
            let location = self.program.location(span);
            test.record("run_plan", &name, &[], &params, &location);
            let targets = plan_targets(&params);
            let at: Vec<Option<&str>> = match targets.as_slice() {
                [] => vec![None],
                some => some.iter().map(|t| Some(t.as_str())).collect(),
            };
            let answers = test.answer(StubKind::Plan, &name, &at, &params);
            if let Some(Some((answer, duration))) = answers.into_iter().next() {
                tokio::time::sleep(duration).await;
                return match answer {
                    Answer::Error(mut e) => {
                        e.location = location;
                        e.span = Some(span);
                        Err(Flow::Error(Box::new(e)))
                    }
                    Answer::Value(v) => Ok(v),
                    Answer::Output { .. } => Ok(Value::Undef),
                };
            }
        }
        self.run_plan(&name, params, Some(span))
            .await
            .map_err(Flow::Error)
    }

    /// Call a lambda with arguments, returning the value of its last expression statement.
    pub(crate) fn call_lambda<'a>(
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
                    self.cover(stmt.span);
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
                // Puppet's `return` in a lambda returns from the plan.
                Err(Flow::Return(v)) if !self.program.is_puppet(lambda.span.file) => Ok(v),
                other => other,
            }
        })
    }
}

/// The target names of a plan call's `targets` parameter, for the
/// `targets =>` filter of `stub_plan`.
fn plan_targets(params: &IndexMap<String, Value>) -> Vec<String> {
    fn names(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Target(t) => out.push(t.name.clone()),
            Value::Str(s) => out.extend(s.split(',').map(|p| p.trim().to_string())),
            Value::Array(items) => items.iter().for_each(|i| names(i, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Some(v) = params.get("targets") {
        names(v, &mut out);
    }
    out
}
