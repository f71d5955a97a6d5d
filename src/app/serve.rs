//! `drover serve`: a read-only web dashboard over the project's run history
//! (`.drover/runs/`) and its state store. Pages are rendered on the server
//! from the recorded events (so Sensitive values are already redacted); a
//! run in progress is followed through server-sent events, its page
//! refreshing its live part without a reload. Everything served is in the
//! binary. Loopback by default; any other address needs a token.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use maud::{PreEscaped, html};

use super::UsageError;
use crate::project::history;
use crate::project::tasks::Catalog;
use crate::report::html as pages;
use crate::report::timeline::{RunOutcome, Timeline};

/// What `drover serve` was asked to do.
pub(crate) struct ServeOptions {
    /// `--listen ADDRESS:PORT`.
    pub listen: String,
    /// `--token`, else `DROVER_TOKEN`.
    pub token: Option<String>,
    /// `-i FILE`: the pools page's inventory.
    pub inventory: Option<PathBuf>,
    /// `--state URL`: the pools page's store.
    pub state: Option<String>,
}

/// Where the dashboard listens unless told.
pub(crate) const DEFAULT_LISTEN: &str = "127.0.0.1:7411";

/// How often a followed run's events are read.
const POLL: Duration = Duration::from_millis(150);

#[derive(Clone)]
struct App {
    project: PathBuf,
    tasks: Arc<Catalog>,
    token: Option<Arc<str>>,
    inventory: Option<PathBuf>,
    state: Option<String>,
}

/// Serve until stopped: exit 2 on bad usage (a non-loopback address without
/// a token, an address that cannot be bound).
pub(crate) fn run(tasks: &Arc<Catalog>, opts: ServeOptions) -> Result<u8, UsageError> {
    let addr: SocketAddr = match opts.listen.parse() {
        Ok(a) => a,
        Err(_) => {
            eprintln!(
                "error: --listen needs ADDRESS:PORT (such as {DEFAULT_LISTEN}), got `{}`",
                opts.listen
            );
            return Ok(2);
        }
    };
    let token = opts
        .token
        .or_else(|| std::env::var("DROVER_TOKEN").ok())
        .filter(|t| !t.is_empty());
    if !addr.ip().is_loopback() && token.is_none() {
        eprintln!(
            "error: drover serve listens on {addr}, which is not a loopback address: \
             give a token (--token or DROVER_TOKEN) that every request must carry"
        );
        return Ok(2);
    }
    let app = App {
        project: tasks.project().root.clone(),
        tasks: tasks.clone(),
        token: token.map(Arc::from),
        inventory: opts.inventory,
        state: opts.state,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| UsageError::Io {
            path: app.project.clone(),
            source,
        })?;
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: cannot listen on {addr}: {e}");
                return Ok(2);
            }
        };
        let bound = listener.local_addr().unwrap_or(addr);
        let access = if app.token.is_some() {
            "every request needs the token (Authorization: Bearer, or ?token= once in a browser)"
        } else {
            "loopback only, no token"
        };
        eprintln!("drover serve: http://{bound}/ ({access}); read-only; Ctrl-C stops it");
        let router = router(app);
        let stopped = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        match axum::serve(listener, router)
            .with_graceful_shutdown(stopped)
            .await
        {
            Ok(()) => Ok(0),
            Err(e) => {
                eprintln!("error: drover serve: {e}");
                Ok(1)
            }
        }
    })
}

fn router(app: App) -> Router {
    Router::new()
        .route("/", get(runs))
        .route("/runs/{id}", get(run_page))
        .route("/runs/{id}/fragment", get(fragment))
        .route("/runs/{id}/events", get(events))
        .route("/runs/{id}/report.html", get(report))
        .route("/runs/{id}/targets/{target}", get(target_log))
        .route("/pools", get(pools))
        .fallback(|| async { not_found() })
        .layer(axum::middleware::from_fn_with_state(app.clone(), auth))
        .with_state(app)
}

