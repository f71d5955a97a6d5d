//! Expressions: a synchronous fast path for those that call nothing, and
//! the general async evaluator.

use std::sync::Arc;

use super::args::Args;
use super::{BoxFuture, Eval, Flow, Frame, Interpreter, functions, methods, operators};
use crate::source::Span;
use crate::syntax::ast::{Arg, BinaryOp, CaseOption, Expr, ExprKind, StrPart, UnaryOp};
use crate::value::{Hash, Value, types};

impl<'p> Interpreter<'p> {
    /// Whether a `case` or selector option value matches: a type its
    /// instances, anything else what `==` finds equal.
    fn case_matches(&self, value: &Value, option: Value, span: Span) -> Eval<bool> {
        Ok(match option {
            Value::Type(t) => types::is_instance(value, &t),
            v => operators::binary(self, BinaryOp::Eq, value.clone(), v, span)?.truthy(),
        })
    }

    /// Puppet's regular expression match (`=~`, a `case` or selector
    /// option): when it matches, `$0` is the match and `$1`... its groups.
    fn regex_match(
        &self,
        frame: &mut Frame<'p>,
        text: &str,
        pattern: &str,
        span: Span,
    ) -> Eval<bool> {
        let re = operators::regex(self, pattern, span)?;
        let Some(caps) = re.captures(text) else {
            return Ok(false);
        };
        const NAMES: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
        for (name, m) in NAMES.iter().zip(caps.iter()) {
            frame.assign(name, m.map_or(Value::Undef, |m| Value::str(m.as_str())));
        }
        Ok(true)
    }

    /// An expression's value: synchronously when it is simple, else suspending.
    pub(super) async fn value(&self, frame: &mut Frame<'p>, e: &'p Expr) -> Eval<Value> {
        match self.simple(frame, e) {
            Some(r) => r,
            None => self.expr(frame, e).await,
        }
    }

    /// Evaluate without suspending if the expression needs no call:
    /// literals, variables, operators, indexing, interpolation of those.
    /// `None` means "not simple"; what was evaluated so far had no effects.
    pub(super) fn simple(&self, frame: &Frame<'p>, e: &'p Expr) -> Option<Eval<Value>> {
        let sub = |x: &'p Expr| self.simple(frame, x);
        Some(match &e.node {
            ExprKind::Undef => Ok(Value::Undef),
            ExprKind::Bool(b) => Ok(Value::Bool(*b)),
            ExprKind::Int(n) => Ok(Value::Int(*n)),
            ExprKind::Float(f) => Ok(Value::Float(*f)),
            ExprKind::Duration(ms) => Ok(Value::Duration(*ms)),
            ExprKind::Type(t) => Ok(Value::Type(Arc::new(t.clone()))),
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
            // Puppet's `=~` sets `$0`, `$1`, ...: the evaluator's full path does.
            ExprKind::Binary(BinaryOp::Match, ..) if self.program.is_puppet(e.span.file) => {
                return None;
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
                let mut args = Args::default();
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

    /// Evaluate an expression.
    pub(crate) fn expr<'a>(
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
                ExprKind::Type(t) => Value::Type(Arc::new(t.clone())),
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
                ExprKind::Unary(UnaryOp::Splat, e) => self.expr(frame, e).await?,
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
                    // Puppet: a match sets `$0` (the match) and `$1`... (groups).
                    if *op == BinaryOp::Match
                        && self.program.is_puppet(expr.span.file)
                        && let (Value::Str(text), Value::Str(pattern)) = (&l, &r)
                    {
                        return Ok(Value::Bool(
                            self.regex_match(frame, text, pattern, expr.span)?,
                        ));
                    }
                    operators::binary(self, *op, l, r, expr.span)?
                }
                ExprKind::Async(block) => {
                    Value::Future(self.start_branch(frame, block, expr.span)?)
                }
                ExprKind::Case {
                    subject,
                    arms,
                    selector,
                } => {
                    let value = self.expr(frame, subject).await?;
                    for (options, body) in arms {
                        for option in options {
                            let matched = match option {
                                CaseOption::Default => true,
                                CaseOption::Regex(re) => match &value {
                                    Value::Str(s) => {
                                        self.regex_match(frame, s, &re.node, re.span)?
                                    }
                                    _ => false,
                                },
                                CaseOption::Value(e) => {
                                    let option = self.expr(frame, e).await?;
                                    match (&e.node, option) {
                                        // `*$options`: any of them.
                                        (
                                            ExprKind::Unary(UnaryOp::Splat, _),
                                            Value::Array(items),
                                        ) => {
                                            let mut any = false;
                                            for o in items.iter() {
                                                any = any
                                                    || self.case_matches(
                                                        &value,
                                                        o.clone(),
                                                        e.span,
                                                    )?;
                                            }
                                            any
                                        }
                                        (_, option) => self.case_matches(&value, option, e.span)?,
                                    }
                                }
                            };
                            if matched {
                                return self.block_value(frame, body).await;
                            }
                        }
                    }
                    if *selector {
                        return Err(self.error(
                            "drover/no-match",
                            format!("no entry of the selector matches {}", value.to_display()),
                            expr.span,
                        ));
                    }
                    Value::Undef
                }
                ExprKind::If {
                    branches,
                    otherwise,
                } => {
                    let mut taken = otherwise.as_ref();
                    for (cond, body) in branches {
                        if self.expr(frame, cond).await?.truthy() {
                            taken = Some(body);
                            break;
                        }
                    }
                    match taken {
                        Some(block) => return self.block_value(frame, block).await,
                        None => Value::Undef,
                    }
                }
            })
        })
    }

    /// The statements of `block` in the current scope (Puppet's `if` opens
    /// none); the value of the last if it is an expression statement.
    pub(super) fn block_value<'a>(
        &'a self,
        frame: &'a mut Frame<'p>,
        block: &'p crate::syntax::ast::Block,
    ) -> BoxFuture<'a, Eval<Value>> {
        Box::pin(async move {
            let mut value = Value::Undef;
            for stmt in &block.stmts {
                self.cover(stmt.span);
                value = match &stmt.node {
                    crate::syntax::ast::StmtKind::Expr(e) => self.expr(frame, e).await?,
                    _ => {
                        self.stmt(frame, stmt).await?;
                        Value::Undef
                    }
                };
            }
            Ok(value)
        })
    }

    pub(crate) async fn args(&self, frame: &mut Frame<'p>, args: &'p [Arg]) -> Eval<Args> {
        let mut out = Args::default();
        for a in args {
            match a {
                // Puppet's `*$array`: its elements, one argument each.
                Arg::Positional(e) => match (&e.node, self.expr(frame, e).await?) {
                    (ExprKind::Unary(UnaryOp::Splat, _), Value::Array(items)) => out
                        .positional
                        .extend(items.iter().map(|v| (v.clone(), e.span))),
                    (_, v) => out.positional.push((v, e.span)),
                },
                Arg::Named(n, e) => {
                    let v = self.expr(frame, e).await?;
                    out.named.insert(n.node.clone(), (v, n.span));
                }
            }
        }
        Ok(out)
    }
}
