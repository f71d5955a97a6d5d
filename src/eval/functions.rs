//! Built-in functions, methods and operators (spec §5 and §6), other than
//! the actions on targets.

use std::cmp::Ordering;
use std::sync::Arc;

use indexmap::IndexMap;

use crate::eval::{Eval, Flow, Frame, Interpreter};
use crate::syntax::ast::{BinaryOp, Method, Span, Spanned};
use crate::value::types::describe;
use crate::value::{ErrorValue, Hash, Value};

/// Evaluated call arguments with their spans.
#[derive(Default)]
pub struct Args {
    /// Positional arguments in order.
    pub positional: Vec<(Value, Span)>,
    /// Named arguments.
    pub named: IndexMap<String, (Value, Span)>,
}

/// Names of the built-in functions, for did-you-mean and `drover check`.
pub const FUNCTIONS: [&str; 24] = [
    "log::debug",
    "log::info",
    "log::warn",
    "log::error",
    "out::message",
    "fail",
    "range",
    "min",
    "max",
    "to_json",
    "from_json",
    "sleep",
    "run_plan",
    "parallelize",
    "get_targets",
    "get_target",
    "run_command",
    "run_script",
    "upload_file",
    "run_task",
    "wait_up",
    "acquire",
    "release",
    "acquired",
];

/// Names of the built-in methods.
pub const METHODS: [&str; 58] = [
    "target",
    "name",
    "host",
    "port",
    "user",
    "uri",
    "vars",
    "facts",
    "groups",
    "transport",
    "ok",
    "value",
    "stdout",
    "stderr",
    "exit_code",
    "error",
    "duration",
    "ok_set",
    "error_set",
    "targets",
    "names",
    "count",
    "find",
    "length",
    "map",
    "filter",
    "each",
    "reduce",
    "any",
    "all",
    "slice",
    "first",
    "last",
    "sort",
    "sort_by",
    "reverse",
    "unique",
    "flatten",
    "join",
    "keys",
    "values",
    "contains",
    "split",
    "strip",
    "upcase",
    "downcase",
    "starts_with",
    "ends_with",
    "replace",
    "to_s",
    "to_i",
    "to_f",
    "unwrap",
    "kind",
    "message",
    "details",
    "location",
    "empty",
];

fn type_error(it: &Interpreter, message: String, span: Span) -> Flow {
    it.error("drover/type-error", message, span)
}

impl Args {
    fn expect_count(
        &self,
        it: &Interpreter,
        what: &str,
        min: usize,
        max: usize,
        span: Span,
    ) -> Eval<()> {
        let n = self.positional.len();
        if n < min || n > max {
            let wanted = if min == max {
                format!("{min}")
            } else {
                format!("{min} to {max}")
            };
            return Err(type_error(
                it,
                format!("{what} takes {wanted} argument(s), {n} given"),
                span,
            ));
        }
        Ok(())
    }

    fn no_named(&self, it: &Interpreter, what: &str) -> Eval<()> {
        match self.named.iter().next() {
            Some((name, (_, span))) => Err(type_error(
                it,
                format!("{what} has no parameter `{name}`"),
                *span,
            )),
            None => Ok(()),
        }
    }

    fn string(&self, it: &Interpreter, i: usize, what: &str) -> Eval<Arc<str>> {
        match &self.positional[i] {
            (Value::Str(s), _) => Ok(s.clone()),
            (other, span) => Err(type_error(
                it,
                format!("{what} needs a String, got {}", describe(other)),
                *span,
            )),
        }
    }

    fn int(&self, it: &Interpreter, i: usize, what: &str) -> Eval<i64> {
        match &self.positional[i] {
            (Value::Int(n), _) => Ok(*n),
            (other, span) => Err(type_error(
                it,
                format!("{what} needs an Integer, got {}", describe(other)),
                *span,
            )),
        }
    }
}

