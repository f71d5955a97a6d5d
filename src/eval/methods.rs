//! The built-in methods. [`METHODS`] maps each name of the vocabulary
//! (`crate::lang::METHODS`) to its implementation; the dispatcher checks the
//! call against the vocabulary's signature first, so an implementation may
//! index the positional arguments its signature requires.

use std::cmp::Ordering;
use std::sync::{Arc, OnceLock};

use rustc_hash::FxHashMap;

use super::args::{Args, index};
use super::{Eval, Flow, Frame, Interpreter};
use crate::lang::{Builtin, Vocabulary};
use crate::syntax::ast::{Method as MethodCall, Span};
use crate::value::types::describe;
use crate::value::{Hash, Value};

/// How a method is implemented.
#[derive(Clone, Copy)]
pub(crate) enum Method {
    /// A method without a lambda; nothing in it suspends.
    Plain(fn(&Call<'_, '_>, &Value) -> Eval<Value>),
    /// A method that runs a lambda on each element.
    Lambda(Iterate),
}

/// The methods that take a lambda.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Iterate {
    /// Puppet's `then` and `lest`: the lambda on the receiver itself.
    Then,
    Lest,
    Map,
    Filter,
    Visit,
    Reduce,
    Any,
    All,
    SortBy,
}

/// One method call being evaluated.
pub(crate) struct Call<'a, 'p> {
    it: &'a Interpreter<'p>,
    args: &'a Args,
    name: &'a str,
    /// The method's name in the source.
    at: Span,
    /// The whole call.
    span: Span,
}

impl Call<'_, '_> {
    fn what(&self) -> String {
        format!("`.{}`", self.name)
    }

    fn error(&self, message: String, span: Span) -> Flow {
        self.it.type_error(message, span)
    }

    /// "`String 'x'` has no method `.keys`", at the method's name.
    fn wrong(&self, recv: &Value) -> Flow {
        self.error(
            format!("{} has no method {}", describe(recv), self.what()),
            self.at,
        )
    }

    fn string(&self, i: usize) -> Eval<Arc<str>> {
        self.args.string(self.it, i, &self.what())
    }

    /// Argument `i` as a regular expression (a String).
    fn regex(&self, i: usize) -> Eval<Arc<regex::Regex>> {
        let pattern = self.string(i)?;
        super::operators::regex(self.it, &pattern, self.args.positional[i].1)
    }

    fn int(&self, i: usize) -> Eval<i64> {
        self.args.int(self.it, i, &self.what())
    }
}

use Method::{Lambda, Plain};

