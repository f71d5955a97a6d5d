//! A built-in's evaluated arguments, and the targets a TargetSpec names.

use std::sync::Arc;

use indexmap::IndexMap;

use super::{Eval, Interpreter};
use crate::syntax::ast::Span;
use crate::value::types::describe;
use crate::value::{Target, Value};

/// Evaluated call arguments with their spans.
#[derive(Default)]
pub(crate) struct Args {
    /// Positional arguments in order.
    pub positional: Vec<(Value, Span)>,
    /// Named arguments.
    pub named: IndexMap<String, (Value, Span)>,
}

impl Args {
    pub(crate) fn expect_count(
        &self,
        it: &Interpreter,
        what: &str,
        min: usize,
        max: usize,
        span: Span,
    ) -> Eval<()> {
        let n = self.positional.len();
        if n < min || n > max {
            let wanted = match (min, max) {
                (a, b) if a == b => format!("{a}"),
                (a, usize::MAX) => format!("at least {a}"),
                (a, b) => format!("{a} to {b}"),
            };
            return Err(it.type_error(
                format!("{what} takes {wanted} argument(s), {n} given"),
                span,
            ));
        }
        Ok(())
    }

    pub(crate) fn no_named(&self, it: &Interpreter, what: &str) -> Eval<()> {
        match self.named.iter().next() {
            Some((name, (_, span))) => {
                Err(it.type_error(format!("{what} has no parameter `{name}`"), *span))
            }
            None => Ok(()),
        }
    }

    pub(crate) fn string(&self, it: &Interpreter, i: usize, what: &str) -> Eval<Arc<str>> {
        match &self.positional[i] {
            (Value::Str(s), _) => Ok(s.clone()),
            (other, span) => Err(it.type_error(
                format!("{what} needs a String, got {}", describe(other)),
                *span,
            )),
        }
    }

    pub(crate) fn int(&self, it: &Interpreter, i: usize, what: &str) -> Eval<i64> {
        match &self.positional[i] {
            (Value::Int(n), _) => Ok(*n),
            (other, span) => Err(it.type_error(
                format!("{what} needs an Integer, got {}", describe(other)),
                *span,
            )),
        }
    }
}

/// The targets a TargetSpec value names: a target, a name, a group, a glob,
/// a comma list, or an array of these.
pub(crate) fn targets(it: &Interpreter, spec: &Value, span: Span) -> Eval<Vec<Arc<Target>>> {
    let mut out: Vec<Arc<Target>> = Vec::new();
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut add = |t: Arc<Target>| {
        if seen.insert(t.name.clone()) {
            out.push(t);
        }
    };
    match spec {
        Value::Target(t) => add(t.clone()),
        Value::Str(s) => {
            for t in it
                .inventory
                .resolve(s)
                .map_err(|m| it.error("drover/unknown-target", m, span))?
            {
                add(t);
            }
        }
        Value::Array(items) => {
            for item in items.iter() {
                for t in targets(it, item, span)? {
                    add(t);
                }
            }
        }
        other => {
            return Err(it.type_error(
                format!("expected a TargetSpec, got {}", describe(other)),
                span,
            ));
        }
    }
    Ok(out)
}