/// Call the built-in function `name`.
pub async fn function(
    it: &Interpreter<'_>,
    name: &Spanned<String>,
    args: Args,
    span: Span,
) -> Eval<Value> {
    let what = format!("`{}`", name.node);
    let location = it.program.location(span);
    match name.node.as_str() {
        level @ ("log::debug" | "log::info" | "log::warn" | "log::error") => {
            args.expect_count(it, &what, 1, 1, span)?;
            args.no_named(it, &what)?;
            it.events
                .log(&level[5..], &args.positional[0].0.to_display(), &location);
            Ok(Value::Undef)
        }
        "out::message" => {
            args.expect_count(it, &what, 1, 1, span)?;
            args.no_named(it, &what)?;
            it.events
                .message(&args.positional[0].0.to_display(), &location);
            Ok(Value::Undef)
        }
        "fail" => {
            args.expect_count(it, &what, 1, 1, span)?;
            // `fail($err)` raises a caught error again, as Bolt's `fail_plan`
            // does: its kind, message, target and location are kept, and
            // `details` adds to its details.
            let mut e = match &args.positional[0].0 {
                Value::Error(caught) => (**caught).clone(),
                other => {
                    let mut e = ErrorValue::new("drover/plan-failure", other.to_display());
                    e.location = location;
                    e
                }
            };
            for (key, (value, vspan)) in args.named {
                match (key.as_str(), value) {
                    ("kind", Value::Str(k)) => e.kind = k.to_string(),
                    ("details", Value::Hash(h)) => e.details.extend((*h).clone()),
                    ("kind" | "details", other) => {
                        return Err(type_error(
                            it,
                            format!("`fail`'s `{key}` cannot be {}", describe(&other)),
                            vspan,
                        ));
                    }
                    _ => {
                        return Err(type_error(
                            it,
                            format!("`fail` has no parameter `{key}`"),
                            vspan,
                        ));
                    }
                }
            }
            Err(Flow::Error(Box::new(e)))
        }
        "range" => {
            args.expect_count(it, &what, 2, 2, span)?;
            let (from, to) = (args.int(it, 0, &what)?, args.int(it, 1, &what)?);
            const LIMIT: i64 = 10_000_000;
            if to.saturating_sub(from) >= LIMIT {
                return Err(type_error(
                    it,
                    format!("`range` is limited to {LIMIT} elements"),
                    span,
                ));
            }
            Ok(Value::array((from..=to).map(Value::Int).collect()))
        }
        "min" | "max" => {
            args.no_named(it, &what)?;
            let items: Vec<(Value, Span)> = match args.positional.as_slice() {
                [(Value::Array(a), s)] => a.iter().map(|v| (v.clone(), *s)).collect(),
                _ => args.positional,
            };
            let mut best: Option<Value> = None;
            for (v, vspan) in items {
                best = Some(match best {
                    None => v,
                    Some(b) => match v.compare(&b) {
                        Some(Ordering::Less) if name.node == "min" => v,
                        Some(Ordering::Greater) if name.node == "max" => v,
                        Some(_) => b,
                        None => {
                            return Err(type_error(
                                it,
                                format!(
                                    "{what} cannot compare {} with {}",
                                    describe(&v),
                                    describe(&b)
                                ),
                                vspan,
                            ));
                        }
                    },
                });
            }
            best.ok_or_else(|| type_error(it, format!("{what} needs at least one value"), span))
        }
        "to_json" => {
            args.expect_count(it, &what, 1, 1, span)?;
            Ok(Value::str(args.positional[0].0.to_json().to_string()))
        }
        "from_json" => {
            args.expect_count(it, &what, 1, 1, span)?;
            let text = args.string(it, 0, &what)?;
            match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(j) => Ok(Value::from_json(&j)),
                Err(e) => Err(it.error(
                    "drover/json-error",
                    format!("`from_json`: {e}"),
                    args.positional[0].1,
                )),
            }
        }
        "get_targets" => {
            args.expect_count(it, &what, 1, 1, span)?;
            let (spec, sspan) = &args.positional[0];
            Ok(Value::array(
                targets(it, spec, *sspan)?
                    .into_iter()
                    .map(Value::Target)
                    .collect(),
            ))
        }
        "get_target" => {
            args.expect_count(it, &what, 1, 1, span)?;
            let (spec, sspan) = &args.positional[0];
            let mut found = targets(it, spec, *sspan)?;
            if found.len() != 1 {
                return Err(it.error(
                    "drover/unknown-target",
                    format!(
                        "`get_target` needs exactly one target, {} names {}",
                        describe(spec),
                        found.len()
                    ),
                    *sspan,
                ));
            }
            Ok(Value::Target(found.remove(0)))
        }
        "acquire" => acquire(it, args, span).await,
        "release" => {
            args.expect_count(it, &what, 1, 1, span)?;
            let (spec, sspan) = &args.positional[0];
            for t in targets(it, spec, *sspan)? {
                if !it.pools.release(it.run_id, &t.name) {
                    it.events.log(
                        "warn",
                        &format!("released `{}`, which this run does not hold", t.name),
                        &location,
                    );
                }
            }
            Ok(Value::Undef)
        }
        "acquired" => {
            args.expect_count(it, &what, 1, 1, span)?;
            let pool = args.string(it, 0, &what)?;
            let held = it.pools.held(&pool);
            let members = it.inventory.group(&pool).unwrap_or_default();
            Ok(Value::array(
                members
                    .into_iter()
                    .filter(|t| held.contains(&t.name))
                    .map(Value::Target)
                    .collect(),
            ))
        }
        "sleep" => {
            args.expect_count(it, &what, 1, 1, span)?;
            match args.positional[0].0 {
                Value::Duration(ms) => {
                    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
                    Ok(Value::Undef)
                }
                ref other => Err(type_error(
                    it,
                    format!("`sleep` needs a Duration, got {}", describe(other)),
                    args.positional[0].1,
                )),
            }
        }
        action if crate::eval::actions::ACTIONS.contains(&action) => {
            crate::eval::actions::run(it, action, args, span).await
        }
        other => {
            let hint = crate::diagnostic::did_you_mean(other, FUNCTIONS)
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            Err(it.error(
                "drover/unknown-function",
                format!("unknown function `{other}`{hint}"),
                name.span,
            ))
        }
    }
}