/// Every method the evaluator implements, sorted by name (binary search).
pub(crate) const METHODS: &[(&str, Method)] = &[
    ("abs", Plain(abs)),
    ("all", Lambda(Iterate::All)),
    ("any", Lambda(Iterate::Any)),
    ("capitalize", Plain(capitalize)),
    ("contains", Plain(contains)),
    ("count", Plain(count)),
    ("details", Plain(details)),
    ("dig", Plain(dig)),
    (
        "downcase",
        Plain(|c, r| string(c, r, |s| Value::str(s.to_lowercase()))),
    ),
    ("duration", Plain(duration)),
    ("each", Lambda(Iterate::Visit)),
    ("empty", Plain(empty)),
    ("ends_with", Plain(|c, r| affix(c, r, false))),
    ("error", Plain(error)),
    ("error_set", Plain(|c, r| result_subset(c, r, false))),
    ("exit_code", Plain(command_output)),
    (
        "facts",
        Plain(|c, r| target(c, r, |t| Value::hash(t.facts.clone()))),
    ),
    (
        "features",
        Plain(|c, r| {
            target(c, r, |t| {
                Value::array(t.features.iter().map(Value::str).collect())
            })
        }),
    ),
    ("filter", Lambda(Iterate::Filter)),
    ("find", Plain(find)),
    ("first", Plain(first)),
    ("flatten", Plain(flatten)),
    (
        "groups",
        Plain(|c, r| {
            target(c, r, |t| {
                Value::array(t.groups.iter().map(Value::str).collect())
            })
        }),
    ),
    ("host", Plain(|c, r| target(c, r, |t| Value::str(&t.host)))),
    ("join", Plain(join)),
    ("keys", Plain(keys)),
    ("kind", Plain(kind)),
    ("last", Plain(last)),
    ("length", Plain(length)),
    ("lest", Lambda(Iterate::Lest)),
    ("location", Plain(location)),
    ("map", Lambda(Iterate::Map)),
    ("match", Plain(match_regex)),
    ("merge", Plain(merge)),
    ("message", Plain(message)),
    ("name", Plain(|c, r| target(c, r, |t| Value::str(&t.name)))),
    ("names", Plain(names)),
    ("ok", Plain(ok)),
    ("ok_set", Plain(|c, r| result_subset(c, r, true))),
    (
        "port",
        Plain(|c, r| {
            target(c, r, |t| {
                t.port.map_or(Value::Undef, |p| Value::Int(p.into()))
            })
        }),
    ),
    ("reduce", Lambda(Iterate::Reduce)),
    ("regsubst", Plain(regsubst)),
    ("replace", Plain(replace)),
    ("reverse", Plain(reverse)),
    ("size", Plain(length)),
    ("slice", Plain(slice)),
    ("sort", Plain(sort)),
    ("sort_by", Lambda(Iterate::SortBy)),
    ("split", Plain(split)),
    ("starts_with", Plain(|c, r| affix(c, r, true))),
    ("stderr", Plain(command_output)),
    ("stdout", Plain(command_output)),
    (
        "strip",
        Plain(|c, r| string(c, r, |s| Value::str(s.trim()))),
    ),
    ("target", Plain(target_of)),
    ("targets", Plain(targets)),
    ("then", Lambda(Iterate::Then)),
    ("to_f", Plain(to_f)),
    ("to_i", Plain(to_i)),
    ("to_s", Plain(|_, r| Ok(Value::str(r.to_display())))),
    (
        "transport",
        Plain(|c, r| target(c, r, |t| Value::str(t.transport.as_str()))),
    ),
    ("unique", Plain(unique)),
    ("unwrap", Plain(unwrap)),
    (
        "upcase",
        Plain(|c, r| string(c, r, |s| Value::str(s.to_uppercase()))),
    ),
    ("uri", Plain(|c, r| target(c, r, |t| Value::str(&t.uri)))),
    (
        "user",
        Plain(|c, r| target(c, r, |t| t.user.as_ref().map_or(Value::Undef, Value::str))),
    ),
    (
        "value",
        Plain(|c, r| result(c, r, |r| Value::hash(r.value.clone()))),
    ),
    ("values", Plain(values)),
    (
        "vars",
        Plain(|c, r| target(c, r, |t| Value::hash(t.vars.clone()))),
    ),
];

/// The implementation of method `name`, if the evaluator has one.
pub(crate) fn lookup(name: &str) -> Option<Method> {
    METHODS
        .binary_search_by(|(n, _)| (*n).cmp(name))
        .ok()
        .map(|i| METHODS[i].1)
}

/// The vocabulary's methods with their implementations, by name: one hash
/// lookup per call (`$label.length` in a loop of a million).
fn table() -> &'static FxHashMap<&'static str, (&'static Builtin, Method)> {
    static TABLE: OnceLock<FxHashMap<&'static str, (&'static Builtin, Method)>> = OnceLock::new();
    TABLE.get_or_init(|| index(METHODS, |n| Vocabulary::standard().method(n)))
}

/// The method `m` of the vocabulary and its implementation; an
/// `unknown-method` error (with did-you-mean) when either is missing.
fn resolve(it: &Interpreter, m: &MethodCall) -> Eval<(&'static Builtin, Method)> {
    let name = m.name.node.as_str();
    if let Some(found) = table().get(name) {
        return Ok(*found);
    }
    let vocab = Vocabulary::standard();
    let hint = crate::diagnostic::did_you_mean(name, vocab.methods().iter().map(|b| b.name))
        .map(|s| format!(" (did you mean `.{s}`?)"))
        .unwrap_or_default();
    Err(it.error(
        "drover/unknown-method",
        format!("unknown method `.{name}`{hint}"),
        m.name.span,
    ))
}

