//! Durations (`250ms`, `1h30m`): the one place that knows the units, for
//! the parser, parameters, inventories and every printed duration.

/// Duration units and their length in milliseconds, longest spelling first.
pub(crate) const UNITS: [(&str, u64); 5] = [
    ("ms", 1),
    ("s", 1_000),
    ("m", 60_000),
    ("h", 3_600_000),
    ("d", 86_400_000),
];

/// Parse `250ms`, `30s`, `1h30m`; the error is a help line.
pub(crate) fn parse(text: &str) -> Result<u64, String> {
    let help = |extra: &str| {
        format!(
            "a duration is whole numbers with units ms, s, m, h or d, such as `30s` or `1h30m`{extra}"
        )
    };
    let mut rest = text;
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let digits_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '_'))
            .unwrap_or(rest.len());
        let digits = rest[..digits_end].replace('_', "");
        if digits.is_empty() {
            return Err(help(""));
        }
        rest = &rest[digits_end..];
        if rest.starts_with('.') {
            return Err(help(": write `1500ms` rather than `1.5s`"));
        }
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_end];
        let Some(&(_, ms)) = UNITS.iter().find(|(u, _)| *u == unit) else {
            let close = UNITS
                .iter()
                .filter(|(u, _)| !u.is_empty() && unit.starts_with(u))
                .max_by_key(|(u, _)| u.len());
            return Err(match close {
                Some((u, _)) => help(&format!(": did you mean `{digits}{u}`?")),
                None if unit.is_empty() => help(""),
                None => help(&format!(": `{unit}` is not a unit")),
            });
        };
        rest = &rest[unit_end..];
        let n: u64 = digits
            .parse()
            .map_err(|_| help(": the number is too large"))?;
        total = n
            .checked_mul(ms)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| help(": the duration is too long"))?;
    }
    Ok(total)
}

/// A point on the run's clock as `m:ss.mmm` (`h:mm:ss.mmm` past an hour),
/// fixed width so that a timeline's columns line up.
pub(crate) fn clock(ms: u64) -> String {
    let (h, m, s, f) = (
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1_000 % 60,
        ms % 1_000,
    );
    if h > 0 {
        format!("{h}:{m:02}:{s:02}.{f:03}")
    } else {
        format!("{m}:{s:02}.{f:03}")
    }
}

/// A duration in the largest units that express it exactly, e.g. `1h30m`.
pub(crate) fn format(ms: u64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let mut rest = ms;
    let mut out = String::new();
    for (unit, len) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ] {
        if rest >= len {
            out.push_str(&format!("{}{unit}", rest / len));
            rest %= len;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse("250ms"), Ok(250));
        assert_eq!(parse("1h30m"), Ok(5_400_000));
        assert_eq!(parse("1d"), Ok(86_400_000));
        assert!(parse("5mins").unwrap_err().contains("`5m`"));
        assert!(parse("1.5s").unwrap_err().contains("1500ms"));
        assert!(parse("99999999999999999999d").is_err());
    }
}