/// `acquire(pool, scope =>, timeout =>, count =>)`.
async fn acquire(it: &Interpreter<'_>, args: Args, span: Span) -> Eval<Value> {
    use crate::pools::{Request, Scope};
    args.expect_count(it, "`acquire`", 1, 1, span)?;
    let pool = args.string(it, 0, "`acquire`")?;
    let Some(members) = it.inventory.group(&pool) else {
        let hint = crate::diagnostic::did_you_mean(&pool, it.inventory.group_names())
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_default();
        return Err(it.error(
            "drover/unknown-pool",
            format!("no group `{pool}` in the inventory to use as a pool{hint}"),
            args.positional[0].1,
        ));
    };
    let mut scope = Scope::Global;
    let mut timeout = std::time::Duration::from_secs(600);
    let mut count = None;
    for (key, (value, vspan)) in &args.named {
        match (key.as_str(), value) {
            ("scope", Value::Str(s)) if s.as_ref() == "global" => scope = Scope::Global,
            ("scope", Value::Str(s)) if s.as_ref() == "role" => scope = Scope::Role,
            ("timeout", Value::Duration(ms)) => timeout = std::time::Duration::from_millis(*ms),
            ("count", Value::Int(n)) if *n >= 1 => count = Some(*n as usize),
            _ => {
                return Err(type_error(
                    it,
                    format!("`acquire`'s `{key}` cannot be {}", describe(value)),
                    *vspan,
                ));
            }
        }
    }
    let request = Request {
        holder: it.run_id,
        pool: pool.to_string(),
        members: members.iter().map(|t| t.name.clone()).collect(),
        scope,
        count: count.unwrap_or(1),
    };
    let names = it
        .pools
        .acquire(request, timeout)
        .await
        .map_err(|e| it.error("drover/acquire-timeout", e.to_string(), span))?;
    let mut got: Vec<Value> = members
        .into_iter()
        .filter(|t| names.contains(&t.name))
        .map(Value::Target)
        .collect();
    Ok(match count {
        Some(_) => Value::array(got),
        None => got.remove(0),
    })
}

/// The targets a TargetSpec value names: a target, a name, a group, a glob,
/// a comma list, or an array of these.
pub fn targets(it: &Interpreter, spec: &Value, span: Span) -> Eval<Vec<Arc<crate::value::Target>>> {
    let mut out: Vec<Arc<crate::value::Target>> = Vec::new();
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut add = |t: Arc<crate::value::Target>| {
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
            return Err(type_error(
                it,
                format!("expected a TargetSpec, got {}", describe(other)),
                span,
            ));
        }
    }
    Ok(out)
}

