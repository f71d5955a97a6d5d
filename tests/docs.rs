//! The plans shown in docs/language.md and docs/bolt.md check cleanly;
//! README.md shows the stdlib rolling reboot as it is.

mod common;

use drover::source::SourceMap;

/// Fenced code blocks without a language tag that contain a plan.
fn plans_in(doc: &str) -> Vec<String> {
    let text = std::fs::read_to_string(common::root().join(doc)).unwrap();
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```") => current = Some(String::new()),
            (Some(block), "```") => {
                if block.lines().any(|l| l.starts_with("plan ")) {
                    blocks.push(block.clone());
                }
                current = None;
            }
            (None, l) if l.starts_with("```") => current = Some("-".into()),
            (Some(block), l) if !block.starts_with('-') => {
                block.push_str(l);
                block.push('\n');
            }
            _ => {}
        }
    }
    blocks
}

/// The plans of `doc` check cleanly (with the plans of `beside`, which
/// they call); it has at least `least` of them.
fn examples_check_cleanly(doc: &str, least: usize, beside: &[&str]) {
    let mut blocks = plans_in(doc);
    assert!(blocks.len() >= least, "found {} examples", blocks.len());
    let mut sources = SourceMap::new();
    for (i, b) in blocks.iter().enumerate() {
        sources.add(format!("{doc} example {}", i + 1), b.clone());
    }
    for path in beside {
        let text = std::fs::read_to_string(common::root().join(path)).unwrap();
        sources.add(path.to_string(), text.clone());
        blocks.push(text);
    }
    let (files, diags) = drover::check::check_sources(&sources);
    let rendered: String = diags
        .iter()
        .map(|d| d.render(&sources, false, 100))
        .collect();
    assert!(diags.is_empty(), "{rendered}");
    assert_eq!(files.len(), blocks.len());
}

#[test]
fn language_reference_examples_check_cleanly() {
    examples_check_cleanly("docs/language.md", 6, &[]);
}

#[test]
fn the_bolt_migration_guide_examples_check_cleanly() {
    examples_check_cleanly("docs/bolt.md", 1, &["stdlib/facts/plans/init.plan"]);
}

#[test]
fn the_readme_shows_the_rolling_reboot_plan_as_it_is() {
    let plan =
        std::fs::read_to_string(common::root().join("stdlib/reboot/plans/rolling.plan")).unwrap();
    let code = &plan[plan.find("plan reboot::rolling(").unwrap()..];
    let readme = std::fs::read_to_string(common::root().join("README.md")).unwrap();
    assert!(
        readme.contains(&format!("```\n{code}```\n")),
        "README.md's copy of stdlib/reboot/plans/rolling.plan is out of date"
    );
}

#[test]
fn the_testing_guide_shows_the_example_tests_as_they_are() {
    let tests = std::fs::read_to_string(common::root().join("tests/plan_tests/examples_test.plan"))
        .unwrap();
    let guide = std::fs::read_to_string(common::root().join("docs/testing.md")).unwrap();
    assert!(
        guide.contains(&format!("```\n{tests}```\n")),
        "docs/testing.md's copy of tests/plan_tests/examples_test.plan is out of date"
    );
}
