//! Runtime values (spec §3). Compound values sit behind `Arc`, so copying a
//! scope for a concurrent body is cheap and values can cross threads.

pub mod target;
pub mod types;

pub use target::{Target, TransportKind};

use std::cmp::Ordering;
use std::fmt::Write as _;
use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::json;

/// An ordered hash with string keys.
pub(crate) type Hash = IndexMap<String, Value>;

/// A value of the plan language.
#[derive(Clone, Debug)]
pub enum Value {
    /// `undef`
    Undef,
    /// `true`, `false`
    Bool(bool),
    /// 64-bit integer.
    Int(i64),
    /// 64-bit float.
    Float(f64),
    /// A string.
    Str(Arc<str>),
    /// A duration in milliseconds.
    Duration(u64),
    /// An array.
    Array(Arc<Vec<Value>>),
    /// A hash in insertion order.
    Hash(Arc<Hash>),
    /// A raised or caught error.
    Error(Arc<ErrorValue>),
    /// A target of the inventory (or an ad-hoc one).
    Target(Arc<Target>),
    /// The outcome of an action on one target.
    Result(Arc<ActionResult>),
    /// The outcomes of an action on all its targets, in target order.
    ResultSet(Arc<Vec<Arc<ActionResult>>>),
    /// A branch started by `async { }`.
    Future(Arc<FutureSlot>),
    /// A secret: prints as `[sensitive]`, `.unwrap` gives the value to code.
    Sensitive(Secret),
    /// A type, in Puppet plans (`Integer[1]`): prints as written.
    Type(Arc<crate::syntax::ast::Type>),
}

/// The inside of a Sensitive value. Its `Debug` is redacted too, so not even
/// a debug log can reveal it; only [`Secret::reveal`] gives it to code.
#[derive(Clone, PartialEq)]
pub struct Secret(Arc<Value>);

impl Secret {
    /// Wrap a value. Its text is remembered, so that a command or task that
    /// prints it (given it in its environment, say) shows `[sensitive]`
    /// instead: see [`mask`].
    pub(crate) fn new(v: Value) -> Self {
        remember(&v);
        Secret(Arc::new(v))
    }

    /// The secret itself, for code that needs it (never for output).
    pub(crate) fn reveal(&self) -> &Value {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[sensitive]")
    }
}

/// The texts of every secret of this process, longest first. Texts shorter
/// than [`SHORTEST_MASKED`] are not masked: they would blank ordinary output.
static SECRET_TEXTS: std::sync::RwLock<Vec<String>> = std::sync::RwLock::new(Vec::new());

/// Secrets shorter than this many bytes are not masked in output.
pub const SHORTEST_MASKED: usize = 4;

fn remember(v: &Value) {
    match v {
        Value::Str(s) if s.len() >= SHORTEST_MASKED => {
            let mut all = SECRET_TEXTS.write().unwrap_or_else(|e| e.into_inner());
            if !all.iter().any(|t| t.as_str() == &**s) {
                all.push(s.to_string());
                all.sort_by_key(|t| std::cmp::Reverse(t.len()));
            }
        }
        Value::Array(items) => items.iter().for_each(remember),
        Value::Hash(h) => h.values().for_each(remember),
        Value::Sensitive(s) => remember(s.reveal()),
        _ => {}
    }
}

/// Whether any secret has been made (nothing to mask otherwise).
pub(crate) fn any_secrets() -> bool {
    !SECRET_TEXTS
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .is_empty()
}

/// `text` with every secret's text replaced by `[sensitive]`: for what
/// commands and tasks print, which drover does not control.
pub fn mask(text: &str) -> std::borrow::Cow<'_, str> {
    let all = SECRET_TEXTS.read().unwrap_or_else(|e| e.into_inner());
    if !all.iter().any(|s| text.contains(s.as_str())) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = text.to_string();
    for s in all.iter() {
        out = out.replace(s.as_str(), "[sensitive]");
    }
    std::borrow::Cow::Owned(out)
}

/// `v` with [`mask`] applied to every string in it.
pub(crate) fn masked(v: Value) -> Value {
    match v {
        Value::Str(s) => match mask(&s) {
            std::borrow::Cow::Borrowed(_) => Value::Str(s),
            std::borrow::Cow::Owned(m) => Value::str(m),
        },
        Value::Array(items) => Value::array(items.iter().cloned().map(masked).collect()),
        Value::Hash(h) => Value::hash(
            h.iter()
                .map(|(k, v)| (k.clone(), masked(v.clone())))
                .collect(),
        ),
        other => other,
    }
}

