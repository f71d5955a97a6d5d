//! What `test` blocks add to evaluation (`../shared/spec/testing.md`): the
//! stubs that answer a test's actions, the record of its calls, the
//! assertions, `expect_error`, and which statements ran (`--coverage`). The
//! runner that loads, isolates and reports tests is `app::test`.

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use super::args::{Args, targets};
use super::{Branches, Eval, Flow, Frame, Interpreter};
use crate::source::FileId;
use crate::syntax::ast::{Arg, Block, Call, Span, Spanned};
use crate::value::types::describe;
use crate::value::{ErrorValue, Hash, Value};

/// The error kind of an action that no stub answers.
pub const UNSTUBBED: &str = "drover/unstubbed";
/// The error kind of a failed `assert`, `assert_eq` or `expect_error`.
pub const ASSERTION_FAILED: &str = "drover/assertion-failed";

/// Which actions a stub answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StubKind {
    /// `run_task`.
    Task,
    /// `run_command`.
    Command,
    /// `run_script`.
    Script,
    /// `upload_file` (and `write_file`, `download_file`).
    Upload,
    /// `run_plan` from inside a plan.
    Plan,
    /// `wait_up` and `wait_until_available`.
    WaitUp,
}

impl StubKind {
    fn of_function(name: &str) -> StubKind {
        match name {
            "stub_task" => StubKind::Task,
            "stub_command" => StubKind::Command,
            "stub_script" => StubKind::Script,
            "stub_upload" => StubKind::Upload,
            "stub_plan" => StubKind::Plan,
            _ => StubKind::WaitUp,
        }
    }
}

/// What a stub answers on each target it matches.
#[derive(Clone, Debug)]
pub(crate) enum Answer {
    /// `value =>` of a task or plan; success for the other actions.
    Value(Value),
    /// What a command or script printed, and its exit code.
    Output {
        stdout: String,
        stderr: String,
        exit_code: i32,
    },
    /// `error =>`: the action fails with this error.
    Error(ErrorValue),
}

enum Matcher {
    Exact(String),
    Regex(Arc<regex::Regex>),
    Any,
}

struct Stub {
    kind: StubKind,
    matcher: Matcher,
    targets: Option<HashSet<String>>,
    params: Option<Hash>,
    answer: Answer,
    duration: Duration,
    times: Option<u64>,
    used: Cell<u64>,
}

impl Stub {
    fn matches(&self, kind: StubKind, name: &str, target: Option<&str>, params: &Hash) -> bool {
        self.kind == kind
            && self.times.is_none_or(|n| self.used.get() < n)
            && match &self.matcher {
                Matcher::Exact(s) => s == name,
                Matcher::Regex(re) => re.is_match(name),
                Matcher::Any => true,
            }
            && match (&self.targets, target) {
                (None, _) => true,
                (Some(only), Some(t)) => only.contains(t),
                (Some(_), None) => false,
            }
            && self.params.as_ref().is_none_or(|want| {
                want.iter()
                    .all(|(k, v)| params.get(k).is_some_and(|got| got == v))
            })
    }
}

/// Which statements ran, and in which plans, over one or more tests.
#[derive(Default, Debug)]
pub struct Coverage {
    /// The start of every statement that ran.
    pub executed: HashSet<(FileId, u32)>,
    /// The plans that ran.
    pub plans: HashSet<String>,
}

impl Coverage {
    /// Add what another test ran.
    pub fn merge(&mut self, other: Coverage) {
        self.executed.extend(other.executed);
        self.plans.extend(other.plans);
    }
}

/// One test's stubs, call record, clock and outcome. Each test has its own.
#[derive(Default)]
pub struct TestState {
    stubs: RefCell<Vec<Stub>>,
    calls: RefCell<Vec<Value>>,
    started: Cell<Option<tokio::time::Instant>>,
    failure: RefCell<Option<Box<ErrorValue>>>,
    coverage: Option<RefCell<Coverage>>,
}

impl TestState {
    /// A test's state; `coverage` records which statements run.
    pub fn new(coverage: bool) -> Rc<TestState> {
        Rc::new(TestState {
            coverage: coverage.then(RefCell::default),
            ..TestState::default()
        })
    }

