//! Type checks and conversions for declared types (plan parameters, lambda
//! parameters), spec §3.

use std::sync::Arc;

use crate::syntax::ast::{Type, TypeArg};
use crate::value::{Secret, Value};

/// Render a type as written: `Optional[Array[String]]`.
pub(crate) fn type_text(ty: &Type) -> String {
    if ty.args.is_empty() {
        return ty.name.node.clone();
    }
    let args: Vec<String> = ty
        .args
        .iter()
        .map(|a| match &a.node {
            TypeArg::Type(t) => type_text(t),
            TypeArg::Str(s) => format!("{s:?}"),
            TypeArg::Word(w) => w.clone(),
            TypeArg::Int(n) => n.to_string(),
            TypeArg::Regex(r) => format!("/{}/", r.replace('/', "\\/")),
        })
        .collect();
    format!("{}[{}]", ty.name.node, args.join(", "))
}

fn type_args(ty: &Type) -> Vec<&Type> {
    ty.args
        .iter()
        .filter_map(|a| match &a.node {
            TypeArg::Type(t) => Some(t),
            _ => None,
        })
        .collect()
}

/// The bounds among a type's arguments after its type arguments
/// (`Integer[1, 10]`, `String[1]`, `Array[String, 1, 5]`); `default` or a
/// missing bound is unbounded.
fn int_bounds(ty: &Type) -> (i64, i64) {
    let mut bounds = ty
        .args
        .iter()
        .filter(|a| !matches!(a.node, TypeArg::Type(_)))
        .map(|a| match a.node {
            TypeArg::Int(n) => Some(n),
            _ => None,
        });
    (
        bounds.next().flatten().unwrap_or(i64::MIN),
        bounds.next().flatten().unwrap_or(i64::MAX),
    )
}

/// Whether a value is Puppet's `Data` (JSON-like, no secrets or runtime values).
fn is_data(v: &Value) -> bool {
    match v {
        Value::Undef | Value::Bool(_) | Value::Int(_) | Value::Float(_) | Value::Str(_) => true,
        Value::Array(items) => items.iter().all(is_data),
        Value::Hash(h) => h.values().all(is_data),
        _ => false,
    }
}

/// Convert `value` to `ty` where the language converts implicitly, or say
/// why it does not fit. Strings convert to Duration (`"90s"`), Float from
/// Integer, Sensitive wraps; target types accept names (resolved later).
pub(crate) fn coerce(value: Value, ty: &Type) -> Result<Value, String> {
    let mismatch = |v: &Value| Err(format!("expected {}, got {}", type_text(ty), describe(v)));
    let name = ty.name.node.as_str();
    match (name, value) {
        ("Any", v) => Ok(v),
        ("Optional", Value::Undef) => Ok(Value::Undef),
        ("Optional", v) => match type_args(ty).first() {
            Some(inner) => coerce(v, inner),
            None => Ok(v),
        },
        ("Undef", Value::Undef) => Ok(Value::Undef),
        ("Sensitive", Value::Sensitive(s)) => Ok(Value::Sensitive(s)),
        ("Sensitive", v) => {
            let inner = match type_args(ty).first() {
                Some(t) => coerce(v, t)?,
                None => v,
            };
            Ok(Value::Sensitive(Secret::new(inner)))
        }
        ("String", Value::Str(s)) => {
            let (min, max) = int_bounds(ty);
            let len = s.chars().count() as i64;
            if len < min || len > max {
                return Err(format!(
                    "expected {}, got a string of length {len}",
                    type_text(ty)
                ));
            }
            Ok(Value::Str(s))
        }
        ("Integer", Value::Int(n)) => {
            let (min, max) = int_bounds(ty);
            if n < min || n > max {
                return Err(format!("expected {}, got {n}", type_text(ty)));
            }
            Ok(Value::Int(n))
        }
        ("Float", Value::Float(f)) => Ok(Value::Float(f)),
        ("Float", Value::Int(n)) => Ok(Value::Float(n as f64)),
        ("Numeric", v @ (Value::Int(_) | Value::Float(_))) => Ok(v),
        ("Boolean", v @ Value::Bool(_)) => Ok(v),
        ("Duration", v @ Value::Duration(_)) => Ok(v),
        ("Duration", Value::Str(s)) => match crate::duration::parse(&s) {
            Ok(ms) => Ok(Value::Duration(ms)),
            Err(help) => Err(format!("`{s}` is not a duration: {help}")),
        },
        ("Array", Value::Array(items))
            if {
                let (min, max) = int_bounds(ty);
                (items.len() as i64) < min || (items.len() as i64) > max
            } =>
        {
            Err(format!(
                "expected {}, got an Array of {} element(s)",
                type_text(ty),
                items.len()
            ))
        }
        ("Array", Value::Array(items)) => match type_args(ty).first() {
            None => Ok(Value::Array(items)),
            Some(elem) => {
                let converted = items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| coerce(v.clone(), elem).map_err(|e| format!("element {i}: {e}")))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Value::array(converted))
            }
        },
        ("Hash", Value::Hash(h)) => match type_args(ty).as_slice() {
            [_, value_ty] => {
                let converted = h
                    .iter()
                    .map(|(k, v)| {
                        coerce(v.clone(), value_ty)
                            .map(|v| (k.clone(), v))
                            .map_err(|e| format!("key {k:?}: {e}"))
                    })
                    .collect::<Result<_, _>>()?;
                Ok(Value::Hash(Arc::new(converted)))
            }
            _ => Ok(Value::Hash(h)),
        },
        ("Enum", Value::Str(s)) => {
            let allowed: Vec<&str> = ty
                .args
                .iter()
                .filter_map(|a| match &a.node {
                    TypeArg::Str(s) | TypeArg::Word(s) => Some(s.as_str()),
                    _ => None,
                })
                .collect();
            if allowed.contains(&s.as_ref()) {
                Ok(Value::Str(s))
            } else {
                Err(format!(
                    "expected one of {}, got {:?}",
                    allowed.join(", "),
                    s.as_ref()
                ))
            }
        }
        ("Pattern", Value::Str(s)) => {
            let matched = ty.args.iter().any(|a| match &a.node {
                TypeArg::Regex(r) | TypeArg::Str(r) => {
                    regex::Regex::new(r).is_ok_and(|re| re.is_match(&s))
                }
                _ => false,
            });
            if matched {
                Ok(Value::Str(s))
            } else {
                Err(format!("expected {}, got {:?}", type_text(ty), s.as_ref()))
            }
        }
        ("Data", v) if is_data(&v) => Ok(v),
        ("Scalar", v @ (Value::Str(_) | Value::Int(_) | Value::Float(_) | Value::Bool(_))) => Ok(v),
        ("NotUndef", Value::Undef) => mismatch(&Value::Undef),
        ("NotUndef", v) => match type_args(ty).first() {
            Some(inner) => coerce(v, inner),
            None => Ok(v),
        },
        ("Tuple", Value::Array(items)) => {
            let types = type_args(ty);
            if items.len() != types.len() {
                return Err(format!(
                    "expected {}, got an Array of {} element(s)",
                    type_text(ty),
                    items.len()
                ));
            }
            let converted = items
                .iter()
                .zip(types)
                .enumerate()
                .map(|(i, (v, t))| coerce(v.clone(), t).map_err(|e| format!("element {i}: {e}")))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Value::array(converted))
        }
        ("Variant", v) => {
            if let Some(ok) = type_args(ty)
                .into_iter()
                .find_map(|t| coerce(v.clone(), t).ok())
            {
                return Ok(ok);
            }
            Err(format!("expected {}, got {}", type_text(ty), describe(&v)))
        }
        // Targets arrive as names until the inventory resolves them.
        ("Target" | "TargetSpec", v @ Value::Str(_)) => Ok(v),
        ("TargetSpec", v @ Value::Array(_)) => Ok(v),
        ("Target" | "TargetSpec", v @ Value::Target(_)) => Ok(v),
        ("Error", v @ Value::Error(_)) => Ok(v),
        ("Future", v @ Value::Future(_)) => Ok(v),
        ("Type", v @ Value::Type(_)) => Ok(v),
        ("Result", v @ Value::Result(_)) => Ok(v),
        ("ResultSet", v @ Value::ResultSet(_)) => Ok(v),
        (_, v) => mismatch(&v),
    }
}