/// Call a method on a value. Lambdas run in the caller's frame, so that they
/// see (and may update) the variables around them.
pub(crate) async fn method<'p>(
    it: &Interpreter<'p>,
    frame: &mut Frame<'p>,
    recv: Value,
    m: &'p MethodCall,
    args: Args,
    span: Span,
) -> Eval<Value> {
    let (builtin, imp) = resolve(it, m)?;
    args.check(it, builtin, m.lambda.is_some(), span)?;
    let (Method::Lambda(each), Some(lambda)) = (imp, m.lambda.as_ref()) else {
        return plain_method(it, recv, m, &args, span);
    };
    match each {
        Iterate::Then if matches!(recv, Value::Undef) => return Ok(Value::Undef),
        Iterate::Then => return it.call_lambda(frame, lambda, vec![recv]).await,
        Iterate::Lest if matches!(recv, Value::Undef) => {
            return it.call_lambda(frame, lambda, Vec::new()).await;
        }
        Iterate::Lest => return Ok(recv),
        _ => {}
    }
    // Puppet passes an Array's index and element to a lambda of two
    // parameters (but `reduce`'s are the memo and the element).
    let indexed = lambda.params.len() == 2
        && !matches!(each, Iterate::Reduce | Iterate::SortBy)
        && it.program.is_puppet(span.file);
    let (items, pairs): (Vec<Value>, bool) = match &recv {
        Value::Array(a) if indexed => (
            a.iter()
                .enumerate()
                .map(|(i, v)| Value::array(vec![Value::Int(i as i64), v.clone()]))
                .collect(),
            true,
        ),
        Value::Array(a) => (a.to_vec(), false),
        // Puppet iterates an Integer n as 0 ... n-1.
        Value::Int(n) if it.program.is_puppet(span.file) && *n <= 10_000_000 => {
            ((0..(*n).max(0)).map(Value::Int).collect(), false)
        }
        Value::ResultSet(rs) => (rs.iter().map(|r| Value::Result(r.clone())).collect(), false),
        Value::Hash(h) => (
            h.iter()
                .map(|(k, v)| Value::array(vec![Value::str(k), v.clone()]))
                .collect(),
            true,
        ),
        other => {
            let call = Call {
                it,
                args: &args,
                name: builtin.name,
                at: m.name.span,
                span,
            };
            return Err(call.wrong(other));
        }
    };
    // Hashes pass key and value when the lambda takes two parameters.
    let call_args = |item: &Value| -> Vec<Value> {
        match (pairs, item, lambda.params.len()) {
            (true, Value::Array(kv), 2) => kv.to_vec(),
            _ => vec![item.clone()],
        }
    };
    // Puppet's `break()` ends the iteration (the result so far stands);
    // `next()` ends one step with undef. Drover plans cannot get here with
    // either: the checker refuses them in lambdas.
    let step = |r: Eval<Value>| -> Eval<Option<Value>> {
        match r {
            Ok(v) => Ok(Some(v)),
            Err(Flow::Break) => Ok(None),
            Err(Flow::Continue) => Ok(Some(Value::Undef)),
            Err(e) => Err(e),
        }
    };
    match each {
        Iterate::Map => {
            let mut out = Vec::with_capacity(items.len());
            for item in &items {
                match step(it.call_lambda(frame, lambda, call_args(item)).await)? {
                    Some(v) => out.push(v),
                    None => break,
                }
            }
            Ok(Value::array(out))
        }
        Iterate::Visit => {
            for item in &items {
                if step(it.call_lambda(frame, lambda, call_args(item)).await)?.is_none() {
                    break;
                }
            }
            Ok(recv)
        }
        Iterate::Filter => {
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
                    out.push(match (indexed, &item) {
                        (true, Value::Array(pair)) => pair[1].clone(),
                        _ => item,
                    });
                }
            }
            Ok(Value::array(out))
        }
        Iterate::Any | Iterate::All => {
            let want = each == Iterate::Any;
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
        Iterate::Reduce => {
            let mut iter = items.into_iter();
            let mut acc = match args.positional.into_iter().next() {
                Some((start, _)) => start,
                None => match iter.next() {
                    Some(first) => first,
                    None => return Ok(Value::Undef),
                },
            };
            for item in iter {
                match step(it.call_lambda(frame, lambda, vec![acc.clone(), item]).await)? {
                    Some(v) => acc = v,
                    None => break,
                }
            }
            Ok(acc)
        }
        Iterate::Then | Iterate::Lest => unreachable!("handled above"),
        Iterate::SortBy => {
            // Sort by the lambda's key, stably.
            let mut keyed = Vec::with_capacity(items.len());
            for item in items {
                let key = it.call_lambda(frame, lambda, call_args(&item)).await?;
                keyed.push((key, item));
            }
            let sorted = sort_values(it, keyed, span)?;
            Ok(Value::array(sorted))
        }
    }
}

