//! Statements and blocks, `with` options (retry, delay, timeout, lock).

use std::sync::Arc;

use super::{BoxFuture, Eval, Flow, Frame, Interpreter};
use crate::syntax::ast::{Block, Span, Spanned, Stmt, StmtKind, WithOption};
use crate::value::{Value, types};

impl<'p> Interpreter<'p> {
    pub(super) fn block<'a>(
        &'a self,
        frame: &'a mut Frame<'p>,
        block: &'p Block,
    ) -> BoxFuture<'a, Eval<()>> {
        Box::pin(async move {
            frame.push();
            let mut result = Ok(());
            for stmt in &block.stmts {
                self.cover(stmt.span);
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

    /// Run an assignment or expression statement without suspending, when its
    /// expression needs no call (the common case in loops).
    pub(super) fn simple_stmt(&self, frame: &mut Frame<'p>, stmt: &'p Stmt) -> Option<Eval<()>> {
        match &stmt.node {
            StmtKind::Assign { name, value } => Some(match self.simple(frame, value)? {
                Ok(v) => {
                    self.assign(frame, name, v);
                    Ok(())
                }
                Err(e) => Err(e),
            }),
            StmtKind::Expr(e) => Some(self.simple(frame, e)?.map(|_| ())),
            _ => None,
        }
    }

    /// `$name = value`: in drover plans, the nearest variable of the name (or
    /// a new one); in Puppet plans always the current scope's (a lambda's
    /// variable shadows the plan's, and the checker allows one assignment).
    fn assign(&self, frame: &mut Frame<'p>, name: &'p Spanned<String>, v: Value) {
        if self.program.is_puppet(name.span.file) {
            frame.declare(&name.node, v);
        } else {
            frame.assign(&name.node, v);
        }
    }

    pub(super) fn unsupported(&self, what: &str, span: Span) -> Flow {
        self.error(
            "drover/unsupported",
            format!("{what} is not supported by this version of drover yet"),
            span,
        )
    }

    pub(super) fn stmt<'a>(
        &'a self,
        frame: &'a mut Frame<'p>,
        stmt: &'p Stmt,
    ) -> BoxFuture<'a, Eval<()>> {
        Box::pin(async move {
            match &stmt.node {
                StmtKind::Assign { name, value } => {
                    let v = self.expr(frame, value).await?;
                    self.assign(frame, name, v);
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

    /// One slot of lock `name` (at most `limit` holders, across every run
    /// sharing the store), given back when the guard is dropped.
    async fn lock(&self, name: &str, limit: usize, span: Span) -> Eval<Unlock<'p>> {
        let request = crate::pools::lock_request(self.run_id, name, limit);
        let pool = request.pool.clone();
        if let Some(other) = self
            .pools
            .held(&pool)
            .iter()
            .filter_map(|s| crate::pools::slot_limit(s))
            .find(|l| *l != limit)
        {
            return Err(self.error(
                "drover/lock-conflict",
                format!(
                    "lock `{name}` is held with limit {other}; this block asks for limit {limit}"
                ),
                span,
            ));
        }
        // Locks wait as long as it takes (a `with timeout` around them bounds it).
        let forever = std::time::Duration::from_secs(100 * 365 * 24 * 3600);
        let slot = self
            .pools
            .acquire(request, forever)
            .await
            .map_err(|e| self.error("drover/lock-error", e.to_string(), span))?;
        Ok(Unlock {
            it: self.clone(),
            slot: slot.into_iter().next().unwrap_or_default(),
        })
    }

    pub(super) async fn with(
        &self,
        frame: &mut Frame<'p>,
        options: &'p [WithOption],
        body: &'p Block,
        span: Span,
    ) -> Eval<()> {
        let (mut retry, mut delay, mut timeout, mut lock) = (0i64, 0u64, None, None);
        let mut limit: Option<(usize, Span)> = None;
        for o in options {
            let v = self.expr(frame, &o.value).await?;
            match (o.key.node.as_str(), v) {
                ("retry", Value::Int(n)) if n >= 0 => retry = n,
                ("delay", Value::Duration(ms)) => delay = ms,
                ("timeout", Value::Duration(ms)) => timeout = Some(ms),
                ("lock", Value::Str(s)) => lock = Some(s),
                ("limit", Value::Int(n)) if n >= 1 => limit = Some((n as usize, o.value.span)),
                (key, v) => {
                    let wanted = match key {
                        "retry" => "a non-negative Integer",
                        "limit" => "an Integer of at least 1",
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
        if let (None, Some((_, at))) = (&lock, limit) {
            return Err(self.type_error("`with limit` needs a `lock`", at));
        }
        // The lock is held across every attempt.
        let guard = match &lock {
            Some(name) => Some(self.lock(name, limit.map_or(1, |(n, _)| n), span).await?),
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
}

/// Gives a lock's slot back however the block ends (an error, a timeout
/// around it, cancellation).
pub(super) struct Unlock<'p> {
    it: Interpreter<'p>,
    slot: String,
}

impl Drop for Unlock<'_> {
    fn drop(&mut self) {
        self.it.pools.release(self.it.run_id, &self.slot);
    }
}
