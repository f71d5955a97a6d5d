//! Bolt's plan functions on the controller (`../shared/spec/bolt.md` §4):
//! files and directories, the environment, prompts, the run's inventory,
//! `fail_plan`, `out::verbose`, `resolve_references`. Their actions
//! (`download_file`, `write_file`, `wait_until_available`) are in `actions`.

use std::path::PathBuf;
use std::sync::Arc;

use super::Flow;
use super::args::{Args, targets};
use super::{Eval, Interpreter};
use crate::syntax::ast::{Span, Spanned, Type};
use crate::value::types::{self, describe};
use crate::value::{ErrorValue, Hash, Target, Value};

/// A controller path: absolute, under the project, or `MODULE/files/PATH`
/// in a module on the module path.
fn local_path(it: &Interpreter, path: &str) -> PathBuf {
    let p = PathBuf::from(path);
    if p.is_absolute() {
        return p;
    }
    let under = it.project.join(&p);
    if under.exists() {
        return under;
    }
    if let Some((module, rest)) = path.split_once("/files/")
        && !module.contains('/')
        && let Some(dir) = it.tasks.project().module(module)
    {
        return dir.join("files").join(rest);
    }
    under
}

fn io_error(
    it: &Interpreter,
    what: &str,
    path: &std::path::Path,
    e: std::io::Error,
    span: Span,
) -> super::Flow {
    it.error(
        "drover/file-error",
        format!("{what} {}: {e}", path.display()),
        span,
    )
}

/// `file::read(path)`.
pub(crate) fn file_read(it: &Interpreter, _: &Spanned<String>, args: Args, _: Span) -> Eval<Value> {
    let (path, span) = (args.string(it, 0, "`file::read`")?, args.positional[0].1);
    let p = local_path(it, &path);
    std::fs::read_to_string(&p)
        .map(Value::str)
        .map_err(|e| io_error(it, "cannot read", &p, e, span))
}

/// `file::write(path, content)`: not in a dry run, which changes nothing.
pub(crate) fn file_write(
    it: &Interpreter,
    _: &Spanned<String>,
    args: Args,
    _: Span,
) -> Eval<Value> {
    let (path, span) = (args.string(it, 0, "`file::write`")?, args.positional[0].1);
    let content = args.positional[1].0.to_display();
    let p = local_path(it, &path);
    if !it.dry_run {
        std::fs::write(&p, content).map_err(|e| io_error(it, "cannot write", &p, e, span))?;
    }
    Ok(Value::Undef)
}

/// `file::exists(path)` and `file::readable(path)`.
pub(crate) fn file_test(
    it: &Interpreter,
    name: &Spanned<String>,
    args: Args,
    _: Span,
) -> Eval<Value> {
    let path = args.string(it, 0, &format!("`{}`", name.node))?;
    let p = local_path(it, &path);
    Ok(Value::Bool(if name.node == "file::exists" {
        p.exists()
    } else {
        std::fs::File::open(&p).is_ok()
    }))
}

/// `file::join(parts...)`.
pub(crate) fn file_join(it: &Interpreter, _: &Spanned<String>, args: Args, _: Span) -> Eval<Value> {
    let mut out = String::new();
    for (i, (part, span)) in args.positional.iter().enumerate() {
        let Value::Str(s) = part else {
            return Err(it.type_error(
                format!("`file::join` needs Strings, got {}", describe(part)),
                *span,
            ));
        };
        if i > 0 && !out.ends_with('/') {
            out.push('/');
        }
        out.push_str(if i > 0 { s.trim_start_matches('/') } else { s });
    }
    Ok(Value::str(out))
}

/// `dir::children(path)`.
pub(crate) fn dir_children(
    it: &Interpreter,
    _: &Spanned<String>,
    args: Args,
    _: Span,
) -> Eval<Value> {
    let (path, span) = (args.string(it, 0, "`dir::children`")?, args.positional[0].1);
    let p = local_path(it, &path);
    let mut names: Vec<String> = std::fs::read_dir(&p)
        .map_err(|e| io_error(it, "cannot read", &p, e, span))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Ok(Value::array(names.into_iter().map(Value::str).collect()))
}

/// `system::env(name)`.
pub(crate) fn env(it: &Interpreter, _: &Spanned<String>, args: Args, _: Span) -> Eval<Value> {
    let name = args.string(it, 0, "`system::env`")?;
    Ok(std::env::var(&*name).map_or(Value::Undef, Value::str))
}

