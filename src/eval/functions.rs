//! The built-in functions (spec §5 and §6). [`FUNCTIONS`] maps each name of
//! the vocabulary (`crate::lang::FUNCTIONS`) to its implementation; a call is
//! checked against the vocabulary's signature before the implementation
//! runs, so an implementation may index the positional arguments its
//! signature requires.

use std::cmp::Ordering;
use std::sync::OnceLock;

use rustc_hash::FxHashMap;

use super::actions::{self, Action};
use super::args::{Args, index, targets};
use super::bolt;
use super::testing;
use super::{Eval, Frame, Interpreter};
use crate::lang::{Builtin, Vocabulary};
use crate::syntax::ast::{Call, Span, Spanned};
use crate::value::Value;
use crate::value::types::describe;

/// How the evaluator implements a function.
#[derive(Clone, Copy)]
pub(crate) enum Function {
    /// Nothing in it suspends.
    Sync(fn(&Interpreter<'_>, &Spanned<String>, Args, Span) -> Eval<Value>),
    /// `sleep`.
    Sleep,
    /// `acquire`: may wait for a pool target.
    Acquire,
    /// `run_plan`.
    RunPlan,
    /// `parallelize`: runs its lambda concurrently.
    Parallelize,
    /// An action on targets.
    Action(Action),
    /// `expect_error` (in tests): evaluates its own argument, to catch it.
    ExpectError,
    /// Bolt's `wait(futures)`: their values.
    Wait,
    /// Bolt's functions that run their lambda: see [`LambdaUse`].
    WithLambda(LambdaUse),
}

use Function::Sync;

/// How one of Bolt's functions with a lambda uses it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LambdaUse {
    /// `without_default_logging() || { }`: runs it, its value.
    Run,
    /// `with(args...) |params| { }`: runs it on the arguments.
    With,
    /// `catch_errors(kinds?) || { }`: its value, or the error it raised
    /// (of one of `kinds`, when given).
    CatchErrors,
    /// `ctrl::do_until(options?) || { }`: runs it until its value is truthy
    /// (`limit` times at most, `interval` seconds apart): that value, or false.
    DoUntil,
    /// `background(name?) || { }`: starts it beside the plan, a Future.
    Background,
}

/// Every function the evaluator implements, sorted by name (binary search).
pub(crate) const FUNCTIONS: &[(&str, Function)] = &[
    ("Boolean", Sync(bolt::to_boolean)),
    ("Hash.new", Sync(bolt::new_hash)),
    ("Integer", Sync(bolt::to_integer)),
    ("Result.new", Sync(bolt::new_result)),
    ("ResultSet", Sync(bolt::new_result_set)),
    ("ResultSet.new", Sync(bolt::new_result_set)),
    ("String", Sync(bolt::to_string)),
    ("Target.new", Sync(bolt::target_new)),
    ("Timespan", Sync(bolt::timespan)),
    ("Timestamp", Sync(bolt::timestamp)),
    ("acquire", Function::Acquire),
    ("acquired", Sync(acquired)),
    ("add_facts", Sync(bolt::add_facts)),
    ("add_to_group", Sync(bolt::add_to_group)),
    ("assert_type", Sync(bolt::assert_type)),
    ("background", Function::WithLambda(LambdaUse::Background)),
    ("catch_errors", Function::WithLambda(LambdaUse::CatchErrors)),
    ("ctrl::do_until", Function::WithLambda(LambdaUse::DoUntil)),
    ("ctrl::sleep", Function::Sleep),
    ("debug", Sync(bolt::puppet_log)),
    ("dir::children", Sync(bolt::dir_children)),
    ("download_file", Function::Action(Action::Download)),
    ("err", Sync(bolt::puppet_log)),
    ("facts", Sync(bolt::facts_or_vars)),
    ("fail", Sync(bolt::fail)),
    ("fail_plan", Sync(bolt::fail_plan)),
    ("file::exists", Sync(bolt::file_test)),
    ("file::join", Sync(bolt::file_join)),
    ("file::read", Sync(bolt::file_read)),
    ("file::readable", Sync(bolt::file_test)),
    ("file::write", Sync(bolt::file_write)),
    ("from_json", Sync(from_json)),
    ("get", Sync(bolt::get_path)),
    ("get_target", Sync(get_target)),
    ("get_targets", Sync(get_targets)),
    ("info", Sync(bolt::puppet_log)),
    ("log::debug", Sync(log)),
    ("log::error", Sync(log)),
    ("log::info", Sync(log)),
    ("log::warn", Sync(log)),
    ("max", Sync(min_max)),
    ("min", Sync(min_max)),
    ("notice", Sync(bolt::puppet_log)),
    ("out::message", Sync(message)),
    ("out::verbose", Sync(bolt::verbose)),
    ("parallelize", Function::Parallelize),
    ("parsejson", Sync(bolt::parse_data)),
    ("parseyaml", Sync(bolt::parse_data)),
    ("pick", Sync(bolt::pick)),
    ("prompt", Sync(bolt::prompt)),
    ("range", Sync(range)),
    ("release", Sync(release)),
    ("remove_from_group", Sync(bolt::remove_from_group)),
    ("resolve_references", Sync(bolt::resolve_references)),
    ("run_command", Function::Action(Action::Command)),
    ("run_plan", Function::RunPlan),
    ("run_script", Function::Action(Action::Script)),
    ("run_task", Function::Action(Action::Task)),
    ("set_config", Sync(bolt::set_config)),
    ("set_feature", Sync(bolt::set_feature)),
    ("set_var", Sync(bolt::set_var)),
    ("sleep", Function::Sleep),
    ("sprintf", Sync(bolt::sprintf)),
    ("system::env", Sync(bolt::env)),
    ("to_json", Sync(to_json)),
    ("type", Sync(bolt::type_of)),
    ("upload_file", Function::Action(Action::Upload)),
    ("vars", Sync(bolt::facts_or_vars)),
    ("wait", Function::Wait),
    (
        "wait_until_available",
        Function::Action(Action::WaitUntilAvailable),
    ),
    ("wait_up", Function::Action(Action::WaitUp)),
    ("warning", Sync(bolt::puppet_log)),
    ("with", Function::WithLambda(LambdaUse::With)),
    (
        "without_default_logging",
        Function::WithLambda(LambdaUse::Run),
    ),
    ("write_file", Function::Action(Action::WriteFile)),
];

/// The functions of `test` blocks, sorted by name; their signatures are
/// `crate::lang::TESTING`, their implementations `eval::testing`'s.
pub(crate) const TEST_FUNCTIONS: &[(&str, Function)] = &[
    ("assert", Sync(testing::assert)),
    ("assert_eq", Sync(testing::assert_eq)),
    ("calls", Sync(testing::calls)),
    ("expect_error", Function::ExpectError),
    ("now", Sync(testing::now)),
    ("stub_command", Sync(testing::stub)),
    ("stub_plan", Sync(testing::stub)),
    ("stub_script", Sync(testing::stub)),
    ("stub_task", Sync(testing::stub)),
    ("stub_upload", Sync(testing::stub)),
    ("stub_wait_up", Sync(testing::stub)),
];

/// The test functions with their signatures, by name.
fn test_table() -> &'static FxHashMap<&'static str, (&'static Builtin, Function)> {
    static VOCABULARY: OnceLock<Vocabulary> = OnceLock::new();
    static TABLE: OnceLock<FxHashMap<&'static str, (&'static Builtin, Function)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let vocab = VOCABULARY.get_or_init(|| Vocabulary::standard().clone().with_testing());
        index(TEST_FUNCTIONS, |n| vocab.function(n))
    })
}

