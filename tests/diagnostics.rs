//! Golden diagnostics: each `tests/diagnostics/*.plan` holds one mistake and a
//! header `# expect: SEVERITY CODE at LINE:COLUMN` (`tests/common/expect.rs`);
//! each is its own test case, named by its file, which checks that the
//! diagnostic is reported there and snapshots the rendered output
//! (`cargo test --test diagnostics -- NAME` runs one).

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::expect::{self, Outcome};
use libtest_mimic::{Arguments, Failed, Trial};

fn golden(path: &Path) -> Result<(), Failed> {
    let file = path.file_name().unwrap().to_string_lossy().into_owned();
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let header = expect::parse(&text).map_err(|e| format!("{file}: {e}"))?;
    let Outcome::Diagnostic { severity, code, at } = header.outcome else {
        return Err(format!("{file}: the header must expect a diagnostic").into());
    };
    let expect = format!("{severity} {code} at {at}");
    let (sources, diags) = common::diagnose(path);
    let found: Vec<String> = diags
        .iter()
        .map(|d| {
            let source = sources.get(d.primary.span.file);
            let (line, col) = source.line_col(d.primary.span.start);
            format!("{} {} at {line}:{col}", d.severity.as_str(), d.code)
        })
        .collect();
    if !found.contains(&expect) {
        return Err(format!("expected `{expect}`, found {found:?}").into());
    }
    let rendered: String = diags
        .iter()
        .map(|d| d.render(&sources, false, 100))
        .collect();
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(common::root().join("tests/snapshots"));
    settings.set_input_file(path);
    settings.set_snapshot_suffix(file);
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!("diagnostics__golden_diagnostics", rendered));
    Ok(())
}

/// Two fixtures with the same messages at the same positions would test one
/// thing twice.
fn every_golden_is_a_distinct_mistake(plans: &[PathBuf]) -> Result<(), Failed> {
    let mut outcomes = BTreeSet::new();
    for path in plans {
        let (sources, diags) = common::diagnose(path);
        let key: Vec<String> = diags
            .iter()
            .map(|d| {
                let (line, col) = sources
                    .get(d.primary.span.file)
                    .line_col(d.primary.span.start);
                format!("{} at {line}:{col}", d.message)
            })
            .collect();
        if !outcomes.insert(key.clone()) {
            return Err(format!("{} repeats {key:?}", path.display()).into());
        }
    }
    if plans.len() < 40 {
        return Err(format!("only {} golden diagnostics", plans.len()).into());
    }
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let plans = common::plans_under("tests/diagnostics");
    let mut trials: Vec<Trial> = plans
        .iter()
        .map(|path| {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let path = path.clone();
            Trial::test(name, move || golden(&path))
        })
        .collect();
    trials.push(Trial::test(
        "every_golden_is_a_distinct_mistake",
        move || every_golden_is_a_distinct_mistake(&plans),
    ));
    libtest_mimic::run(&args, trials).exit();
}