/// `prompt(message, sensitive =>, default =>)`: asked on the terminal; with
/// no terminal, the default (or an error).
pub(crate) fn prompt(it: &Interpreter, _: &Spanned<String>, args: Args, span: Span) -> Eval<Value> {
    let message = args.string(it, 0, "`prompt`")?;
    let sensitive = match args.named.get("sensitive") {
        None => false,
        Some((Value::Bool(b), _)) => *b,
        Some((other, s)) => {
            return Err(it.type_error(
                format!(
                    "`prompt`'s `sensitive` needs a Boolean, got {}",
                    describe(other)
                ),
                *s,
            ));
        }
    };
    let default = args.named.get("default").map(|(v, _)| v.clone());
    let answer = match crate::project::plugins::ask(&message, !sensitive) {
        Ok(a) if a.is_empty() && default.is_some() => return Ok(default.unwrap_or(Value::Undef)),
        Ok(a) => Value::str(a),
        Err(why) => match default {
            Some(d) => return Ok(d),
            None => return Err(it.error("drover/prompt-error", why, span)),
        },
    };
    Ok(if sensitive {
        Value::Sensitive(crate::value::Secret::new(answer))
    } else {
        answer
    })
}

/// The one target of argument `i`.
fn one_target(it: &Interpreter, args: &Args, i: usize, what: &str) -> Eval<Arc<Target>> {
    let (spec, span) = &args.positional[i];
    let mut found = targets(it, spec, *span)?;
    if found.len() != 1 {
        return Err(it.type_error(
            format!("{what} needs one target, got {}", found.len()),
            *span,
        ));
    }
    Ok(found.remove(0))
}

/// `set_var(target, key, value)`.
pub(crate) fn set_var(it: &Interpreter, _: &Spanned<String>, args: Args, _: Span) -> Eval<Value> {
    let t = one_target(it, &args, 0, "`set_var`")?;
    let key = args.string(it, 1, "`set_var`")?;
    let value = args.positional[2].0.clone();
    let t = it.inventory.change(&t, |t| {
        t.vars.insert(key.to_string(), value);
    });
    Ok(Value::Target(t))
}

/// `add_facts(target, hash)`: merged into the facts, deeply.
pub(crate) fn add_facts(it: &Interpreter, _: &Spanned<String>, args: Args, _: Span) -> Eval<Value> {
    let t = one_target(it, &args, 0, "`add_facts`")?;
    let (Value::Hash(facts), _) = &args.positional[1] else {
        return Err(it.type_error(
            format!(
                "`add_facts` needs a Hash, got {}",
                describe(&args.positional[1].0)
            ),
            args.positional[1].1,
        ));
    };
    let t = it.inventory.change(&t, |t| merge(&mut t.facts, facts));
    Ok(Value::Target(t))
}

fn merge(into: &mut Hash, from: &Hash) {
    for (k, v) in from {
        match (into.get_mut(k), v) {
            (Some(Value::Hash(a)), Value::Hash(b)) => {
                let mut merged = (**a).clone();
                merge(&mut merged, b);
                *a = Arc::new(merged);
            }
            _ => {
                into.insert(k.clone(), v.clone());
            }
        }
    }
}

/// `set_feature(target, feature, value = true)`.
pub(crate) fn set_feature(
    it: &Interpreter,
    _: &Spanned<String>,
    args: Args,
    _: Span,
) -> Eval<Value> {
    let t = one_target(it, &args, 0, "`set_feature`")?;
    let feature = args.string(it, 1, "`set_feature`")?;
    let on = match args.positional.get(2) {
        None => true,
        Some((Value::Bool(b), _)) => *b,
        Some((other, s)) => {
            return Err(it.type_error(
                format!("`set_feature` needs a Boolean, got {}", describe(other)),
                *s,
            ));
        }
    };
    let t = it.inventory.change(&t, |t| {
        t.features.retain(|f| f.as_str() != &*feature);
        if on {
            t.features.push(feature.to_string());
        }
    });
    Ok(Value::Target(t))
}

/// `set_config(target, key_or_path, value)`.
pub(crate) fn set_config(
    it: &Interpreter,
    _: &Spanned<String>,
    args: Args,
    _: Span,
) -> Eval<Value> {
    let t = one_target(it, &args, 0, "`set_config`")?;
    let path: Vec<String> = match &args.positional[1] {
        (Value::Str(s), _) => vec![s.to_string()],
        (Value::Array(a), s) if !a.is_empty() => a
            .iter()
            .map(|k| match k {
                Value::Str(k) => Ok(k.to_string()),
                other => Err(it.type_error(
                    format!("`set_config`'s path needs Strings, got {}", describe(other)),
                    *s,
                )),
            })
            .collect::<Eval<_>>()?,
        (other, s) => {
            return Err(it.type_error(
                format!(
                    "`set_config` needs a key or a path, got {}",
                    describe(other)
                ),
                *s,
            ));
        }
    };
    let value = args.positional[2].0.clone();
    let t = it
        .inventory
        .change(&t, |t| super::inventory::set_config(t, &path, &value));
    Ok(Value::Target(t))
}

