//! The typed syntax tree of a plan file. Every node carries its [`Span`];
//! nothing here knows about evaluation.

use serde::Serialize;

pub(crate) use crate::source::{FileId, Span, Spanned};

/// A parsed `.plan` file.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct File {
    /// The file's id in the source map.
    pub id: FileId,
    /// The plans it defines, in source order.
    pub plans: Vec<Plan>,
    /// Puppet-language functions (a module's `functions/*.pp`): called by
    /// name with positional arguments; the value is the body's last
    /// expression's (or `return`'s).
    pub functions: Vec<Plan>,
    /// Its `test` blocks, in source order (`drover test`).
    pub tests: Vec<Test>,
}

/// `test "description" { body }`: a plan test, run by `drover test`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Test {
    /// What the test shows, as written (no interpolation).
    pub description: Spanned<String>,
    /// The test's statements.
    pub body: Block,
    /// From `test` to the closing brace.
    pub span: Span,
}

/// `plan name(params) { body }`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Plan {
    /// Qualified name such as `web::rolling_reboot`.
    pub name: Spanned<String>,
    /// The comment lines directly above `plan`, without their `#`.
    pub description: Option<String>,
    /// Declared parameters, in order.
    pub params: Vec<Param>,
    /// The plan's body.
    pub body: Block,
    /// From `plan` to the closing brace.
    pub span: Span,
    /// Written in the Puppet language (a Bolt `.pp` plan): lambdas may
    /// `break()` and `next()`, and operators mean what Puppet's do.
    pub puppet: bool,
    /// A Puppet function's declared return type (`>> Integer`).
    pub returns: Option<Spanned<Type>>,
}

/// `Type $name` or `Type $name = default`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Param {
    /// Declared type.
    pub ty: Spanned<Type>,
    /// Name without the `$`.
    pub name: Spanned<String>,
    /// Default value, which makes the parameter optional.
    pub default: Option<Expr>,
    /// The whole declaration.
    pub span: Span,
}

/// A type expression such as `Optional[Array[String]]` or `Enum[start, stop]`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Type {
    /// The type's name (`Array`, `Enum`, ...).
    pub name: Spanned<String>,
    /// Arguments in brackets, if any.
    pub args: Vec<Spanned<TypeArg>>,
}

/// One argument of a parameterised type.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum TypeArg {
    /// A nested type: `Array[String]`.
    Type(Type),
    /// A string: `Enum["start"]`.
    Str(String),
    /// A bare word: `Enum[start]`.
    Word(String),
    /// An integer: `Integer[1, 10]`.
    Int(i64),
    /// A regular expression: `Pattern[/^web/]` (task metadata).
    Regex(String),
}

/// `{ statements }`, which opens a scope.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Block {
    /// Statements in order.
    pub stmts: Vec<Stmt>,
    /// From `{` to `}`.
    pub span: Span,
}

/// A statement with its span.
pub(crate) type Stmt = Spanned<StmtKind>;

/// The statement forms of spec §4.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum StmtKind {
    /// `$name = value;`
    Assign {
        /// Variable name without `$`.
        name: Spanned<String>,
        /// The assigned value.
        value: Expr,
    },
    /// `expr;`
    Expr(Expr),
    /// `return;` or `return expr;`
    Return(Option<Expr>),
    /// `break;`
    Break,
    /// `continue;`
    Continue,
    /// `if c { } elsif c { } else { }`
    If {
        /// The `if` and every `elsif`, in order.
        branches: Vec<(Expr, Block)>,
        /// The `else` block.
        otherwise: Option<Block>,
    },
    /// `unless c { } else { }`
    Unless {
        /// The condition.
        cond: Expr,
        /// Runs when the condition is false.
        body: Block,
        /// The `else` block.
        otherwise: Option<Block>,
    },
    /// Every form of `foreach`.
    Foreach(Box<Foreach>),
    /// `async { }` as a statement: a tracked branch whose value is discarded.
    Async(Block),
    /// `await;`: wait for every branch not yet awaited.
    AwaitAll,
    /// `with key = value, ... { }`
    With {
        /// Options in order.
        options: Vec<WithOption>,
        /// The governed block.
        body: Block,
    },
    /// `try { } catch $e { } finally { }`
    Try {
        /// The guarded block.
        body: Block,
        /// The `catch` clause.
        catch: Option<Catch>,
        /// The `finally` block.
        finally: Option<Block>,
    },
}