/// JSON with [`mask`] applied to every string (and key) in it: every event
/// goes through this before it is written anywhere.
pub(crate) fn masked_json(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        J::String(s) => match mask(&s) {
            std::borrow::Cow::Borrowed(_) => J::String(s),
            std::borrow::Cow::Owned(m) => J::String(m),
        },
        J::Array(items) => J::Array(items.into_iter().map(masked_json).collect()),
        J::Object(map) => J::Object(
            map.into_iter()
                .map(|(k, v)| (mask(&k).into_owned(), masked_json(v)))
                .collect(),
        ),
        other => other,
    }
}

/// An error with [`mask`] applied to its message and details (and to those
/// of the errors it holds), for output.
pub(crate) fn masked_error(e: &ErrorValue) -> ErrorValue {
    let mut out = e.clone();
    out.message = mask(&e.message).into_owned();
    out.details = e
        .details
        .iter()
        .map(|(k, v)| (k.clone(), masked(v.clone())))
        .collect();
    out
}

/// An `Error` value (spec §4.4).
#[derive(Clone, Debug, PartialEq)]
pub struct ErrorValue {
    /// Such as `drover/plan-failure` or `site/disk-full`.
    pub kind: String,
    /// What happened.
    pub message: String,
    /// Structured details.
    pub details: Hash,
    /// The target it concerns, if any.
    pub target: Option<String>,
    /// `file:line:column` of the statement that raised it.
    pub location: String,
    /// Where in the source it was raised, for a snippet in the report.
    pub span: Option<crate::source::Span>,
}

impl ErrorValue {
    /// An error without details, target or location (filled in when raised).
    pub(crate) fn new(kind: impl Into<String>, message: impl Into<String>) -> Self {
        ErrorValue {
            kind: kind.into(),
            message: message.into(),
            details: Hash::new(),
            target: None,
            location: String::new(),
            span: None,
        }
    }

    /// The error at the bottom of loop and run failures (the first failed
    /// iteration's, the first failed target's): what a person needs to read.
    pub(crate) fn cause(&self) -> &ErrorValue {
        if let Some(Value::Array(failed)) = self.details.get("failed")
            && let Some(Value::Hash(first)) = failed.first()
            && let Some(Value::Error(e)) = first.get("error")
        {
            return e.cause();
        }
        if let Some(Value::ResultSet(set)) = self.details.get("result_set")
            && let Some(e) = set.iter().find_map(|r| r.error.as_ref())
        {
            return e.cause();
        }
        self
    }

    /// JSON as spec §8 gives it: `{kind, message, details}` (plus location,
    /// and the target it concerns if any).
    pub(crate) fn to_json(&self) -> serde_json::Value {
        let mut json = json!({
            "kind": self.kind,
            "message": self.message,
            "details": Value::Hash(Arc::new(self.details.clone())).to_json(),
            "location": self.location,
        });
        if let Some(target) = &self.target {
            json["target"] = target.as_str().into();
        }
        json
    }
}

/// Where an `async` branch leaves its outcome for `await`.
#[derive(Debug, Default)]
pub struct FutureSlot {
    result: std::sync::Mutex<Option<Result<Value, ErrorValue>>>,
    awaited: std::sync::atomic::AtomicBool,
    done: tokio::sync::Notify,
}

impl FutureSlot {
    /// Store the branch's outcome and wake whoever awaits it.
    pub(crate) fn complete(&self, result: Result<Value, ErrorValue>) {
        *self.result.lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
        self.done.notify_waiters();
    }

