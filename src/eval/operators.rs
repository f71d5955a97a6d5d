//! The operators: binary operators other than `&&` and `||` (which the
//! interpreter short-circuits), and indexing.

use std::cmp::Ordering;
use std::sync::Arc;

use super::{Eval, Interpreter};
use crate::syntax::ast::{BinaryOp, Span};
use crate::value::Value;
use crate::value::types::{self, describe};

/// `recv[index]`: arrays by position (negative from the end), hashes by key,
/// strings by character. Out of range gives `undef`, as in Puppet.
pub(crate) fn index(it: &Interpreter, recv: Value, index: Value, span: Span) -> Eval<Value> {
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
        // Puppet's `$x[start, count]` (the parser makes the pair an Array).
        (Value::Array(_) | Value::Str(_), Value::Array(pair))
            if it.program.is_puppet(span.file) =>
        {
            let [Value::Int(start), Value::Int(count)] = pair.as_slice() else {
                return Err(it.type_error(
                    format!(
                        "a slice `[start, count]` needs two Integers, got {}",
                        describe(&index)
                    ),
                    span,
                ));
            };
            return Ok(puppet_slice(recv, *start, *count));
        }
        _ => {
            return Err(it.type_error(
                format!("cannot index {} with {}", describe(&recv), describe(&index)),
                span,
            ));
        }
    })
}

/// Puppet's `$x[start, count]` of an Array or a String: `count` elements
/// from `start` (negative: from the end); a negative `count` ends that far
/// from the end (`-1` at the last); what is out of range is left out.
fn puppet_slice(recv: Value, start: i64, count: i64) -> Value {
    let take = |len: usize| -> std::ops::Range<usize> {
        let len = len as i64;
        let from = if start < 0 { len + start } else { start }.clamp(0, len);
        let to = if count < 0 {
            len + count + 1
        } else {
            from.saturating_add(count)
        };
        from as usize..to.clamp(from, len) as usize
    };
    match recv {
        Value::Array(a) => Value::array(a[take(a.len())].to_vec()),
        Value::Str(s) => {
            let chars: Vec<char> = s.chars().collect();
            Value::str(chars[take(chars.len())].iter().collect::<String>())
        }
        other => other,
    }
}

/// The binary operators other than `&&` and `||`.
pub(crate) fn binary(
    it: &Interpreter,
    op: BinaryOp,
    l: Value,
    r: Value,
    span: Span,
) -> Eval<Value> {
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
        it.type_error(
            format!(
                "`{}` cannot combine {} and {}",
                op.symbol(),
                describe(l),
                describe(r)
            ),
            span,
        )
    };
    if it.program.is_puppet(span.file) {
        if let Some(v) = puppet(op, &l, &r) {
            return Ok(v);
        }
        // Puppet's arithmetic reads numbers out of strings (`'10' + 1`).
        if matches!(op, Add | Sub | Mul | Div | Mod)
            && (matches!(l, Str(_)) || matches!(r, Str(_)))
            && let (Some(a), Some(b)) = (puppet_number(&l), puppet_number(&r))
        {
            return binary(it, op, a, b, span);
        }
    }
    Ok(match op {
        Eq => Bool(l == r),
        Ne => Bool(l != r),
        Match | NoMatch => {
            let (Str(text), Str(pattern)) = (&l, &r) else {
                return Err(it.type_error(
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

/// Where Puppet's operators mean something else than drover's (in `.pp`
/// plans): `==` ignores the case of strings and compares numbers by value;
/// `in` too; `+` appends a value to an array, `-` removes one (or a hash's
/// keys). `None`: as in drover.
fn puppet(op: BinaryOp, l: &Value, r: &Value) -> Option<Value> {
    use BinaryOp::*;
    use Value::*;
    Some(match (op, l, r) {
        (Eq | Ne, _, _) => Bool(puppet_eq(l, r) == (op == Eq)),
        (Match | NoMatch, v, Type(t)) => Bool(types::is_instance(v, t) == (op == Match)),
        // Only a String matches a regular expression; anything else does not.
        (Match | NoMatch, other, Str(_)) if !matches!(other, Str(_)) => Bool(op == NoMatch),
        (In, Str(needle), Str(hay)) => Bool(hay.to_lowercase().contains(&needle.to_lowercase())),
        (In, _, Array(items)) => Bool(items.iter().any(|i| puppet_eq(l, i))),
        (In, Str(k), Hash(h)) => Bool(h.keys().any(|key| key.eq_ignore_ascii_case(k))),
        (Add, Array(a), other) if !matches!(other, Array(_)) => {
            let mut items = (**a).clone();
            items.push(other.clone());
            Value::array(items)
        }
        (Sub, Array(a), other) if !matches!(other, Array(_)) => {
            Value::array(a.iter().filter(|i| !puppet_eq(i, other)).cloned().collect())
        }
        (Sub, Hash(h), Array(keys)) => Value::hash(
            h.iter()
                .filter(|(k, _)| !keys.iter().any(|x| matches!(x, Str(s) if **s == ***k)))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        (Sub, Hash(h), Str(key)) => Value::hash(
            h.iter()
                .filter(|(k, _)| k.as_str() != key.as_ref())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        _ => return None,
    })
}

/// A number, or a String that is one as Puppet reads it (`42`, `-1.5`,
/// `0x1F`, `1e3`); else `None`.
fn puppet_number(v: &Value) -> Option<Value> {
    let Value::Str(s) = v else {
        return matches!(v, Value::Int(_) | Value::Float(_)).then(|| v.clone());
    };
    let t = s.trim();
    let (negative, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let sign = if negative { -1 } else { 1 };
    if let Some(hex) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        return i64::from_str_radix(hex, 16)
            .ok()
            .map(|n| Value::Int(sign * n));
    }
    if digits.len() > 1
        && digits.starts_with('0')
        && digits.bytes().all(|b| (b'0'..=b'7').contains(&b))
    {
        return i64::from_str_radix(digits, 8)
            .ok()
            .map(|n| Value::Int(sign * n));
    }
    if let Ok(n) = digits.parse::<i64>() {
        return Some(Value::Int(sign * n));
    }
    let float = digits.starts_with(|c: char| c.is_ascii_digit())
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || b"eE.-+".contains(&b));
    float
        .then(|| digits.parse::<f64>().ok())
        .flatten()
        .filter(|f| f.is_finite())
        .map(|f| Value::Float(sign as f64 * f))
}

/// Puppet's `==`: strings without regard to case, numbers by value, arrays
/// and hashes element by element.
fn puppet_eq(l: &Value, r: &Value) -> bool {
    use Value::*;
    match (l, r) {
        (Str(a), Str(b)) => a.to_lowercase() == b.to_lowercase(),
        (Int(a), Float(b)) | (Float(b), Int(a)) => (*a as f64) == *b,
        (Array(a), Array(b)) => {
            a.len() == b.len() && a.iter().zip(b.iter()).all(|(x, y)| puppet_eq(x, y))
        }
        (Hash(a), Hash(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(k, v)| b.get(k).is_some_and(|w| puppet_eq(v, w)))
        }
        _ => l == r,
    }
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

/// A regular expression, compiled once per run.
pub(crate) fn regex(it: &Interpreter, pattern: &str, span: Span) -> Eval<Arc<regex::Regex>> {
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
