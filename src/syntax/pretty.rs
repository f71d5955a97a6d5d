//! Prints an AST back as plan source in one canonical layout. Parsing the
//! output gives the same AST (spans aside), which the round-trip tests check.

use crate::syntax::ast::*;

/// Print a whole file.
pub fn file(f: &File) -> String {
    let mut p = Printer::default();
    for (i, plan) in f.plans.iter().enumerate() {
        if i > 0 {
            p.out.push('\n');
        }
        p.plan(plan);
    }
    for (i, test) in f.tests.iter().enumerate() {
        if i > 0 || !f.plans.is_empty() {
            p.out.push('\n');
        }
        p.out.push_str("test ");
        p.string(&[StrPart::Lit(test.description.node.clone())]);
        p.out.push(' ');
        p.block(&test.body);
        p.out.push('\n');
    }
    p.out
}

/// Print one expression.
pub(crate) fn expr(e: &Expr) -> String {
    let mut p = Printer::default();
    p.expr(e);
    p.out
}

#[derive(Default)]
struct Printer {
    out: String,
    indent: usize,
}

impl Printer {
    fn line(&mut self) {
        self.out.push('\n');
        for _ in 0..self.indent {
            self.out.push_str("    ");
        }
    }

    fn plan(&mut self, plan: &Plan) {
        if let Some(d) = &plan.description {
            for l in d.lines() {
                self.out.push_str(format!("# {l}").trim_end());
                self.out.push('\n');
            }
        }
        self.out.push_str(&format!("plan {}(", plan.name.node));
        for (i, param) in plan.params.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            self.ty(&param.ty.node);
            self.out.push_str(&format!(" ${}", param.name.node));
            if let Some(d) = &param.default {
                self.out.push_str(" = ");
                self.expr(d);
            }
        }
        self.out.push_str(") ");
        self.block(&plan.body);
        self.out.push('\n');
    }

    fn ty(&mut self, ty: &Type) {
        self.out.push_str(&ty.name.node);
        if ty.args.is_empty() {
            return;
        }
        self.out.push('[');
        for (i, a) in ty.args.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            match &a.node {
                TypeArg::Type(t) => self.ty(t),
                TypeArg::Str(s) => self.string(&[StrPart::Lit(s.clone())]),
                TypeArg::Word(w) => self.out.push_str(w),
                TypeArg::Int(n) => self.out.push_str(&n.to_string()),
                TypeArg::Regex(r) => {
                    self.out.push('/');
                    self.out.push_str(&r.replace('/', "\\/"));
                    self.out.push('/');
                }
            }
        }
        self.out.push(']');
    }

    fn block(&mut self, b: &Block) {
        self.out.push('{');
        self.indent += 1;
        for s in &b.stmts {
            self.line();
            self.stmt(s);
        }
        self.indent -= 1;
        self.line();
        self.out.push('}');
    }

    fn stmt(&mut self, s: &Stmt) {
        match &s.node {
            StmtKind::Assign { name, value } => {
                self.out.push_str(&format!("${} = ", name.node));
                self.expr(value);
                self.out.push(';');
            }
            StmtKind::Expr(e) => {
                self.expr(e);
                self.out.push(';');
            }
            StmtKind::Return(None) => self.out.push_str("return;"),
            StmtKind::Return(Some(e)) => {
                self.out.push_str("return ");
                self.expr(e);
                self.out.push(';');
            }
            StmtKind::Break => self.out.push_str("break;"),
            StmtKind::Continue => self.out.push_str("continue;"),
            StmtKind::AwaitAll => self.out.push_str("await;"),
            StmtKind::Async(b) => {
                self.out.push_str("async ");
                self.block(b);
            }
            StmtKind::If {
                branches,
                otherwise,
            } => {
                for (i, (cond, body)) in branches.iter().enumerate() {
                    self.guarded(if i == 0 { "if " } else { " elsif " }, cond, body);
                }
                self.otherwise(otherwise.as_ref());
            }
            StmtKind::Unless {
                cond,
                body,
                otherwise,
            } => {
                self.guarded("unless ", cond, body);
                self.otherwise(otherwise.as_ref());
            }
            StmtKind::Foreach(f) => {
                self.out.push_str("foreach ");
                if let Some(k) = &f.key {
                    self.out.push_str(&format!("${}, ", k.node));
                }
                self.out.push_str(&format!("${} in ", f.value.node));
                self.expr(&f.iterable);
                match &f.mode {
                    LoopMode::Sequential => {}
                    LoopMode::Parallel(None) => self.out.push_str(" parallel"),
                    LoopMode::Parallel(Some(c)) => {
                        self.out.push_str(" parallel ");
                        self.count(&c.node);
                    }
                    LoopMode::Serial(c) => {
                        self.out.push_str(" serial ");
                        self.count(&c.node);
                    }
                }
                if let Some(c) = &f.max_failures {
                    self.out.push_str(" max_failures ");
                    self.count(&c.node);
                }
                self.out.push(' ');
                self.block(&f.body);
            }
            StmtKind::With { options, body } => {
                self.out.push_str("with ");
                for (i, o) in options.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    self.out.push_str(&format!("{} = ", o.key.node));
                    self.expr(&o.value);
                }
                self.out.push(' ');
                self.block(body);
            }
            StmtKind::Try {
                body,
                catch,
                finally,
            } => {
                self.out.push_str("try ");
                self.block(body);
                if let Some(c) = catch {
                    self.out.push_str(" catch ");
                    if let Some(v) = &c.var {
                        self.out.push_str(&format!("${} ", v.node));
                    }
                    self.block(&c.body);
                }
                if let Some(f) = finally {
                    self.out.push_str(" finally ");
                    self.block(f);
                }
            }
        }
    }

    /// `keyword cond { body }`
    fn guarded(&mut self, keyword: &str, cond: &Expr, body: &Block) {
        self.out.push_str(keyword);
        self.expr(cond);
        self.out.push(' ');
        self.block(body);
    }

    fn otherwise(&mut self, block: Option<&Block>) {
        if let Some(b) = block {
            self.out.push_str(" else ");
            self.block(b);
        }
    }

    fn count(&mut self, c: &Count) {
        match c {
            Count::Percent(p) => self.out.push_str(&format!("{p}%")),
            Count::Expr(e) => self.expr(e),
        }
    }

    /// An operand that must not be split by a surrounding operator.
    fn operand(&mut self, e: &Expr, parens: bool) {
        if parens {
            self.out.push('(');
            self.expr(e);
            self.out.push(')');
        } else {
            self.expr(e);
        }
    }

    fn expr(&mut self, e: &Expr) {
        match &e.node {
            ExprKind::Undef => self.out.push_str("undef"),
            ExprKind::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            ExprKind::Int(n) => self.out.push_str(&n.to_string()),
            ExprKind::Float(f) => {
                // Display never uses an exponent, which the grammar lacks.
                let mut s = f.to_string();
                if !s.contains('.') {
                    s.push_str(".0");
                }
                self.out.push_str(&s);
            }
            ExprKind::Duration(ms) => self.out.push_str(&crate::duration::format(*ms)),
            ExprKind::Str(parts) => self.string(parts),
            ExprKind::Var(v) => self.out.push_str(&format!("${v}")),
            ExprKind::Array(items) => {
                self.out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    self.expr(item);
                }
                self.out.push(']');
            }
            ExprKind::Hash(entries) => {
                if entries.is_empty() {
                    self.out.push_str("{}");
                    return;
                }
                self.out.push_str("{ ");
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    match &k.node {
                        ExprKind::Str(parts) if bare_word(parts) => {
                            let [StrPart::Lit(w)] = parts.as_slice() else {
                                unreachable!()
                            };
                            self.out.push_str(w);
                        }
                        // A bare `true` key would read back as the string "true".
                        ExprKind::Bool(_) | ExprKind::Undef => self.operand(k, true),
                        _ => self.expr(k),
                    }
                    self.out.push_str(" => ");
                    self.expr(v);
                }
                self.out.push_str(" }");
            }
            ExprKind::Call(c) => {
                self.out.push_str(&c.name.node);
                self.args(&c.args);
                if let Some(l) = &c.lambda {
                    self.lambda(l);
                }
            }
            ExprKind::Method(m) => {
                self.operand(&m.recv, needs_parens_as_receiver(&m.recv));
                self.out.push('.');
                self.out.push_str(&m.name.node);
                if !m.args.is_empty() {
                    self.args(&m.args);
                }
                if let Some(l) = &m.lambda {
                    self.lambda(l);
                }
            }
            ExprKind::Index(recv, index) => {
                self.operand(recv, needs_parens_as_receiver(recv));
                self.out.push('[');
                self.expr(index);
                self.out.push(']');
            }
            ExprKind::Unary(op, operand) => {
                self.out.push_str(op.symbol());
                let parens = matches!(operand.node, ExprKind::Binary(..))
                    || (*op == UnaryOp::Neg && is_number(operand));
                self.operand(operand, parens);
            }
            ExprKind::Binary(op, l, r) => {
                let prec = op.precedence();
                let binds_looser = |e: &Expr, tie: bool| matches!(&e.node, ExprKind::Binary(o, ..) if o.precedence() < prec || (tie && o.precedence() == prec));
                self.operand(l, binds_looser(l, false));
                self.out.push_str(&format!(" {} ", op.symbol()));
                self.operand(r, binds_looser(r, true));
            }
            ExprKind::Async(b) => {
                self.out.push_str("async ");
                self.block(b);
            }
            // Only Puppet plans have these; printed as Puppet writes them.
            ExprKind::Case {
                subject,
                arms,
                selector,
            } => {
                if !*selector {
                    self.out.push_str("case ");
                }
                self.expr(subject);
                self.out.push_str(if *selector { " ? { " } else { " { " });
                for (options, body) in arms {
                    for (i, o) in options.iter().enumerate() {
                        if i > 0 {
                            self.out.push_str(", ");
                        }
                        match o {
                            CaseOption::Value(e) => self.expr(e),
                            CaseOption::Regex(r) => self.out.push_str(&format!("/{}/", r.node)),
                            CaseOption::Default => self.out.push_str("default"),
                        }
                    }
                    self.out.push_str(if *selector { " => " } else { ": " });
                    self.block(body);
                    self.out.push(' ');
                }
                self.out.push('}');
            }
            ExprKind::Type(t) => self.ty(t),
            ExprKind::If {
                branches,
                otherwise,
            } => {
                for (i, (cond, body)) in branches.iter().enumerate() {
                    self.out.push_str(if i == 0 { "if " } else { " elsif " });
                    self.expr(cond);
                    self.out.push(' ');
                    self.block(body);
                }
                if let Some(b) = otherwise {
                    self.out.push_str(" else ");
                    self.block(b);
                }
            }
        }
    }

    fn args(&mut self, args: &[Arg]) {
        self.out.push('(');
        for (i, a) in args.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            if let Arg::Named(n, _) = a {
                self.out.push_str(&format!("{} => ", n.node));
            }
            self.expr(a.value());
        }
        self.out.push(')');
    }

    fn lambda(&mut self, l: &Lambda) {
        self.out.push_str(" |");
        for (i, (ty, name)) in l.params.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            if let Some(t) = ty {
                self.ty(&t.node);
                self.out.push(' ');
            }
            self.out.push_str(&format!("${}", name.node));
        }
        self.out.push_str("| ");
        self.block(&l.body);
    }

    fn string(&mut self, parts: &[StrPart]) {
        self.out.push('"');
        for part in parts {
            match part {
                StrPart::Lit(s) => {
                    for c in s.chars() {
                        match c {
                            '"' => self.out.push_str("\\\""),
                            '\\' => self.out.push_str("\\\\"),
                            '$' => self.out.push_str("\\$"),
                            '\n' => self.out.push_str("\\n"),
                            '\t' => self.out.push_str("\\t"),
                            '\r' => self.out.push_str("\\r"),
                            '\0' => self.out.push_str("\\0"),
                            c => self.out.push(c),
                        }
                    }
                }
                StrPart::Interp(e) => {
                    self.out.push_str("${");
                    match &e.node {
                        ExprKind::Var(v) => self.out.push_str(v),
                        _ => self.expr(e),
                    }
                    self.out.push('}');
                }
            }
        }
        self.out.push('"');
    }
}

fn is_number(e: &Expr) -> bool {
    matches!(
        e.node,
        ExprKind::Int(_) | ExprKind::Float(_) | ExprKind::Duration(_)
    )
}

fn needs_parens_as_receiver(e: &Expr) -> bool {
    match &e.node {
        ExprKind::Binary(..) | ExprKind::Unary(..) => true,
        ExprKind::Int(n) => *n < 0,
        ExprKind::Float(f) => *f < 0.0 || f.is_sign_negative(),
        _ => false,
    }
}

/// A hash key that can be written without quotes.
fn bare_word(parts: &[StrPart]) -> bool {
    let [StrPart::Lit(w)] = parts else {
        return false;
    };
    let mut chars = w.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}