/// The implementation of function `name`, if the evaluator has one.
pub(crate) fn lookup(name: &str) -> Option<Function> {
    FUNCTIONS
        .binary_search_by(|(n, _)| (*n).cmp(name))
        .ok()
        .map(|i| FUNCTIONS[i].1)
}

/// The vocabulary's functions with their implementations, by name.
fn table() -> &'static FxHashMap<&'static str, (&'static Builtin, Function)> {
    static TABLE: OnceLock<FxHashMap<&'static str, (&'static Builtin, Function)>> = OnceLock::new();
    TABLE.get_or_init(|| index(FUNCTIONS, |n| Vocabulary::standard().function(n)))
}

/// The function `name` of the vocabulary and its implementation; an
/// `unknown-function` error (with did-you-mean) when either is missing.
fn resolve(it: &Interpreter, name: &Spanned<String>) -> Eval<(&'static Builtin, Function)> {
    if let Some(found) = table().get(name.node.as_str()) {
        return Ok(*found);
    }
    if it.test.is_some()
        && let Some(found) = test_table().get(name.node.as_str())
    {
        return Ok(*found);
    }
    let vocab = Vocabulary::standard();
    let hint =
        crate::diagnostic::did_you_mean(&name.node, vocab.functions().iter().map(|b| b.name))
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_default();
    Err(it.error(
        "drover/unknown-function",
        format!("unknown function `{}`{hint}", name.node),
        name.span,
    ))
}