/// A method without a lambda; nothing here suspends.
pub(crate) fn plain_method(
    it: &Interpreter,
    recv: Value,
    m: &MethodCall,
    args: &Args,
    span: Span,
) -> Eval<Value> {
    let (builtin, imp) = resolve(it, m)?;
    args.check(it, builtin, m.lambda.is_some(), span)?;
    let Method::Plain(f) = imp else {
        // Reached only when a lambda method has its lambda: `method` runs those.
        return Err(it.type_error(format!("`.{}` needs a lambda", builtin.name), span));
    };
    let call = Call {
        it,
        args,
        name: builtin.name,
        at: m.name.span,
        span,
    };
    f(&call, &recv)
}

fn target(c: &Call, recv: &Value, f: impl Fn(&crate::value::Target) -> Value) -> Eval<Value> {
    match recv {
        Value::Target(t) => Ok(f(&c.it.inventory.current(t))),
        other => Err(c.wrong(other)),
    }
}

fn result(c: &Call, recv: &Value, f: impl Fn(&crate::value::ActionResult) -> Value) -> Eval<Value> {
    match recv {
        Value::Result(r) => Ok(f(r)),
        other => Err(c.wrong(other)),
    }
}

fn string(c: &Call, recv: &Value, f: impl Fn(&str) -> Value) -> Eval<Value> {
    match recv {
        Value::Str(s) => Ok(f(s)),
        other => Err(c.wrong(other)),
    }
}

fn error_value(
    c: &Call,
    recv: &Value,
    f: impl Fn(&crate::value::ErrorValue) -> Value,
) -> Eval<Value> {
    match recv {
        Value::Error(e) => Ok(f(e)),
        other => Err(c.wrong(other)),
    }
}

fn length(c: &Call, recv: &Value) -> Eval<Value> {
    Ok(Value::Int(match recv {
        Value::Str(s) => s.chars().count(),
        Value::Array(v) => v.len(),
        Value::Hash(h) => h.len(),
        Value::ResultSet(rs) => rs.len(),
        other => return Err(c.wrong(other)),
    } as i64))
}

fn count(c: &Call, recv: &Value) -> Eval<Value> {
    match recv {
        Value::ResultSet(rs) => Ok(Value::Int(rs.len() as i64)),
        other => Err(c.wrong(other)),
    }
}

fn empty(c: &Call, recv: &Value) -> Eval<Value> {
    Ok(Value::Bool(match recv {
        Value::Str(s) => s.is_empty(),
        Value::Array(v) => v.is_empty(),
        Value::Hash(h) => h.is_empty(),
        other => return Err(c.wrong(other)),
    }))
}

fn first(c: &Call, recv: &Value) -> Eval<Value> {
    match recv {
        Value::Array(v) => Ok(v.first().cloned().unwrap_or(Value::Undef)),
        Value::ResultSet(rs) => Ok(rs
            .first()
            .map_or(Value::Undef, |r| Value::Result(r.clone()))),
        other => Err(c.wrong(other)),
    }
}

fn last(c: &Call, recv: &Value) -> Eval<Value> {
    match recv {
        Value::Array(v) => Ok(v.last().cloned().unwrap_or(Value::Undef)),
        other => Err(c.wrong(other)),
    }
}

fn reverse(c: &Call, recv: &Value) -> Eval<Value> {
    match recv {
        Value::Array(v) => Ok(Value::array(v.iter().rev().cloned().collect())),
        Value::Str(s) => Ok(Value::str(s.chars().rev().collect::<String>())),
        other => Err(c.wrong(other)),
    }
}

fn sort(c: &Call, recv: &Value) -> Eval<Value> {
    match recv {
        Value::Array(v) => Ok(Value::array(sort_values(
            c.it,
            v.iter().map(|x| (x.clone(), x.clone())).collect(),
            c.span,
        )?)),
        other => Err(c.wrong(other)),
    }
}

fn unique(c: &Call, recv: &Value) -> Eval<Value> {
    let Value::Array(v) = recv else {
        return Err(c.wrong(recv));
    };
    let mut out: Vec<Value> = Vec::new();
    for x in v.iter() {
        if !out.contains(x) {
            out.push(x.clone());
        }
    }
    Ok(Value::array(out))
}