/// `add_to_group(targets, group)`.
pub(crate) fn add_to_group(
    it: &Interpreter,
    _: &Spanned<String>,
    args: Args,
    _: Span,
) -> Eval<Value> {
    let (spec, span) = &args.positional[0];
    let group = args.string(it, 1, "`add_to_group`")?;
    for t in targets(it, spec, *span)? {
        it.inventory
            .add_to_group(&t, &group)
            .map_err(|m| it.error("drover/unknown-group", m, args.positional[1].1))?;
    }
    Ok(Value::Undef)
}

/// `remove_from_group(target, group)`.
pub(crate) fn remove_from_group(
    it: &Interpreter,
    _: &Spanned<String>,
    args: Args,
    _: Span,
) -> Eval<Value> {
    let (spec, span) = &args.positional[0];
    let group = args.string(it, 1, "`remove_from_group`")?;
    for t in targets(it, spec, *span)? {
        it.inventory.remove_from_group(&t, &group);
    }
    Ok(Value::Undef)
}

/// `facts(target)` and `vars(target)`.
pub(crate) fn facts_or_vars(
    it: &Interpreter,
    name: &Spanned<String>,
    args: Args,
    _: Span,
) -> Eval<Value> {
    let t = one_target(it, &args, 0, &format!("`{}`", name.node))?;
    Ok(Value::hash(if name.node == "facts" {
        t.facts.clone()
    } else {
        t.vars.clone()
    }))
}

/// `fail(message)`, or `fail($err)`: raises a caught error again, as Bolt's
/// `fail_plan` does: its kind, message, target and location are kept, and
/// `details` adds to its details.
pub(crate) fn fail(it: &Interpreter, _: &Spanned<String>, args: Args, span: Span) -> Eval<Value> {
    let mut e = match &args.positional[0].0 {
        Value::Error(caught) => (**caught).clone(),
        other => {
            let mut e = ErrorValue::new("drover/plan-failure", other.to_display());
            e.location = it.program.location(span);
            e.span = Some(span);
            e
        }
    };
    for (key, (value, vspan)) in args.named {
        match (key.as_str(), value) {
            ("kind", Value::Str(k)) => e.kind = k.to_string(),
            ("details", Value::Hash(h)) => e.details.extend((*h).clone()),
            (_, other) => {
                return Err(it.type_error(
                    format!("`fail`'s `{key}` cannot be {}", describe(&other)),
                    vspan,
                ));
            }
        }
    }
    Err(Flow::Error(Box::new(e)))
}

/// `fail_plan(message, kind, details)` or `fail_plan(error)`: `fail` with
/// Bolt's positional kind and details.
pub(crate) fn fail_plan(
    it: &Interpreter,
    name: &Spanned<String>,
    mut args: Args,
    span: Span,
) -> Eval<Value> {
    let mut rest = args.positional.split_off(1).into_iter();
    if let Some(kind) = rest.next() {
        args.named.insert("kind".into(), kind);
    } else if !matches!(args.positional[0].0, Value::Error(_)) {
        args.named
            .insert("kind".into(), (Value::str("bolt/plan-failure"), span));
    }
    if let Some(details) = rest.next() {
        args.named.insert("details".into(), details);
    }
    fail(it, name, args, span)
}

/// `out::verbose(message)`: a `verbose` log line, shown with `--verbose`.
pub(crate) fn verbose(
    it: &Interpreter,
    _: &Spanned<String>,
    args: Args,
    span: Span,
) -> Eval<Value> {
    let location = it.program.location(span);
    it.events
        .log("verbose", &args.positional[0].0.to_display(), &location);
    Ok(Value::Undef)
}

/// `resolve_references(data)`: plugin references in plan data, resolved as
/// the inventory's are.
pub(crate) fn resolve_references(
    it: &Interpreter,
    _: &Spanned<String>,
    args: Args,
    span: Span,
) -> Eval<Value> {
    let mut resolver = crate::project::plugins::Resolver::new(&it.tasks);
    let data = args.positional[0].0.to_json();
    let resolved = resolver
        .resolve_json(data)
        .map_err(|m| it.error("bolt/plugin-error", m, span))?;
    Ok(crate::project::plugins::to_value(&resolved))
}

