//! Bolt's YAML plans (`plans/*.yaml`) to drover's AST: `parameters`,
//! `steps` (`command`, `task`, `script`, `plan`, `upload`, `download`,
//! `message`, `verbose`, `eval`, each with `name`, `targets`,
//! `description`, `catch_errors`), and `return`. String values are Puppet
//! double-quoted strings (`$x` and `${expr}` interpolate); a string that is
//! one variable (`$targets`) is its value; `eval` holds Puppet code.

use serde_json::Value as Json;

use crate::diagnostic::Diagnostic;
use crate::source::{FileId, Span, Spanned};
use crate::syntax::ast::*;

/// The plan's name from its path: `MODULE::SUB::NAME` for
/// `MODULE/plans/SUB/NAME.yaml` (`MODULE` for `init.yaml`).
fn name_of(path: &str) -> String {
    let parts: Vec<&str> = path.split('/').collect();
    let Some(at) = parts.iter().rposition(|p| *p == "plans") else {
        let stem = parts.last().copied().unwrap_or("plan");
        return stem
            .trim_end_matches(".yaml")
            .trim_end_matches(".yml")
            .to_string();
    };
    let module = if at == 0 { "plan" } else { parts[at - 1] };
    let mut segments: Vec<String> = vec![module.to_string()];
    for p in &parts[at + 1..] {
        segments.push(
            p.trim_end_matches(".yaml")
                .trim_end_matches(".yml")
                .to_string(),
        );
    }
    if segments.last().is_some_and(|s| s == "init") && segments.len() > 1 {
        segments.pop();
    }
    segments.join("::")
}

struct Builder<'t> {
    file: FileId,
    text: &'t str,
    /// Where the search for the next value's text starts.
    cursor: usize,
    whole: Span,
}

/// Parse the YAML plan `text` (named `path`).
pub fn parse(file: FileId, path: &str, text: &str) -> Result<File, Box<Diagnostic>> {
    let whole = Span::new(file, 0, text.len().min(1));
    let doc: Json = serde_saphyr::from_str(text).map_err(|e| {
        Box::new(Diagnostic::error(
            "syntax",
            whole,
            format!("the YAML plan does not parse: {e}"),
        ))
    })?;
    let Json::Object(top) = &doc else {
        return Err(Box::new(Diagnostic::error(
            "syntax",
            whole,
            "a YAML plan is a mapping with `parameters`, `steps` and `return`",
        )));
    };
    let mut b = Builder {
        file,
        text,
        cursor: 0,
        whole,
    };
    for key in top.keys() {
        if !["description", "parameters", "steps", "return", "private"].contains(&key.as_str()) {
            return Err(b.error(key, format!("a YAML plan has no key `{key}`")));
        }
    }
    let mut params = Vec::new();
    if let Some(p) = top.get("parameters") {
        let Json::Object(p) = p else {
            return Err(b.error("parameters", "`parameters` is a mapping of names"));
        };
        for (name, spec) in p {
            let span = b.find(name);
            let ty_text = spec.get("type").and_then(Json::as_str).unwrap_or("Any");
            let ty = b.ty(ty_text, span)?;
            let default = match spec.get("default") {
                Some(v) => Some(b.value(v, span)?),
                None => None,
            };
            params.push(Param {
                ty: Spanned::new(ty, span),
                name: Spanned::new(name.clone(), span),
                default,
                span,
            });
        }
    }
    let mut stmts = Vec::new();
    match top.get("steps") {
        Some(Json::Array(steps)) => {
            for step in steps {
                stmts.push(b.step(step)?);
            }
        }
        Some(_) => return Err(b.error("steps", "`steps` is a list of steps")),
        None => {}
    }
    if let Some(r) = top.get("return") {
        let span = b.find("return");
        let value = b.value(r, span)?;
        stmts.push(Spanned::new(StmtKind::Return(Some(value)), span));
    }
    let name = name_of(path);
    Ok(File {
        id: file,
        plans: vec![Plan {
            name: Spanned::new(name, whole),
            description: top
                .get("description")
                .and_then(Json::as_str)
                .map(String::from),
            params,
            body: Block {
                stmts,
                span: Span::new(file, 0, text.len()),
            },
            span: Span::new(file, 0, text.len()),
            puppet: true,
            returns: None,
        }],
        functions: Vec::new(),
        tests: Vec::new(),
    })
}

