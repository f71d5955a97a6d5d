//! Puppet-language plans (`plans/*.pp`) to drover's AST: a recursive
//! descent over [`super::lexer`]'s tokens, with Puppet's operator
//! precedence. Puppet's statements are expressions without `;`; its `if` is
//! a value ([`ExprKind::If`]); a call's trailing `key => value` pairs are
//! its named arguments (Bolt's task parameters); `break()`, `next()` and
//! `return(...)` are statements.

use super::lexer::{Tok, Token, lex};
use crate::diagnostic::Diagnostic;
use crate::source::{FileId, Span, Spanned};
use crate::syntax::ast::*;

/// What parsing a `.pp` file gives: its plans, or the first error.
/// `functions_file`: a module's `functions/*.pp`, where `function`
/// definitions belong.
pub fn parse(file: FileId, text: &str, functions_file: bool) -> Result<File, Box<Diagnostic>> {
    let tokens = lex(file, text)?;
    let mut p = Parser {
        file,
        text,
        tokens,
        at: 0,
        depth: 0,
        functions_file,
    };
    p.file()
}

/// Puppet functions that drover has as methods: a call `f($x, ...)` is
/// `$x.f(...)`.
const METHOD_FUNCTIONS: &[&str] = &[
    "abs",
    "all",
    "any",
    "capitalize",
    "count",
    "dig",
    "downcase",
    "each",
    "empty",
    "filter",
    "first",
    "flatten",
    "join",
    "keys",
    "last",
    "length",
    "lest",
    "map",
    "match",
    "merge",
    "reduce",
    "regsubst",
    "reverse",
    "size",
    "sort",
    "split",
    "strip",
    "then",
    "unique",
    "upcase",
    "values",
];

/// The call of `name` (written at `at`), spanning `span`.
fn call(name: String, at: Span, args: Vec<Arg>, lambda: Option<Lambda>, span: Span) -> Expr {
    Spanned::new(
        ExprKind::Call(Box::new(Call {
            name: Spanned::new(name, at),
            args,
            lambda,
        })),
        span,
    )
}

/// Words that start or continue statements: a bare word close to one is a
/// typo (`elseif`), said with did-you-mean.
const KEYWORDS: &[&str] = &[
    "if", "elsif", "else", "unless", "case", "return", "break", "next", "default", "undef", "true",
    "false",
];

/// Puppet's functions that a statement may call without parentheses
/// (`notice $x`, `fail 'why'`).
const STATEMENT_CALLS: &[&str] = &["debug", "err", "fail", "info", "notice", "warning"];

/// How deep expressions may nest before the parser gives up (no stack overflow).
const MAX_DEPTH: usize = 200;

struct Parser<'t> {
    file: FileId,
    text: &'t str,
    tokens: Vec<Token>,
    at: usize,
    depth: usize,
    /// A `functions/*.pp` file: `function` definitions are welcome.
    functions_file: bool,
}

/// Diagnostics are large: boxed, so that every `Result` stays small.
type PResult<T> = Result<T, Box<Diagnostic>>;

/// Binary operators, loosest first: each level binds tighter than the last.
const LEVELS: &[&[(&str, BinaryOp)]] = &[
    &[("or", BinaryOp::Or)],
    &[("and", BinaryOp::And)],
    &[("==", BinaryOp::Eq), ("!=", BinaryOp::Ne)],
    &[
        (">=", BinaryOp::Ge),
        ("<=", BinaryOp::Le),
        (">", BinaryOp::Gt),
        ("<", BinaryOp::Lt),
    ],
    &[("+", BinaryOp::Add), ("-", BinaryOp::Sub)],
    &[
        ("*", BinaryOp::Mul),
        ("/", BinaryOp::Div),
        ("%", BinaryOp::Mod),
    ],
    &[("=~", BinaryOp::Match), ("!~", BinaryOp::NoMatch)],
    &[("in", BinaryOp::In)],
];

impl<'t> Parser<'t> {
    fn peek(&self) -> &Tok {
        &self.tokens[self.at].tok
    }

    fn peek_at(&self, n: usize) -> &Tok {
        &self.tokens[(self.at + n).min(self.tokens.len() - 1)].tok
    }

    fn span(&self) -> Span {
        self.tokens[self.at].span
    }

    fn prev_span(&self) -> Span {
        self.tokens[self.at.saturating_sub(1)].span
    }