/// `foreach $k, $v in iterable mode max_failures n { body }`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Foreach {
    /// `$i` or `$key` of the two-variable form.
    pub key: Option<Spanned<String>>,
    /// The element variable.
    pub value: Spanned<String>,
    /// What is iterated.
    pub iterable: Expr,
    /// Sequential, parallel or serial.
    pub mode: LoopMode,
    /// `max_failures` clause.
    pub max_failures: Option<Spanned<Count>>,
    /// The loop body, a new scope per iteration.
    pub body: Block,
}

/// How a `foreach` schedules its iterations.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum LoopMode {
    /// One after another; `break`/`continue` allowed.
    Sequential,
    /// A sliding window of at most the count (all at once without one).
    Parallel(Option<Spanned<Count>>),
    /// Batches of the count, each finished before the next starts.
    Serial(Spanned<Count>),
}

impl LoopMode {
    /// True for `parallel` and `serial` loops, whose iterations run concurrently.
    pub(crate) fn is_concurrent(&self) -> bool {
        !matches!(self, LoopMode::Sequential)
    }
}

/// A count in a loop clause: an expression or a percentage literal.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Count {
    /// Any expression yielding an Integer.
    Expr(Expr),
    /// `25%`
    Percent(u32),
}

/// `key = value` of a `with` block.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WithOption {
    /// `retry`, `delay`, `timeout` or `lock`.
    pub key: Spanned<String>,
    /// The option's value.
    pub value: Expr,
}

/// `catch $var { }`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Catch {
    /// The error variable, if named.
    pub var: Option<Spanned<String>>,
    /// The handler.
    pub body: Block,
}

/// An expression with its span.
pub(crate) type Expr = Spanned<ExprKind>;

/// The expression forms of spec §2 and §5.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum ExprKind {
    /// `undef`
    Undef,
    /// `true`, `false`
    Bool(bool),
    /// `42`
    Int(i64),
    /// `1.5`
    Float(f64),
    /// `250ms`, `5m`, `1h30m`: in milliseconds.
    Duration(u64),
    /// A string literal; single-quoted strings have one literal part.
    Str(Vec<StrPart>),
    /// `[a, b]`
    Array(Vec<Expr>),
    /// `{ k => v }` in source order.
    Hash(Vec<(Expr, Expr)>),
    /// `$name`
    Var(String),
    /// `name(args) |params| { }`
    Call(Box<Call>),
    /// `recv.name(args) |params| { }`; `recv.name` has no arguments.
    Method(Box<Method>),
    /// `recv[index]`
    Index(Box<Expr>, Box<Expr>),
    /// `!x`, `-x`, `await x`
    Unary(UnaryOp, Box<Expr>),
    /// `a op b`
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// `async { }` as a value: a Future.
    Async(Block),
    /// Puppet's `case $x { 'a', /re/: { } default: { } }` and selector
    /// `$x ? { 'a' => v, default => w }` (whose arms' blocks hold one
    /// expression): the value of the first matching arm's block, or undef; a
    /// selector that nothing matches is an error. Its blocks open no scope.
    Case {
        /// What is matched.
        subject: Box<Expr>,
        /// The options of each arm, and its block.
        arms: Vec<(Vec<CaseOption>, Block)>,
        /// A selector (`?`), not a `case`.
        selector: bool,
    },
    /// A type as a value, in Puppet plans (`Integer[1]`, `String`): what
    /// `=~`, `case`, `assert_type` and `type` compare values with.
    Type(Type),
    /// `if c { } elsif c { } else { }` (and `unless`) as a value, in Puppet
    /// plans: the value of the taken block's last expression statement, or
    /// undef. As in Puppet, its blocks open no scope.
    If {
        /// The `if` and every `elsif`, in order.
        branches: Vec<(Expr, Block)>,
        /// The `else` block.
        otherwise: Option<Block>,
    },
}