/// With a token, every request carries it: `Authorization: Bearer TOKEN`, a
/// `token` query parameter (which also sets a cookie, so that a browser's
/// links work), or that cookie.
async fn auth(State(app): State<App>, req: Request, next: Next) -> Response {
    let Some(token) = app.token.clone() else {
        return next.run(req).await;
    };
    let headers = req.headers();
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let cookie = headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(';')
                .find_map(|c| c.trim().strip_prefix("drover_token="))
        });
    let query = req
        .uri()
        .query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("token=")));
    let matches = |given: Option<&str>| given.is_some_and(|g| same(g.as_bytes(), token.as_bytes()));
    if matches(bearer) || matches(cookie) {
        return next.run(req).await;
    }
    if matches(query) {
        let mut response = next.run(req).await;
        if let Ok(v) = HeaderValue::from_str(&format!(
            "drover_token={token}; Path=/; HttpOnly; SameSite=Strict"
        )) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
        return response;
    }
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        "401: this dashboard needs its token\n",
    )
        .into_response()
}

/// Equal, in time that does not depend on where they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "404: no such page\n").into_response()
}

/// A recorded run's id, or 404: only ids that exist in the history are
/// ever used as paths.
fn known(app: &App, id: &str) -> Result<String, Response> {
    if id == "last" || id.contains(['/', '\\']) || id.starts_with('.') {
        return Err(not_found());
    }
    history::resolve(&app.project, id).map_err(|_| not_found())
}

/// A recorded run's id and timeline, or 404.
fn run_of(app: &App, id: &str) -> Result<(String, Timeline), Response> {
    let id = known(app, id)?;
    let t = timeline(app, &id)?;
    Ok((id, t))
}

/// The run's timeline, its status from its record (a run whose process
/// died is interrupted).
fn timeline(app: &App, id: &str) -> Result<Timeline, Response> {
    let events = history::events(&app.project, id).map_err(|_| not_found())?;
    let mut t = Timeline::from_events(&events);
    if t.outcome == RunOutcome::Running && history::abandoned(&app.project, id) {
        t.outcome = RunOutcome::Interrupted;
    }
    Ok(t)
}

/// The list of runs, newest first; `?plan=` and `?status=` filter it.
async fn runs(State(app): State<App>, Query(q): Query<HashMap<String, String>>) -> Response {
    let all = history::list(&app.project);
    let plan = q.get("plan").filter(|p| !p.is_empty());
    let status = q.get("status").filter(|s| !s.is_empty());
    let shown: Vec<&history::Run> = all
        .iter()
        .filter(|r| plan.is_none_or(|p| &r.plan == p))
        .filter(|r| status.is_none_or(|s| &r.status == s))
        .collect();
    let mut plans: Vec<&str> = all.iter().map(|r| r.plan.as_str()).collect();
    plans.sort_unstable();
    plans.dedup();
    let body = html! {
        h1 { "drover · runs" }
        p { a href="/pools" { "pools and locks" } }
        form method="get" {
            "plan " select name="plan" {
                option value="" { "any" }
                @for p in &plans { option value=(p) selected[plan.is_some_and(|x| x == p)] { (p) } }
            }
            " status " select name="status" {
                option value="" { "any" }
                @for s in ["success", "failure", "interrupted", "unfinished"] {
                    option value=(s) selected[status.is_some_and(|x| x == s)] { (s) }
                }
            }
            " " button type="submit" { "filter" }
        }
        p.muted { (shown.len()) " of " (all.len()) " runs" }
        table.runs {
            thead { tr { th { "run" } th { "plan" } th { "status" } th { "started" } th { "duration" } th { "targets" } th { "failed" } } }
            tbody {
                @for r in &shown {
                    @let failed = r.targets.values().filter(|t| !t.ok).count();
                    tr.run data-run=(r.id) data-status=(r.status) {
                        td { a href=(format!("/runs/{}", r.id)) { code { (r.id) } } }
                        td { (r.plan) }
                        td { span class=(format!("badge {}", badge(&r.status))) { (r.status) } }
                        td { (r.started_at) }
                        td.num { (r.duration_ms.map(crate::duration::format).unwrap_or_default()) }
                        td.num { (r.targets.len()) }
                        td.num { (failed) }
                    }
                }
            }
        }
    };
    Html(pages::page("runs", "list", body)).into_response()
}

fn badge(status: &str) -> &str {
    match status {
        "unfinished" => "running",
        s => s,
    }
}