fn flatten(c: &Call, recv: &Value) -> Eval<Value> {
    fn flat(v: &[Value], out: &mut Vec<Value>) {
        for x in v {
            match x {
                Value::Array(inner) => flat(inner, out),
                other => out.push(other.clone()),
            }
        }
    }
    let Value::Array(v) = recv else {
        return Err(c.wrong(recv));
    };
    let mut out = Vec::new();
    flat(v, &mut out);
    Ok(Value::array(out))
}

fn slice(c: &Call, recv: &Value) -> Eval<Value> {
    let Value::Array(v) = recv else {
        return Err(c.wrong(recv));
    };
    let n = c.int(0)?;
    if n < 1 {
        return Err(c.error(
            format!("{} needs a size of at least 1, got {n}", c.what()),
            c.args.positional[0].1,
        ));
    }
    Ok(Value::array(
        v.chunks(n as usize)
            .map(|c| Value::array(c.to_vec()))
            .collect(),
    ))
}

fn join(c: &Call, recv: &Value) -> Eval<Value> {
    let Value::Array(v) = recv else {
        return Err(c.wrong(recv));
    };
    let sep = if c.args.positional.is_empty() {
        Arc::from("")
    } else {
        c.string(0)?
    };
    Ok(Value::str(
        v.iter()
            .map(Value::to_display)
            .collect::<Vec<_>>()
            .join(&sep),
    ))
}

fn keys(c: &Call, recv: &Value) -> Eval<Value> {
    match recv {
        Value::Hash(h) => Ok(Value::array(h.keys().map(Value::str).collect())),
        other => Err(c.wrong(other)),
    }
}

fn values(c: &Call, recv: &Value) -> Eval<Value> {
    match recv {
        Value::Hash(h) => Ok(Value::array(h.values().cloned().collect())),
        other => Err(c.wrong(other)),
    }
}

fn contains(c: &Call, recv: &Value) -> Eval<Value> {
    let x = &c.args.positional[0].0;
    Ok(Value::Bool(match (recv, x) {
        (Value::Array(v), _) => v.contains(x),
        (Value::Hash(h), Value::Str(k)) => h.contains_key(k.as_ref()),
        (Value::Str(s), Value::Str(sub)) => s.contains(sub.as_ref()),
        _ => {
            return Err(c.error(
                format!(
                    "{} cannot look for {} in {}",
                    c.what(),
                    describe(x),
                    describe(recv)
                ),
                c.span,
            ));
        }
    }))
}

fn split(c: &Call, recv: &Value) -> Eval<Value> {
    let Value::Str(s) = recv else {
        return Err(c.wrong(recv));
    };
    let sep = c.string(0)?;
    // Puppet splits by a regular expression and, as Ruby does, drops the
    // empty fields at the end (`"a\nb\n"` is two lines).
    if c.it.program.is_puppet(c.span.file) && !sep.is_empty() {
        let re = super::operators::regex(c.it, &sep, c.span)?;
        let mut fields: Vec<&str> = re.split(s).collect();
        while fields.last().is_some_and(|f| f.is_empty()) {
            fields.pop();
        }
        return Ok(Value::array(fields.into_iter().map(Value::str).collect()));
    }
    Ok(if sep.is_empty() {
        Value::array(s.chars().map(|c| Value::str(c.to_string())).collect())
    } else {
        Value::array(s.split(sep.as_ref()).map(Value::str).collect())
    })
}

/// `.starts_with` (`start`) and `.ends_with`.
fn affix(c: &Call, recv: &Value, start: bool) -> Eval<Value> {
    let Value::Str(s) = recv else {
        return Err(c.wrong(recv));
    };
    let x = c.string(0)?;
    Ok(Value::Bool(if start {
        s.starts_with(x.as_ref())
    } else {
        s.ends_with(x.as_ref())
    }))
}

fn replace(c: &Call, recv: &Value) -> Eval<Value> {
    let Value::Str(s) = recv else {
        return Err(c.wrong(recv));
    };
    let (from, to) = (c.string(0)?, c.string(1)?);
    if from.is_empty() {
        return Err(c.error(
            format!("{} cannot replace an empty string", c.what()),
            c.args.positional[0].1,
        ));
    }
    Ok(Value::str(s.replace(from.as_ref(), &to)))
}

