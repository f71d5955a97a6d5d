//! From source text to the AST: the one place where
//! pest pairs become AST nodes. Lexical mistakes the grammar lets through on
//! purpose (bad durations, misplaced percentages, unknown escapes, integer
//! overflow) are reported here with their exact spans.

use pest::Parser as _;
use pest::iterators::{Pair, Pairs};

use super::ast::*;
use super::grammar::{Grammar, Rule};
use super::literals::{Number, classify_number};
use super::{delimiters, errors};
use crate::diagnostic::Diagnostic;
use crate::source::SourceMap;

/// Deepest AST a plan may produce (operator chains count one level per operator).
pub(crate) const MAX_DEPTH: usize = 1000;

/// The outcome of parsing one file: the AST when the grammar matched, and
/// every diagnostic found on the way.
#[derive(Debug)]
pub struct Parsed {
    /// The syntax tree, if the file matched the grammar.
    pub file: Option<File>,
    /// Syntax and lexical errors.
    pub diagnostics: Vec<Diagnostic>,
}

/// Parse the file `id` of `sources`.
pub(crate) fn parse(sources: &SourceMap, id: FileId) -> Parsed {
    let text = &sources.get(id).text;
    let failed = |d: Diagnostic| Parsed {
        file: None,
        diagnostics: vec![d],
    };
    let trivia = match delimiters::scan(id, text) {
        Ok(t) => t,
        Err(d) => return failed(*d),
    };
    match Grammar::parse(Rule::file, text) {
        Ok(mut pairs) => {
            let mut b = Builder {
                file: id,
                text,
                errors: Vec::new(),
                depth: 0,
                too_deep: false,
            };
            let file = b.file(pairs.next().expect("the file rule always yields a pair"));
            Parsed {
                file: Some(file),
                diagnostics: b.errors,
            }
        }
        Err(first) => {
            let detailed = parse_with_detail(text);
            failed(errors::translate(
                id,
                text,
                &trivia,
                detailed.as_ref().unwrap_or(&first),
            ))
        }
    }
}

/// Parse again collecting what was expected at the furthest position. This
/// costs time, so only failed files pay it. pest's switch for it is global:
/// count the threads that need it, so one never turns it off under another.
fn parse_with_detail(text: &str) -> Option<pest::error::Error<Rule>> {
    static DETAILED: std::sync::Mutex<usize> = std::sync::Mutex::new(0);
    let switch = |delta: isize| {
        let mut active = DETAILED.lock().unwrap_or_else(|e| e.into_inner());
        *active = active.saturating_add_signed(delta);
        pest::set_error_detail(*active > 0);
    };
    switch(1);
    let result = Grammar::parse(Rule::file, text).err();
    switch(-1);
    result
}

/// Parse `text` as a standalone file named `name` (tests and tools).
pub fn parse_str(name: &str, text: &str) -> (SourceMap, Parsed) {
    let mut sources = SourceMap::new();
    let id = sources.add(name, text);
    let parsed = parse(&sources, id);
    (sources, parsed)
}

struct Builder<'s> {
    file: FileId,
    text: &'s str,
    errors: Vec<Diagnostic>,
    depth: usize,
    too_deep: bool,
}

type Items<'s> = std::iter::Peekable<Pairs<'s, Rule>>;

fn is_prefix(rule: Rule) -> bool {
    matches!(rule, Rule::op_not | Rule::op_neg | Rule::kw_await)
}

fn is_postfix(rule: Rule) -> bool {
    matches!(rule, Rule::method | Rule::index)
}

/// The operator of an `infix_op` pair.
fn binary_op(pair: &Pair<Rule>) -> Option<BinaryOp> {
    use BinaryOp::*;
    if pair.as_rule() != Rule::infix_op {
        return None;
    }
    Some(match pair.as_str() {
        "||" => Or,
        "&&" => And,
        "==" => Eq,
        "!=" => Ne,
        "=~" => Match,
        "!~" => NoMatch,
        "in" => In,
        "<" => Lt,
        "<=" => Le,
        ">" => Gt,
        ">=" => Ge,
        "+" => Add,
        "-" => Sub,
        "*" => Mul,
        "/" => Div,
        _ => Mod,
    })
}

impl<'s> Builder<'s> {
    fn span(&self, p: &Pair<Rule>) -> Span {
        let s = p.as_span();
        Span::new(self.file, s.start(), s.end())
    }

