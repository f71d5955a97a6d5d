//! The shape of `src/`: each top-level module is a layer that imports only
//! from layers below it, and the files of a folder import each other without
//! cycles. docs/architecture.md describes the layers; this test keeps them.
//! Fixtures under `tests/fixtures/architecture/` show that it fails when an
//! import points up a layer or closes a cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The layers, lowest first; modules on one line are one layer and may not
/// import each other.
const LAYERS: &[&[&str]] = &[
    &["source", "duration"],
    &["diagnostic"],
    &["syntax"],
    &["puppet"],
    &["lang"],
    &["value"],
    &["project"],
    &["check"],
    &["transport", "pools"],
    &["eval"],
    &["report"],
    &["app"],
    &["cli"],
];

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// `src/` as (path relative to `src/`, text).
type Tree = BTreeMap<String, String>;

fn read_tree(root: &Path) -> Tree {
    fn walk(dir: &Path, root: &Path, out: &mut Tree) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.insert(rel, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let mut out = Tree::new();
    walk(root, root, &mut out);
    out
}

/// The module path of a file: `eval/stmt.rs` is `["eval", "stmt"]`,
/// `eval/mod.rs` is `["eval"]`, `lib.rs` and `main.rs` are the root `[]`.
fn module_of(path: &str) -> Vec<String> {
    let mut parts: Vec<String> = path
        .trim_end_matches(".rs")
        .split('/')
        .map(String::from)
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The code of a file without comments, string literals and its unit tests,
/// whose imports do not count.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]") {
        Some(i) => &text[..i],
        None => text,
    };
    let mut out = String::new();
    for line in text.lines() {
        let line = match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        };
        let mut in_string = false;
        let mut prev = ' ';
        for c in line.chars() {
            if c == '"' && prev != '\\' && prev != '\'' {
                in_string = !in_string;
            } else if !in_string {
                out.push(c);
            }
            prev = c;
        }
        out.push('\n');
    }
    out
}

/// Every module path a file names: `crate::a::b` gives `[a, b]`, a
/// `crate::{a, b::c}` group each of its parts, `super::x` the parent's `x`.
fn references(module: &[String], text: &str) -> BTreeSet<Vec<String>> {
    let path = regex::Regex::new(r"\b(crate|super)::(\{[^}]*\}|[A-Za-z_][\w:]*)").unwrap();
    let mut out = BTreeSet::new();
    for m in path.captures_iter(&code(text)) {
        let base: Vec<String> = match &m[1] {
            "crate" => Vec::new(),
            _ if module.is_empty() => continue,
            _ => module[..module.len() - 1].to_vec(),
        };
        let rest = &m[2];
        let parts: Vec<&str> = match rest.strip_prefix('{') {
            Some(group) => group.trim_end_matches('}').split(',').collect(),
            None => vec![rest],
        };
        for part in parts {
            let names: Vec<String> = part
                .trim()
                .split("::")
                .take(2)
                .take_while(|s| {
                    !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                })
                .map(String::from)
                .collect();
            if names.is_empty() {
                continue;
            }
            let mut full = base.clone();
            full.extend(names);
            out.insert(full);
        }
    }
    out
}

/// What is wrong with the shape of `tree`: upward or sideways imports
/// between layers, modules without a layer, and cycles among the files of a
/// folder.
fn violations(tree: &Tree) -> Vec<String> {
    let mut out = Vec::new();
    let modules: BTreeSet<Vec<String>> = tree.keys().map(|p| module_of(p)).collect();
    // Sibling edges inside each folder: folder -> (file -> files it uses).
    let mut siblings: BTreeMap<Vec<String>, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for (path, text) in tree {
        let module = module_of(path);
        let Some(top) = module.first() else { continue };
        let Some(rank) = layer(top) else {
            out.push(format!(
                "{path}: module `{top}` has no layer in tests/architecture.rs"
            ));
            continue;
        };
        for r in references(&module, text) {
            let target = &r[0];
            if target == top {
                if module.len() == 2 && r.len() >= 2 && r[1] != module[1] {
                    let sibling = vec![top.clone(), r[1].clone()];
                    if modules.contains(&sibling) {
                        siblings
                            .entry(vec![top.clone()])
                            .or_default()
                            .entry(module[1].clone())
                            .or_default()
                            .insert(r[1].clone());
                    }
                }
                continue;
            }
            match layer(target) {
                Some(q) if q < rank => {}
                Some(_) => out.push(format!(
                    "{path}: `{top}` imports `{}`, which is not in a lower layer",
                    r.join("::")
                )),
                None => {}
            }
        }
    }
    for (folder, graph) in &siblings {
        if let Some(cycle) = find_cycle(graph) {
            out.push(format!(
                "{}/: its files import each other in a cycle: {}",
                folder.join("/"),
                cycle.join(" -> ")
            ));
        }
    }
    out
}

fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == node) {
            let mut cycle = path[i..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

fn src() -> Tree {
    read_tree(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"))
}

/// `src/` with a fixture's files laid over it.
fn with_fixture(name: &str) -> Tree {
    let mut tree = src();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/architecture")
        .join(name);
    tree.extend(read_tree(&fixture));
    tree
}

#[test]
fn every_import_points_down_a_layer_and_no_folder_has_a_cycle() {
    let problems = violations(&src());
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn every_top_level_module_has_a_layer() {
    let tree = src();
    let lib = &tree["lib.rs"];
    let declared = regex::Regex::new(r"(?m)^pub mod (\w+);").unwrap();
    for m in declared.captures_iter(lib) {
        assert!(layer(&m[1]).is_some(), "`{}` has no layer", &m[1]);
    }
}

#[test]
fn an_upward_import_is_caught() {
    // A file of syntax/ importing the evaluator.
    assert_eq!(
        violations(&with_fixture("upward")),
        ["syntax/fixture.rs: `syntax` imports `eval`, which is not in a lower layer"]
    );
}

#[test]
fn a_sideways_import_is_caught() {
    // pools importing transport, its peer in the same layer, in a group.
    assert_eq!(
        violations(&with_fixture("sideways")),
        ["pools/fixture.rs: `pools` imports `transport`, which is not in a lower layer"]
    );
}

#[test]
fn a_cycle_between_files_of_a_folder_is_caught() {
    assert_eq!(
        violations(&with_fixture("cycle")),
        ["eval/: its files import each other in a cycle: first -> second -> first"]
    );
}