/// `Integer(value)`, `Integer(value, radix)`: Puppet's conversion.
pub(crate) fn to_integer(
    it: &Interpreter,
    _: &Spanned<String>,
    args: Args,
    span: Span,
) -> Eval<Value> {
    let (value, vspan) = &args.positional[0];
    let radix = match args.positional.get(1) {
        None => None,
        Some((Value::Int(r @ (2 | 8 | 10 | 16)), _)) => Some(*r as u32),
        Some((other, s)) => {
            return Err(it.type_error(
                format!(
                    "`Integer`'s radix is 2, 8, 10 or 16, not {}",
                    describe(other)
                ),
                *s,
            ));
        }
    };
    let fail = || {
        it.type_error(
            format!("`Integer` cannot convert {}", describe(value)),
            *vspan,
        )
    };
    let _ = span;
    Ok(Value::Int(match value {
        Value::Int(n) => *n,
        Value::Float(f) if f.is_finite() && f.abs() < 9.2e18 => f.trunc() as i64,
        Value::Bool(b) => i64::from(*b),
        Value::Duration(ms) => (*ms / 1000) as i64,
        Value::Str(s) => {
            let t = s.trim();
            let (neg, t) = match t.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, t.strip_prefix('+').unwrap_or(t)),
            };
            let (digits, base) = match radix {
                Some(r) => (t, r),
                None if t.starts_with("0x") || t.starts_with("0X") => (&t[2..], 16),
                None if t.starts_with("0b") || t.starts_with("0B") => (&t[2..], 2),
                None if t.len() > 1 && t.starts_with('0') => (&t[1..], 8),
                None => (t, 10),
            };
            let n = i64::from_str_radix(digits, base).map_err(|_| fail())?;
            if neg { -n } else { n }
        }
        _ => return Err(fail()),
    }))
}

/// `String(value)`: the value as text.
pub(crate) fn to_string(_: &Interpreter, _: &Spanned<String>, args: Args, _: Span) -> Eval<Value> {
    Ok(match &args.positional[0].0 {
        s @ Value::Str(_) => s.clone(),
        other => Value::str(other.to_display()),
    })
}

/// `Boolean(value)`: Puppet's conversion.
pub(crate) fn to_boolean(
    it: &Interpreter,
    _: &Spanned<String>,
    args: Args,
    _: Span,
) -> Eval<Value> {
    let (value, vspan) = &args.positional[0];
    Ok(Value::Bool(match value {
        Value::Bool(b) => *b,
        Value::Int(n) => *n != 0,
        Value::Float(f) => *f != 0.0,
        Value::Str(s) => match s.to_lowercase().as_str() {
            "true" | "yes" | "y" => true,
            "false" | "no" | "n" | "" => false,
            _ => {
                return Err(it.type_error(
                    format!("`Boolean` cannot convert {}", describe(value)),
                    *vspan,
                ));
            }
        },
        other => {
            return Err(it.type_error(
                format!("`Boolean` cannot convert {}", describe(other)),
                *vspan,
            ));
        }
    }))
}

/// `ResultSet(results)` and `ResultSet.new(results)`.
pub(crate) fn new_result_set(
    it: &Interpreter,
    _: &Spanned<String>,
    args: Args,
    _: Span,
) -> Eval<Value> {
    let (value, vspan) = &args.positional[0];
    let items: Vec<Value> = match value {
        Value::Array(a) => a.to_vec(),
        Value::ResultSet(rs) => return Ok(Value::ResultSet(rs.clone())),
        Value::Result(r) => return Ok(Value::ResultSet(Arc::new(vec![r.clone()]))),
        other => {
            return Err(it.type_error(
                format!(
                    "a ResultSet is made of an Array of Results, not {}",
                    describe(other)
                ),
                *vspan,
            ));
        }
    };
    let mut results = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Value::Result(r) => results.push(r),
            other => {
                return Err(it.type_error(
                    format!("a ResultSet holds Results, not {}", describe(&other)),
                    *vspan,
                ));
            }
        }
    }
    Ok(Value::ResultSet(Arc::new(results)))
}

/// `Result.new(target, value)`: a value with `_error` is a failure, as a
/// task's output is.
pub(crate) fn new_result(
    it: &Interpreter,
    _: &Spanned<String>,
    args: Args,
    _: Span,
) -> Eval<Value> {
    let (target, tspan) = &args.positional[0];
    let target = match crate::eval::args::targets(it, target, *tspan)?.as_slice() {
        [one] => one.clone(),
        many => {
            return Err(it.type_error(
                format!("`Result.new` needs one target, got {}", many.len()),
                *tspan,
            ));
        }
    };
    let (value, vspan) = &args.positional[1];
    let Value::Hash(h) = value else {
        return Err(it.type_error(
            format!("`Result.new`'s value is a Hash, not {}", describe(value)),
            *vspan,
        ));
    };
    let mut value = (**h).clone();
    let error = match value.shift_remove("_error") {
        Some(Value::Hash(e)) => {
            let text = |k: &str| e.get(k).map(Value::to_display);
            let mut err = crate::value::ErrorValue::new(
                text("kind").unwrap_or_else(|| "bolt/error".into()),
                text("msg").unwrap_or_else(|| "the result is an error".into()),
            );
            if let Some(Value::Hash(d)) = e.get("details") {
                err.details = (**d).clone();
            }
            err.target = Some(target.name.clone());
            Some(err)
        }
        Some(other) => {
            value.insert("_error".into(), other);
            None
        }
        None => None,
    };
    Ok(Value::Result(Arc::new(crate::value::ActionResult {
        target,
        action: "result".into(),
        value,
        error,
        duration_ms: 0,
    })))
}