    fn spanned_str(&self, p: &Pair<Rule>) -> Spanned<String> {
        Spanned::new(p.as_str().to_string(), self.span(p))
    }

    /// A `$name` token: the name without `$`, spanned over the whole token.
    fn var_name(&self, p: &Pair<Rule>) -> Spanned<String> {
        Spanned::new(p.as_str()[1..].to_string(), self.span(p))
    }

    fn error(&mut self, d: Diagnostic) {
        self.errors.push(d);
    }

    /// Track depth; false (and one error) once the AST would be too deep.
    fn enter(&mut self, levels: usize, span: Span) -> bool {
        self.depth += levels;
        if self.depth > MAX_DEPTH {
            if !self.too_deep {
                self.too_deep = true;
                self.error(
                    Diagnostic::error(
                        "nesting-too-deep",
                        span,
                        format!("expression nests deeper than {MAX_DEPTH} levels"),
                    )
                    .with_label("this expression")
                    .with_help("split it with intermediate variables"),
                );
            }
            return false;
        }
        true
    }

    fn file(&mut self, pair: Pair<'s, Rule>) -> File {
        let mut file = File {
            id: self.file,
            plans: Vec::new(),
            functions: Vec::new(),
            tests: Vec::new(),
        };
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::plan => file.plans.push(self.plan(p)),
                Rule::test => file.tests.push(self.test(p)),
                _ => {}
            }
        }
        file
    }

    fn test(&mut self, pair: Pair<'s, Rule>) -> Test {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        inner.next(); // kw_test
        let text = inner.next().expect("test description");
        let text_span = self.span(&text);
        let parts = self.string(text);
        let description = match parts.as_slice() {
            [] => String::new(),
            [StrPart::Lit(s)] => s.clone(),
            _ => {
                self.error(
                    Diagnostic::error(
                        "interpolation-in-test",
                        text_span,
                        "a test's description cannot interpolate",
                    )
                    .with_help("use single quotes or drop the `$`"),
                );
                String::new()
            }
        };
        let body = self.block(inner.next().expect("test body"));
        Test {
            description: Spanned::new(description, text_span),
            body,
            span,
        }
    }

    fn plan(&mut self, pair: Pair<'s, Rule>) -> Plan {
        let span = self.span(&pair);
        let description = self.description(span.start as usize);
        let mut inner = pair.into_inner();
        inner.next(); // kw_plan
        let name = self.spanned_str(&inner.next().expect("plan name"));
        let mut params = Vec::new();
        let mut body = None;
        for p in inner {
            match p.as_rule() {
                Rule::params => params = p.into_inner().map(|p| self.param(p)).collect(),
                Rule::block => body = Some(self.block(p)),
                _ => {}
            }
        }
        Plan {
            name,
            description,
            params,
            body: body.expect("plan body"),
            span,
            puppet: false,
            returns: None,
        }
    }

    /// The `#` lines directly above the `plan` keyword.
    fn description(&self, plan_start: usize) -> Option<String> {
        let before = &self.text[..plan_start];
        let line_start = before.rfind('\n').map_or(0, |n| n + 1);
        let mut lines: Vec<&str> = before[..line_start]
            .lines()
            .rev()
            .map(str::trim)
            .take_while(|l| l.starts_with('#'))
            .map(|l| l.trim_start_matches('#'))
            .map(|l| l.strip_prefix(' ').unwrap_or(l))
            .collect();
        lines.reverse();
        (!lines.is_empty()).then(|| lines.join("\n"))
    }

    fn param(&mut self, pair: Pair<'s, Rule>) -> Param {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let ty = self.type_expr(inner.next().expect("param type"));
        let name = self.var_name(&inner.next().expect("param name"));
        let default = inner.next().map(|p| self.expr(p));
        Param {
            ty,
            name,
            default,
            span,
        }
    }

    fn type_expr(&mut self, pair: Pair<'s, Rule>) -> Spanned<Type> {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let name = self.spanned_str(&inner.next().expect("type name"));
        let args = inner
            .map(|p| {
                let s = self.span(&p);
                let arg = match p.as_rule() {
                    Rule::type_expr => TypeArg::Type(self.type_expr(p).node),
                    Rule::word => TypeArg::Word(p.as_str().to_string()),
                    Rule::type_int => match p.as_str().parse() {
                        Ok(n) => TypeArg::Int(n),
                        Err(_) => {
                            self.error(Diagnostic::error(
                                "integer-overflow",
                                s,
                                "integer does not fit in 64 bits",
                            ));
                            TypeArg::Int(0)
                        }
                    },
                    _ => match self.string(p).as_slice() {
                        [] => TypeArg::Str(String::new()),
                        [StrPart::Lit(text)] => TypeArg::Str(text.clone()),
                        _ => {
                            self.error(
                                Diagnostic::error(
                                    "interpolation-in-type",
                                    s,
                                    "type arguments cannot interpolate",
                                )
                                .with_help("use single quotes or drop the `$`"),
                            );
                            TypeArg::Str(String::new())
                        }
                    },
                };
                Spanned::new(arg, s)
            })
            .collect();
        Spanned::new(Type { name, args }, span)
    }

    fn block(&mut self, pair: Pair<'s, Rule>) -> Block {
        let span = self.span(&pair);
        if !self.enter(1, span) {
            self.depth -= 1;
            return Block {
                stmts: Vec::new(),
                span,
            };
        }
        let stmts = pair.into_inner().map(|p| self.stmt(p)).collect();
        self.depth -= 1;
        Block { stmts, span }
    }

    fn stmt(&mut self, pair: Pair<'s, Rule>) -> Stmt {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let mut inner = pair.into_inner();
        let kind = match rule {
            Rule::assign_stmt => {
                let name = self.var_name(&inner.next().expect("variable"));
                let value = self.expr(inner.next().expect("value"));
                StmtKind::Assign { name, value }
            }
            Rule::expr_stmt | Rule::lambda_expr_stmt => {
                StmtKind::Expr(self.expr(inner.next().expect("expr")))
            }
            Rule::return_stmt => StmtKind::Return(inner.nth(1).map(|p| self.expr(p))),
            Rule::break_stmt => StmtKind::Break,
            Rule::continue_stmt => StmtKind::Continue,
            Rule::await_all_stmt => StmtKind::AwaitAll,
            Rule::async_stmt => StmtKind::Async(self.block(inner.nth(1).expect("block"))),
            Rule::if_stmt => {
                inner.next(); // kw_if
                let cond = self.expr(inner.next().expect("condition"));
                let body = self.block(inner.next().expect("block"));
                let mut branches = vec![(cond, body)];
                let mut otherwise = None;
                for clause in inner {
                    let is_else = clause.as_rule() == Rule::else_clause;
                    let mut c = clause.into_inner();
                    c.next(); // keyword
                    if is_else {
                        otherwise = Some(self.block(c.next().expect("block")));
                    } else {
                        let cond = self.expr(c.next().expect("condition"));
                        branches.push((cond, self.block(c.next().expect("block"))));
                    }
                }
                StmtKind::If {
                    branches,
                    otherwise,
                }
            }
            Rule::unless_stmt => {
                inner.next();
                let cond = self.expr(inner.next().expect("condition"));
                let body = self.block(inner.next().expect("block"));
                let otherwise = inner
                    .next()
                    .map(|c| self.block(c.into_inner().nth(1).expect("block")));
                StmtKind::Unless {
                    cond,
                    body,
                    otherwise,
                }
            }
            Rule::foreach_stmt => StmtKind::Foreach(Box::new(self.foreach(inner))),
            Rule::with_stmt => {
                inner.next();
                let mut options = Vec::new();
                let mut body = None;
                for p in inner {
                    if p.as_rule() == Rule::block {
                        body = Some(self.block(p));
                    } else {
                        let mut o = p.into_inner();
                        let key = self.spanned_str(&o.next().expect("key"));
                        let value = self.expr(o.next().expect("value"));
                        options.push(WithOption { key, value });
                    }
                }
                StmtKind::With {
                    options,
                    body: body.expect("with body"),
                }
            }
            Rule::try_stmt => {
                inner.next();
                let body = self.block(inner.next().expect("block"));
                let mut catch = None;
                let mut finally = None;
                for clause in inner {
                    let is_catch = clause.as_rule() == Rule::catch_clause;
                    let mut c = clause.into_inner();
                    c.next();
                    if is_catch {
                        let first = c.next().expect("catch body");
                        let (var, body) = if first.as_rule() == Rule::variable {
                            (Some(self.var_name(&first)), c.next().expect("block"))
                        } else {
                            (None, first)
                        };
                        catch = Some(Catch {
                            var,
                            body: self.block(body),
                        });
                    } else {
                        finally = Some(self.block(c.next().expect("block")));
                    }
                }
                StmtKind::Try {
                    body,
                    catch,
                    finally,
                }
            }
            other => unreachable!("not a statement: {other:?}"),
        };
        Spanned::new(kind, span)
    }

    fn foreach(&mut self, mut inner: Pairs<'s, Rule>) -> Foreach {
        inner.next(); // kw_foreach
        let first = self.var_name(&inner.next().expect("loop variable"));
        let mut next = inner.next().expect("in");
        let (key, value) = if next.as_rule() == Rule::variable {
            let second = self.var_name(&next);
            next = inner.next().expect("in");
            (Some(first), second)
        } else {
            (None, first)
        };
        debug_assert_eq!(next.as_rule(), Rule::kw_in);
        let iterable = self.expr(inner.next().expect("iterable"));
        let mut mode = LoopMode::Sequential;
        let mut max_failures = None;
        let mut body = None;
        for p in inner {
            match p.as_rule() {
                Rule::parallel_mode => {
                    mode = LoopMode::Parallel(p.into_inner().nth(1).map(|e| self.count(e)))
                }
                Rule::serial_mode => {
                    mode = LoopMode::Serial(self.count(p.into_inner().nth(1).expect("count")))
                }
                Rule::max_failures => {
                    max_failures = Some(self.count(p.into_inner().nth(1).expect("count")))
                }
                _ => body = Some(self.block(p)),
            }
        }
        Foreach {
            key,
            value,
            iterable,
            mode,
            max_failures,
            body: body.expect("loop body"),
        }
    }

    /// A loop count: a lone percentage literal, or any expression.
    fn count(&mut self, pair: Pair<'s, Rule>) -> Spanned<Count> {
        let span = self.span(&pair);
        let mut items = pair.clone().into_inner();
        if let (Some(only), None) = (items.next(), items.next())
            && only.as_rule() == Rule::number
            && let Some(digits) = only.as_str().strip_suffix('%')
        {
            return match digits.replace('_', "").parse::<u32>() {
                Ok(n) => Spanned::new(Count::Percent(n), span),
                Err(_) => {
                    self.error(
                        Diagnostic::error(
                            "bad-percentage",
                            span,
                            format!("invalid percentage `{}`", only.as_str()),
                        )
                        .with_help("a percentage is a whole number from 1% to 100%"),
                    );
                    Spanned::new(Count::Percent(100), span)
                }
            };
        }
        Spanned::new(Count::Expr(self.expr(pair)), span)
    }

    /// An `expr` or `interp_expr`: a flat operator sequence climbed by precedence.
    fn expr(&mut self, pair: Pair<'s, Rule>) -> Expr {
        let span = self.span(&pair);
        let items = pair.into_inner();
        let operators = items
            .clone()
            .filter(|p| {
                let r = p.as_rule();
                is_prefix(r) || is_postfix(r) || r == Rule::infix_op
            })
            .count();
        let expr = if self.enter(operators + 1, span) {
            let mut items = items.peekable();
            self.climb(&mut items, 0)
        } else {
            Spanned::new(ExprKind::Undef, span)
        };
        self.depth -= operators + 1;
        expr
    }

    fn climb(&mut self, items: &mut Items<'s>, min_prec: u8) -> Expr {
        let mut lhs = self.operand(items);
        while let Some(op) = items.peek().and_then(binary_op) {
            if op.precedence() < min_prec {
                break;
            }
            items.next();
            let rhs = self.climb(items, op.precedence() + 1);
            let span = lhs.span.to(rhs.span);
            lhs = Spanned::new(ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)), span);
        }
        lhs
    }

    /// Prefix operators, a primary and its postfix operators.
    fn operand(&mut self, items: &mut Items<'s>) -> Expr {
        let mut prefixes = Vec::new();
        while let Some(p) = items.next_if(|p| is_prefix(p.as_rule())) {
            prefixes.push(p);
        }
        let primary = items.next().expect("grammar guarantees a primary");
        let mut postfixes = Vec::new();
        while let Some(p) = items.next_if(|p| is_postfix(p.as_rule())) {
            postfixes.push(p);
        }
        // `-42` is one literal, so that i64::MIN can be written.
        let mut expr = match prefixes.last() {
            Some(neg)
                if neg.as_rule() == Rule::op_neg
                    && primary.as_rule() == Rule::number
                    && postfixes.is_empty() =>
            {
                let neg = prefixes.pop().expect("checked");
                let span = self.span(&neg).to(self.span(&primary));
                self.number_literal(&primary, span, true)
            }
            _ => self.primary(primary),
        };
        for p in postfixes {
            let pspan = self.span(&p);
            let span = expr.span.to(pspan);
            expr = match p.as_rule() {
                Rule::method => {
                    let mut m = p.into_inner();
                    let name = self.spanned_str(&m.next().expect("method name"));
                    let mut args = Vec::new();
                    let mut lambda = None;
                    for q in m {
                        match q.as_rule() {
                            Rule::call_args => args = self.args(q),
                            _ => lambda = Some(self.lambda(q)),
                        }
                    }
                    Spanned::new(
                        ExprKind::Method(Box::new(Method {
                            recv: expr,
                            name,
                            args,
                            lambda,
                        })),
                        span,
                    )
                }
                _ => {
                    let index = self.expr(p.into_inner().next().expect("index"));
                    Spanned::new(ExprKind::Index(Box::new(expr), Box::new(index)), span)
                }
            };
        }
        for p in prefixes.into_iter().rev() {
            let op = match p.as_rule() {
                Rule::op_not => UnaryOp::Not,
                Rule::op_neg => UnaryOp::Neg,
                _ => UnaryOp::Await,
            };
            let span = self.span(&p).to(expr.span);
            expr = Spanned::new(ExprKind::Unary(op, Box::new(expr)), span);
        }
        expr
    }

    fn primary(&mut self, pair: Pair<'s, Rule>) -> Expr {
        let span = self.span(&pair);
        let kind = match pair.as_rule() {
            Rule::number => return self.number_literal(&pair, span, false),
            Rule::literal_kw => match pair.as_str() {
                "true" => ExprKind::Bool(true),
                "false" => ExprKind::Bool(false),
                _ => ExprKind::Undef,
            },
            Rule::dq_string | Rule::sq_string => ExprKind::Str(self.string(pair)),
            Rule::variable => ExprKind::Var(pair.as_str()[1..].to_string()),
            Rule::bare_var => ExprKind::Var(pair.as_str().to_string()),
            Rule::array => ExprKind::Array(pair.into_inner().map(|p| self.expr(p)).collect()),
            Rule::hash => ExprKind::Hash(
                pair.into_inner()
                    .map(|entry| {
                        let mut e = entry.into_inner();
                        let k = e.next().expect("key");
                        let key = if k.as_rule() == Rule::bare_key {
                            let s = self.span(&k);
                            Spanned::new(ExprKind::Str(vec![StrPart::Lit(k.as_str().into())]), s)
                        } else {
                            self.expr(k)
                        };
                        (key, self.expr(e.next().expect("value")))
                    })
                    .collect(),
            ),
            Rule::async_expr => {
                ExprKind::Async(self.block(pair.into_inner().nth(1).expect("block")))
            }
            Rule::paren => return self.expr(pair.into_inner().next().expect("inner")),
            Rule::call => {
                let mut c = pair.into_inner();
                let name = self.spanned_str(&c.next().expect("name"));
                let args = self.args(c.next().expect("args"));
                let lambda = c.next().map(|l| self.lambda(l));
                ExprKind::Call(Box::new(Call { name, args, lambda }))
            }
            other => unreachable!("not a primary: {other:?}"),
        };
        Spanned::new(kind, span)
    }

    fn args(&mut self, pair: Pair<'s, Rule>) -> Vec<Arg> {
        let mut args = Vec::new();
        let mut first_named: Option<Span> = None;
        for p in pair.into_inner() {
            if p.as_rule() == Rule::named_arg {
                let mut n = p.into_inner();
                let name = self.spanned_str(&n.next().expect("name"));
                first_named.get_or_insert(name.span);
                args.push(Arg::Named(name, self.expr(n.next().expect("value"))));
            } else {
                let e = self.expr(p);
                if let Some(named) = first_named {
                    self.error(
                        Diagnostic::error(
                            "positional-after-named",
                            e.span,
                            "positional argument after a named argument",
                        )
                        .with_label("positional argument")
                        .with_secondary(named, "first named argument")
                        .with_help("put positional arguments first"),
                    );
                }
                args.push(Arg::Positional(e));
            }
        }
        args
    }

    fn lambda(&mut self, pair: Pair<'s, Rule>) -> Lambda {
        let span = self.span(&pair);
        let mut params = Vec::new();
        let mut body = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::lambda_param => {
                    let mut lp = p.into_inner();
                    let first = lp.next().expect("param");
                    if first.as_rule() == Rule::type_expr {
                        let ty = self.type_expr(first);
                        params.push((Some(ty), self.var_name(&lp.next().expect("name"))));
                    } else {
                        params.push((None, self.var_name(&first)));
                    }
                }
                _ => body = Some(self.block(p)),
            }
        }
        Lambda {
            params,
            body: body.expect("lambda body"),
            span,
        }
    }

    fn string(&mut self, pair: Pair<'s, Rule>) -> Vec<StrPart> {
        let mut parts: Vec<StrPart> = Vec::new();
        let push_text = |parts: &mut Vec<StrPart>, s: &str| match parts.last_mut() {
            Some(StrPart::Lit(t)) => t.push_str(s),
            _ if !s.is_empty() => parts.push(StrPart::Lit(s.to_string())),
            _ => {}
        };
        if pair.as_rule() == Rule::sq_string {
            let raw = pair.into_inner().next().map_or("", |p| p.as_str());
            let mut text = String::with_capacity(raw.len());
            let mut chars = raw.chars();
            while let Some(c) = chars.next() {
                match (c, chars.clone().next()) {
                    ('\\', Some(n @ ('\'' | '\\'))) => {
                        text.push(n);
                        chars.next();
                    }
                    _ => text.push(c),
                }
            }
            push_text(&mut parts, &text);
            return parts;
        }
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::dq_text | Rule::dollar => push_text(&mut parts, p.as_str()),
                Rule::escape => {
                    let c = p.as_str()[1..].chars().next().unwrap_or('\\');
                    let resolved = match c {
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        '0' => '\0',
                        '"' | '\\' | '$' | '\'' => c,
                        _ => {
                            let span = self.span(&p);
                            self.error(
                                Diagnostic::error(
                                    "unknown-escape",
                                    span,
                                    format!("unknown escape `\\{c}` in a double-quoted string"),
                                )
                                .with_label("not an escape")
                                .with_help(
                                    "known escapes are \\n \\t \\r \\0 \\\" \\\\ \\$; \
                                     use single quotes for backslashes (regular expressions)",
                                ),
                            );
                            c
                        }
                    };
                    push_text(&mut parts, resolved.encode_utf8(&mut [0; 4]));
                }
                Rule::interp_var => {
                    let span = self.span(&p);
                    parts.push(StrPart::Interp(Spanned::new(
                        ExprKind::Var(p.as_str()[1..].to_string()),
                        span,
                    )));
                }
                _ => {
                    let inner = p.into_inner().next().expect("interpolated expression");
                    parts.push(StrPart::Interp(self.expr(inner)));
                }
            }
        }
        parts
    }

    fn number_literal(&mut self, pair: &Pair<Rule>, span: Span, negative: bool) -> Expr {
        let text = pair.as_str();
        let kind = match classify_number(text, negative) {
            Ok(Number::Int(n)) => ExprKind::Int(n),
            Ok(Number::Float(f)) => ExprKind::Float(f),
            Ok(Number::Duration(ms)) if !negative => ExprKind::Duration(ms),
            Ok(Number::Duration(_)) => {
                self.error(
                    Diagnostic::error("bad-duration", span, "a duration cannot be negative")
                        .with_label("negative duration"),
                );
                ExprKind::Undef
            }
            Ok(Number::Percent) => {
                self.error(
                    Diagnostic::error(
                        "misplaced-percentage",
                        span,
                        format!("a percentage such as `{text}` is only allowed after `serial` or `max_failures`"),
                    )
                    .with_label("percentage here")
                    .with_help("use a number, or move the percentage into a `foreach ... serial` clause"),
                );
                ExprKind::Undef
            }
            Err((code, message, help)) => {
                self.error(
                    Diagnostic::error(code, span, message)
                        .with_label("here")
                        .with_help(help),
                );
                ExprKind::Undef
            }
        };
        Spanned::new(kind, span)
    }
}