    /// What the test ran (empty unless made with coverage).
    pub fn take_coverage(&self) -> Coverage {
        self.coverage
            .as_ref()
            .map(|c| std::mem::take(&mut *c.borrow_mut()))
            .unwrap_or_default()
    }

    /// The test's virtual time so far, in milliseconds.
    pub fn elapsed_ms(&self) -> u64 {
        self.started
            .get()
            .map_or(0, |s| s.elapsed().as_millis() as u64)
    }

    pub(crate) fn cover(&self, span: Span) {
        if let Some(c) = &self.coverage {
            c.borrow_mut().executed.insert((span.file, span.start));
        }
    }

    pub(crate) fn ran_plan(&self, name: &str) {
        if let Some(c) = &self.coverage {
            let mut c = c.borrow_mut();
            if !c.plans.contains(name) {
                c.plans.insert(name.to_string());
            }
        }
    }

    /// The test fails with `e` whatever the code under test does next (a
    /// plan's `try` or `_catch_errors` cannot hide it): the raised error.
    pub(crate) fn fail(&self, e: ErrorValue) -> Flow {
        let mut first = self.failure.borrow_mut();
        if first.is_none() {
            *first = Some(Box::new(e.clone()));
        }
        Flow::Error(Box::new(e))
    }

    /// Add a call to the record.
    pub(crate) fn record(
        &self,
        action: &str,
        name: &str,
        targets: &[&str],
        params: &Hash,
        location: &str,
    ) {
        let mut h = Hash::new();
        h.insert("action".into(), Value::str(action));
        h.insert("name".into(), Value::str(name));
        h.insert(
            "targets".into(),
            Value::array(targets.iter().map(Value::str).collect()),
        );
        h.insert("params".into(), Value::hash(params.clone()));
        h.insert("at".into(), Value::Int(self.elapsed_ms() as i64));
        h.insert("location".into(), Value::str(location));
        self.calls.borrow_mut().push(Value::hash(h));
    }

    /// The answer to one call on each of `targets` (`None` where no stub
    /// matches): the newest stub that matches and is not used up. A call
    /// uses each stub that answers it once, however many targets it answers.
    pub(crate) fn answer(
        &self,
        kind: StubKind,
        name: &str,
        targets: &[Option<&str>],
        params: &Hash,
    ) -> Vec<Option<(Answer, Duration)>> {
        let stubs = self.stubs.borrow();
        let picks: Vec<Option<usize>> = targets
            .iter()
            .map(|t| {
                stubs
                    .iter()
                    .rposition(|s| s.matches(kind, name, *t, params))
            })
            .collect();
        let mut counted = HashSet::new();
        for &i in picks.iter().flatten() {
            if counted.insert(i) {
                stubs[i].used.set(stubs[i].used.get() + 1);
            }
        }
        picks
            .into_iter()
            .map(|p| p.map(|i| (stubs[i].answer.clone(), stubs[i].duration)))
            .collect()
    }
}

impl<'p> Interpreter<'p> {
    /// Run a test's statements: every action stubbed, time virtual (the
    /// caller's runtime is paused). The error that fails the test, if any.
    pub async fn run_test(&self, body: &'p Block) -> Result<(), Box<ErrorValue>> {
        let test = self.test.as_ref().expect("an interpreter made with_test");
        test.started.set(Some(tokio::time::Instant::now()));
        let branches = Rc::new(Branches::default());
        let mut frame = Frame {
            branches: Some(branches.clone()),
            ..Frame::default()
        };
        frame.push();
        let result = branches.drive(self.block(&mut frame, body)).await;
        let waited = branches.drive(branches.await_all()).await;
        self.release_pools();
        if let Some(e) = test.failure.borrow_mut().take() {
            return Err(e);
        }
        match result {
            Err(Flow::Error(e)) => Err(e),
            _ => waited.map_err(Box::new),
        }
    }

    /// The state of the test being run, for a test function.
    fn test_state(&self, span: Span) -> Eval<&TestState> {
        self.test
            .as_deref()
            .ok_or_else(|| self.unsupported("a test function outside `drover test`", span))
    }