/// `Timestamp()`: seconds since the epoch, as a Float, on the run's clock:
/// the wall clock when the run first asked, plus the run's (virtual in a dry
/// run) time since then, so that waits in a dry run count.
pub(crate) fn timestamp(it: &Interpreter, _: &Spanned<String>, _: Args, _: Span) -> Eval<Value> {
    let (wall, at) = *it.clock_origin.get_or_init(|| {
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        (wall, tokio::time::Instant::now())
    });
    Ok(Value::Float(wall + at.elapsed().as_secs_f64()))
}

/// Bolt's positional forms in Puppet plans: after an action's own arguments
/// come an optional description (a String) and a Hash of parameters and
/// options (`run_task('t', $targets, 'why', { 'a' => 1, '_catch_errors' =>
/// true })`); `run_plan(name, params)` and `run_plan(name, targets,
/// params)`. They become the named arguments drover's actions take.
pub(crate) fn positional_options(name: &str, args: &mut Args) {
    let Some(own) = crate::lang::bolt_own_positional(name) else {
        return;
    };
    if args.positional.len() <= own {
        return;
    }
    let rest = args.positional.split_off(own);
    for (value, span) in rest {
        match value {
            Value::Hash(h) => {
                for (k, v) in h.iter() {
                    args.named.entry(k.clone()).or_insert((v.clone(), span));
                }
            }
            Value::Str(d) if name != "run_plan" => {
                args.named
                    .entry("_description".into())
                    .or_insert((Value::Str(d), span));
            }
            // `run_plan(name, targets, params)`: the plan's `targets`.
            other if name == "run_plan" => {
                args.named.entry("targets".into()).or_insert((other, span));
            }
            other => args.positional.push((other, span)),
        }
    }
}

/// `pick(values...)`: the first that is neither undef nor empty text.
pub(crate) fn pick(it: &Interpreter, _: &Spanned<String>, args: Args, span: Span) -> Eval<Value> {
    args.positional
        .into_iter()
        .map(|(v, _)| v)
        .find(|v| !matches!(v, Value::Undef) && !matches!(v, Value::Str(s) if s.is_empty()))
        .ok_or_else(|| {
            it.error(
                "drover/pick-failed",
                "`pick` found no value that is set",
                span,
            )
        })
}

/// `type(value, mode?)`: its type (`Integer`, `String`, ...), as a Type
/// value; Puppet's modes (`detailed`, `reduced`, `generalized`) all give
/// the generalized type here.
pub(crate) fn type_of(
    it: &Interpreter,
    _: &Spanned<String>,
    args: Args,
    span: Span,
) -> Eval<Value> {
    if let Some((mode, at)) = args.positional.get(1)
        && !matches!(mode, Value::Str(m) if ["detailed", "reduced", "generalized"].contains(&m.as_ref()))
    {
        return Err(it.type_error(
            format!(
                "`type`'s mode is `detailed`, `reduced` or `generalized`, not {}",
                describe(mode)
            ),
            *at,
        ));
    }
    Ok(Value::Type(Arc::new(Type {
        name: Spanned::new(args.positional[0].0.type_name().to_string(), span),
        args: Vec::new(),
    })))
}

/// `parsejson(text, default?)` and `parseyaml(text, default?)` (Puppet's
/// stdlib): the data the text holds, or `default`, when given, if it does
/// not parse.
pub(crate) fn parse_data(
    it: &Interpreter,
    name: &Spanned<String>,
    args: Args,
    _: Span,
) -> Eval<Value> {
    let what = format!("`{}`", name.node);
    let text = args.string(it, 0, &what)?;
    let parsed = if name.node == "parsejson" {
        serde_json::from_str::<serde_json::Value>(&text).map_err(|e| e.to_string())
    } else {
        serde_saphyr::from_str::<serde_json::Value>(&text).map_err(|e| e.to_string())
    };
    match (parsed, args.positional.get(1)) {
        (Ok(data), _) => Ok(Value::from_json(&data)),
        (Err(_), Some((default, _))) => Ok(default.clone()),
        (Err(e), None) => Err(it.error(
            "drover/parse-error",
            format!("{what}: {}", e.lines().next().unwrap_or_default()),
            args.positional[0].1,
        )),
    }
}