/// Updates the live part of a run's page as its events arrive; at the end,
/// the rest too. No framework: EventSource and fetch.
const LIVE_JS: &str = r#"
(function () {
  var base = location.pathname, q = location.search;
  var es = new EventSource(base + '/events' + q);
  var timer = null;
  function load(part) {
    return fetch(base + '/fragment?part=' + part + (q ? '&' + q.slice(1) : ''))
      .then(function (r) { return r.text(); })
      .then(function (html) { document.getElementById(part).innerHTML = html; });
  }
  es.addEventListener('run', function () {
    if (timer) return;
    timer = setTimeout(function () { timer = null; load('live'); }, 100);
  });
  es.addEventListener('end', function (e) {
    es.close();
    load('live').then(function () { return load('rest'); }).then(function () {
      document.body.dataset.outcome = e.data;
    });
  });
})();
"#;

fn sources_page<'a>(
    app: &'a App,
    outputs: &'a dyn Fn(&str) -> Option<String>,
) -> pages::Sources<'a> {
    pages::Sources {
        root: &app.project,
        outputs,
    }
}

/// The parts of a run's page below the live part.
fn rest(app: &App, id: &str, t: &Timeline) -> maud::Markup {
    let none = |_: &str| None;
    let link = |target: &str| format!("/runs/{id}/targets/{}", encode(target));
    html! {
        (pages::failures(t, &sources_page(app, &none)))
        (pages::outputs(t, &sources_page(app, &none), Some(&link)))
        (pages::log(t))
    }
}

/// A run's page: live while the run goes on.
async fn run_page(State(app): State<App>, Path(id): Path<String>) -> Response {
    let (id, t) = match run_of(&app, &id) {
        Ok(found) => found,
        Err(r) => return r,
    };
    let body = html! {
        p { a href="/" { "← runs" } " · " a href=(format!("/runs/{id}/report.html")) { "report" } " · " a href="/pools" { "pools" } }
        div #live { (pages::live(&t)) }
        div #rest { (rest(&app, &id, &t)) }
        @if t.outcome == RunOutcome::Running {
            script { (PreEscaped(LIVE_JS)) }
        }
    };
    Html(pages::page(&pages::title(&t), t.outcome.as_str(), body)).into_response()
}

/// `?part=live` or `?part=rest` of a run's page.
async fn fragment(
    State(app): State<App>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (id, t) = match run_of(&app, &id) {
        Ok(found) => found,
        Err(r) => return r,
    };
    let markup = match q.get("part").map(String::as_str) {
        Some("rest") => rest(&app, &id, &t),
        _ => pages::live(&t),
    };
    Html(markup.into_string()).into_response()
}