    /// An assertion failure at `span`.
    fn assertion(&self, message: String, details: Hash, span: Span) -> Eval<Value> {
        let mut e = ErrorValue::new(ASSERTION_FAILED, message);
        e.details = details;
        e.location = self.program.location(span);
        e.span = Some(span);
        Err(self.test_state(span)?.fail(e))
    }
}

/// `stub_task`, `stub_command`, `stub_script`, `stub_upload`, `stub_plan`
/// and `stub_wait_up`.
pub(crate) fn stub(
    it: &Interpreter,
    name: &Spanned<String>,
    args: Args,
    span: Span,
) -> Eval<Value> {
    let test = it.test_state(span)?;
    let kind = StubKind::of_function(&name.node);
    let what = format!("`{}`", name.node);
    let matcher = match kind {
        StubKind::WaitUp => Matcher::Any,
        _ => {
            let s = args.string(it, 0, &what)?;
            let regex = (s.len() >= 2 && s.starts_with('/') && s.ends_with('/'))
                .then(|| &s[1..s.len() - 1])
                .filter(|_| matches!(kind, StubKind::Command | StubKind::Script));
            match regex {
                Some(re) => Matcher::Regex(Arc::new(regex::Regex::new(re).map_err(|e| {
                    it.error(
                        "drover/bad-regex",
                        format!("{what}: {e}"),
                        args.positional[0].1,
                    )
                })?)),
                None => Matcher::Exact(s.to_string()),
            }
        }
    };
    let mut stub = Stub {
        kind,
        matcher,
        targets: None,
        params: None,
        answer: Answer::Value(Value::Undef),
        duration: Duration::ZERO,
        times: None,
        used: Cell::new(0),
    };
    let (mut value, mut error) = (None, None);
    let (mut stdout, mut stderr, mut exit_code) = (String::new(), String::new(), 0);
    for (key, (v, vspan)) in &args.named {
        let bad = |wanted: &str| {
            it.type_error(
                format!("{what}'s `{key}` needs {wanted}, got {}", describe(v)),
                *vspan,
            )
        };
        match (key.as_str(), v) {
            ("value", v) => value = Some(v.clone()),
            ("stdout", Value::Str(s)) => stdout = s.to_string(),
            ("stderr", Value::Str(s)) => stderr = s.to_string(),
            ("exit_code", Value::Int(n)) => {
                exit_code = i32::try_from(*n).map_err(|_| bad("an exit code"))?
            }
            ("targets", spec) => {
                stub.targets = Some(
                    targets(it, spec, *vspan)?
                        .into_iter()
                        .map(|t| t.name.clone())
                        .collect(),
                )
            }
            ("params", Value::Hash(h)) => stub.params = Some((**h).clone()),
            ("error", Value::Hash(h)) => error = Some(stub_error(it, h, *vspan)?),
            ("duration", Value::Duration(ms)) => stub.duration = Duration::from_millis(*ms),
            ("times", Value::Int(n)) if *n >= 1 => stub.times = Some(*n as u64),
            ("stdout" | "stderr", _) => return Err(bad("a String")),
            ("exit_code", _) => return Err(bad("an Integer")),
            ("params", _) => return Err(bad("a Hash")),
            ("error", _) => return Err(bad("a Hash `{kind => .., msg => ..}`")),
            ("duration", _) => return Err(bad("a Duration")),
            ("times", _) => return Err(bad("an Integer of at least 1")),
            _ => return Err(it.type_error(format!("{what} has no option `{key}`"), *vspan)),
        }
    }
    stub.answer = match (error, value, kind) {
        (Some(_), Some(_), _) => {
            return Err(it.type_error(
                format!("{what} answers with `value` or with `error`, not both"),
                span,
            ));
        }
        (Some(e), None, _) => Answer::Error(e),
        (None, Some(v), StubKind::Task) if !matches!(v, Value::Hash(_)) => {
            return Err(it.type_error(
                format!("a task's value is a Hash, got {}", describe(&v)),
                args.named["value"].1,
            ));
        }
        (None, v, StubKind::Task) => Answer::Value(v.unwrap_or_else(|| Value::hash(Hash::new()))),
        (None, v, StubKind::Plan) => Answer::Value(v.unwrap_or(Value::Undef)),
        (None, _, StubKind::Command | StubKind::Script) => Answer::Output {
            stdout,
            stderr,
            exit_code,
        },
        (None, _, _) => Answer::Value(Value::Undef),
    };
    test.stubs.borrow_mut().push(stub);
    Ok(Value::Undef)
}