fn merge(c: &Call, recv: &Value) -> Eval<Value> {
    let Value::Hash(h) = recv else {
        return Err(c.wrong(recv));
    };
    let mut out = (**h).clone();
    for (v, span) in &c.args.positional {
        match v {
            Value::Hash(more) => out.extend(more.iter().map(|(k, v)| (k.clone(), v.clone()))),
            Value::Undef => {}
            other => {
                return Err(c.error(
                    format!("{} merges Hashes, not {}", c.what(), describe(other)),
                    *span,
                ));
            }
        }
    }
    Ok(Value::hash(out))
}

fn dig(c: &Call, recv: &Value) -> Eval<Value> {
    let mut at = recv.clone();
    for (key, _) in &c.args.positional {
        at = match (&at, key) {
            (Value::Hash(h), Value::Str(k)) => h.get(k.as_ref()).cloned().unwrap_or(Value::Undef),
            (Value::Array(a), Value::Int(i)) => {
                let i = if *i < 0 { a.len() as i64 + i } else { *i };
                usize::try_from(i)
                    .ok()
                    .and_then(|i| a.get(i))
                    .cloned()
                    .unwrap_or(Value::Undef)
            }
            (Value::Undef, _) => return Ok(Value::Undef),
            _ => return Ok(Value::Undef),
        };
    }
    Ok(at)
}

fn capitalize(c: &Call, recv: &Value) -> Eval<Value> {
    let Value::Str(s) = recv else {
        return Err(c.wrong(recv));
    };
    let mut chars = s.chars();
    Ok(Value::str(match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect::<String>(),
        None => String::new(),
    }))
}

fn abs(c: &Call, recv: &Value) -> Eval<Value> {
    Ok(match recv {
        Value::Int(n) => Value::Int(
            n.checked_abs()
                .ok_or_else(|| c.error("integer overflow in `.abs`".to_string(), c.span))?,
        ),
        Value::Float(f) => Value::Float(f.abs()),
        other => return Err(c.wrong(other)),
    })
}

fn match_regex(c: &Call, recv: &Value) -> Eval<Value> {
    let Value::Str(s) = recv else {
        return Err(c.wrong(recv));
    };
    let re = c.regex(0)?;
    Ok(match re.captures(s) {
        Some(caps) => Value::array(
            caps.iter()
                .map(|m| m.map_or(Value::Undef, |m| Value::str(m.as_str())))
                .collect(),
        ),
        None => Value::Undef,
    })
}

fn regsubst(c: &Call, recv: &Value) -> Eval<Value> {
    let Value::Str(s) = recv else {
        return Err(c.wrong(recv));
    };
    let re = c.regex(0)?;
    // Puppet writes groups as \1; the regex crate as ${1}.
    let replacement = c.string(1)?;
    let mut with = String::new();
    let mut chars = replacement.chars().peekable();
    while let Some(ch) = chars.next() {
        match (ch, chars.peek()) {
            ('\\', Some(d)) if d.is_ascii_digit() => {
                with.push_str(&format!("${{{d}}}"));
                chars.next();
            }
            ('$', _) => with.push_str("$$"),
            _ => with.push(ch),
        }
    }
    let global = match c.args.positional.get(2) {
        Some((Value::Str(f), _)) => f.contains('G'),
        _ => false,
    };
    Ok(Value::str(if global {
        re.replace_all(s, with.as_str()).into_owned()
    } else {
        re.replace(s, with.as_str()).into_owned()
    }))
}

fn to_i(c: &Call, recv: &Value) -> Eval<Value> {
    Ok(match recv {
        Value::Int(n) => Value::Int(*n),
        Value::Float(f) if f.is_finite() && f.abs() < 9.2e18 => Value::Int(f.trunc() as i64),
        Value::Str(s) => match s.trim().parse::<i64>() {
            Ok(n) => Value::Int(n),
            Err(_) => {
                return Err(c.error(
                    format!("{}: {} is not an integer", c.what(), describe(recv)),
                    c.span,
                ));
            }
        },
        Value::Duration(ms) => Value::Int((*ms / 1000) as i64),
        other => return Err(c.wrong(other)),
    })
}