/// The run's events as they are recorded (`event: run`, one per event),
/// then `event: end` with its outcome.
async fn events(State(app): State<App>, Path(id): Path<String>) -> Response {
    let id = match known(&app, &id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    struct Follow {
        app: App,
        id: String,
        offset: u64,
        partial: String,
        queue: std::collections::VecDeque<Event>,
        ended: bool,
    }
    let start = Follow {
        app,
        id,
        offset: 0,
        partial: String::new(),
        queue: Default::default(),
        ended: false,
    };
    let stream = futures::stream::unfold(start, |mut f| async move {
        loop {
            if let Some(event) = f.queue.pop_front() {
                return Some((Ok::<Event, Infallible>(event), f));
            }
            if f.ended {
                return None;
            }
            let path = f
                .app
                .project
                .join(".drover/runs")
                .join(&f.id)
                .join("events.jsonl");
            let fresh = read_from(&path, f.offset);
            f.offset += fresh.len() as u64;
            f.partial.push_str(&String::from_utf8_lossy(&fresh));
            let mut end = None;
            while let Some(nl) = f.partial.find('\n') {
                let line: String = f.partial.drain(..=nl).collect();
                let line = line.trim_end();
                if let Ok(e) = serde_json::from_str::<serde_json::Value>(line) {
                    match e["type"].as_str() {
                        Some("plan_result") => end = e["status"].as_str().map(String::from),
                        Some("interrupted") => end = Some("interrupted".into()),
                        _ => {}
                    }
                }
                f.queue.push_back(Event::default().event("run").data(line));
            }
            if end.is_none() && f.queue.is_empty() && history::abandoned(&f.app.project, &f.id) {
                // Written to the end, and its process is gone.
                let rest = read_from(&path, f.offset);
                if rest.is_empty() {
                    end = Some("interrupted".into());
                }
            }
            if let Some(outcome) = end {
                f.queue
                    .push_back(Event::default().event("end").data(outcome));
                f.ended = true;
                continue;
            }
            if f.queue.is_empty() {
                tokio::time::sleep(POLL).await;
            }
        }
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// The bytes of `path` from `offset` on.
fn read_from(path: &std::path::Path, offset: u64) -> Vec<u8> {
    use std::io::{Read, Seek};
    let mut out = Vec::new();
    if let Ok(mut f) = std::fs::File::open(path)
        && f.seek(std::io::SeekFrom::Start(offset)).is_ok()
    {
        let _ = f.read_to_end(&mut out);
    }
    out
}

/// The run's self-contained report.
async fn report(State(app): State<App>, Path(id): Path<String>) -> Response {
    let (id, t) = match run_of(&app, &id) {
        Ok(found) => found,
        Err(r) => return r,
    };
    let outputs = |target: &str| history::output(&app.project, &id, target);
    Html(pages::report(&t, &sources_page(&app, &outputs))).into_response()
}

/// One target's output in a run: only a target the run names.
async fn target_log(
    State(app): State<App>,
    Path((id, target)): Path<(String, String)>,
) -> Response {
    let (id, t) = match run_of(&app, &id) {
        Ok(found) => found,
        Err(r) => return r,
    };
    if !t.rows.iter().any(|r| r.target == target) {
        return not_found();
    }
    let output = history::output(&app.project, &id, &target).unwrap_or_default();
    let body = html! {
        p { a href=(format!("/runs/{id}")) { "← run " code { (id) } } }
        h1 { (target) }
        @if output.is_empty() { p.muted { "No output." } } @else { pre.target-log { (pages::cut(&output)) } }
    };
    Html(pages::page(&target, "target", body)).into_response()
}

/// The state store's pools and locks, as `drover pools` and `drover locks`.
async fn pools(State(app): State<App>) -> Response {
    let listed = tokio::task::spawn_blocking(move || -> Result<_, String> {
        let store = super::run::open_state(&app.tasks, app.state.as_deref(), "drover serve")?;
        let inventory = super::load::load_inventory(&app.tasks, app.inventory.clone())
            .ok()
            .flatten()
            .unwrap_or_default();
        let pools = super::pools::listing(&inventory, store.snapshot()?, false, None)?;
        let locks = super::pools::listing(&inventory, store.snapshot()?, true, None)?;
        Ok((pools, locks))
    })
    .await;
    let (pools, locks) =
        match listed {
            Ok(Ok(l)) => l,
            Ok(Err(message)) => {
                return (StatusCode::SERVICE_UNAVAILABLE, Html(pages::page("pools", "error", html! {
                h1 { "pools and locks" } p { "The state store cannot be read: " (message) }
            })))
                .into_response();
            }
            Err(_) => {
                return (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the store's reader failed\n",
                )
                    .into_response();
            }
        };
    let field = |v: &serde_json::Value, k: &str| match &v[k] {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let section = |title: &str, list: &[serde_json::Value]| {
        html! {
            h2 { (title) }
            @if list.is_empty() { p.muted { "None." } }
            table.pools {
                thead { tr { th { "name" } th { "size" } th { "held" } th { "waiting" } } }
                tbody {
                    @for p in list {
                        tr data-pool=(field(p, "pool")) {
                            td { (field(p, "pool")) }
                            td.num { (field(p, "size")) }
                            td {
                                @for h in p["held"].as_array().into_iter().flatten() {
                                    div { code { (field(h, "target")) } " by run " (field(h, "run")) " (" (field(h, "plan")) ", " (field(h, "user")) "@" (field(h, "host")) ")" }
                                }
                            }
                            td {
                                @for w in p["waiting"].as_array().into_iter().flatten() {
                                    div { (field(w, "count")) " for run " (field(w, "run")) " (" (field(w, "plan")) ")" }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    let body = html! {
        p { a href="/" { "← runs" } }
        h1 { "pools and locks" }
        (section("Pools", &pools))
        (section("Locks", &locks))
    };
    Html(pages::page("pools", "pools", body)).into_response()
}

/// A target name as one path segment.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