    /// True once `await` has taken the outcome (or the plan's end has).
    pub(crate) fn awaited(&self) -> bool {
        self.awaited.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Wait for the outcome; it can be awaited more than once.
    pub(crate) async fn wait(&self) -> Result<Value, ErrorValue> {
        self.awaited
            .store(true, std::sync::atomic::Ordering::Relaxed);
        loop {
            // Register before looking, so a completion in between is not missed.
            let notified = self.done.notified();
            if let Some(r) = self
                .result
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .as_ref()
            {
                return r.clone();
            }
            notified.await;
        }
    }
}

/// What an action did on one target.
#[derive(Clone, Debug, PartialEq)]
pub struct ActionResult {
    /// The target.
    pub target: Arc<Target>,
    /// `run_command`, `run_task`, ...
    pub action: String,
    /// The task's JSON object, or `{stdout, stderr, exit_code}` for commands.
    pub value: Hash,
    /// Why it failed, if it did.
    pub error: Option<ErrorValue>,
    /// How long it took.
    pub duration_ms: u64,
}

impl ActionResult {
    /// True when the action succeeded.
    pub(crate) fn ok(&self) -> bool {
        self.error.is_none()
    }

    /// JSON as spec §8 gives it: `{target, ok, value, error?}`.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        let mut j = json!({
            "target": self.target.name,
            "ok": self.ok(),
            "value": Value::hash(self.value.clone()).to_json(),
        });
        if let Some(e) = &self.error {
            j["error"] = e.to_json();
        }
        j
    }
}

impl PartialEq for Value {
    /// Structural equality; integers and floats compare by value.
    fn eq(&self, other: &Self) -> bool {
        use Value::*;
        match (self, other) {
            (Undef, Undef) => true,
            (Bool(a), Bool(b)) => a == b,
            (Int(a), Int(b)) => a == b,
            (Float(a), Float(b)) => a == b,
            (Int(a), Float(b)) | (Float(b), Int(a)) => (*a as f64) == *b,
            (Str(a), Str(b)) => a == b,
            (Duration(a), Duration(b)) => a == b,
            (Array(a), Array(b)) => a == b,
            (Hash(a), Hash(b)) => a.len() == b.len() && a.iter().all(|(k, v)| b.get(k) == Some(v)),
            (Error(a), Error(b)) => a == b,
            (Target(a), Target(b)) => a.name == b.name,
            (Result(a), Result(b)) => a == b,
            (ResultSet(a), ResultSet(b)) => a == b,
            (Future(a), Future(b)) => Arc::ptr_eq(a, b),
            (Sensitive(a), Sensitive(b)) => a == b,
            (Type(a), Type(b)) => types::type_text(a) == types::type_text(b),
            _ => false,
        }
    }
}

impl Value {
    /// A string value.
    pub(crate) fn str(s: impl AsRef<str>) -> Value {
        Value::Str(Arc::from(s.as_ref()))
    }

    /// An array value.
    pub(crate) fn array(items: Vec<Value>) -> Value {
        Value::Array(Arc::new(items))
    }

    /// A hash value.
    pub(crate) fn hash(h: Hash) -> Value {
        Value::Hash(Arc::new(h))
    }

