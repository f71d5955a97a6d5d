//! A built-in's evaluated arguments, checked against its signature in the
//! vocabulary, and the targets a TargetSpec names.

use std::sync::Arc;

use indexmap::IndexMap;
use rustc_hash::FxHashMap;

use super::{Eval, Interpreter};
use crate::lang::{Builtin, Kind};
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
        Value::Target(t) => add(it.inventory.current(t)),
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

impl Args {
    /// The call against `b`'s signature: a lambda exactly when it takes one,
    /// its argument count, only its named arguments. Nothing is formatted
    /// unless the call is wrong (this runs for every call).
    pub(crate) fn check(
        &self,
        it: &Interpreter,
        b: &Builtin,
        has_lambda: bool,
        span: Span,
    ) -> Eval<()> {
        let n = self.positional.len();
        if b.lambda == has_lambda
            && b.min <= n
            && n <= b.max
            && self.named.keys().all(|k| b.takes_named(k))
        {
            return Ok(());
        }
        let dot = if b.kind == Kind::Method { "." } else { "" };
        let what = format!("`{dot}{}`", b.name);
        if b.lambda != has_lambda {
            let message = match (b.lambda, b.kind) {
                (true, Kind::Method) => {
                    format!("{what} needs a lambda: `.{} |$x| {{ ... }}`", b.name)
                }
                (true, _) => format!("{what} needs a lambda: `{}(...) |$x| {{ ... }}`", b.name),
                (false, _) => format!("{what} takes no lambda"),
            };
            return Err(it.type_error(message, span));
        }
        self.expect_count(it, &what, b.min, b.max, span)?;
        match self.named.iter().find(|(k, _)| !b.takes_named(k)) {
            Some((key, (_, at))) => {
                Err(it.type_error(format!("{what} has no parameter `{key}`"), *at))
            }
            None => Ok(()),
        }
    }
}

/// The implementations of `impls` that the vocabulary lists (`find`), with
/// their signatures, by name: one hash lookup per call.
pub(crate) fn index<T: Copy>(
    impls: &[(&'static str, T)],
    find: impl Fn(&str) -> Option<&'static Builtin>,
) -> FxHashMap<&'static str, (&'static Builtin, T)> {
    impls
        .iter()
        .filter_map(|(name, imp)| Some((*name, (find(name)?, *imp))))
        .collect()
}

/// A Duration, or Bolt's seconds as a non-negative number.
pub(crate) fn seconds(value: &Value) -> Option<std::time::Duration> {
    match value {
        Value::Duration(ms) => Some(std::time::Duration::from_millis(*ms)),
        Value::Int(n) if *n >= 0 => Some(std::time::Duration::from_secs(*n as u64)),
        Value::Float(f) if f.is_finite() && *f >= 0.0 => {
            Some(std::time::Duration::from_secs_f64(*f))
        }
        _ => None,
    }
}
