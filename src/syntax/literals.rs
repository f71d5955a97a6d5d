//! Number literals: integers, floats, durations and percentages, told apart
//! with a message and help for each kind of mistake (`5mins`, `1.5s`, an
//! integer past 64 bits).

/// A number token classified.
pub(super) enum Number {
    Int(i64),
    Float(f64),
    Duration(u64),
    Percent,
}

/// A mistake in a number: its code, message and help.
type NumberError = (&'static str, String, String);

/// A literal as quoted in a message: long ones are cut in the middle.
fn shorten(text: &str) -> String {
    if text.chars().count() <= 24 {
        return text.to_string();
    }
    let head: String = text.chars().take(10).collect();
    let tail: String = text
        .chars()
        .rev()
        .take(10)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("{head}…{tail}")
}

pub(super) fn classify_number(text: &str, negative: bool) -> Result<Number, NumberError> {
    let sign = if negative { "-" } else { "" };
    // Plain digits are most numbers: no allocation for them.
    if text.len() <= 18 && text.bytes().all(|b| b.is_ascii_digit()) {
        let n: i64 = text.parse().expect("at most 18 digits fit in i64");
        return Ok(Number::Int(if negative { -n } else { n }));
    }

    let shown = shorten(text);
    if let Some(digits) = text.strip_suffix('%') {
        digits.replace('_', "").parse::<u32>().map_err(|_| {
            (
                "bad-percentage",
                format!("invalid percentage `{shown}`"),
                "a percentage is a whole number followed by `%`".to_string(),
            )
        })?;
        return Ok(Number::Percent);
    }
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '_' || c == '.'))
        .unwrap_or(text.len());
    let (numeric, suffix) = text.split_at(end);
    let numeric = numeric.replace('_', "");
    if suffix.is_empty() {
        if numeric.contains('.') {
            return match format!("{sign}{numeric}").parse::<f64>() {
                Ok(f) if f.is_finite() => Ok(Number::Float(f)),
                _ => Err((
                    "bad-number",
                    format!("invalid number `{shown}`"),
                    "a float is digits, a point and digits, such as `1.5`".to_string(),
                )),
            };
        }
        return format!("{sign}{numeric}")
            .parse()
            .map(Number::Int)
            .map_err(|_| {
                (
                    "integer-overflow",
                    format!("integer `{sign}{shown}` does not fit in 64 bits"),
                    format!("integers range from {} to {}", i64::MIN, i64::MAX),
                )
            });
    }
    crate::duration::parse(text)
        .map(Number::Duration)
        .map_err(|help| {
            let what = if suffix.starts_with(['e', 'E']) && !numeric.contains('.') {
                "number"
            } else {
                "duration"
            };
            ("bad-duration", format!("invalid {what} `{shown}`"), help)
        })
}