/// `assert_type(type, value)`: the value when it is an instance of the type.
pub(crate) fn assert_type(
    it: &Interpreter,
    _: &Spanned<String>,
    args: Args,
    _: Span,
) -> Eval<Value> {
    let [(ty, tspan), (value, vspan)] = &args.positional[..] else {
        unreachable!("the vocabulary's count")
    };
    let Value::Type(ty) = ty else {
        return Err(it.type_error(
            format!("`assert_type` needs a type first, got {}", describe(ty)),
            *tspan,
        ));
    };
    if types::is_instance(value, ty) {
        return Ok(value.clone());
    }
    Err(it.type_error(
        format!("expected {}, got {}", types::type_text(ty), describe(value)),
        *vspan,
    ))
}

/// `Timespan(seconds)`, `Timespan({days =>, hours =>, minutes =>, seconds
/// =>, milliseconds =>})` or `Timespan('[D-]HH:MM:SS[.F]')`: seconds, a
/// Float, as `Timestamp() - $start` is.
pub(crate) fn timespan(
    it: &Interpreter,
    _: &Spanned<String>,
    args: Args,
    span: Span,
) -> Eval<Value> {
    let Some((value, vspan)) = args.positional.first() else {
        return Ok(Value::Float(0.0));
    };
    let number = |v: &Value| match v {
        Value::Int(n) => Some(*n as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    };
    let bad = |why: String| it.type_error(format!("`Timespan` {why}"), *vspan);
    let seconds = match value {
        Value::Int(_) | Value::Float(_) => number(value).unwrap_or_default(),
        Value::Hash(h) => {
            const UNITS: [(&str, f64); 5] = [
                ("days", 86_400.0),
                ("hours", 3_600.0),
                ("minutes", 60.0),
                ("seconds", 1.0),
                ("milliseconds", 0.001),
            ];
            let mut total = 0.0;
            for (k, v) in h.iter() {
                let Some((_, unit)) = UNITS.iter().find(|(u, _)| u == k) else {
                    return Err(bad(format!(
                        "takes days, hours, minutes, seconds and milliseconds, not `{k}`"
                    )));
                };
                let n = number(v).ok_or_else(|| bad(format!("needs a number for `{k}`")))?;
                total += n * unit;
            }
            total
        }
        Value::Str(s) => parse_timespan(s).ok_or_else(|| {
            bad(format!(
                "cannot read {:?}: write [D-]HH:MM:SS[.F], as `1-02:03:04`",
                s.as_ref()
            ))
        })?,
        other => {
            return Err(bad(format!(
                "needs a number, a Hash or a String, got {}",
                describe(other)
            )));
        }
    };
    if !seconds.is_finite() {
        return Err(it.type_error("`Timespan` is out of range", span));
    }
    Ok(Value::Float(seconds))
}

/// Puppet's default Timespan format, `[-][D-]HH:MM:SS[.F]`, in seconds.
fn parse_timespan(s: &str) -> Option<f64> {
    let (sign, s) = match s.strip_prefix('-') {
        Some(rest) => (-1.0, rest),
        None => (1.0, s),
    };
    let (days, clock) = match s.split_once('-') {
        Some((d, rest)) => (d.parse::<u64>().ok()? as f64, rest),
        None => (0.0, s),
    };
    let parts: Vec<&str> = clock.split(':').collect();
    let [h, m, sec] = parts.as_slice() else {
        return None;
    };
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !digits(h) || !digits(m) || !sec.split('.').all(digits) || sec.matches('.').count() > 1 {
        return None;
    }
    let (h, m, sec): (f64, f64, f64) = (h.parse().ok()?, m.parse().ok()?, sec.parse().ok()?);
    Some(sign * (days * 86_400.0 + h * 3_600.0 + m * 60.0 + sec))
}

/// `Target.new(uri)`, `Target.new({name =>, uri =>, config =>, vars =>,
/// facts =>, features =>})` (or those as named arguments): a new target,
/// a member of `all` for the rest of the run, as in Bolt.
pub(crate) fn target_new(
    it: &Interpreter,
    _: &Spanned<String>,
    args: Args,
    span: Span,
) -> Eval<Value> {
    let mut spec: Hash = args
        .named
        .iter()
        .map(|(k, (v, _))| (k.clone(), v.clone()))
        .collect();
    match args.positional.first() {
        Some((Value::Str(uri), _)) => {
            spec.insert("uri".into(), Value::Str(uri.clone()));
        }
        Some((Value::Hash(h), _)) => spec.extend(h.iter().map(|(k, v)| (k.clone(), v.clone()))),
        Some((other, at)) => {
            return Err(it.type_error(
                format!(
                    "`Target.new` needs a URI or a Hash, got {}",
                    describe(other)
                ),
                *at,
            ));
        }
        None => {}
    }
    const KEYS: [&str; 6] = ["name", "uri", "config", "vars", "facts", "features"];
    if let Some(k) = spec.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(it.type_error(
            format!("`Target.new` takes {}, not `{k}`", KEYS.join(", ")),
            span,
        ));
    }
    // A key's value when it is a `wanted` (String, Hash), or none.
    let field = |key: &str, wanted: &str| match spec.get(key) {
        None | Some(Value::Undef) => Ok(None),
        Some(v) if v.type_name() == wanted => Ok(Some(v.clone())),
        Some(other) => Err(it.type_error(
            format!(
                "`Target.new`'s `{key}` must be a {wanted}, got {}",
                describe(other)
            ),
            span,
        )),
    };
    let text = |key: &str| -> Eval<Option<String>> {
        Ok(field(key, "String")?
            .map(|v| v.to_display())
            .filter(|s| !s.is_empty()))
    };
    let hash = |key: &str| -> Eval<Option<Arc<Hash>>> {
        Ok(match field(key, "Hash")? {
            Some(Value::Hash(h)) => Some(h),
            _ => None,
        })
    };
    let (name, uri) = match (text("name")?, text("uri")?) {
        (None, None) => {
            return Err(it.type_error("`Target.new` needs a `uri` or a `name`", span));
        }
        (name, uri) => (
            name.clone().or(uri.clone()).unwrap_or_default(),
            uri.or(name).unwrap_or_default(),
        ),
    };
    let (config, vars, facts) = (hash("config")?, hash("vars")?, hash("facts")?);
    let features: Vec<String> = match spec.get("features") {
        Some(Value::Array(items)) => items.iter().map(Value::to_display).collect(),
        _ => Vec::new(),
    };
    let t = it.inventory.new_target(&name, &uri, |t| {
        if let Some(config) = &config {
            config_leaves(t, &mut Vec::new(), config);
        }
        if let Some(vars) = &vars {
            t.vars
                .extend(vars.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        if let Some(facts) = &facts {
            merge(&mut t.facts, facts);
        }
        for f in features {
            if !t.features.contains(&f) {
                t.features.push(f);
            }
        }
    });
    Ok(Value::Target(t))
}

/// `set_config` at every leaf of a config Hash (`transport` first, so that
/// the user and port of its section follow).
fn config_leaves(t: &mut Target, path: &mut Vec<String>, config: &Hash) {
    let mut keys: Vec<&String> = config.keys().collect();
    keys.sort_by_key(|k| path.is_empty() && *k != "transport");
    for k in keys {
        path.push(k.clone());
        match &config[k] {
            Value::Hash(inner) => config_leaves(t, path, inner),
            leaf => super::inventory::set_config(t, path, leaf),
        }
        path.pop();
    }
}

/// Puppet's logging functions (`notice`, `warning`, `err`, `info`,
/// `debug`): their arguments joined by spaces, at drover's level.
pub(crate) fn puppet_log(
    it: &Interpreter,
    name: &Spanned<String>,
    args: Args,
    span: Span,
) -> Eval<Value> {
    let level = match name.node.as_str() {
        "warning" => "warn",
        "err" => "error",
        "debug" => "debug",
        _ => "info",
    };
    let text: Vec<String> = args
        .positional
        .iter()
        .map(|(v, _)| v.to_display())
        .collect();
    it.events
        .log(level, &text.join(" "), &it.program.location(span));
    Ok(Value::Undef)
}

/// `sprintf(format, values...)`: `%s`, `%d`/`%i`, `%f` with a precision,
/// `%x`, `%o`, `%%`; a width (`%5s`, `%-5s`, `%05d`) too.
pub(crate) fn sprintf(
    it: &Interpreter,
    _: &Spanned<String>,
    args: Args,
    span: Span,
) -> Eval<Value> {
    let format = args.string(it, 0, "`sprintf`")?;
    let mut values = args.positional[1..].iter();
    let mut out = String::new();
    let mut chars = format.chars().peekable();
    while let Some(ch) = chars.next() {
        if ch != '%' {
            out.push(ch);
            continue;
        }
        let mut spec = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_ascii_digit() || c == '.' || c == '-' {
                spec.push(c);
                chars.next();
            } else {
                break;
            }
        }
        let Some(conv) = chars.next() else {
            return Err(it.type_error("`sprintf`'s format ends in `%`", span));
        };
        if conv == '%' {
            out.push('%');
            continue;
        }
        let (value, vspan) = values.next().ok_or_else(|| {
            it.type_error(format!("`sprintf` needs a value for `%{spec}{conv}`"), span)
        })?;
        let left = spec.starts_with('-');
        let spec = spec.trim_start_matches('-');
        let zero = spec.starts_with('0') && !left;
        let (width, precision): (usize, Option<usize>) = match spec.split_once('.') {
            Some((w, p)) => (w.parse().unwrap_or(0), p.parse::<usize>().ok()),
            None => (spec.parse().unwrap_or(0), None),
        };
        let number = |v: &Value| match v {
            Value::Int(n) => Some(*n as f64),
            Value::Float(f) => Some(*f),
            Value::Str(s) => s.trim().parse().ok(),
            _ => None,
        };
        let bad = || {
            it.type_error(
                format!("`sprintf`: `%{conv}` cannot format {}", describe(value)),
                *vspan,
            )
        };
        let text = match conv {
            's' => value.to_display(),
            'd' | 'i' => format!("{}", number(value).ok_or_else(bad)?.trunc() as i64),
            'f' => format!(
                "{:.*}",
                precision.unwrap_or(6),
                number(value).ok_or_else(bad)?
            ),
            'x' => format!("{:x}", number(value).ok_or_else(bad)?.trunc() as i64),
            'X' => format!("{:X}", number(value).ok_or_else(bad)?.trunc() as i64),
            'o' => format!("{:o}", number(value).ok_or_else(bad)?.trunc() as i64),
            other => {
                return Err(it.type_error(format!("`sprintf` does not know `%{other}`"), span));
            }
        };
        let pad = width.saturating_sub(text.chars().count());
        if left {
            out.push_str(&text);
            out.push_str(&" ".repeat(pad));
        } else if zero && matches!(conv, 'd' | 'i' | 'f' | 'x' | 'X' | 'o') {
            let (sign, digits) = match text.strip_prefix('-') {
                Some(d) => ("-", d),
                None => ("", text.as_str()),
            };
            out.push_str(sign);
            out.push_str(&"0".repeat(pad));
            out.push_str(digits);
        } else {
            out.push_str(&" ".repeat(pad));
            out.push_str(&text);
        }
    }
    Ok(Value::str(out))
}

/// `Hash.new(pairs)`: a Hash of `[[k, v], ...]` or `[k, v, k, v]`.
pub(crate) fn new_hash(it: &Interpreter, _: &Spanned<String>, args: Args, _: Span) -> Eval<Value> {
    let (value, span) = &args.positional[0];
    let Value::Array(items) = value else {
        return match value {
            Value::Hash(_) => Ok(value.clone()),
            other => Err(it.type_error(
                format!(
                    "`Hash.new` needs an Array of pairs, got {}",
                    describe(other)
                ),
                *span,
            )),
        };
    };
    let pairs: Vec<(Value, Value)> = if items
        .iter()
        .all(|i| matches!(i, Value::Array(p) if p.len() == 2))
    {
        items
            .iter()
            .map(|i| match i {
                Value::Array(p) => (p[0].clone(), p[1].clone()),
                _ => unreachable!("checked above"),
            })
            .collect()
    } else if items.len() % 2 == 0 {
        items
            .chunks(2)
            .map(|c| (c[0].clone(), c[1].clone()))
            .collect()
    } else {
        return Err(it.type_error("`Hash.new` needs pairs: an odd number of elements", *span));
    };
    Ok(Value::hash(
        pairs
            .into_iter()
            .map(|(k, v)| (k.to_display(), v))
            .collect(),
    ))
}

/// `get(data, 'a.b.0')`: the value at a dotted path (indexes for arrays),
/// or undef; the third argument is the default.
pub(crate) fn get_path(it: &Interpreter, _: &Spanned<String>, args: Args, _: Span) -> Eval<Value> {
    let path = args.string(it, 1, "`get`")?;
    let mut at = args.positional[0].0.clone();
    for key in path.split('.').filter(|k| !k.is_empty()) {
        at = match &at {
            Value::Hash(h) => h.get(key).cloned().unwrap_or(Value::Undef),
            Value::Array(a) => key
                .parse::<usize>()
                .ok()
                .and_then(|i| a.get(i).cloned())
                .unwrap_or(Value::Undef),
            _ => Value::Undef,
        };
    }
    Ok(match (at, args.positional.get(2)) {
        (Value::Undef, Some((default, _))) => default.clone(),
        (v, _) => v,
    })
}
