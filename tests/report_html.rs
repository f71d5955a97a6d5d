//! The HTML report of a run (`drover run --report`, `drover runs show
//! --html`), opened in a real headless Chromium (Debian's `chromium`;
//! scripts/test.sh installs it): what the browser's DOM holds, what its
//! screenshot shows, and that no secret reaches a page.

mod common;

use std::path::{Path, PathBuf};

use serde_json::Value;

/// A scratch directory of its own.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("drover-report-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Headless Chromium on `page` with `args` (`--dump-dom`, `--screenshot=`):
/// its stdout.
fn chromium(page: &Path, args: &[&str]) -> String {
    let profile = scratch("chromium-profile");
    let out = std::process::Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium is installed (scripts/test.sh installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(profile);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The value of attribute `name` in the tag `tag`.
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    Some(&tag[start..start + tag[start..].find('"')?])
}

/// Every opening tag in `dom` that starts with `prefix`.
fn tags<'a>(dom: &'a str, prefix: &str) -> Vec<&'a str> {
    dom.match_indices(prefix)
        .map(|(i, _)| &dom[i..i + dom[i..].find('>').unwrap()])
        .collect()
}

#[test]
fn the_rolling_reboot_dry_run_report_in_chromium_has_a_row_per_target_a_bar_per_result_and_the_batches_in_place()
 {
    let dir = scratch("rolling");
    let report = dir.join("report.html");
    let (code, out, err) = common::drover_in(
        &common::root(),
        &[
            "run",
            "examples::rolling_reboot",
            "--dry-run",
            "--format",
            "json",
            "--report",
            report.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let events: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let of = |t: &'static str| events.iter().filter(move |e| e["type"] == t);
    let mut targets: Vec<&str> = of("step_start")
        .flat_map(|e| e["targets"].as_array().unwrap())
        .map(|t| t.as_str().unwrap())
        .collect();
    targets.sort();
    targets.dedup();
    let results = of("target_result").count();
    let duration = of("plan_result").next().unwrap()["duration_ms"]
        .as_u64()
        .unwrap();
    // Each batch of the serial loop starts with its server's drain from HAProxy.
    let drains: Vec<u64> = of("step_start")
        .filter(|e| e["detail"] == "haproxy::disable")
        .map(|e| e["at_ms"].as_u64().unwrap())
        .collect();
    assert_eq!(targets.len(), 7);
    assert_eq!(results, 42);
    assert_eq!(drains.len(), 6);

    let dom = chromium(&report, &["--dump-dom"]);
    let rows = tags(&dom, "<g class=\"row\"");
    let mut row_targets: Vec<&str> = rows.iter().filter_map(|r| attr(r, "data-target")).collect();
    row_targets.sort();
    assert_eq!(row_targets, targets, "one timeline row per target");
    let bars: Vec<&str> = tags(&dom, "<rect class=\"bar ")
        .into_iter()
        .filter(|b| attr(b, "data-outcome") != Some("never-started"))
        .collect();
    assert_eq!(bars.len(), results, "one bar per step result");
    assert!(bars.iter().all(|b| attr(b, "data-outcome") == Some("ok")));
    // The batch boundaries: at the virtual times the events give, and drawn
    // there on the time axis (180 px of names, then 1,000 px for the run).
    let batches = tags(&dom, "<line class=\"batch\"");
    assert_eq!(batches.len(), 6);
    for (line, at) in batches.iter().zip(&drains) {
        assert_eq!(attr(line, "data-at-ms").unwrap(), at.to_string());
        let x: f64 = attr(line, "x1").unwrap().parse().unwrap();
        let want = 180.0 + *at as f64 * 1000.0 / duration as f64;
        assert!(
            (x - want).abs() < 0.01,
            "batch at {at} ms drawn at x={x}, not {want}"
        );
    }
    assert_eq!(drains, [0, 48_100, 96_200, 144_300, 192_400, 240_500]);
    // The header says what was predicted.
    assert!(
        dom.contains("4m48s600ms (predicted on virtual time)"),
        "{dom}"
    );

    // The screenshot is not blank: the ok bars' green and the waits' blue.
    let shot = dir.join("report.png");
    chromium(
        &report,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1300,900",
        ],
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let px = info.color_type.samples();
    let pixels: Vec<&[u8]> = buf[..info.buffer_size()].chunks(px).collect();
    let colours: std::collections::HashSet<&[u8]> = pixels.iter().copied().collect();
    assert!(colours.len() > 50, "{} colours", colours.len());
    let near = |want: [u8; 3]| {
        pixels
            .iter()
            .filter(|p| p.iter().zip(want).all(|(a, b)| a.abs_diff(b) < 12))
            .count()
    };
    assert!(near([0x3a, 0x9a, 0x4a]) > 20, "no ok bar in the screenshot");
    assert!(
        near([0x9c, 0xc3, 0xea]) > 200,
        "no wait_up in the screenshot"
    );
    // docs/dashboard.md shows it: `DROVER_SCREENSHOTS=1` renews it.
    if std::env::var_os("DROVER_SCREENSHOTS").is_some() {
        std::fs::create_dir_all(common::root().join("docs/images")).unwrap();
        std::fs::copy(
            &shot,
            common::root().join("docs/images/report-rolling-reboot.png"),
        )
        .unwrap();
    }
}

#[test]
fn malformed_or_truncated_run_records_are_drawn_without_a_panic() {
    let dir = scratch("malformed");
    std::fs::write(dir.join("inventory.yaml"), "groups: []\n").unwrap();
    let cases: &[&str] = &[
        "",
        "not json at all\n{\"type\":",
        "{\"type\":\"plan_start\",\"plan\":7,\"parameters\":[],\"concurrency\":\"x\"}\n",
        "{\"type\":\"target_result\",\"step\":1,\"result\":{\"target\":\"a\",\"ok\":false},\"at_ms\":5}\n",
        "{\"type\":\"target_start\",\"step\":1,\"target\":\"a\",\"at_ms\":18446744073709551615}\n{\"type\":\"target_start\",\"step\":1,\"target\":\"a\",\"at_ms\":3}\n",
        "{\"type\":\"step_start\",\"step\":2,\"targets\":[\"a\",7,null],\"at_ms\":-4}\n{\"type\":\"acquire\",\"pool\":\"p\",\"targets\":[\"b\"],\"waited_ms\":999999,\"at_ms\":2}\n",
        "{\"type\":\"sleep\",\"duration_ms\":18446744073709551615,\"at_ms\":18446744073709551615}\n{\"type\":\"batch\",\"index\":\"one\",\"at_ms\":1}\n",
        "{\"type\":\"step_start\",\"step\":1,\"action\":\"run_command\",\"detail\":\"<script>alert(1)</script>\",\"targets\":[\"<b>x</b>\"],\"location\":\"nowhere:1:1\",\"at_ms\":0}\n{\"type\":\"target_start\",\"step\":1,\"target\":\"<b>x</b>\",\"at_ms\":0}\n{\"type\":\"target_result\",\"step\":1,\"result\":{\"target\":\"<b>x</b>\",\"ok\":false,\"value\":{\"stdout\":\"</pre><script>\"},\"error\":{\"kind\":\"k\",\"message\":\"<i>m</i>\"}},\"at_ms\":4}\n{\"type\":\"plan_result\",\"status\":\"failure\",\"error\":{\"kind\":\"k\",\"message\":\"m\",\"location\":\"../../../etc/passwd:1:1\"},\"duration_ms\":1}\n",
    ];
    for (i, events) in cases.iter().enumerate() {
        let id = format!("20260101T00000000{i}-1");
        let run = dir.join(".drover/runs").join(&id);
        std::fs::create_dir_all(run.join("targets")).unwrap();
        std::fs::write(run.join("events.jsonl"), events).unwrap();
        let page = dir.join(format!("{i}.html"));
        for args in [
            vec!["runs", "show", &id, "--html", page.to_str().unwrap()],
            vec!["runs", "show", &id],
            vec!["runs", "watch", &id],
            vec!["runs", "list"],
        ] {
            let (code, out, err) = common::drover_in(&dir, &args);
            assert!(
                (0..=1).contains(&code) && !err.contains("panicked"),
                "case {i}, {args:?}: exit {code}\n{out}\n{err}"
            );
        }
        let html = std::fs::read_to_string(&page).unwrap();
        assert!(!html.contains("<script>alert"), "case {i}: not escaped");
        assert!(!html.contains("</pre><script>"), "case {i}: not escaped");
        assert!(
            !html.contains("root:x:"),
            "case {i}: a snippet outside the project"
        );
    }
}