/// One option of a `case` arm or selector entry.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum CaseOption {
    /// A value: equal as Puppet's `==` is (an Array matches any of its elements' equals only as a whole).
    Value(Expr),
    /// `/regex/`: the subject (a String) matches it.
    Regex(Spanned<String>),
    /// `default`: anything.
    Default,
}

/// A piece of a double-quoted string.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum StrPart {
    /// Text with escapes already resolved.
    Lit(String),
    /// `$x` or `${expr}`.
    Interp(Expr),
}

/// A function or plan call.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Call {
    /// Qualified function name.
    pub name: Spanned<String>,
    /// Arguments, positional first.
    pub args: Vec<Arg>,
    /// A trailing lambda.
    pub lambda: Option<Lambda>,
}

/// A method call or member access.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Method {
    /// The receiver.
    pub recv: Expr,
    /// Method name.
    pub name: Spanned<String>,
    /// Arguments (empty for `.name`).
    pub args: Vec<Arg>,
    /// A trailing lambda.
    pub lambda: Option<Lambda>,
}

/// One call argument.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Arg {
    /// `expr`
    Positional(Expr),
    /// `name => expr`
    Named(Spanned<String>, Expr),
}

impl Arg {
    /// The argument's value.
    pub(crate) fn value(&self) -> &Expr {
        match self {
            Arg::Positional(e) | Arg::Named(_, e) => e,
        }
    }
}

/// `|$a, Type $b| { body }`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Lambda {
    /// Parameters: optional type and name.
    pub params: Vec<(Option<Spanned<Type>>, Spanned<String>)>,
    /// The body; its value is its last expression statement.
    pub body: Block,
    /// From the first `|` to the closing brace.
    pub span: Span,
}

/// Prefix operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum UnaryOp {
    /// `!`
    Not,
    /// `-`
    Neg,
    /// `await`
    Await,
    /// Puppet's splat `*$array`: its elements as arguments of a call, or as
    /// options of a `case` or selector entry; elsewhere the array itself.
    Splat,
}

/// Infix operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum BinaryOp {
    /// `||`
    Or,
    /// `&&`
    And,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `=~`
    Match,
    /// `!~`
    NoMatch,
    /// `in`
    In,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
}

impl BinaryOp {
    /// Binding power, higher binds tighter (spec §5).
    pub(crate) fn precedence(self) -> u8 {
        use BinaryOp::*;
        match self {
            Or => 1,
            And => 2,
            Eq | Ne | Match | NoMatch | In => 3,
            Lt | Le | Gt | Ge => 4,
            Add | Sub => 5,
            Mul | Div | Mod => 6,
        }
    }

    /// The operator as written.
    pub(crate) fn symbol(self) -> &'static str {
        use BinaryOp::*;
        match self {
            Or => "||",
            And => "&&",
            Eq => "==",
            Ne => "!=",
            Match => "=~",
            NoMatch => "!~",
            In => "in",
            Lt => "<",
            Le => "<=",
            Gt => ">",
            Ge => ">=",
            Add => "+",
            Sub => "-",
            Mul => "*",
            Div => "/",
            Mod => "%",
        }
    }
}

impl Arg {
    /// Whether it is a splat (`*$array`), which stands for any number of
    /// positional arguments.
    pub(crate) fn is_splat(&self) -> bool {
        matches!(self, Arg::Positional(e) if matches!(e.node, ExprKind::Unary(UnaryOp::Splat, _)))
    }
}

impl UnaryOp {
    /// The operator as written.
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            UnaryOp::Not => "!",
            UnaryOp::Neg => "-",
            UnaryOp::Await => "await ",
            UnaryOp::Splat => "*",
        }
    }
}