/// `error => {kind => .., msg => .., details => {..}}` of a stub.
fn stub_error(it: &Interpreter, h: &Hash, span: Span) -> Eval<ErrorValue> {
    let text = |key: &str| match h.get(key) {
        Some(Value::Str(s)) => Ok(Some(s.to_string())),
        None => Ok(None),
        Some(other) => Err(it.type_error(
            format!(
                "the error's `{key}` needs a String, got {}",
                describe(other)
            ),
            span,
        )),
    };
    let kind = text("kind")?.unwrap_or_else(|| "drover/stubbed-error".into());
    let msg = text("msg")?.unwrap_or_else(|| format!("stubbed error {kind}"));
    let mut e = ErrorValue::new(kind, msg);
    match h.get("details") {
        None => {}
        Some(Value::Hash(d)) => e.details = (**d).clone(),
        Some(other) => {
            return Err(it.type_error(
                format!(
                    "the error's `details` needs a Hash, got {}",
                    describe(other)
                ),
                span,
            ));
        }
    }
    if let Some(k) = h
        .keys()
        .find(|k| !["kind", "msg", "details"].contains(&k.as_str()))
    {
        return Err(it.type_error(
            format!("an error has `kind`, `msg` and `details`, not `{k}`"),
            span,
        ));
    }
    Ok(e)
}

/// `assert(condition)`, `assert(condition, message)`.
pub(crate) fn assert(it: &Interpreter, _: &Spanned<String>, args: Args, span: Span) -> Eval<Value> {
    if args.positional[0].0.truthy() {
        return Ok(Value::Undef);
    }
    let message = match args.positional.get(1) {
        Some((m, _)) => format!("assertion failed: {}", m.to_display()),
        None => "assertion failed".to_string(),
    };
    it.assertion(message, Hash::new(), span)
}

/// `assert_eq(actual, expected)`: both values, where they differ, and a
/// line-by-line difference of their JSON forms.
pub(crate) fn assert_eq(
    it: &Interpreter,
    _: &Spanned<String>,
    args: Args,
    span: Span,
) -> Eval<Value> {
    let (actual, expected) = (&args.positional[0].0, &args.positional[1].0);
    if actual == expected {
        return Ok(Value::Undef);
    }
    let (a, e) = (actual.to_json(), expected.to_json());
    let mut paths = Vec::new();
    differences(&a, &e, "", &mut paths);
    let pretty = |j: &serde_json::Value| serde_json::to_string_pretty(j).unwrap_or_default() + "\n";
    let diff = similar::TextDiff::from_lines(&pretty(&a), &pretty(&e))
        .unified_diff()
        .context_radius(3)
        .header("actual", "expected")
        .to_string();
    let at = match paths.as_slice() {
        [] => String::new(),
        [only] if only.is_empty() => String::new(),
        some => {
            const SHOWN: usize = 10;
            let mut listed: Vec<String> =
                some.iter().take(SHOWN).map(|p| format!("`{p}`")).collect();
            if some.len() > SHOWN {
                listed.push(format!("and {} more", some.len() - SHOWN));
            }
            format!(" at {}", listed.join(", "))
        }
    };
    let mut details = Hash::new();
    details.insert("actual".into(), actual.clone());
    details.insert("expected".into(), expected.clone());
    details.insert(
        "differing".into(),
        Value::array(paths.iter().map(Value::str).collect()),
    );
    details.insert("difference".into(), Value::str(diff));
    it.assertion(
        format!("assert_eq failed: the values differ{at}"),
        details,
        span,
    )
}