impl Builder<'_> {
    /// The span of the next occurrence of `needle` from the cursor (which
    /// moves past it), or of the last place found.
    fn find(&mut self, needle: &str) -> Span {
        match self.text[self.cursor..].find(needle) {
            Some(i) if !needle.is_empty() => {
                let start = self.cursor + i;
                self.cursor = start + needle.len();
                Span::new(self.file, start, start + needle.len())
            }
            _ => Span::new(
                self.file,
                self.cursor,
                (self.cursor + 1).min(self.text.len()),
            ),
        }
    }

    fn error(&mut self, near: &str, message: impl Into<String>) -> Box<Diagnostic> {
        let span = self.find(near);
        let span = if span.len() == 0 { self.whole } else { span };
        Box::new(Diagnostic::error("syntax", span, message))
    }

    /// A Puppet type written as text (`Optional[String[1]]`).
    fn ty(&mut self, text: &str, span: Span) -> Result<Type, Box<Diagnostic>> {
        let source = format!("plan t({text} $x) {{}}");
        let file = super::parser::parse(self.file, &source, false).map_err(|_| {
            Box::new(Diagnostic::error(
                "syntax",
                span,
                format!("`{text}` is not a type"),
            ))
        })?;
        let mut ty = file.plans[0].params[0].ty.node.clone();
        respan_type(&mut ty, span);
        Ok(ty)
    }

    /// Puppet code at `span` (an `eval`, a `${}`): its statements.
    fn code(&mut self, code: &str, span: Span) -> Result<Vec<Stmt>, Box<Diagnostic>> {
        // The code is parsed as a plan body, then moved to where it is.
        let source = format!("plan t() {{\n{code}\n}}");
        let file = super::parser::parse(self.file, &source, false).map_err(|d| {
            Box::new(
                Diagnostic::error(
                    "syntax",
                    span,
                    format!("in this Puppet code: {}", d.message),
                )
                .with_label("here"),
            )
        })?;
        let mut stmts = file
            .plans
            .into_iter()
            .next()
            .map(|p| p.body.stmts)
            .unwrap_or_default();
        for s in &mut stmts {
            respan_stmt(s, span);
        }
        Ok(stmts)
    }

    /// A YAML value as an expression: strings interpolate as Puppet's
    /// double-quoted strings; `$x` alone is the variable itself.
    fn value(&mut self, v: &Json, near: Span) -> Result<Expr, Box<Diagnostic>> {
        let e = |node| Ok(Spanned::new(node, near));
        match v {
            Json::Null => e(ExprKind::Undef),
            Json::Bool(b) => e(ExprKind::Bool(*b)),
            Json::Number(n) => match n.as_i64() {
                Some(i) => e(ExprKind::Int(i)),
                None => e(ExprKind::Float(n.as_f64().unwrap_or(0.0))),
            },
            Json::String(s) => {
                let span = self.find(s);
                let span = if span.len() == 0 { near } else { span };
                if !s.contains('$') {
                    return Ok(Spanned::new(
                        ExprKind::Str(vec![StrPart::Lit(s.clone())]),
                        span,
                    ));
                }
                // The whole string as Puppet code: `$x`, `"...${y}..."`.
                let lone = s.starts_with('$')
                    && s[1..]
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
                let code = if lone {
                    s.clone()
                } else {
                    format!("\"{}\"", s.replace('"', "\\\""))
                };
                let mut stmts = self.code(&code, span)?;
                match stmts.pop().map(|s| s.node) {
                    Some(StmtKind::Expr(e)) if stmts.is_empty() => Ok(e),
                    _ => Err(Box::new(Diagnostic::error("syntax", span, "not a value"))),
                }
            }
            Json::Array(items) => {
                let mut out = Vec::new();
                for i in items {
                    out.push(self.value(i, near)?);
                }
                e(ExprKind::Array(out))
            }
            Json::Object(map) => {
                let mut out = Vec::new();
                for (k, v) in map {
                    let key = Spanned::new(ExprKind::Str(vec![StrPart::Lit(k.clone())]), near);
                    out.push((key, self.value(v, near)?));
                }
                e(ExprKind::Hash(out))
            }
        }
    }

    /// One step as a statement: `$name = action(...)` or the action alone.
    fn step(&mut self, step: &Json) -> Result<Stmt, Box<Diagnostic>> {
        let Json::Object(step) = step else {
            return Err(self.error("-", "a step is a mapping (`- command: ...`)"));
        };
        const KINDS: &[&str] = &[
            "command",
            "task",
            "script",
            "plan",
            "upload",
            "download",
            "message",
            "verbose",
            "eval",
            "resources",
        ];
        let kinds: Vec<&str> = KINDS
            .iter()
            .copied()
            .filter(|k| step.contains_key(*k))
            .collect();
        let kind = match kinds.as_slice() {
            [k] => *k,
            [] => return Err(self.error("-", format!("a step needs one of {}", KINDS.join(", ")))),
            [a, b, ..] => return Err(self.error(a, format!("a step is `{a}` or `{b}`, not both"))),
        };
        let span = self.find(kind);
        for key in step.keys() {
            let known = [
                kind,
                "name",
                "targets",
                "target",
                "description",
                "catch_errors",
                "parameters",
                "arguments",
                "destination",
                "run_as",
                "env_vars",
            ];
            if !known.contains(&key.as_str()) {
                return Err(self.error(key, format!("a `{kind}` step has no key `{key}`")));
            }
        }
        let main = self.value(&step[kind], span)?;
        let targets = match step.get("targets").or_else(|| step.get("target")) {
            Some(t) => Some(self.value(t, span)?),
            None => None,
        };
        let mut options: Vec<Arg> = Vec::new();
        if let Some(Json::Bool(c)) = step.get("catch_errors") {
            options.push(named(
                "_catch_errors",
                Spanned::new(ExprKind::Bool(*c), span),
            ));
        }
        if let Some(u) = step.get("run_as") {
            options.push(named("_run_as", self.value(u, span)?));
        }
        if let Some(env) = step.get("env_vars") {
            options.push(named("_env", self.value(env, span)?));
        }
        let params = match step.get("parameters") {
            Some(Json::Object(p)) => {
                let mut out = Vec::new();
                for (k, v) in p {
                    out.push(named(k, self.value(v, span)?));
                }
                out
            }
            Some(_) => return Err(self.error("parameters", "a step's `parameters` is a mapping")),
            None => Vec::new(),
        };
        let need_targets = |b: &mut Self| match &targets {
            Some(t) => Ok(t.clone()),
            None => Err(b.error(kind, format!("a `{kind}` step needs `targets`"))),
        };
        let call = |name: &str, args: Vec<Arg>| {
            Spanned::new(
                ExprKind::Call(Box::new(Call {
                    name: Spanned::new(name.to_string(), span),
                    args,
                    lambda: None,
                })),
                span,
            )
        };
        let pos = Arg::Positional;
        let expr = match kind {
            "command" => {
                let mut args = vec![pos(main), pos(need_targets(self)?)];
                args.extend(options);
                call("run_command", args)
            }
            "task" => {
                let mut args = vec![pos(main), pos(need_targets(self)?)];
                args.extend(params);
                args.extend(options);
                call("run_task", args)
            }
            "script" => {
                let mut args = vec![pos(main), pos(need_targets(self)?)];
                if let Some(a) = step.get("arguments") {
                    args.push(named("arguments", self.value(a, span)?));
                }
                args.extend(options);
                call("run_script", args)
            }
            "plan" => {
                let mut args = vec![pos(main)];
                if let Some(t) = targets {
                    args.push(named("targets", t));
                }
                args.extend(params);
                call("run_plan", args)
            }
            "upload" => {
                let dest = match step.get("destination") {
                    Some(d) => self.value(d, span)?,
                    None => return Err(self.error(kind, "an `upload` step needs `destination`")),
                };
                let mut args = vec![pos(main), pos(dest), pos(need_targets(self)?)];
                args.extend(options);
                call("upload_file", args)
            }
            "download" => {
                let dest = match step.get("destination") {
                    Some(d) => self.value(d, span)?,
                    None => return Err(self.error(kind, "a `download` step needs `destination`")),
                };
                let mut args = vec![pos(main), pos(dest), pos(need_targets(self)?)];
                args.extend(options);
                call("download_file", args)
            }
            "message" => call("out::message", vec![pos(main)]),
            "verbose" => call("out::verbose", vec![pos(main)]),
            "eval" => {
                let code = match &step["eval"] {
                    Json::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let span = self.find(code.lines().next().unwrap_or(""));
                let stmts = self.code(&code, span)?;
                // Its value is its last expression's: a lambda run at once.
                Spanned::new(
                    ExprKind::Call(Box::new(Call {
                        name: Spanned::new("without_default_logging".into(), span),
                        args: Vec::new(),
                        lambda: Some(Lambda {
                            params: Vec::new(),
                            body: Block { stmts, span },
                            span,
                        }),
                    })),
                    span,
                )
            }
            _ => {
                return Err(Box::new(
                    Diagnostic::error(
                        "unsupported",
                        span,
                        "`resources` steps apply Puppet resources: not supported by drover",
                    )
                    .with_label("not supported by drover"),
                ));
            }
        };
        Ok(match step.get("name").and_then(Json::as_str) {
            Some(name) => Spanned::new(
                StmtKind::Assign {
                    name: Spanned::new(name.to_string(), span),
                    value: expr,
                },
                span,
            ),
            None => Spanned::new(StmtKind::Expr(expr), span),
        })
    }
}