/// A call of a built-in function or action: the arguments evaluated, then
/// checked against the vocabulary's signature, then the implementation.
pub(crate) async fn call<'p>(
    it: &Interpreter<'p>,
    frame: &mut Frame<'p>,
    call: &'p Call,
    span: Span,
) -> Eval<Value> {
    if table().get(call.name.node.as_str()).is_none()
        && let Some(f) = it.program.function(&call.name.node)
    {
        let args = it.args(frame, &call.args).await?;
        return it.call_function(f, args, span).await;
    }
    let (builtin, imp) = resolve(it, &call.name)?;
    if let Function::ExpectError = imp {
        return testing::expect_error(it, frame, call, span).await;
    }
    let mut args = it.args(frame, &call.args).await?;
    if it.program.is_puppet(span.file) {
        bolt::positional_options(&call.name.node, &mut args);
    }
    args.check(it, builtin, call.lambda.is_some(), span)?;
    match imp {
        Sync(f) => f(it, &call.name, args, span),
        Function::Sleep => sleep(it, &call.name.node, args, span).await,
        Function::Acquire => acquire(it, args, span).await,
        Function::RunPlan => it.call_plan(args, span).await,
        Function::Parallelize => it.parallelize(frame, call, args, span).await,
        Function::Action(action) => actions::run(it, action, args, span).await,
        Function::ExpectError => unreachable!("evaluated before its arguments"),
        Function::Wait => wait(it, args).await,
        Function::WithLambda(usage) => with_lambda(it, frame, call, usage, args, span).await,
    }
}

/// Bolt's functions that run their lambda.
async fn with_lambda<'p>(
    it: &Interpreter<'p>,
    frame: &mut Frame<'p>,
    call: &'p Call,
    usage: LambdaUse,
    args: Args,
    span: Span,
) -> Eval<Value> {
    let Some(lambda) = &call.lambda else {
        return Ok(Value::Undef);
    };
    match usage {
        LambdaUse::Run => it.call_lambda(frame, lambda, Vec::new()).await,
        LambdaUse::With => {
            let values = args.positional.into_iter().map(|(v, _)| v).collect();
            it.call_lambda(frame, lambda, values).await
        }
        LambdaUse::CatchErrors => {
            let kinds: Vec<String> = match args.positional.first() {
                Some((Value::Array(k), _)) => k.iter().map(Value::to_display).collect(),
                Some((Value::Str(k), _)) => vec![k.to_string()],
                _ => Vec::new(),
            };
            match it.call_lambda(frame, lambda, Vec::new()).await {
                Err(super::Flow::Error(e)) if kinds.is_empty() || kinds.contains(&e.kind) => {
                    Ok(Value::Error(std::sync::Arc::new(*e)))
                }
                other => other,
            }
        }
        LambdaUse::DoUntil => {
            let opts = match args.positional.first() {
                Some((Value::Hash(h), _)) => Some(h.clone()),
                _ => None,
            };
            let get = |k: &str| {
                opts.as_ref()
                    .and_then(|h| h.get(k).cloned())
                    .or_else(|| args.named.get(k).map(|(v, _)| v.clone()))
            };
            let limit = match get("limit") {
                Some(Value::Int(n)) if n > 0 => Some(n as u64),
                _ => None,
            };
            let interval = get("interval")
                .and_then(|v| super::args::seconds(&v))
                .unwrap_or_default();
            let mut tries = 0u64;
            loop {
                let v = it.call_lambda(frame, lambda, Vec::new()).await?;
                if v.truthy() {
                    return Ok(v);
                }
                tries += 1;
                if limit.is_some_and(|l| tries >= l) {
                    return Ok(Value::Bool(false));
                }
                if interval.is_zero() {
                    // Never spin without yielding: other branches run.
                    tokio::task::yield_now().await;
                } else {
                    tokio::time::sleep(interval).await;
                }
            }
        }
        LambdaUse::Background => Ok(Value::Future(it.start_branch_valued(
            frame,
            &lambda.body,
            span,
            true,
        )?)),
    }
}