    /// The name of the value's type, as plans write it.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Value::Undef => "Undef",
            Value::Bool(_) => "Boolean",
            Value::Int(_) => "Integer",
            Value::Float(_) => "Float",
            Value::Str(_) => "String",
            Value::Duration(_) => "Duration",
            Value::Array(_) => "Array",
            Value::Hash(_) => "Hash",
            Value::Error(_) => "Error",
            Value::Target(_) => "Target",
            Value::Result(_) => "Result",
            Value::ResultSet(_) => "ResultSet",
            Value::Future(_) => "Future",
            Value::Sensitive(_) => "Sensitive",
            Value::Type(_) => "Type",
        }
    }

    /// Puppet's truth: only `false` and `undef` are false.
    pub(crate) fn truthy(&self) -> bool {
        !matches!(self, Value::Undef | Value::Bool(false))
    }

    /// Ordering for `<`, `sort` and `min`/`max`: numbers, strings and durations
    /// among their own kind; `None` for anything else.
    pub(crate) fn compare(&self, other: &Value) -> Option<Ordering> {
        use Value::*;
        match (self, other) {
            (Int(a), Int(b)) => Some(a.cmp(b)),
            (Int(a), Float(b)) => (*a as f64).partial_cmp(b),
            (Float(a), Int(b)) => a.partial_cmp(&(*b as f64)),
            (Float(a), Float(b)) => a.partial_cmp(b),
            (Str(a), Str(b)) => Some(a.cmp(b)),
            (Duration(a), Duration(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }

    /// The text of a value as interpolation and `to_s` give it. Sensitive
    /// values are redacted here, so no output path can reveal them.
    pub fn to_display(&self) -> String {
        let mut out = String::new();
        self.write_display(&mut out, false);
        out
    }

    fn write_display(&self, out: &mut String, nested: bool) {
        match self {
            Value::Undef if nested => out.push_str("undef"),
            Value::Undef => {}
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Value::Float(f) => out.push_str(&float_text(*f)),
            Value::Str(s) if nested => {
                let _ = write!(out, "{:?}", s.as_ref());
            }
            Value::Str(s) => out.push_str(s),
            Value::Duration(ms) => out.push_str(&crate::duration::format(*ms)),
            Value::Array(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    v.write_display(out, true);
                }
                out.push(']');
            }
            Value::Hash(h) => {
                out.push('{');
                for (i, (k, v)) in h.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    let _ = write!(out, "{k:?} => ");
                    v.write_display(out, true);
                }
                out.push('}');
            }
            Value::Error(e) => {
                let _ = write!(out, "{} ({})", e.message, e.kind);
            }
            Value::Sensitive(_) => out.push_str("[sensitive]"),
            Value::Target(t) => out.push_str(&t.name),
            Value::Result(r) => {
                let _ = write!(
                    out,
                    "{}: {}",
                    r.target.name,
                    if r.ok() { "ok" } else { "failed" }
                );
            }
            Value::Future(_) => out.push_str("[future]"),
            Value::Type(t) => out.push_str(&types::type_text(t)),
            Value::ResultSet(rs) => {
                let failed = rs.iter().filter(|r| !r.ok()).count();
                let _ = write!(out, "{} results, {failed} failed", rs.len());
            }
        }
    }

    /// JSON as spec §8 gives it; Sensitive values are `"[sensitive]"`.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Undef => serde_json::Value::Null,
            Value::Bool(b) => json!(b),
            Value::Int(n) => json!(n),
            Value::Float(f) => json!(f),
            Value::Str(s) => json!(s.as_ref()),
            Value::Duration(ms) => json!(crate::duration::format(*ms)),
            Value::Array(items) => items.iter().map(Value::to_json).collect(),
            Value::Hash(h) => {
                serde_json::Value::Object(h.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
            }
            Value::Error(e) => e.to_json(),
            Value::Sensitive(_) => json!("[sensitive]"),
            Value::Target(t) => json!(t.name),
            Value::Result(r) => r.to_json(),
            Value::ResultSet(rs) => rs.iter().map(|r| r.to_json()).collect(),
            Value::Future(_) => json!("[future]"),
            Value::Type(t) => json!(types::type_text(t)),
        }
    }

    /// A value from JSON (`from_json`, task output, `--params`).
    pub(crate) fn from_json(j: &serde_json::Value) -> Value {
        match j {
            serde_json::Value::Null => Value::Undef,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Value::str(s),
            serde_json::Value::Array(items) => {
                Value::array(items.iter().map(Value::from_json).collect())
            }
            serde_json::Value::Object(map) => Value::hash(
                map.iter()
                    .map(|(k, v)| (k.clone(), Value::from_json(v)))
                    .collect(),
            ),
        }
    }
}

/// A float as plans print it: always with a point, never with an exponent.
pub(crate) fn float_text(f: f64) -> String {
    if !f.is_finite() {
        return f.to_string();
    }
    let mut s = f.to_string();
    if !s.contains('.') {
        s.push_str(".0");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitive_values_never_show() {
        let secret = Value::Sensitive(Secret::new(Value::str("hunter2")));
        let nested = Value::array(vec![
            secret.clone(),
            Value::hash(Hash::from([("k".into(), secret.clone())])),
        ]);
        assert_eq!(
            nested.to_display(),
            r#"[[sensitive], {"k" => [sensitive]}]"#
        );
        assert!(!nested.to_json().to_string().contains("hunter2"));
        assert!(!format!("{nested:?}").contains("hunter2"));
    }

    #[test]
    fn truth_and_equality() {
        assert!(Value::Int(0).truthy() && Value::str("").truthy());
        assert!(!Value::Undef.truthy() && !Value::Bool(false).truthy());
        assert_eq!(Value::Int(1), Value::Float(1.0));
        assert_ne!(Value::str("a"), Value::str("A"));
        assert_eq!(Value::Duration(90_000).to_display(), "1m30s");
        assert_eq!(Value::Float(2.0).to_display(), "2.0");
    }
}