fn named(key: &str, value: Expr) -> Arg {
    let span = value.span;
    Arg::Named(Spanned::new(key.to_string(), span), value)
}

/// Code parsed apart is put where it is in the YAML file: every span becomes
/// `at` (a YAML string's text is not where its parsed form says).
fn respan_stmt(s: &mut Stmt, at: Span) {
    s.span = at;
    match &mut s.node {
        StmtKind::Assign { name, value } => {
            name.span = at;
            respan_expr(value, at);
        }
        StmtKind::Expr(e) | StmtKind::Return(Some(e)) => respan_expr(e, at),
        _ => {}
    }
}

fn respan_block(b: &mut Block, at: Span) {
    b.span = at;
    for s in &mut b.stmts {
        respan_stmt(s, at);
    }
}

fn respan_expr(e: &mut Expr, at: Span) {
    e.span = at;
    match &mut e.node {
        ExprKind::Str(parts) => {
            for p in parts {
                if let StrPart::Interp(x) = p {
                    respan_expr(x, at);
                }
            }
        }
        ExprKind::Array(items) => items.iter_mut().for_each(|x| respan_expr(x, at)),
        ExprKind::Hash(pairs) => {
            for (k, v) in pairs {
                respan_expr(k, at);
                respan_expr(v, at);
            }
        }
        ExprKind::Call(c) => {
            c.name.span = at;
            for a in &mut c.args {
                match a {
                    Arg::Positional(x) => respan_expr(x, at),
                    Arg::Named(n, x) => {
                        n.span = at;
                        respan_expr(x, at);
                    }
                }
            }
            if let Some(l) = &mut c.lambda {
                l.span = at;
                respan_block(&mut l.body, at);
            }
        }
        ExprKind::Method(m) => {
            m.name.span = at;
            respan_expr(&mut m.recv, at);
            for a in &mut m.args {
                match a {
                    Arg::Positional(x) => respan_expr(x, at),
                    Arg::Named(n, x) => {
                        n.span = at;
                        respan_expr(x, at);
                    }
                }
            }
            if let Some(l) = &mut m.lambda {
                l.span = at;
                respan_block(&mut l.body, at);
            }
        }
        ExprKind::Index(a, b) | ExprKind::Binary(_, a, b) => {
            respan_expr(a, at);
            respan_expr(b, at);
        }
        ExprKind::Unary(_, x) => respan_expr(x, at),
        ExprKind::Async(b) => respan_block(b, at),
        ExprKind::If {
            branches,
            otherwise,
        } => {
            for (c, b) in branches {
                respan_expr(c, at);
                respan_block(b, at);
            }
            if let Some(b) = otherwise {
                respan_block(b, at);
            }
        }
        ExprKind::Type(t) => respan_type(t, at),
        ExprKind::Case { subject, arms, .. } => {
            respan_expr(subject, at);
            for (options, b) in arms {
                for o in options {
                    match o {
                        CaseOption::Value(x) => respan_expr(x, at),
                        CaseOption::Regex(r) => r.span = at,
                        CaseOption::Default => {}
                    }
                }
                respan_block(b, at);
            }
        }
        _ => {}
    }
}

fn respan_type(t: &mut Type, at: Span) {
    t.name.span = at;
    for a in &mut t.args {
        a.span = at;
        if let TypeArg::Type(inner) = &mut a.node {
            respan_type(inner, at);
        }
    }
}