/// `wait(future or futures)`: their values (an error a branch raised is
/// raised here).
async fn wait(it: &Interpreter<'_>, args: Args) -> Eval<Value> {
    let (value, span) = &args.positional[0];
    let one = |v: &Value| match v {
        Value::Future(slot) => Ok(slot.clone()),
        other => Err(it.type_error(
            format!(
                "`wait` needs Futures (from `background`), got {}",
                describe(other)
            ),
            *span,
        )),
    };
    match value {
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items.iter() {
                out.push(
                    one(item)?
                        .wait()
                        .await
                        .map_err(|e| super::Flow::Error(Box::new(e)))?,
                );
            }
            Ok(Value::array(out))
        }
        single => one(single)?
            .wait()
            .await
            .map_err(|e| super::Flow::Error(Box::new(e))),
    }
}

/// `log::debug(message)` and the other levels.
fn log(it: &Interpreter, name: &Spanned<String>, args: Args, span: Span) -> Eval<Value> {
    let level = name.node.strip_prefix("log::").unwrap_or(&name.node);
    let location = it.program.location(span);
    it.events
        .log(level, &args.positional[0].0.to_display(), &location);
    Ok(Value::Undef)
}

/// `out::message(text)`.
fn message(it: &Interpreter, _: &Spanned<String>, args: Args, span: Span) -> Eval<Value> {
    let location = it.program.location(span);
    it.events
        .message(&args.positional[0].0.to_display(), &location);
    Ok(Value::Undef)
}

/// `range(from, to)`.
fn range(it: &Interpreter, _: &Spanned<String>, args: Args, span: Span) -> Eval<Value> {
    let what = "`range`";
    let (from, to) = (args.int(it, 0, what)?, args.int(it, 1, what)?);
    const LIMIT: i64 = 10_000_000;
    if to.saturating_sub(from) >= LIMIT {
        return Err(it.type_error(format!("`range` is limited to {LIMIT} elements"), span));
    }
    Ok(Value::array((from..=to).map(Value::Int).collect()))
}