/// The paths (`a.b[2]`) where two JSON values differ; `""` is the whole value.
fn differences(a: &serde_json::Value, e: &serde_json::Value, path: &str, out: &mut Vec<String>) {
    use serde_json::Value as J;
    let join = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match (a, e) {
        (J::Object(x), J::Object(y)) => {
            for (k, v) in x {
                match y.get(k) {
                    Some(w) => differences(v, w, &join(k), out),
                    None => out.push(format!("{} (only in actual)", join(k))),
                }
            }
            for k in y.keys().filter(|k| !x.contains_key(*k)) {
                out.push(format!("{} (only in expected)", join(k)));
            }
        }
        (J::Array(x), J::Array(y)) if x.len() == y.len() => {
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                differences(v, w, &format!("{path}[{i}]"), out);
            }
        }
        _ if a != e => out.push(path.to_string()),
        _ => {}
    }
}

/// `calls()`, `calls(action)`, `calls(action, name)`.
pub(crate) fn calls(it: &Interpreter, _: &Spanned<String>, args: Args, span: Span) -> Eval<Value> {
    let test = it.test_state(span)?;
    let mut filters = Vec::new();
    for (i, key) in ["action", "name"].iter().enumerate() {
        if i < args.positional.len() {
            filters.push((*key, args.string(it, i, "`calls`")?));
        }
    }
    let picked = test
        .calls
        .borrow()
        .iter()
        .filter(|c| {
            let Value::Hash(h) = c else { return false };
            filters
                .iter()
                .all(|(k, want)| matches!(h.get(*k), Some(Value::Str(s)) if s == want))
        })
        .cloned()
        .collect();
    Ok(Value::array(picked))
}

/// `now()`: the test's virtual time.
pub(crate) fn now(it: &Interpreter, _: &Spanned<String>, _: Args, span: Span) -> Eval<Value> {
    Ok(Value::Duration(it.test_state(span)?.elapsed_ms()))
}

/// `expect_error(EXPR)` and `expect_error(EXPR, kind => K)`: EXPR is
/// evaluated here, so that the error it raises can be caught.
pub(crate) async fn expect_error<'p>(
    it: &Interpreter<'p>,
    frame: &mut Frame<'p>,
    call: &'p Call,
    span: Span,
) -> Eval<Value> {
    let test = it.test_state(span)?;
    let mut expr = None;
    let mut kind = None;
    for arg in &call.args {
        match arg {
            Arg::Positional(e) if expr.is_none() => expr = Some(e),
            Arg::Named(k, e) if k.node == "kind" => {
                kind = Some((it.value(frame, e).await?, e.span))
            }
            Arg::Named(k, _) => {
                return Err(
                    it.type_error(format!("`expect_error` has no option `{}`", k.node), k.span)
                );
            }
            Arg::Positional(e) => {
                return Err(it.type_error("`expect_error` takes one expression", e.span));
            }
        }
    }
    let Some(expr) = expr else {
        return Err(it.type_error("`expect_error` needs an expression", span));
    };
    let kind = match kind {
        None => None,
        Some((Value::Str(k), _)) => Some(k),
        Some((other, at)) => {
            return Err(it.type_error(
                format!(
                    "`expect_error`'s `kind` needs a String, got {}",
                    describe(&other)
                ),
                at,
            ));
        }
    };
    let raised = match it.expr(frame, expr).await {
        // An unstubbed action or a failed assertion fails the test as is.
        Err(Flow::Error(e)) if test.failure.borrow().is_some() => return Err(Flow::Error(e)),
        Err(Flow::Error(e)) => e,
        Err(other) => return Err(other),
        Ok(v) => {
            let mut details = Hash::new();
            details.insert("value".into(), v.clone());
            return it.assertion(
                format!(
                    "expect_error: the expression raised no error (its value: {})",
                    short(&v)
                ),
                details,
                expr.span,
            );
        }
    };
    if let Some(want) = kind
        && raised.kind != *want
    {
        let mut details = Hash::new();
        details.insert("error".into(), Value::Error(Arc::new((*raised).clone())));
        return it.assertion(
            format!(
                "expect_error: expected an error of kind `{want}`, got `{}`: {}",
                raised.kind, raised.message
            ),
            details,
            expr.span,
        );
    }
    Ok(Value::Error(Arc::new(*raised)))
}

/// A value on one line, cut to a readable length.
fn short(v: &Value) -> String {
    let text = v.to_json().to_string();
    match text.char_indices().nth(120) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}
