//! Bolt inventory v2: resolution as Bolt does it, and errors with file,
//! line and column.

mod common;

use assert_cmd::Command;
use drover::project::inventory::Inventory;
use drover::source::SourceMap;
use drover::value::TransportKind;

fn load(name: &str) -> Result<Inventory, (SourceMap, Vec<drover::diagnostic::Diagnostic>)> {
    let mut sources = SourceMap::new();
    let path = common::root().join("tests/inventory").join(name);
    Inventory::load(&path, &mut sources).map_err(|d| (sources, d))
}

fn names(inv: &Inventory, spec: &str) -> Vec<String> {
    inv.resolve(spec)
        .unwrap()
        .iter()
        .map(|t| t.name.clone())
        .collect()
}

#[test]
fn nested_groups_config_aliases_and_globs_resolve_like_bolt() {
    let inv = load("nested.yaml").unwrap_or_else(|(_, d)| panic!("{d:?}"));
    // Inventory order is the order of first appearance in the file.
    assert_eq!(
        names(&inv, "all"),
        [
            "web-eu-1.example.com",
            "web-eu-2",
            "web-us-1.example.com",
            "db1",
            "localhost"
        ]
    );
    assert_eq!(
        names(&inv, "web"),
        ["web-eu-1.example.com", "web-eu-2", "web-us-1.example.com"]
    );
    assert_eq!(names(&inv, "web-eu"), ["web-eu-1.example.com", "web-eu-2"]);
    assert_eq!(
        names(&inv, "web-*"),
        ["web-eu-1.example.com", "web-eu-2", "web-us-1.example.com"]
    );
    assert_eq!(names(&inv, "eu2, db1,euro2"), ["web-eu-2", "db1"]);

    let t = |n: &str| inv.resolve(n).unwrap().remove(0);
    let eu1 = t("web-eu-1.example.com");
    // user from `web`, port from `web-eu`, host-key-check from the top.
    assert_eq!(
        (eu1.user.as_deref(), eu1.port),
        (Some("deploy"), Some(2222))
    );
    assert_eq!(eu1.config["ssh"]["host-key-check"], true);
    assert_eq!(eu1.groups, ["web", "web-eu"]);
    assert_eq!(eu1.vars["role"].to_display(), "web");
    // Hashes merge deeply: primary from the top, secondary from `web`.
    assert_eq!(
        eu1.vars["dns"].to_display(),
        r#"{"primary" => "10.0.0.1", "secondary" => "10.9.9.9"}"#
    );
    assert_eq!(eu1.vars["env"].to_display(), "prod");

    let eu2 = t("eu2");
    assert_eq!(eu2.name, "web-eu-2");
    assert_eq!(
        (eu2.host.as_str(), eu2.port, eu2.user.as_deref()),
        ("web-eu-2.example.com", Some(2200), Some("admin"))
    );
    assert_eq!(eu2.vars["role"].to_display(), "canary");

    // In two groups: the first group in the file wins.
    let us1 = t("web-us-1.example.com");
    assert_eq!(us1.groups, ["web", "db"]);
    assert_eq!(us1.vars["role"].to_display(), "web");

    let db1 = t("db1");
    assert_eq!(
        (db1.host.as_str(), db1.user.as_deref(), db1.transport),
        ("10.1.0.5", Some("root"), TransportKind::Ssh)
    );
    assert_eq!(db1.facts["os"].to_display(), r#"{"family" => "Debian"}"#);
    assert_eq!(t("localhost").transport, TransportKind::Local);

    // Ad-hoc URIs get the top-level config.
    let adhoc = t("ssh://ops@10.2.2.2:2022");
    assert_eq!(
        (adhoc.host.as_str(), adhoc.port, adhoc.user.as_deref()),
        ("10.2.2.2", Some(2022), Some("ops"))
    );
    assert_eq!(adhoc.config["ssh"]["host-key-check"], true);

    // Unknown names are errors with a did-you-mean, not ad-hoc hosts.
    let err = inv.resolve("web-eu").map(|_| ()).and(inv.resolve("web-ue"));
    assert!(err.unwrap_err().contains("did you mean `web-eu`?"));
    assert!(inv.resolve("nothing-*").is_err());
}

fn first_error(name: &str) -> (String, usize, usize) {
    let (sources, diags) = load(name).expect_err("an error");
    let d = &diags[0];
    let (line, col) = sources
        .get(d.primary.span.file)
        .line_col(d.primary.span.start);
    (d.message.clone(), line, col)
}

#[test]
fn bad_inventories_name_file_line_and_column() {
    let (message, line, _) = first_error("malformed.yaml");
    assert!(line >= 3, "{message} at line {line}");
    let (message, line, col) = first_error("group_without_name.yaml");
    assert_eq!(
        (message.as_str(), line, col),
        ("a group needs a `name`", 4, 5)
    );
    let (message, line, _) = first_error("duplicate_key.yaml");
    assert!(message.to_lowercase().contains("duplicate"), "{message}");
    assert_eq!(line, 5);
    // The top level is read once: one error, not one per level that inherits it.
    let (_, diags) = load("unknown_transport_top.yaml").expect_err("an error");
    assert_eq!(diags.len(), 1);
    let (message, line, col) = first_error("unknown_transport.yaml");
    assert_eq!(
        (message.as_str(), line, col),
        ("unknown transport `shh`", 5, 18)
    );
}

#[test]
fn inventory_show_redacts_secrets_and_reports_errors() {
    let out = Command::cargo_bin("drover")
        .unwrap()
        .current_dir(common::root())
        .args([
            "inventory",
            "show",
            "-i",
            "tests/inventory/nested.yaml",
            "-t",
            "web-eu",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains("hunter2"), "{text}");
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["count"], 2);
    assert_eq!(
        json["targets"][0]["config"]["ssh"]["password"],
        "[sensitive]"
    );

    let out = Command::cargo_bin("drover")
        .unwrap()
        .current_dir(common::root())
        .env("NO_COLOR", "1")
        .args([
            "inventory",
            "show",
            "-i",
            "tests/inventory/unknown_transport.yaml",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("unknown_transport.yaml:5:18") && err.contains("unknown transport `shh`"),
        "{err}"
    );
}