/// Whether `v` is an instance of `ty` as Puppet's `=~`, `case` and
/// `assert_type` see it: no conversion (`1` is no Float, `"web"` no Target,
/// `"90s"` no Duration).
pub(crate) fn is_instance(v: &Value, ty: &Type) -> bool {
    let args = type_args(ty);
    let each = |t: Option<&&Type>, items: &[Value]| {
        t.is_none_or(|t| items.iter().all(|i| is_instance(i, t)))
    };
    match (ty.name.node.as_str(), v) {
        ("Any", _) | ("Optional", Value::Undef) => true,
        ("NotUndef", Value::Undef) => false,
        ("Optional" | "NotUndef", v) => args.first().is_none_or(|t| is_instance(v, t)),
        ("Variant", v) => args.iter().any(|t| is_instance(v, t)),
        ("Array", Value::Array(items)) => {
            let (min, max) = int_bounds(ty);
            (min..=max).contains(&(items.len() as i64)) && each(args.first(), items)
        }
        ("Tuple", Value::Array(items)) => {
            items.len() == args.len() && items.iter().zip(&args).all(|(i, t)| is_instance(i, t))
        }
        ("Hash", Value::Hash(h)) => match args.as_slice() {
            [_, value_ty] => h.values().all(|v| is_instance(v, value_ty)),
            _ => true,
        },
        ("Sensitive", Value::Sensitive(s)) => {
            args.first().is_none_or(|t| is_instance(s.reveal(), t))
        }
        ("Float", v) => matches!(v, Value::Float(_)),
        ("Duration", v) => matches!(v, Value::Duration(_)),
        ("Target", v) => matches!(v, Value::Target(_)),
        ("TargetSpec", Value::Array(items)) => items.iter().all(|i| is_instance(i, ty)),
        ("TargetSpec", v) => matches!(v, Value::Target(_) | Value::Str(_)),
        ("Result", v) => matches!(v, Value::Result(_)),
        ("ResultSet", v) => matches!(v, Value::ResultSet(_)),
        ("Type", Value::Type(_)) => true,
        ("Sensitive" | "Array" | "Tuple" | "Hash" | "Type", _) => false,
        // The rest convert nothing: String, Integer, Numeric, Boolean, Enum,
        // Pattern, Data, Scalar, Undef, Error, Future.
        (_, v) => coerce(v.clone(), ty).is_ok(),
    }
}

/// A value described for an error message, never revealing secrets.
pub(crate) fn describe(v: &Value) -> String {
    match v {
        Value::Str(s) if s.chars().count() <= 40 => format!("String {:?}", s.as_ref()),
        Value::Str(_) => "a long String".into(),
        Value::Int(n) => format!("Integer {n}"),
        Value::Float(f) => format!("Float {}", crate::value::float_text(*f)),
        Value::Bool(b) => format!("Boolean {b}"),
        Value::Undef => "undef".into(),
        Value::Duration(ms) => format!("Duration {}", crate::duration::format(*ms)),
        other => format!("a {}", other.type_name()),
    }
}