    fn bump(&mut self) -> Token {
        let t = self.tokens[self.at].clone();
        if self.at < self.tokens.len() - 1 {
            self.at += 1;
        }
        t
    }

    fn is(&self, p: &str) -> bool {
        matches!(self.peek(), Tok::Punct(q) if *q == p)
    }

    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Tok::Name(n) if n == w)
    }

    fn eat(&mut self, p: &str) -> bool {
        if self.is(p) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn describe(tok: &Tok) -> String {
        match tok {
            Tok::Var(v) => format!("`${v}`"),
            Tok::Name(n) | Tok::Type(n) => format!("`{n}`"),
            Tok::Int(n) => format!("`{n}`"),
            Tok::Float(f) => format!("`{f}`"),
            Tok::SqStr(_) | Tok::DqStr(..) => "a string".into(),
            Tok::Heredoc(..) => "a heredoc".into(),
            Tok::Regex(_) => "a regular expression".into(),
            Tok::Punct(p) => format!("`{p}`"),
            Tok::Eof => "the end of the file".into(),
        }
    }

    fn error<T>(&self, span: Span, message: impl Into<String>) -> PResult<T> {
        Err(Box::new(Diagnostic::error("syntax", span, message)))
    }

    /// A construct drover does not run (an agent's, PuppetDB's, or one not
    /// done yet): its own diagnostic code, so that tools can tell.
    fn unsupported<T>(&self, span: Span, message: impl Into<String>) -> PResult<T> {
        Err(Box::new(
            Diagnostic::error("unsupported", span, message).with_label("not supported by drover"),
        ))
    }

    /// A variable (`$name`), or an error expecting `what`.
    fn var(&mut self, what: &str) -> PResult<Spanned<String>> {
        match self.peek().clone() {
            Tok::Var(v) => Ok(Spanned::new(v, self.bump().span)),
            _ => self.expected(what),
        }
    }

    fn expected<T>(&self, what: &str) -> PResult<T> {
        let found = Self::describe(self.peek());
        self.error(self.span(), format!("expected {what}, found {found}"))
            .map_err(|d| Box::new(d.with_label(format!("expected {what}"))))
    }

    fn expect(&mut self, p: &str) -> PResult<Span> {
        if self.is(p) {
            Ok(self.bump().span)
        } else {
            self.expected(&format!("`{p}`"))
        }
    }

    fn file(&mut self) -> PResult<File> {
        let mut plans = Vec::new();
        let mut functions = Vec::new();
        loop {
            match self.peek().clone() {
                Tok::Eof => break,
                Tok::Name(w) if w == "plan" => plans.push(self.plan()?),
                Tok::Name(w) if w == "function" && self.functions_file => {
                    functions.push(self.plan()?);
                }
                Tok::Name(w) if w == "function" => {
                    return self.unsupported(
                        self.span(),
                        "a `function` beside plans is not supported by drover: Puppet functions belong in a module's `functions/NAME.pp`",
                    );
                }
                Tok::Name(w) if w == "class" || w == "define" || w == "node" => {
                    return self.unsupported(
                        self.span(),
                        format!("a `{w}` in a plan file is not supported by drover: only `plan` definitions run"),
                    );
                }
                _ => return self.expected("`plan`"),
            }
        }
        Ok(File {
            id: self.file,
            plans,
            functions,
            tests: Vec::new(),
        })
    }

    /// The comment lines directly above byte `at`, without their `#`: the
    /// plan's description (Puppet strings' `@summary`, `@param` included).
    fn doc_above(&self, at: usize) -> Option<String> {
        let before = &self.text[..at];
        let mut lines: Vec<&str> = Vec::new();
        for line in before
            .lines()
            .rev()
            .skip(usize::from(!before.ends_with('\n')))
        {
            let t = line.trim();
            match t.strip_prefix('#') {
                Some(rest) => lines.push(rest.strip_prefix(' ').unwrap_or(rest)),
                None if t.is_empty() && lines.is_empty() => continue,
                None => break,
            }
        }
        lines.reverse();
        (!lines.is_empty()).then(|| lines.join("\n"))
    }

    fn plan(&mut self) -> PResult<Plan> {
        let start = self.bump().span;
        let description = self.doc_above(start.start as usize);
        let name = match self.bump() {
            Token {
                tok: Tok::Name(n),
                span,
            } => Spanned::new(n, span),
            t => {
                self.at -= 1;
                let _ = t;
                return self.expected("the plan's name");
            }
        };
        let mut params = Vec::new();
        if self.eat("(") {
            while !self.is(")") {
                params.push(self.param()?);
                if !self.eat(",") {
                    break;
                }
            }
            self.expect(")")?;
        }
        // A function's return type: `>> Integer`.
        let returns = if self.eat(">>") {
            Some(self.ty()?)
        } else {
            None
        };
        let body = self.block()?;
        Ok(Plan {
            name,
            description,
            params,
            span: start.to(body.span),
            body,
            puppet: true,
            returns,
        })
    }

    fn param(&mut self) -> PResult<Param> {
        let start = self.span();
        let ty = if matches!(self.peek(), Tok::Type(_)) {
            self.ty()?
        } else {
            Spanned::new(
                Type {
                    name: Spanned::new("Any".into(), start),
                    args: Vec::new(),
                },
                start,
            )
        };
        let name = self.var("a parameter (`$name`)")?;
        let default = if self.eat("=") {
            Some(self.expr()?)
        } else {
            None
        };
        let end = default.as_ref().map_or(name.span, |d| d.span);
        Ok(Param {
            ty,
            name,
            default,
            span: start.to(end),
        })
    }

    fn ty(&mut self) -> PResult<Spanned<Type>> {
        let Token {
            tok: Tok::Type(name),
            span,
        } = self.bump()
        else {
            self.at -= 1;
            return self.expected("a type");
        };
        let mut args = Vec::new();
        let mut end = span;
        if self.is("[") {
            self.bump();
            while !self.is("]") {
                let at = self.span();
                let arg = match self.peek().clone() {
                    Tok::Type(_) => TypeArg::Type(self.ty()?.node),
                    Tok::SqStr(s) => {
                        self.bump();
                        TypeArg::Str(s)
                    }
                    Tok::DqStr(s, _) => {
                        self.bump();
                        TypeArg::Str(s)
                    }
                    Tok::Name(w) => {
                        self.bump();
                        TypeArg::Word(w)
                    }
                    Tok::Int(n) => {
                        self.bump();
                        TypeArg::Int(n)
                    }
                    Tok::Punct("-") if matches!(self.peek_at(1), Tok::Int(_)) => {
                        self.bump();
                        let Tok::Int(n) = self.bump().tok else {
                            unreachable!()
                        };
                        TypeArg::Int(-n)
                    }
                    Tok::Regex(r) => {
                        self.bump();
                        TypeArg::Regex(r)
                    }
                    _ => return self.expected("a type argument"),
                };
                args.push(Spanned::new(arg, at.to(self.prev_span())));
                if !self.eat(",") {
                    break;
                }
            }
            end = self.expect("]")?;
        }
        Ok(Spanned::new(
            Type {
                name: Spanned::new(name, span),
                args,
            },
            span.to(end),
        ))
    }

    fn block(&mut self) -> PResult<Block> {
        let open = self.expect("{")?;
        let stmts = self.stmts("}")?;
        let close = self.expect("}")?;
        Ok(Block {
            stmts,
            span: open.to(close),
        })
    }

    fn stmts(&mut self, end: &str) -> PResult<Vec<Stmt>> {
        let mut stmts = Vec::new();
        while !self.is(end) && *self.peek() != Tok::Eof {
            if self.eat(";") {
                continue;
            }
            stmts.push(self.stmt()?);
        }
        Ok(stmts)
    }

    fn stmt(&mut self) -> PResult<Stmt> {
        let start = self.span();
        // `break()`, `next()`, `return(x)`, `return x`, `return`.
        if let Tok::Name(w) = self.peek().clone() {
            match w.as_str() {
                "break" | "next" if matches!(self.peek_at(1), Tok::Punct("(")) => {
                    self.bump();
                    self.expect("(")?;
                    let end = self.expect(")")?;
                    let kind = if w == "break" {
                        StmtKind::Break
                    } else {
                        StmtKind::Continue
                    };
                    return Ok(Spanned::new(kind, start.to(end)));
                }
                "return" => {
                    self.bump();
                    let ends = matches!(self.peek(), Tok::Punct("}") | Tok::Eof);
                    let value = if ends {
                        None
                    } else if self.is("(") && matches!(self.peek_at(1), Tok::Punct(")")) {
                        self.bump();
                        self.bump();
                        None
                    } else {
                        Some(self.expr()?)
                    };
                    let end = value.as_ref().map_or(self.prev_span(), |v| v.span);
                    return Ok(Spanned::new(StmtKind::Return(value), start.to(end)));
                }
                _ => {}
            }
        }
        // A bare word followed by more of an expression: a call without
        // parentheses (`notice $x`), a mistyped keyword, or a resource.
        if let Tok::Name(w) = self.peek().clone()
            && !KEYWORDS.contains(&w.as_str())
        {
            let next = self.peek_at(1);
            let operator =
                matches!(next, Tok::Name(n) if ["and", "or", "in"].contains(&n.as_str()));
            let ends = matches!(
                next,
                Tok::Punct("(" | "=>" | "," | "." | "}" | ")" | "]" | ";" | "=" | "[") | Tok::Eof
            );
            if !operator
                && !ends
                && !STATEMENT_CALLS.contains(&w.as_str())
                && let Some(keyword) = crate::diagnostic::did_you_mean(&w, KEYWORDS.iter().copied())
            {
                return Err(Box::new(
                    Diagnostic::error("syntax", start, format!("unknown keyword `{w}`"))
                        .with_label("not a keyword")
                        .with_help(format!("did you mean `{keyword}`?")),
                ));
            }
            let expression = matches!(
                next,
                Tok::Var(_) | Tok::Name(_) | Tok::SqStr(_) | Tok::DqStr(..) | Tok::Int(_)
            );
            if STATEMENT_CALLS.contains(&w.as_str()) && expression && !operator {
                self.bump();
                let mut args = vec![Arg::Positional(self.expr()?)];
                while self.eat(",") {
                    args.push(Arg::Positional(self.expr()?));
                }
                let end = self.prev_span();
                return Ok(Spanned::new(
                    StmtKind::Expr(call(w, start, args, None, start.to(end))),
                    start.to(end),
                ));
            }
            if matches!(next, Tok::Punct("{")) {
                return self.unsupported(
                    start,
                    format!("resource expressions (`{w} {{ ... }}`) are not supported by drover: they need a Puppet agent (`apply`)"),
                );
            }
        }
        // `$x = value`
        if matches!(self.peek(), Tok::Var(_)) && matches!(self.peek_at(1), Tok::Punct("=")) {
            let Token {
                tok: Tok::Var(name),
                span,
            } = self.bump()
            else {
                unreachable!()
            };
            self.bump();
            let value = self.expr()?;
            let end = value.span;
            return Ok(Spanned::new(
                StmtKind::Assign {
                    name: Spanned::new(name, span),
                    value,
                },
                start.to(end),
            ));
        }
        let e = self.expr()?;
        let span = e.span;
        Ok(Spanned::new(StmtKind::Expr(e), span))
    }

    fn expr(&mut self) -> PResult<Expr> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.error(self.span(), "expressions nest too deeply");
        }
        let e = self.binary(0);
        self.depth -= 1;
        e
    }

    fn binary(&mut self, level: usize) -> PResult<Expr> {
        if level == LEVELS.len() {
            return self.unary();
        }
        let mut left = self.binary(level + 1)?;
        loop {
            let op = LEVELS[level].iter().find(|(sym, _)| match self.peek() {
                Tok::Punct(p) => p == sym,
                Tok::Name(n) => n == sym,
                _ => false,
            });
            let Some((_, op)) = op else { break };
            self.bump();
            let right = self.binary(level + 1)?;
            let span = left.span.to(right.span);
            left = Spanned::new(ExprKind::Binary(*op, Box::new(left), Box::new(right)), span);
        }
        // `a << b` appends to an array: `a + [b]`.
        while level == 4 && self.is("<<") {
            self.bump();
            let right = self.binary(level + 1)?;
            let span = left.span.to(right.span);
            let item = Spanned::new(ExprKind::Array(vec![right]), span);
            left = Spanned::new(
                ExprKind::Binary(BinaryOp::Add, Box::new(left), Box::new(item)),
                span,
            );
        }
        Ok(left)
    }

    fn unary(&mut self) -> PResult<Expr> {
        let start = self.span();
        let op = match self.peek() {
            Tok::Punct("!") => Some(UnaryOp::Not),
            Tok::Punct("-") => Some(UnaryOp::Neg),
            Tok::Punct("*") => Some(UnaryOp::Splat),
            _ => None,
        };
        if let Some(op) = op {
            self.bump();
            self.depth += 1;
            if self.depth > MAX_DEPTH {
                return self.error(start, "expressions nest too deeply");
            }
            let e = self.unary()?;
            self.depth -= 1;
            let span = start.to(e.span);
            return Ok(Spanned::new(ExprKind::Unary(op, Box::new(e)), span));
        }
        let e = self.primary()?;
        let e = self.postfix(e)?;
        if self.is("?") {
            return self.selector(e);
        }
        Ok(e)
    }

    /// `.method`, `.method(args)`, lambdas, `[index]`.
    fn postfix(&mut self, mut e: Expr) -> PResult<Expr> {
        loop {
            if self.is(".") {
                self.bump();
                let (name, nspan) = match self.bump() {
                    Token {
                        tok: Tok::Name(n),
                        span,
                    } => (n, span),
                    Token {
                        tok: Tok::Type(n),
                        span,
                    } => (n, span),
                    _ => {
                        self.at -= 1;
                        return self.expected("a method name");
                    }
                };
                let args = if self.is("(") {
                    self.args()?
                } else {
                    Vec::new()
                };
                let lambda = self.lambda()?;
                let end = lambda.as_ref().map_or(self.prev_span(), |l| l.span);
                let span = e.span.to(end).to(nspan);
                // `Type.new(...)`: a call of `Type.new`.
                if name == "new"
                    && let ExprKind::Type(t) = &e.node
                    && t.args.is_empty()
                {
                    e = call(
                        format!("{}.new", t.name.node),
                        e.span.to(nspan),
                        args,
                        lambda,
                        span,
                    );
                    continue;
                }
                e = Spanned::new(
                    ExprKind::Method(Box::new(Method {
                        recv: e,
                        name: Spanned::new(name, nspan),
                        args,
                        lambda,
                    })),
                    span,
                );
            } else if self.is("[") && self.tokens[self.at].span.start == e.span.end {
                // `$x[1]` (no space before `[`: with one it is an array).
                self.bump();
                let mut index = self.expr()?;
                // `$x[start, count]`: a slice, the pair an Array.
                if self.eat(",") {
                    let count = self.expr()?;
                    let span = index.span.to(count.span);
                    index = Spanned::new(ExprKind::Array(vec![index, count]), span);
                }
                let end = self.expect("]")?;
                let span = e.span.to(end);
                e = Spanned::new(ExprKind::Index(Box::new(e), Box::new(index)), span);
            } else {
                return Ok(e);
            }
        }
    }

    /// `(args)`: positional arguments, then `key => value` pairs (a hash
    /// without braces), which become named arguments.
    fn args(&mut self) -> PResult<Vec<Arg>> {
        self.expect("(")?;
        let mut args = Vec::new();
        while !self.is(")") {
            let key_start = self.span();
            let key = match self.peek().clone() {
                Tok::Name(n) | Tok::SqStr(n) if matches!(self.peek_at(1), Tok::Punct("=>")) => {
                    Some(n)
                }
                Tok::DqStr(n, _)
                    if matches!(self.peek_at(1), Tok::Punct("=>")) && !n.contains('$') =>
                {
                    Some(n)
                }
                _ => None,
            };
            match key {
                Some(k) => {
                    self.bump();
                    self.bump();
                    let v = self.expr()?;
                    args.push(Arg::Named(Spanned::new(k, key_start), v));
                }
                None => args.push(Arg::Positional(self.expr()?)),
            }
            if !self.eat(",") {
                break;
            }
        }
        self.expect(")")?;
        Ok(args)
    }

    /// `|$a, Type $b| { body }` or `|| { body }`, if one follows.
    fn lambda(&mut self) -> PResult<Option<Lambda>> {
        let start = self.span();
        if !self.is("|") {
            return Ok(None);
        }
        self.bump();
        let mut params = Vec::new();
        while !self.is("|") {
            let ty = if matches!(self.peek(), Tok::Type(_)) {
                Some(self.ty()?)
            } else {
                None
            };
            let name = self.var("a lambda parameter (`$name`)")?;
            if self.eat("=") {
                self.expr()?;
            }
            params.push((ty, name));
            if !self.eat(",") {
                break;
            }
        }
        self.expect("|")?;
        let body = self.block()?;
        Ok(Some(Lambda {
            params,
            span: start.to(body.span),
            body,
        }))
    }

    fn primary(&mut self) -> PResult<Expr> {
        let Token { tok, span } = self.bump();
        let e = |node| Ok(Spanned::new(node, span));
        match tok {
            Tok::Int(n) => e(ExprKind::Int(n)),
            Tok::Float(f) => e(ExprKind::Float(f)),
            Tok::SqStr(s) => e(ExprKind::Str(vec![StrPart::Lit(s)])),
            Tok::DqStr(raw, offset) => {
                let parts = self.interpolate(&raw, offset)?;
                e(ExprKind::Str(parts))
            }
            Tok::Heredoc(raw, interpolates, offset) => {
                if interpolates {
                    let parts = self.interpolate(&raw, offset)?;
                    e(ExprKind::Str(parts))
                } else {
                    e(ExprKind::Str(vec![StrPart::Lit(raw)]))
                }
            }
            Tok::Regex(r) => e(ExprKind::Str(vec![StrPart::Lit(r)])),
            Tok::Var(v) => e(ExprKind::Var(v)),
            Tok::Punct("(") => {
                let inner = self.expr()?;
                let end = self.expect(")")?;
                Ok(Spanned::new(inner.node, span.to(end)))
            }
            Tok::Punct("[") => {
                let mut items = Vec::new();
                while !self.is("]") {
                    items.push(self.expr()?);
                    if !self.eat(",") {
                        break;
                    }
                }
                let end = self.expect("]")?;
                Ok(Spanned::new(ExprKind::Array(items), span.to(end)))
            }
            Tok::Punct("{") => {
                let mut entries = Vec::new();
                while !self.is("}") {
                    let k = self.expr()?;
                    self.expect("=>")?;
                    let v = self.expr()?;
                    entries.push((k, v));
                    if !self.eat(",") {
                        break;
                    }
                }
                let end = self.expect("}")?;
                Ok(Spanned::new(ExprKind::Hash(entries), span.to(end)))
            }
            Tok::Name(w) => self.word(w, span),
            Tok::Type(t) => {
                // `Integer(...)`, `ResultSet(...)`, `Timestamp()`: conversions.
                if self.is("(") {
                    let args = self.args()?;
                    let lambda = self.lambda()?;
                    let end = self.prev_span();
                    return Ok(call(t, span, args, lambda, span.to(end)));
                }
                // A type as a value: `Integer`, `Array[String, 1]`.
                self.at -= 1;
                let ty = self.ty()?;
                Ok(Spanned::new(ExprKind::Type(ty.node), ty.span))
            }
            Tok::Punct("@") => self.unsupported(
                span,
                "resource expressions (`@@` and `@`) are not supported by drover",
            ),
            Tok::Eof => self.error(span, "expected an expression, found the end of the file"),
            other => self
                .error(
                    span,
                    format!("expected an expression, found {}", Self::describe(&other)),
                )
                .map_err(|d| Box::new(d.with_label("expected an expression"))),
        }
    }

    /// A bare word: a keyword, a function call, or a string.
    fn word(&mut self, w: String, span: Span) -> PResult<Expr> {
        let e = |node| Ok(Spanned::new(node, span));
        match w.as_str() {
            "true" => return e(ExprKind::Bool(true)),
            "false" => return e(ExprKind::Bool(false)),
            "undef" => return e(ExprKind::Undef),
            "default" => return e(ExprKind::Str(vec![StrPart::Lit("default".into())])),
            "if" | "unless" => return self.if_expr(w == "unless", span),
            "case" => return self.case(span),
            "apply" | "apply_prep" | "puppetdb_query" | "puppetdb_fact" => {
                return self.unsupported(
                    span,
                    format!(
                        "`{w}` is not supported by drover: it needs a Puppet agent or PuppetDB"
                    ),
                );
            }
            _ => {}
        }
        if self.is("(") && self.tokens[self.at].span.start == span.end {
            let mut args = self.args()?;
            let lambda = self.lambda()?;
            let end = lambda.as_ref().map_or(self.prev_span(), |l| l.span);
            // Puppet's functions are methods of their first argument, and
            // the other way round: `join($a, ',')` is `$a.join(',')`.
            if METHOD_FUNCTIONS.contains(&w.as_str())
                && let Some(Arg::Positional(_)) = args.first()
            {
                let Arg::Positional(recv) = args.remove(0) else {
                    unreachable!("checked above")
                };
                return Ok(Spanned::new(
                    ExprKind::Method(Box::new(Method {
                        recv,
                        name: Spanned::new(w, span),
                        args,
                        lambda,
                    })),
                    span.to(end),
                ));
            }
            return Ok(call(w, span, args, lambda, span.to(end)));
        }
        e(ExprKind::Str(vec![StrPart::Lit(w)]))
    }

    /// One option of a `case` arm or a selector: `default`, `/regex/`, a value.
    fn case_option(&mut self) -> PResult<CaseOption> {
        match self.peek().clone() {
            Tok::Name(w) if w == "default" => {
                self.bump();
                Ok(CaseOption::Default)
            }
            Tok::Regex(r) => {
                let span = self.bump().span;
                Ok(CaseOption::Regex(Spanned::new(r, span)))
            }
            _ => Ok(CaseOption::Value(self.expr()?)),
        }
    }

    /// `case subject { a, b: { ... } /re/: { ... } default: { ... } }`.
    fn case(&mut self, start: Span) -> PResult<Expr> {
        let subject = self.expr()?;
        self.expect("{")?;
        let mut arms = Vec::new();
        while !self.is("}") {
            let mut options = vec![self.case_option()?];
            while self.eat(",") {
                if self.is(":") {
                    break;
                }
                options.push(self.case_option()?);
            }
            self.expect(":")?;
            arms.push((options, self.block()?));
        }
        let end = self.expect("}")?;
        Ok(Spanned::new(
            ExprKind::Case {
                subject: Box::new(subject),
                arms,
                selector: false,
            },
            start.to(end),
        ))
    }

    /// `subject ? { option => value, ..., default => value }`.
    fn selector(&mut self, subject: Expr) -> PResult<Expr> {
        self.expect("?")?;
        self.expect("{")?;
        let mut arms = Vec::new();
        while !self.is("}") {
            let option = self.case_option()?;
            self.expect("=>")?;
            let value = self.expr()?;
            let span = value.span;
            let body = Block {
                stmts: vec![Spanned::new(StmtKind::Expr(value), span)],
                span,
            };
            arms.push((vec![option], body));
            if !self.eat(",") {
                break;
            }
        }
        let end = self.expect("}")?;
        let span = subject.span.to(end);
        Ok(Spanned::new(
            ExprKind::Case {
                subject: Box::new(subject),
                arms,
                selector: true,
            },
            span,
        ))
    }

    /// `if c { } elsif c { } else { }`, `unless c { } else { }`.
    fn if_expr(&mut self, unless: bool, start: Span) -> PResult<Expr> {
        let mut branches = Vec::new();
        let cond = self.expr()?;
        let cond = if unless {
            let span = cond.span;
            Spanned::new(ExprKind::Unary(UnaryOp::Not, Box::new(cond)), span)
        } else {
            cond
        };
        branches.push((cond, self.block()?));
        let mut otherwise = None;
        loop {
            if !unless && self.is_word("elsif") {
                self.bump();
                let c = self.expr()?;
                branches.push((c, self.block()?));
            } else if self.is_word("else") {
                self.bump();
                otherwise = Some(self.block()?);
                break;
            } else {
                break;
            }
        }
        let end = self.prev_span();
        Ok(Spanned::new(
            ExprKind::If {
                branches,
                otherwise,
            },
            start.to(end),
        ))
    }

    /// A double-quoted string's parts: escapes resolved, `$var`, `${var}`,
    /// `${expr}` (where a leading bare word is a variable, as Puppet reads it).
    fn interpolate(&mut self, raw: &str, offset: usize) -> PResult<Vec<StrPart>> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let bytes = raw.as_bytes();
        let mut i = 0;
        let file = self.file;
        let here = move |a: usize, b: usize| Span::new(file, offset + a, offset + b);
        while i < bytes.len() {
            match bytes[i] {
                b'\\' if i + 1 < bytes.len() => {
                    let c = raw[i + 1..].chars().next().unwrap_or('\\');
                    match c {
                        'n' => lit.push('\n'),
                        't' => lit.push('\t'),
                        'r' => lit.push('\r'),
                        's' => lit.push(' '),
                        '\\' | '"' | '\'' | '$' => lit.push(c),
                        'u' => {
                            let rest = &raw[i + 2..];
                            let (hex, len) = match rest.strip_prefix('{') {
                                Some(r) => {
                                    let close = r.find('}').unwrap_or(r.len());
                                    (&r[..close], close + 2)
                                }
                                None => (rest.get(..4).unwrap_or(rest), 4),
                            };
                            match u32::from_str_radix(hex, 16).ok().and_then(char::from_u32) {
                                Some(ch) => lit.push(ch),
                                None => {
                                    let end = (i + 2 + len).min(raw.len());
                                    return self.error(here(i, end), "a bad `\\u` escape");
                                }
                            }
                            i += len;
                        }
                        _ => {
                            lit.push('\\');
                            lit.push(c);
                        }
                    }
                    i += 1 + c.len_utf8();
                }
                b'$' if raw[i + 1..].starts_with('{') => {
                    // The matching `}`, minding nested braces and strings.
                    let mut depth = 0;
                    let mut j = i + 1;
                    let mut quote: Option<u8> = None;
                    while j < bytes.len() {
                        let c = bytes[j];
                        match quote {
                            Some(_) if c == b'\\' => j += 1,
                            Some(q) if c == q => quote = None,
                            Some(_) => {}
                            None if c == b'\'' || c == b'"' => quote = Some(c),
                            None if c == b'{' => depth += 1,
                            None if c == b'}' => {
                                depth -= 1;
                                if depth == 0 {
                                    break;
                                }
                            }
                            None => {}
                        }
                        j += 1;
                    }
                    if j >= bytes.len() {
                        return self.error(here(i, i + 2), "`${` is not closed in this string");
                    }
                    if !lit.is_empty() {
                        parts.push(StrPart::Lit(std::mem::take(&mut lit)));
                    }
                    let inner = &raw[i + 2..j];
                    let e = self.sub_expr(inner, offset + i + 2)?;
                    parts.push(StrPart::Interp(e));
                    i = j + 1;
                }
                b'$' if bytes
                    .get(i + 1)
                    .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_' || *c == b':') =>
                {
                    let mut j = i + 1;
                    while j < bytes.len()
                        && (bytes[j].is_ascii_alphanumeric()
                            || bytes[j] == b'_'
                            || (raw[j..].starts_with("::")
                                && bytes.get(j + 2).is_some_and(u8::is_ascii_alphabetic)))
                    {
                        j += if bytes[j] == b':' { 2 } else { 1 };
                    }
                    if !lit.is_empty() {
                        parts.push(StrPart::Lit(std::mem::take(&mut lit)));
                    }
                    let name = raw[i + 1..j].trim_start_matches("::").to_string();
                    parts.push(StrPart::Interp(Spanned::new(
                        ExprKind::Var(name),
                        here(i, j),
                    )));
                    i = j;
                }
                _ => {
                    let ch = raw[i..].chars().next().unwrap_or('\u{FFFD}');
                    lit.push(ch);
                    i += ch.len_utf8();
                }
            }
        }
        if !lit.is_empty() || parts.is_empty() {
            parts.push(StrPart::Lit(lit));
        }
        Ok(parts)
    }

    /// The expression of a `${...}` at `offset`: a leading bare word (not a
    /// call) is a variable.
    fn sub_expr(&mut self, inner: &str, offset: usize) -> PResult<Expr> {
        // Lexed on its own, then moved to where it is in the file.
        let shift = |mut span: Span| {
            span.start += offset as u32;
            span.end += offset as u32;
            span
        };
        let mut tokens = lex(self.file, inner).map_err(|mut d| {
            d.primary.span = shift(d.primary.span);
            d
        })?;
        for t in &mut tokens {
            t.span = shift(t.span);
        }
        if let (Some(first), Some(next)) = (tokens.first(), tokens.get(1))
            && let Tok::Name(n) = &first.tok
            && !matches!(next.tok, Tok::Punct("("))
            && !matches!(
                n.as_str(),
                "true" | "false" | "undef" | "default" | "if" | "unless" | "case"
            )
        {
            let name = n.clone();
            tokens[0].tok = Tok::Var(name);
        }
        let mut sub = Parser {
            file: self.file,
            text: self.text,
            tokens,
            at: 0,
            depth: self.depth,
            functions_file: false,
        };
        let e = sub.expr()?;
        if *sub.peek() != Tok::Eof {
            return sub.expected("the end of `${...}`");
        }
        Ok(e)
    }
}