/// `recv[index]`: arrays by position (negative from the end), hashes by key,
/// strings by character. Out of range gives `undef`, as in Puppet.
pub fn index(it: &Interpreter, recv: Value, index: Value, span: Span) -> Eval<Value> {
    let at = |len: usize, i: i64| -> Option<usize> {
        let i = if i < 0 { len as i64 + i } else { i };
        (0..len as i64).contains(&i).then_some(i as usize)
    };
    Ok(match (&recv, &index) {
        (Value::Array(a), Value::Int(i)) => at(a.len(), *i).map_or(Value::Undef, |i| a[i].clone()),
        (Value::Hash(h), Value::Str(k)) => h.get(k.as_ref()).cloned().unwrap_or(Value::Undef),
        (Value::Str(s), Value::Int(i)) => {
            let chars: Vec<char> = s.chars().collect();
            at(chars.len(), *i).map_or(Value::Undef, |i| Value::str(chars[i].to_string()))
        }
        (Value::Error(e), Value::Str(k)) => {
            e.details.get(k.as_ref()).cloned().unwrap_or(Value::Undef)
        }
        (Value::Result(r), Value::Str(k)) => {
            r.value.get(k.as_ref()).cloned().unwrap_or(Value::Undef)
        }
        (Value::ResultSet(rs), Value::Int(i)) => {
            at(rs.len(), *i).map_or(Value::Undef, |i| Value::Result(rs[i].clone()))
        }
        _ => {
            return Err(type_error(
                it,
                format!("cannot index {} with {}", describe(&recv), describe(&index)),
                span,
            ));
        }
    })
}

/// The binary operators other than `&&` and `||`.
pub fn binary(it: &Interpreter, op: BinaryOp, l: Value, r: Value, span: Span) -> Eval<Value> {
    use BinaryOp::*;
    use Value::*;
    let overflow = || {
        it.error(
            "drover/overflow",
            format!("integer overflow in `{}`", op.symbol()),
            span,
        )
    };
    let mismatch = |l: &Value, r: &Value| {
        type_error(
            it,
            format!(
                "`{}` cannot combine {} and {}",
                op.symbol(),
                describe(l),
                describe(r)
            ),
            span,
        )
    };
    Ok(match op {
        Eq => Bool(l == r),
        Ne => Bool(l != r),
        Match | NoMatch => {
            let (Str(text), Str(pattern)) = (&l, &r) else {
                return Err(type_error(
                    it,
                    format!(
                        "`{}` needs a String and a regular expression String",
                        op.symbol()
                    ),
                    span,
                ));
            };
            let re = regex(it, pattern, span)?;
            Bool(re.is_match(text) == (op == Match))
        }
        In => Bool(match (&l, &r) {
            (_, Array(items)) => items.contains(&l),
            (Str(k), Hash(h)) => h.contains_key(k.as_ref()),
            (Str(needle), Str(hay)) => hay.contains(needle.as_ref()),
            _ => return Err(mismatch(&l, &r)),
        }),
        Lt | Le | Gt | Ge => {
            let ord = l.compare(&r).ok_or_else(|| mismatch(&l, &r))?;
            Bool(match op {
                Lt => ord == Ordering::Less,
                Le => ord != Ordering::Greater,
                Gt => ord == Ordering::Greater,
                _ => ord != Ordering::Less,
            })
        }
        Add => match (&l, &r) {
            (Int(a), Int(b)) => Int(a.checked_add(*b).ok_or_else(overflow)?),
            (Duration(a), Duration(b)) => Duration(a.checked_add(*b).ok_or_else(overflow)?),
            (Str(a), Str(b)) => Value::str(format!("{a}{b}")),
            (Array(a), Array(b)) => Value::array(a.iter().chain(b.iter()).cloned().collect()),
            (Hash(a), Hash(b)) => {
                let mut h = (**a).clone();
                h.extend(b.iter().map(|(k, v)| (k.clone(), v.clone())));
                Value::hash(h)
            }
            _ => float_op(&l, &r, |a, b| a + b).ok_or_else(|| mismatch(&l, &r))?,
        },
        Sub => match (&l, &r) {
            (Int(a), Int(b)) => Int(a.checked_sub(*b).ok_or_else(overflow)?),
            (Duration(a), Duration(b)) => Duration(a.checked_sub(*b).ok_or_else(|| {
                it.error("drover/overflow", "a duration cannot become negative", span)
            })?),
            (Array(a), Array(b)) => {
                Value::array(a.iter().filter(|v| !b.contains(v)).cloned().collect())
            }
            _ => float_op(&l, &r, |a, b| a - b).ok_or_else(|| mismatch(&l, &r))?,
        },
        Mul => match (&l, &r) {
            (Int(a), Int(b)) => Int(a.checked_mul(*b).ok_or_else(overflow)?),
            (Duration(d), Int(n)) | (Int(n), Duration(d)) if *n >= 0 => {
                Duration(d.checked_mul(*n as u64).ok_or_else(overflow)?)
            }
            _ => float_op(&l, &r, |a, b| a * b).ok_or_else(|| mismatch(&l, &r))?,
        },
        Div | Mod => {
            let zero = || {
                it.error(
                    "drover/division-by-zero",
                    format!("division by zero in `{}`", op.symbol()),
                    span,
                )
            };
            match (&l, &r) {
                (Int(_), Int(0)) | (Duration(_), Int(0)) => return Err(zero()),
                (Int(a), Int(b)) if op == Div => Int(floor_div(*a, *b).ok_or_else(overflow)?),
                (Int(a), Int(b)) => Int(a
                    .checked_sub(floor_div(*a, *b).ok_or_else(overflow)? * b)
                    .ok_or_else(overflow)?),
                (Duration(d), Int(n)) if op == Div && *n > 0 => Duration(d / *n as u64),
                _ if op == Div => {
                    if matches!(r, Float(f) if f == 0.0) {
                        return Err(zero());
                    }
                    float_op(&l, &r, |a, b| a / b).ok_or_else(|| mismatch(&l, &r))?
                }
                _ => return Err(mismatch(&l, &r)),
            }
        }
        And | Or => unreachable!("short-circuit operators are evaluated by the interpreter"),
    })
}

