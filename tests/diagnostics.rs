//! Golden diagnostics: each `tests/diagnostics/*.plan` holds one mistake and a
//! header `# expect: SEVERITY CODE at LINE:COLUMN`; the test checks that
//! diagnostic is reported there and snapshots the rendered output.

mod common;

use std::collections::BTreeSet;

#[test]
fn golden_diagnostics() {
    let mut seen = BTreeSet::new();
    insta::glob!("diagnostics/*.plan", |path| {
        let text = std::fs::read_to_string(path).unwrap();
        let header = text.lines().next().unwrap();
        let expect = header
            .strip_prefix("# expect: ")
            .unwrap_or_else(|| panic!("{}: no `# expect:` header", path.display()));
        let (sources, diags) = common::diagnose(path);
        let found: Vec<String> = diags
            .iter()
            .map(|d| {
                let file = sources.get(d.primary.span.file);
                let (line, col) = file.line_col(d.primary.span.start);
                format!("{} {} at {line}:{col}", d.severity.as_str(), d.code)
            })
            .collect();
        assert!(
            found.iter().any(|f| f == expect),
            "{}: expected `{expect}`, found {found:?}",
            path.display()
        );
        seen.insert(path.file_name().unwrap().to_owned());
        let rendered: String = diags
            .iter()
            .map(|d| d.render(&sources, false, 100))
            .collect();
        insta::assert_snapshot!(rendered);
    });
    assert!(seen.len() >= 40, "only {} golden diagnostics", seen.len());
}

#[test]
fn every_golden_is_a_distinct_mistake() {
    // Two fixtures with the same message and position would test one thing twice.
    let mut outcomes = BTreeSet::new();
    for path in common::plans_under("tests/diagnostics") {
        let (sources, diags) = common::diagnose(&path);
        let key: Vec<String> = diags
            .iter()
            .map(|d| {
                let (line, col) = sources
                    .get(d.primary.span.file)
                    .line_col(d.primary.span.start);
                format!("{} at {line}:{col}", d.message)
            })
            .collect();
        assert!(
            outcomes.insert(key.clone()),
            "{} repeats {key:?}",
            path.display()
        );
    }
}
