//! Printing an AST and parsing the output gives the same AST (spans aside).

mod common;

use drover::syntax::{parser, pretty};
use serde_json::Value;

/// The AST as JSON with every span removed, so positions do not count.
fn shape(file: &drover::syntax::ast::File) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(map) => {
                map.remove("span");
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut v = serde_json::to_value(file).unwrap();
    strip(&mut v);
    v
}

fn parse_ok(name: &str, text: &str) -> drover::syntax::ast::File {
    let (sources, parsed) = parser::parse_str(name, text);
    assert!(
        parsed.diagnostics.is_empty(),
        "{name} does not parse:\n{}\n{}",
        text,
        parsed
            .diagnostics
            .iter()
            .map(|d| d.render(&sources, false, 100))
            .collect::<String>()
    );
    parsed.file.unwrap()
}

#[test]
fn every_example_and_fixture_round_trips() {
    let mut checked = 0;
    let files = [
        common::plans_under("plans"),
        common::plans_under("tests/fixtures"),
        common::plans_under("tests/diagnostics"),
        common::plans_under("tests/conformance"),
    ];
    for path in files.iter().flatten() {
        let text = std::fs::read_to_string(path).unwrap();
        let name = path.display().to_string();
        let (_, parsed) = parser::parse_str(&name, &text);
        // Fixtures with syntax errors have no AST to print.
        let Some(original) = parsed.file.filter(|_| parsed.diagnostics.is_empty()) else {
            continue;
        };
        let printed = pretty::file(&original);
        let reparsed = parse_ok(&name, &printed);
        assert_eq!(
            shape(&original),
            shape(&reparsed),
            "{name} changed when printed:\n{printed}"
        );
        // The printed form is a fixed point.
        assert_eq!(
            printed,
            pretty::file(&reparsed),
            "{name}: printing is not stable"
        );
        checked += 1;
    }
    assert!(checked >= 85, "only {checked} files round-tripped");
}

#[test]
fn tricky_literals_round_trip() {
    let plan = r#"plan t() {
        $a = -9223372036854775808;
        $b = -(3);
        $c = (-3).abs;
        $d = - -$x;
        $e = 1.0 + 0.000001 + 123456789012345680000.0;
        $f = 1d2h3m4s5ms + 0ms;
        $g = "a${b}c$d\$e${f.g(1) |$h| { $h }}\n\t\"";
        $h = { "not a word" => 1, true_key => 2, (true) => 3 };
        $i = 1 - (2 - 3) - 4;
        $j = (1 || 2) && 3;
        $k = !(1 == 2);
        $l = 'it\'s';
    }"#;
    let original = parse_ok("t.plan", plan);
    let printed = pretty::file(&original);
    assert_eq!(
        shape(&original),
        shape(&parse_ok("printed.plan", &printed)),
        "{printed}"
    );
}