fn to_f(c: &Call, recv: &Value) -> Eval<Value> {
    Ok(match recv {
        Value::Int(n) => Value::Float(*n as f64),
        Value::Float(f) => Value::Float(*f),
        Value::Str(s) => match s.trim().parse::<f64>() {
            Ok(f) => Value::Float(f),
            Err(_) => {
                return Err(c.error(
                    format!("{}: {} is not a number", c.what(), describe(recv)),
                    c.span,
                ));
            }
        },
        other => return Err(c.wrong(other)),
    })
}

fn target_of(c: &Call, recv: &Value) -> Eval<Value> {
    match recv {
        Value::Result(r) => Ok(Value::Target(r.target.clone())),
        Value::Error(e) => Ok(e.target.as_ref().map_or(Value::Undef, Value::str)),
        other => Err(c.wrong(other)),
    }
}

fn ok(c: &Call, recv: &Value) -> Eval<Value> {
    match recv {
        Value::Result(r) => Ok(Value::Bool(r.ok())),
        Value::ResultSet(rs) => Ok(Value::Bool(rs.iter().all(|r| r.ok()))),
        other => Err(c.wrong(other)),
    }
}

/// `.stdout`, `.stderr` and `.exit_code` of a command's result.
fn command_output(c: &Call, recv: &Value) -> Eval<Value> {
    result(c, recv, |r| {
        r.value.get(c.name).cloned().unwrap_or(Value::Undef)
    })
}

fn error(c: &Call, recv: &Value) -> Eval<Value> {
    result(c, recv, |r| {
        r.error
            .clone()
            .map_or(Value::Undef, |e| Value::Error(Arc::new(e)))
    })
}

fn message(c: &Call, recv: &Value) -> Eval<Value> {
    match recv {
        Value::Result(r) => Ok(match (&r.error, r.value.get("_output")) {
            (Some(e), _) => Value::str(&e.message),
            (None, Some(out)) => out.clone(),
            (None, None) => r.value.get("message").cloned().unwrap_or(Value::Undef),
        }),
        Value::Error(e) => Ok(Value::str(&e.message)),
        other => Err(c.wrong(other)),
    }
}

fn duration(c: &Call, recv: &Value) -> Eval<Value> {
    result(c, recv, |r| Value::Duration(r.duration_ms))
}

/// `.ok_set` (`ok`) and `.error_set`.
fn result_subset(c: &Call, recv: &Value, ok: bool) -> Eval<Value> {
    match recv {
        Value::ResultSet(rs) => Ok(Value::ResultSet(Arc::new(
            rs.iter().filter(|r| r.ok() == ok).cloned().collect(),
        ))),
        other => Err(c.wrong(other)),
    }
}

fn targets(c: &Call, recv: &Value) -> Eval<Value> {
    match recv {
        Value::ResultSet(rs) => Ok(Value::array(
            rs.iter().map(|r| Value::Target(r.target.clone())).collect(),
        )),
        other => Err(c.wrong(other)),
    }
}

fn names(c: &Call, recv: &Value) -> Eval<Value> {
    match recv {
        Value::ResultSet(rs) => Ok(Value::array(
            rs.iter().map(|r| Value::str(&r.target.name)).collect(),
        )),
        other => Err(c.wrong(other)),
    }
}

fn find(c: &Call, recv: &Value) -> Eval<Value> {
    let Value::ResultSet(rs) = recv else {
        return Err(c.wrong(recv));
    };
    let n = c.string(0)?;
    Ok(rs
        .iter()
        .find(|r| r.target.name == n.as_ref())
        .map_or(Value::Undef, |r| Value::Result(r.clone())))
}

fn unwrap(_: &Call, recv: &Value) -> Eval<Value> {
    Ok(match recv {
        Value::Sensitive(s) => s.reveal().clone(),
        other => other.clone(),
    })
}

fn kind(c: &Call, recv: &Value) -> Eval<Value> {
    error_value(c, recv, |e| Value::str(&e.kind))
}

fn details(c: &Call, recv: &Value) -> Eval<Value> {
    error_value(c, recv, |e| Value::hash(e.details.clone()))
}

fn location(c: &Call, recv: &Value) -> Eval<Value> {
    error_value(c, recv, |e| Value::str(&e.location))
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
        return Err(it.type_error(
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

#[cfg(test)]
mod tests {
    #[test]
    fn the_table_is_sorted_for_binary_search() {
        let names: Vec<&str> = super::METHODS.iter().map(|(n, _)| *n).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(names, sorted);
    }
}