/// Division rounding down (towards negative infinity), as the spec requires.
fn floor_div(a: i64, b: i64) -> Option<i64> {
    let q = a.checked_div(b)?;
    Some(if (a % b != 0) && ((a < 0) != (b < 0)) {
        q - 1
    } else {
        q
    })
}

fn float_op(l: &Value, r: &Value, f: impl Fn(f64, f64) -> f64) -> Option<Value> {
    let num = |v: &Value| match v {
        Value::Int(n) => Some(*n as f64),
        Value::Float(x) => Some(*x),
        _ => None,
    };
    match (l, r) {
        (Value::Int(_), Value::Int(_)) => None,
        _ => Some(Value::Float(f(num(l)?, num(r)?))),
    }
}

fn regex(it: &Interpreter, pattern: &str, span: Span) -> Eval<Arc<regex::Regex>> {
    let mut cache = it.regexes.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(re) = cache.get(pattern) {
        return Ok(re.clone());
    }
    let re = regex::Regex::new(pattern).map_err(|e| {
        it.error(
            "drover/regex-error",
            format!("invalid regular expression: {e}"),
            span,
        )
    })?;
    let re = Arc::new(re);
    cache.insert(pattern.to_string(), re.clone());
    Ok(re)
}

/// Call a method on a value. Lambdas run in the caller's frame, so that they
/// see (and may update) the variables around them.
pub async fn method<'p>(
    it: &Interpreter<'p>,
    frame: &mut Frame<'p>,
    recv: Value,
    m: &'p Method,
    args: Args,
    span: Span,
) -> Eval<Value> {
    let name = m.name.node.as_str();
    let what = format!("`.{name}`");
    let lambda = m.lambda.as_ref();
    let needs_lambda = matches!(
        name,
        "map" | "filter" | "each" | "reduce" | "any" | "all" | "sort_by"
    );
    if needs_lambda != lambda.is_some() {
        let message = if needs_lambda {
            format!("{what} needs a lambda: `.{name} |$x| {{ ... }}`")
        } else {
            format!("{what} takes no lambda")
        };
        return Err(type_error(it, message, span));
    }
    args.no_named(it, &what)?;
    let wrong = |v: &Value| {
        type_error(
            it,
            format!("{} has no method {what}", describe(v)),
            m.name.span,
        )
    };

    // Methods that take a lambda.
    if let Some(lambda) = lambda {
        let (items, pairs): (Vec<Value>, bool) = match &recv {
            Value::Array(a) => (a.to_vec(), false),
            Value::ResultSet(rs) => (rs.iter().map(|r| Value::Result(r.clone())).collect(), false),
            Value::Hash(h) => (
                h.iter()
                    .map(|(k, v)| Value::array(vec![Value::str(k), v.clone()]))
                    .collect(),
                true,
            ),
            other => return Err(wrong(other)),
        };
        // Hashes pass key and value when the lambda takes two parameters.
        let call_args = |item: &Value| -> Vec<Value> {
            match (pairs, item, lambda.params.len()) {
                (true, Value::Array(kv), 2) => kv.to_vec(),
                _ => vec![item.clone()],
            }
        };
        return match name {
            "map" => {
                let mut out = Vec::with_capacity(items.len());
                for item in &items {
                    out.push(it.call_lambda(frame, lambda, call_args(item)).await?);
                }
                Ok(Value::array(out))
            }
            "each" => {
                for item in &items {
                    it.call_lambda(frame, lambda, call_args(item)).await?;
                }
                Ok(recv)
            }
            "filter" => {
                if let Value::Hash(h) = &recv {
                    let mut out = Hash::new();
                    for (item, (k, v)) in items.iter().zip(h.iter()) {
                        if it
                            .call_lambda(frame, lambda, call_args(item))
                            .await?
                            .truthy()
                        {
                            out.insert(k.clone(), v.clone());
                        }
                    }
                    return Ok(Value::hash(out));
                }
                let mut out = Vec::new();
                for item in items {
                    if it
                        .call_lambda(frame, lambda, call_args(&item))
                        .await?
                        .truthy()
                    {
                        out.push(item);
                    }
                }
                Ok(Value::array(out))
            }
            "any" | "all" => {
                let want = name == "any";
                for item in &items {
                    if it
                        .call_lambda(frame, lambda, call_args(item))
                        .await?
                        .truthy()
                        == want
                    {
                        return Ok(Value::Bool(want));
                    }
                }
                Ok(Value::Bool(!want))
            }
            "reduce" => {
                args.expect_count(it, &what, 0, 1, span)?;
                let mut iter = items.into_iter();
                let mut acc = match args.positional.into_iter().next() {
                    Some((start, _)) => start,
                    None => match iter.next() {
                        Some(first) => first,
                        None => return Ok(Value::Undef),
                    },
                };
                for item in iter {
                    acc = it.call_lambda(frame, lambda, vec![acc, item]).await?;
                }
                Ok(acc)
            }
            _ => {
                // sort_by: sort by the lambda's key, stably.
                let mut keyed = Vec::with_capacity(items.len());
                for item in items {
                    let key = it.call_lambda(frame, lambda, call_args(&item)).await?;
                    keyed.push((key, item));
                }
                let sorted = sort_values(it, keyed, span)?;
                Ok(Value::array(sorted))
            }
        };
    }

    plain_method(it, recv, m, &args, span)
}