impl Block {
    /// Every statement of the block, nested ones too (in blocks, lambdas and
    /// `async` expressions), in source order.
    pub(crate) fn each_stmt<'a>(&'a self, f: &mut impl FnMut(&'a Stmt)) {
        for stmt in &self.stmts {
            f(stmt);
            match &stmt.node {
                StmtKind::Assign { value: e, .. }
                | StmtKind::Expr(e)
                | StmtKind::Return(Some(e)) => e.each_stmt(f),
                StmtKind::Return(None)
                | StmtKind::Break
                | StmtKind::Continue
                | StmtKind::AwaitAll => {}
                StmtKind::If {
                    branches,
                    otherwise,
                } => each_branch_stmt(branches, otherwise.as_ref(), f),
                StmtKind::Unless {
                    cond,
                    body,
                    otherwise,
                } => {
                    cond.each_stmt(f);
                    body.each_stmt(f);
                    if let Some(b) = otherwise {
                        b.each_stmt(f);
                    }
                }
                StmtKind::Foreach(l) => {
                    l.iterable.each_stmt(f);
                    l.body.each_stmt(f);
                }
                StmtKind::Async(body) => body.each_stmt(f),
                StmtKind::With { options, body } => {
                    for o in options {
                        o.value.each_stmt(f);
                    }
                    body.each_stmt(f);
                }
                StmtKind::Try {
                    body,
                    catch,
                    finally,
                } => {
                    body.each_stmt(f);
                    if let Some(c) = catch {
                        c.body.each_stmt(f);
                    }
                    if let Some(b) = finally {
                        b.each_stmt(f);
                    }
                }
            }
        }
    }
}

/// [`Block::each_stmt`] over the conditions and blocks of an `if` (the
/// statement's or Puppet's expression).
fn each_branch_stmt<'a>(
    branches: &'a [(Expr, Block)],
    otherwise: Option<&'a Block>,
    f: &mut impl FnMut(&'a Stmt),
) {
    for (cond, body) in branches {
        cond.each_stmt(f);
        body.each_stmt(f);
    }
    if let Some(b) = otherwise {
        b.each_stmt(f);
    }
}

impl Expr {
    /// The statements of the lambdas and `async` blocks in this expression.
    pub(crate) fn each_stmt<'a>(&'a self, f: &mut impl FnMut(&'a Stmt)) {
        match &self.node {
            ExprKind::Undef
            | ExprKind::Bool(_)
            | ExprKind::Int(_)
            | ExprKind::Float(_)
            | ExprKind::Duration(_)
            | ExprKind::Type(_)
            | ExprKind::Var(_) => {}
            ExprKind::Str(parts) => {
                for p in parts {
                    if let StrPart::Interp(e) = p {
                        e.each_stmt(f);
                    }
                }
            }
            ExprKind::Array(items) => items.iter().for_each(|e| e.each_stmt(f)),
            ExprKind::Hash(pairs) => {
                for (k, v) in pairs {
                    k.each_stmt(f);
                    v.each_stmt(f);
                }
            }
            ExprKind::Call(c) => {
                c.args.iter().for_each(|a| a.value().each_stmt(f));
                if let Some(l) = &c.lambda {
                    l.body.each_stmt(f);
                }
            }
            ExprKind::Method(m) => {
                m.recv.each_stmt(f);
                m.args.iter().for_each(|a| a.value().each_stmt(f));
                if let Some(l) = &m.lambda {
                    l.body.each_stmt(f);
                }
            }
            ExprKind::Index(a, b) | ExprKind::Binary(_, a, b) => {
                a.each_stmt(f);
                b.each_stmt(f);
            }
            ExprKind::Unary(_, e) => e.each_stmt(f),
            ExprKind::Async(body) => body.each_stmt(f),
            ExprKind::If {
                branches,
                otherwise,
            } => each_branch_stmt(branches, otherwise.as_ref(), f),
            ExprKind::Case { subject, arms, .. } => {
                subject.each_stmt(f);
                for (options, body) in arms {
                    for o in options {
                        if let CaseOption::Value(e) = o {
                            e.each_stmt(f);
                        }
                    }
                    body.each_stmt(f);
                }
            }
        }
    }
}
