//! The plans shown in docs/language.md check cleanly; README.md shows the
//! stdlib rolling reboot as it is.

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

#[test]
fn language_reference_examples_check_cleanly() {
    let blocks = plans_in("docs/language.md");
    assert!(blocks.len() >= 6, "found {} examples", blocks.len());
    let mut sources = SourceMap::new();
    for (i, b) in blocks.iter().enumerate() {
        sources.add(format!("docs/language.md example {}", i + 1), b.clone());
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