/// A method without a lambda; nothing here suspends.
pub fn plain_method(
    it: &Interpreter,
    recv: Value,
    m: &Method,
    a: &Args,
    span: Span,
) -> Eval<Value> {
    let name = m.name.node.as_str();
    let what = format!("`.{name}`");
    if matches!(
        name,
        "map" | "filter" | "each" | "reduce" | "any" | "all" | "sort_by"
    ) {
        return Err(type_error(
            it,
            format!("{what} needs a lambda: `.{name} |$x| {{ ... }}`"),
            span,
        ));
    }
    a.no_named(it, &what)?;
    let wrong = |v: &Value| {
        type_error(
            it,
            format!("{} has no method {what}", describe(v)),
            m.name.span,
        )
    };
    Ok(match (name, &recv) {
        ("length", Value::Str(s)) => Value::Int(s.chars().count() as i64),
        ("length", Value::Array(v)) => Value::Int(v.len() as i64),
        ("length", Value::Hash(h)) => Value::Int(h.len() as i64),
        ("empty", Value::Str(s)) => Value::Bool(s.is_empty()),
        ("empty", Value::Array(v)) => Value::Bool(v.is_empty()),
        ("empty", Value::Hash(h)) => Value::Bool(h.is_empty()),
        ("first", Value::Array(v)) => v.first().cloned().unwrap_or(Value::Undef),
        ("last", Value::Array(v)) => v.last().cloned().unwrap_or(Value::Undef),
        ("reverse", Value::Array(v)) => Value::array(v.iter().rev().cloned().collect()),
        ("reverse", Value::Str(s)) => Value::str(s.chars().rev().collect::<String>()),
        ("sort", Value::Array(v)) => Value::array(sort_values(
            it,
            v.iter().map(|x| (x.clone(), x.clone())).collect(),
            span,
        )?),
        ("unique", Value::Array(v)) => {
            let mut out: Vec<Value> = Vec::new();
            for x in v.iter() {
                if !out.contains(x) {
                    out.push(x.clone());
                }
            }
            Value::array(out)
        }
        ("flatten", Value::Array(v)) => {
            fn flat(v: &[Value], out: &mut Vec<Value>) {
                for x in v {
                    match x {
                        Value::Array(inner) => flat(inner, out),
                        other => out.push(other.clone()),
                    }
                }
            }
            let mut out = Vec::new();
            flat(v, &mut out);
            Value::array(out)
        }
        ("slice", Value::Array(v)) => {
            a.expect_count(it, &what, 1, 1, span)?;
            let n = a.int(it, 0, &what)?;
            if n < 1 {
                return Err(type_error(
                    it,
                    format!("{what} needs a size of at least 1, got {n}"),
                    a.positional[0].1,
                ));
            }
            Value::array(
                v.chunks(n as usize)
                    .map(|c| Value::array(c.to_vec()))
                    .collect(),
            )
        }
        ("join", Value::Array(v)) => {
            a.expect_count(it, &what, 0, 1, span)?;
            let sep = if a.positional.is_empty() {
                Arc::from("")
            } else {
                a.string(it, 0, &what)?
            };
            Value::str(
                v.iter()
                    .map(Value::to_display)
                    .collect::<Vec<_>>()
                    .join(&sep),
            )
        }
        ("keys", Value::Hash(h)) => Value::array(h.keys().map(Value::str).collect()),
        ("values", Value::Hash(h)) => Value::array(h.values().cloned().collect()),
        ("contains", _) => {
            a.expect_count(it, &what, 1, 1, span)?;
            let x = &a.positional[0].0;
            Value::Bool(match (&recv, x) {
                (Value::Array(v), _) => v.contains(x),
                (Value::Hash(h), Value::Str(k)) => h.contains_key(k.as_ref()),
                (Value::Str(s), Value::Str(sub)) => s.contains(sub.as_ref()),
                _ => {
                    return Err(type_error(
                        it,
                        format!(
                            "{what} cannot look for {} in {}",
                            describe(x),
                            describe(&recv)
                        ),
                        span,
                    ));
                }
            })
        }
        ("split", Value::Str(s)) => {
            a.expect_count(it, &what, 1, 1, span)?;
            let sep = a.string(it, 0, &what)?;
            if sep.is_empty() {
                Value::array(s.chars().map(|c| Value::str(c.to_string())).collect())
            } else {
                Value::array(s.split(sep.as_ref()).map(Value::str).collect())
            }
        }
        ("strip", Value::Str(s)) => Value::str(s.trim()),
        ("upcase", Value::Str(s)) => Value::str(s.to_uppercase()),
        ("downcase", Value::Str(s)) => Value::str(s.to_lowercase()),
        ("starts_with" | "ends_with", Value::Str(s)) => {
            a.expect_count(it, &what, 1, 1, span)?;
            let x = a.string(it, 0, &what)?;
            Value::Bool(if name == "starts_with" {
                s.starts_with(x.as_ref())
            } else {
                s.ends_with(x.as_ref())
            })
        }
        ("replace", Value::Str(s)) => {
            a.expect_count(it, &what, 2, 2, span)?;
            let (from, to) = (a.string(it, 0, &what)?, a.string(it, 1, &what)?);
            if from.is_empty() {
                return Err(type_error(
                    it,
                    format!("{what} cannot replace an empty string"),
                    a.positional[0].1,
                ));
            }
            Value::str(s.replace(from.as_ref(), &to))
        }
        ("to_s", _) => Value::str(recv.to_display()),
        ("to_i", Value::Int(n)) => Value::Int(*n),
        ("to_i", Value::Float(f)) if f.is_finite() && f.abs() < 9.2e18 => {
            Value::Int(f.trunc() as i64)
        }
        ("to_i", Value::Str(s)) => match s.trim().parse::<i64>() {
            Ok(n) => Value::Int(n),
            Err(_) => {
                return Err(type_error(
                    it,
                    format!("{what}: {} is not an integer", describe(&recv)),
                    span,
                ));
            }
        },
        ("to_i", Value::Duration(ms)) => Value::Int((*ms / 1000) as i64),
        ("to_f", Value::Int(n)) => Value::Float(*n as f64),
        ("to_f", Value::Float(f)) => Value::Float(*f),
        ("to_f", Value::Str(s)) => match s.trim().parse::<f64>() {
            Ok(f) => Value::Float(f),
            Err(_) => {
                return Err(type_error(
                    it,
                    format!("{what}: {} is not a number", describe(&recv)),
                    span,
                ));
            }
        },
        ("name", Value::Target(t)) => Value::str(&t.name),
        ("host", Value::Target(t)) => Value::str(&t.host),
        ("port", Value::Target(t)) => t.port.map_or(Value::Undef, |p| Value::Int(p.into())),
        ("user", Value::Target(t)) => t.user.as_ref().map_or(Value::Undef, Value::str),
        ("uri", Value::Target(t)) => Value::str(&t.uri),
        ("vars", Value::Target(t)) => Value::hash(t.vars.clone()),
        ("facts", Value::Target(t)) => Value::hash(t.facts.clone()),
        ("groups", Value::Target(t)) => Value::array(t.groups.iter().map(Value::str).collect()),
        ("transport", Value::Target(t)) => Value::str(t.transport.as_str()),
        ("target", Value::Result(r)) => Value::Target(r.target.clone()),
        ("ok", Value::Result(r)) => Value::Bool(r.ok()),
        ("value", Value::Result(r)) => Value::hash(r.value.clone()),
        ("stdout" | "stderr" | "exit_code", Value::Result(r)) => {
            r.value.get(name).cloned().unwrap_or(Value::Undef)
        }
        ("error", Value::Result(r)) => r
            .error
            .clone()
            .map_or(Value::Undef, |e| Value::Error(Arc::new(e))),
        ("message", Value::Result(r)) => match (&r.error, r.value.get("_output")) {
            (Some(e), _) => Value::str(&e.message),
            (None, Some(out)) => out.clone(),
            (None, None) => r.value.get("message").cloned().unwrap_or(Value::Undef),
        },
        ("duration", Value::Result(r)) => Value::Duration(r.duration_ms),
        ("ok", Value::ResultSet(rs)) => Value::Bool(rs.iter().all(|r| r.ok())),
        ("ok_set" | "error_set", Value::ResultSet(rs)) => {
            let want = name == "ok_set";
            Value::ResultSet(Arc::new(
                rs.iter().filter(|r| r.ok() == want).cloned().collect(),
            ))
        }
        ("targets", Value::ResultSet(rs)) => {
            Value::array(rs.iter().map(|r| Value::Target(r.target.clone())).collect())
        }
        ("names", Value::ResultSet(rs)) => {
            Value::array(rs.iter().map(|r| Value::str(&r.target.name)).collect())
        }
        ("count" | "length", Value::ResultSet(rs)) => Value::Int(rs.len() as i64),
        ("first", Value::ResultSet(rs)) => rs
            .first()
            .map_or(Value::Undef, |r| Value::Result(r.clone())),
        ("find", Value::ResultSet(rs)) => {
            a.expect_count(it, &what, 1, 1, span)?;
            let n = a.string(it, 0, &what)?;
            rs.iter()
                .find(|r| r.target.name == n.as_ref())
                .map_or(Value::Undef, |r| Value::Result(r.clone()))
        }
        ("unwrap", Value::Sensitive(s)) => s.reveal().clone(),
        ("unwrap", _) => recv.clone(),
        ("kind", Value::Error(e)) => Value::str(&e.kind),
        ("message", Value::Error(e)) => Value::str(&e.message),
        ("details", Value::Error(e)) => Value::hash(e.details.clone()),
        ("target", Value::Error(e)) => e.target.as_ref().map_or(Value::Undef, Value::str),
        ("location", Value::Error(e)) => Value::str(&e.location),
        _ => {
            if !METHODS.contains(&name) {
                let hint = crate::diagnostic::did_you_mean(name, METHODS)
                    .map(|s| format!(" (did you mean `.{s}`?)"))
                    .unwrap_or_default();
                return Err(it.error(
                    "drover/unknown-method",
                    format!("unknown method `.{name}`{hint}"),
                    m.name.span,
                ));
            }
            return Err(wrong(&recv));
        }
    })
}

/// Sort `(key, value)` pairs by key, stably; keys must be mutually comparable.
fn sort_values(it: &Interpreter, mut keyed: Vec<(Value, Value)>, span: Span) -> Eval<Vec<Value>> {
    let mut bad = None;
    keyed.sort_by(|(a, _), (b, _)| {
        a.compare(b).unwrap_or_else(|| {
            bad.get_or_insert((a.clone(), b.clone()));
            Ordering::Equal
        })
    });
    if let Some((a, b)) = bad {
        return Err(type_error(
            it,
            format!(
                "cannot sort: {} and {} do not compare",
                describe(&a),
                describe(&b)
            ),
            span,
        ));
    }
    Ok(keyed.into_iter().map(|(_, v)| v).collect())
}