/// `min(values...)` and `max(values...)`, of the values or of one array.
fn min_max(it: &Interpreter, name: &Spanned<String>, args: Args, span: Span) -> Eval<Value> {
    let what = format!("`{}`", name.node);
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
                    return Err(it.type_error(
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
    best.ok_or_else(|| it.type_error(format!("{what} needs at least one value"), span))
}

/// `to_json(value)`.
fn to_json(_: &Interpreter, _: &Spanned<String>, args: Args, _: Span) -> Eval<Value> {
    Ok(Value::str(args.positional[0].0.to_json().to_string()))
}

/// `from_json(text)`.
fn from_json(it: &Interpreter, _: &Spanned<String>, args: Args, _: Span) -> Eval<Value> {
    let text = args.string(it, 0, "`from_json`")?;
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(j) => Ok(Value::from_json(&j)),
        Err(e) => Err(it.error(
            "drover/json-error",
            format!("`from_json`: {e}"),
            args.positional[0].1,
        )),
    }
}

/// `get_targets(spec)`.
fn get_targets(it: &Interpreter, _: &Spanned<String>, args: Args, _: Span) -> Eval<Value> {
    let (spec, sspan) = &args.positional[0];
    Ok(Value::array(
        targets(it, spec, *sspan)?
            .into_iter()
            .map(Value::Target)
            .collect(),
    ))
}

/// `get_target(spec)`: exactly one target.
fn get_target(it: &Interpreter, _: &Spanned<String>, args: Args, _: Span) -> Eval<Value> {
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

/// `release(targets)`: gives pool targets back.
fn release(it: &Interpreter, _: &Spanned<String>, args: Args, span: Span) -> Eval<Value> {
    let (spec, sspan) = &args.positional[0];
    for t in targets(it, spec, *sspan)? {
        if !it.pools.release(it.run_id, &t.name) {
            it.events.log(
                "warn",
                &format!("released `{}`, which this run does not hold", t.name),
                &it.program.location(span),
            );
            continue;
        }
        let mut holding = it.holding.borrow_mut();
        if let Some(i) = holding.iter().position(|(_, h)| *h == t.name) {
            let (pool, target) = holding.remove(i);
            it.events.released(&pool, &[target], "released");
        }
    }
    Ok(Value::Undef)
}

/// `acquired(pool)`: the pool's targets this run holds.
fn acquired(it: &Interpreter, _: &Spanned<String>, args: Args, _: Span) -> Eval<Value> {
    let pool = args.string(it, 0, "`acquired`")?;
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

/// `sleep(duration)` and Bolt's `ctrl::sleep(seconds)` (a number, or a
/// Duration), on the run's clock (virtual in a dry run).
async fn sleep(it: &Interpreter<'_>, name: &str, args: Args, call: Span) -> Eval<Value> {
    let (value, span) = &args.positional[0];
    let wait = match value {
        Value::Duration(ms) => Some(std::time::Duration::from_millis(*ms)),
        _ if name == "ctrl::sleep" => super::args::seconds(value),
        _ => None,
    };
    let wait = wait.ok_or_else(|| {
        let needs = if name == "sleep" {
            "a Duration"
        } else {
            "seconds"
        };
        it.type_error(
            format!("`{name}` needs {needs}, got {}", describe(value)),
            *span,
        )
    })?;
    it.events
        .sleep(wait.as_millis() as u64, &it.program.location(call));
    tokio::time::sleep(wait).await;
    Ok(Value::Undef)
}

/// `acquire(pool, scope =>, timeout =>, count =>)`.
async fn acquire(it: &Interpreter<'_>, args: Args, span: Span) -> Eval<Value> {
    use crate::pools::{Request, Scope};
    let pool = args.string(it, 0, "`acquire`")?;
    let Some(members) = it.inventory.group(&pool) else {
        let hint = crate::diagnostic::did_you_mean(
            &pool,
            it.inventory.group_names().iter().map(String::as_str),
        )
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
                return Err(it.type_error(
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
    let scope_name = match scope {
        Scope::Global => "global",
        Scope::Role => "role",
    };
    let started = tokio::time::Instant::now();
    let names = it.pools.acquire(request, timeout).await.map_err(|e| {
        let kind = match e {
            crate::pools::PoolError::Store(_) => "drover/state-error",
            _ => "drover/acquire-timeout",
        };
        it.error(kind, e.to_string(), span)
    })?;
    it.events.acquired(
        &pool,
        &names,
        scope_name,
        started.elapsed().as_millis() as u64,
    );
    it.holding
        .borrow_mut()
        .extend(names.iter().map(|n| (pool.to_string(), n.clone())));
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

#[cfg(test)]
mod tests {
    #[test]
    fn the_table_is_sorted_for_binary_search() {
        let names: Vec<&str> = super::FUNCTIONS.iter().map(|(n, _)| *n).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(names, sorted);
    }
}
