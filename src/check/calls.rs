//! Calls against their signatures: built-ins against the vocabulary,
//! `run_plan` against the callee plan, `run_task` against the task's metadata.

use super::Checker;
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::lang::{ACTION_OPTIONS, Builtin};
use crate::syntax::ast::*;

impl Checker<'_> {
    /// A function or action call.
    pub(super) fn call(&mut self, call: &Call, span: Span) {
        let name = call.name.node.as_str();
        if self.vocab.function(name).is_none()
            && let Some(f) = self.known.functions.get(name).copied()
        {
            return self.function_call(f, call);
        }
        let Some(builtin) = self.vocab.function(name) else {
            let functions = self.known.functions.keys().copied();
            let hint = did_you_mean(
                name,
                self.vocab
                    .functions()
                    .iter()
                    .map(|b| b.name)
                    .chain(functions),
            );
            self.diags.push(
                Diagnostic::error(
                    "unknown-function",
                    call.name.span,
                    format!("unknown function `{name}`"),
                )
                .with_label("not a function")
                .with_help_opt(hint.map(|h| format!("did you mean `{h}`?"))),
            );
            return;
        };
        // Bolt's positional forms (a description, a Hash of parameters) are
        // bound at run time: in a Puppet plan, such a call is checked then.
        let own = crate::lang::bolt_own_positional(name).unwrap_or(usize::MAX);
        let positional = call
            .args
            .iter()
            .filter(|a| matches!(a, Arg::Positional(_)))
            .count();
        if self.puppet && (positional > own || call.args.iter().any(Arg::is_splat)) {
            return;
        }
        match name {
            "run_plan" => return self.plan_call(call, span),
            "run_task" => return self.task_call(call),
            _ => {}
        }
        let builtin = *builtin;
        self.signature(&builtin, &call.args, call.name.span, "");
        self.lambda_presence(&builtin, call.lambda.is_some(), span, call.name.span, "");
    }

    /// A call of a Puppet-language function: positional arguments, as many
    /// as it has parameters and at least as many as have no default.
    fn function_call(&mut self, f: &Plan, call: &Call) {
        let name = &f.name.node;
        for arg in &call.args {
            if let Arg::Named(n, _) = arg {
                self.diags.push(
                    Diagnostic::error(
                        "wrong-arguments",
                        n.span,
                        format!("function `{name}` takes positional arguments only"),
                    )
                    .with_label("named")
                    .with_secondary(f.name.span, "defined here"),
                );
            }
        }
        if call.args.iter().any(Arg::is_splat) {
            return;
        }
        let given = call
            .args
            .iter()
            .filter(|a| matches!(a, Arg::Positional(_)))
            .count();
        let max = f.params.len();
        let min = f.params.iter().filter(|p| p.default.is_none()).count();
        if given < min || given > max {
            let wants = if min == max {
                format!("{max}")
            } else {
                format!("{min} to {max}")
            };
            self.diags.push(
                Diagnostic::error(
                    "wrong-arguments",
                    call.name.span,
                    format!("function `{name}` takes {wants} argument(s), {given} given"),
                )
                .with_label("this call")
                .with_secondary(f.name.span, "defined here"),
            );
        }
        if let Some(l) = &call.lambda {
            self.diags.push(
                Diagnostic::error(
                    "unexpected-lambda",
                    l.span,
                    format!("function `{name}` takes no lambda"),
                )
                .with_label("a lambda"),
            );
        }
    }

    /// A method call: a known name, its argument counts and its lambda.
    pub(super) fn method(&mut self, m: &Method, span: Span) {
        let name = m.name.node.as_str();
        let Some(builtin) = self.vocab.method(name) else {
            let hint = did_you_mean(name, self.vocab.methods().iter().map(|b| b.name));
            self.diags.push(
                Diagnostic::error(
                    "unknown-method",
                    m.name.span,
                    format!("unknown method `.{name}`"),
                )
                .with_label("not a method")
                .with_help(match hint {
                    Some(h) => format!("did you mean `.{h}`?"),
                    None => "hash values are read with `$hash[\"key\"]`".into(),
                }),
            );
            return;
        };
        let builtin = *builtin;
        self.signature(&builtin, &m.args, m.name.span, ".");
        self.lambda_presence(&builtin, m.lambda.is_some(), span, m.name.span, ".");
    }

    /// Positional argument count and named arguments against `b`.
    fn signature(&mut self, b: &Builtin, args: &[Arg], at: Span, dot: &str) {
        let name = b.name;
        let positional = args
            .iter()
            .filter(|a| matches!(a, Arg::Positional(_)))
            .count();
        let splat = args.iter().any(Arg::is_splat);
        if !splat && (positional < b.min || positional > b.max) {
            self.diags.push(
                Diagnostic::error(
                    "wrong-arguments",
                    at,
                    format!(
                        "`{dot}{name}` takes {} positional argument(s), {positional} given",
                        b.arity()
                    ),
                )
                .with_label("this call"),
            );
        }
        for arg in args {
            let Arg::Named(n, _) = arg else { continue };
            if b.takes_named(&n.node) {
                continue;
            }
            let names = b.named_names();
            let hint = did_you_mean(&n.node, names.iter().copied());
            self.diags.push(
                Diagnostic::error(
                    "wrong-arguments",
                    n.span,
                    format!("`{dot}{name}` has no parameter `{}`", n.node),
                )
                .with_label("unknown parameter")
                .with_help(match hint {
                    Some(h) => format!("did you mean `{h}`?"),
                    None if names.is_empty() => {
                        format!("`{dot}{name}` takes no named arguments")
                    }
                    None => format!(
                        "it takes {}",
                        names
                            .iter()
                            .map(|s| format!("`{s}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                }),
            );
        }
    }

    /// A lambda where one is needed, and none where none is taken.
    fn lambda_presence(&mut self, b: &Builtin, has: bool, span: Span, at: Span, dot: &str) {
        let name = b.name;
        if b.lambda && !has {
            let call = if dot.is_empty() { "(...)" } else { "" };
            self.diags.push(
                Diagnostic::error(
                    "wrong-arguments",
                    span,
                    format!("`{dot}{name}` needs a lambda: `{dot}{name}{call} |$x| {{ ... }}`"),
                )
                .with_label("no lambda"),
            );
        } else if !b.lambda && has {
            self.diags.push(
                Diagnostic::error(
                    "wrong-arguments",
                    at,
                    format!("`{dot}{name}` takes no lambda"),
                )
                .with_label("here"),
            );
        }
    }

    /// `run_plan("name", param => value)` against the callee's signature.
    fn plan_call(&mut self, call: &Call, span: Span) {
        let Some(Arg::Positional(first)) = call.args.first() else {
            self.diags.push(
                Diagnostic::error(
                    "wrong-arguments",
                    span,
                    "`run_plan` needs the plan's name first",
                )
                .with_label("this call"),
            );
            return;
        };
        let named = match &first.node {
            ExprKind::Str(parts) => match parts.as_slice() {
                [StrPart::Lit(target)] => Some(target),
                _ => None,
            },
            _ => None,
        };
        let Some(target) = named else {
            self.callees.dynamic = true;
            return;
        };
        self.callees.names.push(target.clone());
        let Some(plan) = self.known.plans.get(target.as_str()).copied() else {
            let hint = did_you_mean(target, self.known.plans.keys().copied());
            self.diags.push(
                Diagnostic::warning(
                    "unknown-plan",
                    first.span,
                    format!("plan `{target}` is not among the checked plans"),
                )
                .with_label("not found")
                .with_help_opt(hint.map(|h| format!("did you mean `{h}`?"))),
            );
            return;
        };
        let mut given = Vec::new();
        for arg in &call.args[1..] {
            match arg {
                Arg::Positional(e) => self.diags.push(
                    Diagnostic::error(
                        "wrong-arguments",
                        e.span,
                        "`run_plan` takes parameters as `name => value`",
                    )
                    .with_label("positional"),
                ),
                Arg::Named(n, value) => {
                    given.push(n.node.as_str());
                    match plan.params.iter().find(|p| p.name.node == n.node) {
                        None => {
                            let hint = did_you_mean(
                                &n.node,
                                plan.params.iter().map(|p| p.name.node.as_str()),
                            );
                            self.diags.push(
                                Diagnostic::error(
                                    "wrong-arguments",
                                    n.span,
                                    format!("plan `{target}` has no parameter `{}`", n.node),
                                )
                                .with_label("unknown parameter")
                                .with_secondary(plan.name.span, "the plan is defined here")
                                .with_help_opt(hint.map(|h| format!("did you mean `{h}`?"))),
                            );
                        }
                        Some(p) => {
                            if let Some(v) = literal(value)
                                && let Err(why) = crate::value::types::coerce(v, &p.ty.node)
                            {
                                self.diags.push(
                                    Diagnostic::error(
                                        "wrong-type",
                                        value.span,
                                        format!("parameter `{}` of plan `{target}`: {why}", n.node),
                                    )
                                    .with_label("wrong type")
                                    .with_secondary(p.span, "declared here"),
                                );
                            }
                        }
                    }
                }
            }
        }
        let missing: Vec<String> = plan
            .params
            .iter()
            .filter(|p| {
                p.default.is_none()
                    && p.ty.node.name.node != "Optional"
                    && !given.contains(&p.name.node.as_str())
            })
            .map(|p| {
                format!(
                    "`{}` ({})",
                    p.name.node,
                    crate::value::types::type_text(&p.ty.node)
                )
            })
            .collect();
        if !missing.is_empty() {
            self.diags.push(
                Diagnostic::error(
                    "wrong-arguments",
                    call.name.span,
                    format!("`run_plan` of `{target}` is missing {}", missing.join(", ")),
                )
                .with_label("this call")
                .with_secondary(plan.name.span, "the plan is defined here"),
            );
        }
    }

    /// `run_task("name", targets, param => value)` against the task's metadata.
    fn task_call(&mut self, call: &Call) {
        let positional: Vec<&Expr> = call
            .args
            .iter()
            .filter_map(|a| match a {
                Arg::Positional(e) => Some(e),
                Arg::Named(..) => None,
            })
            .collect();
        if positional.len() != 2 {
            self.diags.push(
                Diagnostic::error(
                    "wrong-arguments",
                    call.name.span,
                    format!(
                        "`run_task` takes the task's name and the targets, {} positional argument(s) given",
                        positional.len()
                    ),
                )
                .with_label("this call"),
            );
        }
        for arg in &call.args {
            if let Arg::Named(n, _) = arg
                && n.node.starts_with('_')
                && crate::lang::option(&n.node).is_none()
            {
                let hint = did_you_mean(&n.node, ACTION_OPTIONS.iter().map(|o| o.name));
                self.diags.push(
                    Diagnostic::error(
                        "wrong-arguments",
                        n.span,
                        format!("unknown action option `{}`", n.node),
                    )
                    .with_label("not an option")
                    .with_help_opt(hint.map(|h| format!("did you mean `{h}`?"))),
                );
            }
        }
        let Some(catalog) = self.tasks else {
            return;
        };
        let Some(first) = positional.first() else {
            return;
        };
        let Some(crate::value::Value::Str(name)) = literal(first) else {
            return;
        };
        let task = match catalog.get(&name) {
            Ok(t) => t,
            Err(message) => {
                self.diags.push(
                    Diagnostic::error("unknown-task", first.span, message)
                        .with_label("no such task"),
                );
                return;
            }
        };
        let declared = task
            .metadata
            .as_ref()
            .map(|m| format!("declared in {}", m.display()));
        let mut given = Vec::new();
        for arg in &call.args {
            let Arg::Named(n, value) = arg else { continue };
            if n.node == "_noop"
                && !task.supports_noop
                && literal(value) == Some(crate::value::Value::Bool(true))
            {
                self.diags.push(
                    Diagnostic::error(
                        "wrong-arguments",
                        value.span,
                        format!("task `{name}` does not support `_noop`"),
                    )
                    .with_label("no `supports_noop` in its metadata")
                    .with_help_opt(declared.clone()),
                );
            }
            if n.node.starts_with('_') {
                continue;
            }
            given.push(n.node.as_str());
            let Some(params) = &task.parameters else {
                continue;
            };
            let Some(p) = params.get(&n.node) else {
                let list: Vec<String> = params
                    .iter()
                    .map(|(k, p)| format!("`{k}` ({})", p.ty_text))
                    .collect();
                self.diags.push(
                    Diagnostic::error("wrong-arguments", n.span, task.unknown_parameter(&n.node))
                        .with_label("unknown parameter")
                        .with_help(if list.is_empty() {
                            "the task takes no parameters".to_string()
                        } else {
                            format!("its parameters: {}", list.join(", "))
                        }),
                );
                continue;
            };
            if let Some(v) = literal(value)
                && let Err(why) = crate::value::types::coerce(v, &p.ty)
            {
                self.diags.push(
                    Diagnostic::error(
                        "wrong-type",
                        value.span,
                        format!(
                            "parameter `{}` of task `{name}` is {}: {}",
                            n.node,
                            p.ty_text,
                            p.mismatch(why)
                        ),
                    )
                    .with_label(format!("not {}", p.ty_text))
                    .with_help_opt(declared.clone()),
                );
            }
        }
        let missing = task.missing(given.iter().copied());
        if !missing.is_empty() {
            self.diags.push(
                Diagnostic::error(
                    "wrong-arguments",
                    call.name.span,
                    format!("`run_task` of `{name}` is missing {}", missing.join(", ")),
                )
                .with_label("this call")
                .with_help_opt(declared),
            );
        }
    }
}

/// The value of a literal expression (no variables, no calls), if it is one.
fn literal(e: &Expr) -> Option<crate::value::Value> {
    use crate::value::Value;
    Some(match &e.node {
        ExprKind::Undef => Value::Undef,
        ExprKind::Bool(b) => Value::Bool(*b),
        ExprKind::Int(n) => Value::Int(*n),
        ExprKind::Float(f) => Value::Float(*f),
        ExprKind::Duration(ms) => Value::Duration(*ms),
        ExprKind::Str(parts) => match parts.as_slice() {
            [] => Value::str(""),
            [StrPart::Lit(s)] => Value::str(s),
            _ => return None,
        },
        ExprKind::Array(items) => Value::array(items.iter().map(literal).collect::<Option<_>>()?),
        _ => return None,
    })
}
