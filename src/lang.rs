//! The vocabulary: every built-in function, action, method, action option,
//! `with` option and type name, with its signature and one line of docs.
//!
//! This table is the only list of built-in names. `drover check` takes
//! signatures and did-you-mean candidates from it, the evaluator checks
//! argument counts against it before it calls an implementation, and the
//! reference in `docs/language.md` is generated from it (`tests/vocabulary.rs`
//! keeps that copy in sync and fails when the evaluator implements a name the
//! table lacks, or the other way round). Adding a built-in means one entry
//! here and its implementation in `eval/`, nothing else.

/// What a built-in is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A function: `name(args)`.
    Function,
    /// A function that runs on targets and returns a ResultSet; it takes the
    /// action options.
    Action,
    /// A method: `$value.name(args)`.
    Method,
}

/// Which named arguments a built-in takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Named {
    /// Exactly these (and the action options, for actions).
    Only(&'static [&'static str]),
    /// Any name: the callee's parameters (`run_plan`, `run_task`), checked
    /// against the callee rather than here.
    Callee,
}

/// One built-in and its signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Builtin {
    /// The name as written in plans (`log::info`, `run_command`, `length`).
    pub name: &'static str,
    /// Function, action or method.
    pub kind: Kind,
    /// The positional parameters as shown in docs and messages.
    pub params: &'static str,
    /// Fewest positional arguments.
    pub min: usize,
    /// Most positional arguments (`usize::MAX`: any number).
    pub max: usize,
    /// Named arguments.
    pub named: Named,
    /// Whether it takes a lambda (and then needs one).
    pub lambda: bool,
    /// Methods: the receiver types it works on.
    pub on: &'static str,
    /// What it does, in one line.
    pub doc: &'static str,
}

impl Builtin {
    /// Whether it takes the action options (`_catch_errors`, ...).
    pub(crate) fn takes_options(&self) -> bool {
        self.kind == Kind::Action
    }

    /// Whether `name` is one of its named arguments (or an action option).
    pub(crate) fn takes_named(&self, name: &str) -> bool {
        match self.named {
            Named::Callee => true,
            Named::Only(names) => {
                names.contains(&name) || (self.takes_options() && option(name).is_some())
            }
        }
    }

    /// Its named arguments, action options included.
    pub(crate) fn named_names(&self) -> Vec<&'static str> {
        let mut out: Vec<&str> = match self.named {
            Named::Only(names) => names.to_vec(),
            Named::Callee => Vec::new(),
        };
        if self.takes_options() {
            out.extend(ACTION_OPTIONS.iter().map(|o| o.name));
        }
        out
    }

    /// "1", "0 to 1", "at least 1": how many positional arguments it takes.
    pub(crate) fn arity(&self) -> String {
        match (self.min, self.max) {
            (a, b) if a == b => format!("{a}"),
            (a, usize::MAX) => format!("at least {a}"),
            (a, b) => format!("{a} to {b}"),
        }
    }

    /// How a call is written: `run_command(targets, command)`, `.join(sep?)`.
    pub(crate) fn usage(&self) -> String {
        let lambda = if self.lambda { " |$x| { ... }" } else { "" };
        match self.kind {
            Kind::Method if self.params.is_empty() => format!(".{}{lambda}", self.name),
            Kind::Method => format!(".{}({}){lambda}", self.name, self.params),
            _ => format!("{}({}){lambda}", self.name, self.params),
        }
    }
}

const fn f(
    name: &'static str,
    params: &'static str,
    min: usize,
    max: usize,
    named: &'static [&'static str],
    doc: &'static str,
) -> Builtin {
    Builtin {
        name,
        kind: Kind::Function,
        params,
        min,
        max,
        named: Named::Only(named),
        lambda: false,
        on: "",
        doc,
    }
}

const fn action(
    name: &'static str,
    params: &'static str,
    min: usize,
    named: &'static [&'static str],
    doc: &'static str,
) -> Builtin {
    Builtin {
        kind: Kind::Action,
        ..f(name, params, min, min, named, doc)
    }
}

const fn m(
    name: &'static str,
    on: &'static str,
    params: &'static str,
    min: usize,
    max: usize,
    doc: &'static str,
) -> Builtin {
    Builtin {
        kind: Kind::Method,
        on,
        ..f(name, params, min, max, &[], doc)
    }
}

const fn lambda(b: Builtin) -> Builtin {
    Builtin { lambda: true, ..b }
}

const fn callee(b: Builtin) -> Builtin {
    Builtin {
        named: Named::Callee,
        ..b
    }
}

/// The built-in functions and actions.
pub(crate) const FUNCTIONS: &[Builtin] = &[
    f(
        "log::debug",
        "message",
        1,
        1,
        &[],
        "logs a message at level debug",
    ),
    f(
        "log::info",
        "message",
        1,
        1,
        &[],
        "logs a message at level info",
    ),
    f(
        "log::warn",
        "message",
        1,
        1,
        &[],
        "logs a message at level warn",
    ),
    f(
        "log::error",
        "message",
        1,
        1,
        &[],
        "logs a message at level error",
    ),
    f(
        "out::message",
        "text",
        1,
        1,
        &[],
        "prints a line of the plan's output",
    ),
    f(
        "fail",
        "message_or_error",
        1,
        1,
        &["kind", "details"],
        "raises `drover/plan-failure` (or `kind`), or raises a caught error again",
    ),
    f(
        "range",
        "from, to",
        2,
        2,
        &[],
        "the integers from `from` to `to`, both included",
    ),
    f(
        "min",
        "values...",
        1,
        usize::MAX,
        &[],
        "the smallest of the values (or of one array)",
    ),
    f(
        "max",
        "values...",
        1,
        usize::MAX,
        &[],
        "the largest of the values (or of one array)",
    ),
    f("to_json", "value", 1, 1, &[], "the value as JSON text"),
    f(
        "from_json",
        "text",
        1,
        1,
        &[],
        "the value JSON text describes",
    ),
    f(
        "sleep",
        "duration",
        1,
        1,
        &[],
        "waits (on virtual time in a dry run)",
    ),
    callee(f(
        "run_plan",
        "name",
        1,
        1,
        &[],
        "runs another plan with named parameters; its return value",
    )),
    lambda(f(
        "parallelize",
        "items",
        1,
        1,
        &["max"],
        "the lambda's values for every item, run concurrently (at most `max` at once)",
    )),
    f(
        "get_targets",
        "spec",
        1,
        1,
        &[],
        "the targets a TargetSpec names",
    ),
    f(
        "get_target",
        "spec",
        1,
        1,
        &[],
        "the one target a TargetSpec names",
    ),
    action(
        "run_command",
        "command, targets",
        2,
        &[],
        "runs a shell command on the targets",
    ),
    action(
        "run_script",
        "script, targets",
        2,
        &["arguments"],
        "copies a local script to the targets and runs it there",
    ),
    action(
        "upload_file",
        "source, destination, targets",
        3,
        &[],
        "copies a local file to the targets",
    ),
    callee(action(
        "run_task",
        "task, targets",
        2,
        &[],
        "runs a Bolt task with named parameters on the targets",
    )),
    action(
        "wait_up",
        "targets",
        1,
        &["timeout", "interval"],
        "waits until the targets answer again (after a reboot)",
    ),
    f(
        "acquire",
        "pool",
        1,
        1,
        &["scope", "timeout", "count"],
        "takes a target (or `count` targets) from a pool group",
    ),
    f("release", "targets", 1, 1, &[], "gives pool targets back"),
    f(
        "acquired",
        "pool",
        1,
        1,
        &[],
        "the targets of a pool this run holds",
    ),
    // Bolt's plan functions (../shared/spec/bolt.md §4), by Bolt's names.
    action(
        "download_file",
        "source, destination, targets",
        3,
        &[],
        "copies a file from each target to `destination/TARGET/NAME` on the controller (a relative destination is under the project's `downloads/`)",
    ),
    action(
        "write_file",
        "content, destination, targets",
        3,
        &[],
        "writes `content` as a file on the targets",
    ),
    action(
        "wait_until_available",
        "targets",
        1,
        &["wait_time", "retry_interval"],
        "Bolt's `wait_up`: waits until the targets answer (`wait_time` 120 s, `retry_interval` 1 s)",
    ),
    f(
        "file::read",
        "path",
        1,
        1,
        &[],
        "a controller file's text (relative to the project, or `MODULE/files/PATH`)",
    ),
    f(
        "file::write",
        "path, content",
        2,
        2,
        &[],
        "writes a file on the controller (not in a dry run)",
    ),
    f(
        "file::exists",
        "path",
        1,
        1,
        &[],
        "whether a controller file exists",
    ),
    f(
        "file::readable",
        "path",
        1,
        1,
        &[],
        "whether a controller file can be read",
    ),
    f(
        "file::join",
        "parts...",
        1,
        usize::MAX,
        &[],
        "the parts joined with `/`",
    ),
    f(
        "dir::children",
        "path",
        1,
        1,
        &[],
        "the names in a controller directory, sorted",
    ),
    f(
        "system::env",
        "name",
        1,
        1,
        &[],
        "the controller's environment variable, or `undef`",
    ),
    f(
        "prompt",
        "message",
        1,
        1,
        &["sensitive", "default"],
        "asks on the terminal (unechoed and Sensitive with `sensitive => true`); no terminal: the default",
    ),
    f(
        "set_var",
        "target, key, value",
        3,
        3,
        &[],
        "sets a variable of the target for the rest of the run",
    ),
    f(
        "add_facts",
        "target, facts",
        2,
        2,
        &[],
        "merges a hash into the target's facts; the target",
    ),
    f(
        "set_feature",
        "target, feature, value",
        2,
        3,
        &[],
        "adds (or with `false` removes) a feature of the target; the target",
    ),
    f(
        "set_config",
        "target, key_or_path, value",
        3,
        3,
        &[],
        "sets a config value of the target (`\"ssh\"`, or a path `[\"ssh\", \"user\"]`); the target",
    ),
    f(
        "add_to_group",
        "targets, group",
        2,
        2,
        &[],
        "makes the targets members of a group for the rest of the run",
    ),
    f(
        "remove_from_group",
        "target, group",
        2,
        2,
        &[],
        "takes the target out of a group for the rest of the run",
    ),
    f(
        "facts",
        "target",
        1,
        1,
        &[],
        "the target's facts (`.facts`)",
    ),
    f("vars", "target", 1, 1, &[], "the target's vars (`.vars`)"),
    lambda(f(
        "catch_errors",
        "kinds",
        0,
        1,
        &[],
        "runs its lambda: its value, or the error it raised (of one of `kinds` when given)",
    )),
    lambda(f(
        "ctrl::do_until",
        "options",
        0,
        1,
        &["limit", "interval"],
        "runs its lambda until its value is truthy (`limit` times, `interval` seconds apart): that value, or false",
    )),
    lambda(f(
        "background",
        "name",
        0,
        1,
        &[],
        "starts its lambda beside the plan: a Future (`wait` for it)",
    )),
    f(
        "wait",
        "futures",
        1,
        2,
        &["_catch_errors"],
        "the values of Futures from `background` (one, or an Array)",
    ),
    lambda(f(
        "with",
        "values...",
        0,
        usize::MAX,
        &[],
        "runs its lambda on the values: its value",
    )),
    f(
        "get",
        "data, path, default",
        2,
        3,
        &[],
        "the value at a dotted path (`a.b.0`) of hashes and arrays, or `default`",
    ),
    f(
        "Hash.new",
        "pairs",
        1,
        1,
        &[],
        "a Hash of an Array of `[key, value]` pairs (or of keys and values in turn)",
    ),
    lambda(f(
        "without_default_logging",
        "",
        0,
        0,
        &[],
        "runs its lambda and returns its value (Bolt leaves out its default log lines; drover logs as always)",
    )),
    f(
        "Integer",
        "value, radix",
        1,
        2,
        &[],
        "Puppet's conversion to an Integer: of a number (truncated), a numeric String (`0x`, `0` and `0b` prefixes), a Boolean",
    ),
    f(
        "String",
        "value",
        1,
        1,
        &[],
        "Puppet's conversion to a String: the value as text",
    ),
    f(
        "Boolean",
        "value",
        1,
        1,
        &[],
        "Puppet's conversion to a Boolean: of `true`/`false`/`yes`/`no` (any case), a number (0 is false), a Boolean",
    ),
    f(
        "pick",
        "values...",
        1,
        usize::MAX,
        &[],
        "the first value that is neither undef nor an empty string (Puppet's `pick`)",
    ),
    f(
        "sprintf",
        "format, values...",
        1,
        usize::MAX,
        &[],
        "`format` with `%s`, `%d`, `%f` (`%.2f`), `%x`, `%o`, `%%` filled in (Puppet's `sprintf`)",
    ),
    f(
        "parsejson",
        "text, default",
        1,
        2,
        &[],
        "the data of a JSON text (Puppet stdlib), or `default` when given and the text does not parse",
    ),
    f(
        "parseyaml",
        "text, default",
        1,
        2,
        &[],
        "the data of a YAML (or JSON) text (Puppet stdlib), or `default` when given and the text does not parse",
    ),
    f(
        "type",
        "value, mode",
        1,
        2,
        &[],
        "the value's type (`String`, `Integer`, ...): a Type in Puppet plans, its name elsewhere",
    ),
    f(
        "assert_type",
        "type, value",
        2,
        2,
        &[],
        "the value when it is an instance of the type (Puppet: `assert_type(Integer[1], $n)`), else a `drover/type-error`",
    ),
    f(
        "Timespan",
        "seconds_hash_or_text",
        0,
        1,
        &[],
        "a span of time in seconds (a Float, as `Timestamp() - $start`): of seconds, a Hash of `days`, `hours`, `minutes`, `seconds`, `milliseconds`, or `[D-]HH:MM:SS[.F]`",
    ),
    f(
        "Target.new",
        "uri_or_hash",
        0,
        1,
        &["name", "uri", "config", "vars", "facts", "features"],
        "a new target (Bolt's `Target.new`), of a URI or of `name`, `uri`, `config`, `vars`, `facts`, `features`; a member of `all` from then on",
    ),
    f(
        "notice",
        "values...",
        1,
        usize::MAX,
        &[],
        "Puppet's logging: the values joined by spaces, at level info (`info` too; `warning` at warn, `err` at error, `debug` at debug)",
    ),
    f(
        "info",
        "values...",
        1,
        usize::MAX,
        &[],
        "Puppet's logging at level info",
    ),
    f(
        "warning",
        "values...",
        1,
        usize::MAX,
        &[],
        "Puppet's logging at level warn",
    ),
    f(
        "err",
        "values...",
        1,
        usize::MAX,
        &[],
        "Puppet's logging at level error",
    ),
    f(
        "debug",
        "values...",
        1,
        usize::MAX,
        &[],
        "Puppet's logging at level debug",
    ),
    f(
        "Timestamp",
        "",
        0,
        0,
        &[],
        "now, as seconds since the epoch (a Float) on the run's clock (virtual in a dry run); the difference of two is seconds",
    ),
    f(
        "ResultSet",
        "results",
        1,
        1,
        &[],
        "a ResultSet of an Array of Results (Bolt's `ResultSet(...)`)",
    ),
    f(
        "ResultSet.new",
        "results",
        1,
        1,
        &[],
        "a ResultSet of an Array of Results",
    ),
    f(
        "Result.new",
        "target, value",
        2,
        2,
        &[],
        "a Result of `target` with `value` (a Hash; its `_error` makes it a failure)",
    ),
    f(
        "fail_plan",
        "message_or_error, kind, details",
        1,
        3,
        &[],
        "Bolt's `fail`: raises an error of `kind` (default `bolt/plan-failure`)",
    ),
    f(
        "out::verbose",
        "message",
        1,
        1,
        &[],
        "prints a line of output with `--verbose`",
    ),
    f(
        "ctrl::sleep",
        "seconds",
        1,
        1,
        &[],
        "Bolt's `sleep`: waits this many seconds (or a Duration)",
    ),
    f(
        "resolve_references",
        "data",
        1,
        1,
        &[],
        "the data with its plugin references (`_plugin` hashes) resolved",
    ),
];

const TARGET: &str = "Target";
const RESULT: &str = "Result";
const RESULT_SET: &str = "ResultSet";
const ERROR: &str = "Error";

/// The built-in methods.
pub(crate) const METHODS: &[Builtin] = &[
    m("name", TARGET, "", 0, 0, "the target's name"),
    m("host", TARGET, "", 0, 0, "the host part of its URI"),
    m("port", TARGET, "", 0, 0, "its port, or `undef`"),
    m("user", TARGET, "", 0, 0, "its user, or `undef`"),
    m("uri", TARGET, "", 0, 0, "its URI as given"),
    m("vars", TARGET, "", 0, 0, "its merged inventory `vars`"),
    m("facts", TARGET, "", 0, 0, "its merged inventory `facts`"),
    m("groups", TARGET, "", 0, 0, "the groups it belongs to"),
    m(
        "features",
        TARGET,
        "",
        0,
        0,
        "its features (`shell`, `puppet-agent`, ...)",
    ),
    m("transport", TARGET, "", 0, 0, "`ssh`, `local` or `sim`"),
    m(
        "target",
        "Result, Error",
        "",
        0,
        0,
        "the target it is about (`undef` if none)",
    ),
    m(
        "ok",
        "Result, ResultSet",
        "",
        0,
        0,
        "whether it (every result) succeeded",
    ),
    m("value", RESULT, "", 0, 0, "the result's value hash"),
    m("stdout", RESULT, "", 0, 0, "a command's standard output"),
    m("stderr", RESULT, "", 0, 0, "a command's standard error"),
    m("exit_code", RESULT, "", 0, 0, "a command's exit code"),
    m("error", RESULT, "", 0, 0, "the result's Error, or `undef`"),
    m(
        "duration",
        RESULT,
        "",
        0,
        0,
        "how long the action took on the target",
    ),
    m("ok_set", RESULT_SET, "", 0, 0, "the results that succeeded"),
    m("error_set", RESULT_SET, "", 0, 0, "the results that failed"),
    m(
        "targets",
        RESULT_SET,
        "",
        0,
        0,
        "the targets of the results",
    ),
    m(
        "names",
        RESULT_SET,
        "",
        0,
        0,
        "the names of the results' targets",
    ),
    m("count", RESULT_SET, "", 0, 0, "how many results"),
    m(
        "find",
        RESULT_SET,
        "name",
        1,
        1,
        "the result of the named target, or `undef`",
    ),
    m(
        "size",
        "String, Array, Hash, ResultSet",
        "",
        0,
        0,
        "Puppet's name for `length`",
    ),
    m(
        "length",
        "String, Array, Hash, ResultSet",
        "",
        0,
        0,
        "how many characters, elements, keys or results",
    ),
    m(
        "empty",
        "String, Array, Hash",
        "",
        0,
        0,
        "whether it has no elements",
    ),
    lambda(m(
        "map",
        "Array, Hash, ResultSet",
        "",
        0,
        0,
        "the lambda's value for each element",
    )),
    lambda(m(
        "filter",
        "Array, Hash, ResultSet",
        "",
        0,
        0,
        "the elements the lambda accepts",
    )),
    lambda(m(
        "each",
        "Array, Hash, ResultSet",
        "",
        0,
        0,
        "runs the lambda on each element",
    )),
    lambda(m(
        "reduce",
        "Array, Hash, ResultSet",
        "start?",
        0,
        1,
        "folds the elements with the lambda `|$acc, $x|`",
    )),
    lambda(m(
        "any",
        "Array, Hash, ResultSet",
        "",
        0,
        0,
        "whether the lambda accepts some element",
    )),
    lambda(m(
        "all",
        "Array, Hash, ResultSet",
        "",
        0,
        0,
        "whether the lambda accepts every element",
    )),
    lambda(m(
        "sort_by",
        "Array, Hash, ResultSet",
        "",
        0,
        0,
        "the elements sorted by the lambda's key, stably",
    )),
    m(
        "slice",
        "Array",
        "size",
        1,
        1,
        "the elements in chunks of `size`",
    ),
    m(
        "first",
        "Array, ResultSet",
        "",
        0,
        0,
        "the first element, or `undef`",
    ),
    m("last", "Array", "", 0, 0, "the last element, or `undef`"),
    m(
        "sort",
        "Array",
        "",
        0,
        0,
        "the elements sorted (they must compare)",
    ),
    m(
        "reverse",
        "Array, String",
        "",
        0,
        0,
        "the elements (characters) in reverse order",
    ),
    m(
        "unique",
        "Array",
        "",
        0,
        0,
        "the elements without repeats, in order",
    ),
    m(
        "flatten",
        "Array",
        "",
        0,
        0,
        "nested arrays' elements in one array",
    ),
    m(
        "join",
        "Array",
        "separator?",
        0,
        1,
        "the elements as text, joined",
    ),
    m("keys", "Hash", "", 0, 0, "the hash's keys, in order"),
    m("values", "Hash", "", 0, 0, "the hash's values, in order"),
    m(
        "contains",
        "Array, Hash, String",
        "x",
        1,
        1,
        "whether it holds the element (key, substring)",
    ),
    m(
        "split",
        "String",
        "separator",
        1,
        1,
        "the string's parts (characters for `\"\"`)",
    ),
    m(
        "strip",
        "String",
        "",
        0,
        0,
        "the string without surrounding white space",
    ),
    m("upcase", "String", "", 0, 0, "the string in upper case"),
    m("downcase", "String", "", 0, 0, "the string in lower case"),
    m(
        "starts_with",
        "String",
        "prefix",
        1,
        1,
        "whether the string starts with `prefix`",
    ),
    m(
        "ends_with",
        "String",
        "suffix",
        1,
        1,
        "whether the string ends with `suffix`",
    ),
    m(
        "replace",
        "String",
        "from, to",
        2,
        2,
        "the string with every `from` replaced",
    ),
    m("to_s", "Any", "", 0, 0, "the value as text"),
    m(
        "merge",
        "Hash",
        "hashes...",
        1,
        usize::MAX,
        "the hash with the others' keys added (the last wins), as Puppet's `merge`",
    ),
    m(
        "dig",
        "Hash, Array",
        "keys...",
        1,
        usize::MAX,
        "the value at that path of keys and indexes, or undef where it stops (Puppet's `dig`)",
    ),
    m(
        "capitalize",
        "String",
        "",
        0,
        0,
        "the string with its first letter upper case",
    ),
    m("abs", "Integer, Float", "", 0, 0, "the absolute value"),
    m(
        "match",
        "String",
        "regex",
        1,
        1,
        "the match of a regular expression and its groups, as an Array, or undef (Puppet's `match`)",
    ),
    m(
        "regsubst",
        "String",
        "regex, replacement, flags?",
        2,
        3,
        "the first match (every one with flags `G`) replaced; `\\1` refers to a group (Puppet's `regsubst`)",
    ),
    lambda(m(
        "then",
        "Any",
        "",
        0,
        0,
        "the lambda's value for the receiver, or undef when it is undef (Puppet's `then`)",
    )),
    lambda(m(
        "lest",
        "Any",
        "",
        0,
        0,
        "the receiver, or the lambda's value when it is undef (Puppet's `lest`)",
    )),
    m(
        "to_i",
        "Integer, Float, String, Duration",
        "",
        0,
        0,
        "the value as an integer (durations in seconds)",
    ),
    m(
        "to_f",
        "Integer, Float, String",
        "",
        0,
        0,
        "the value as a float",
    ),
    m(
        "unwrap",
        "Sensitive, Any",
        "",
        0,
        0,
        "a Sensitive value's content (others as they are)",
    ),
    m(
        "kind",
        ERROR,
        "",
        0,
        0,
        "the error's kind, e.g. `drover/timeout`",
    ),
    m(
        "message",
        "Error, Result",
        "",
        0,
        0,
        "the error's (result's) message",
    ),
    m("details", ERROR, "", 0, 0, "the error's details hash"),
    m(
        "location",
        ERROR,
        "",
        0,
        0,
        "`file:line:column` where it was raised",
    ),
];

/// An option every action takes, `_`-prefixed so it never clashes with a
/// task parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ActionOption {
    /// Its name, with the `_`.
    pub name: &'static str,
    /// The type it needs.
    pub ty: &'static str,
    /// What it does.
    pub doc: &'static str,
}

/// The action options (spec §6).
pub(crate) const ACTION_OPTIONS: &[ActionOption] = &[
    ActionOption {
        name: "_catch_errors",
        ty: "Boolean",
        doc: "return the ResultSet even when some target failed",
    },
    ActionOption {
        name: "_run_as",
        ty: "String",
        doc: "run as this user (through sudo over ssh)",
    },
    ActionOption {
        name: "_timeout",
        ty: "Duration",
        doc: "stop the command (and its children) after this long",
    },
    ActionOption {
        name: "_env",
        ty: "Hash",
        doc: "environment variables for the command",
    },
    ActionOption {
        name: "_env_vars",
        ty: "Hash",
        doc: "Bolt's name for `_env`",
    },
    ActionOption {
        name: "_description",
        ty: "String",
        doc: "shown in the timeline and the report",
    },
    ActionOption {
        name: "_noop",
        ty: "Boolean",
        doc: "tasks: pass `_noop` to a task that supports it",
    },
];

/// The action option `name`, if there is one.
pub(crate) fn option(name: &str) -> Option<&'static ActionOption> {
    ACTION_OPTIONS.iter().find(|o| o.name == name)
}

/// Options of a `with` block, with what each does.
pub(crate) const WITH_OPTIONS: &[(&str, &str)] = &[
    (
        "retry",
        "run the block again, up to N more times, while it fails",
    ),
    ("delay", "wait this long between tries"),
    (
        "timeout",
        "stop the block after this long (`drover/timeout`)",
    ),
    (
        "lock",
        "hold this named lock for the block, across every run sharing the state store",
    ),
    (
        "limit",
        "with `lock`: at most this many holders of the lock at once (a counting semaphore)",
    ),
];

/// Type names a plan may use.
pub(crate) const TYPE_NAMES: &[&str] = &[
    "Any",
    "Array",
    "Boolean",
    "Data",
    "Duration",
    "Enum",
    "Error",
    "Float",
    "Future",
    "Hash",
    "Integer",
    "NotUndef",
    "Numeric",
    "Optional",
    "Pattern",
    "Result",
    "ResultSet",
    "Scalar",
    "Sensitive",
    "String",
    "Target",
    "TargetSpec",
    "Tuple",
    "Type",
    "Undef",
    "Variant",
];

/// Named arguments every stub takes (spec testing.md §2).
const STUB_OPTIONS: &[&str] = &["targets", "params", "error", "duration", "times"];
/// A stub's named arguments when it answers with output.
const STUB_OUTPUT: &[&str] = &[
    "stdout",
    "stderr",
    "exit_code",
    "targets",
    "params",
    "error",
    "duration",
    "times",
];
/// A stub's named arguments when it answers with a value.
const STUB_VALUE: &[&str] = &["value", "targets", "params", "error", "duration", "times"];

/// The functions known inside `test` blocks only (spec testing.md §2–3):
/// [`Vocabulary::with_testing`] adds them.
pub(crate) const TESTING: &[Builtin] = &[
    f(
        "stub_task",
        "name",
        1,
        1,
        STUB_VALUE,
        "answers `run_task` of the task `name`",
    ),
    f(
        "stub_command",
        "command",
        1,
        1,
        STUB_OUTPUT,
        "answers `run_command` of `command` (or of a `\"/regex/\"`)",
    ),
    f(
        "stub_script",
        "path",
        1,
        1,
        STUB_OUTPUT,
        "answers `run_script` of `path`",
    ),
    f(
        "stub_upload",
        "source",
        1,
        1,
        STUB_OPTIONS,
        "answers `upload_file` of `source` with success",
    ),
    f(
        "stub_plan",
        "name",
        1,
        1,
        STUB_VALUE,
        "answers `run_plan` of `name` from the plan under test, without running it",
    ),
    f(
        "stub_wait_up",
        "",
        0,
        0,
        STUB_OPTIONS,
        "answers `wait_up` (by default it succeeds at once)",
    ),
    f(
        "expect_error",
        "expression",
        1,
        1,
        &["kind"],
        "the error `expression` raises; the test fails if it raises none (or another kind)",
    ),
    f(
        "assert",
        "condition, message",
        1,
        2,
        &[],
        "fails the test when `condition` is false",
    ),
    f(
        "assert_eq",
        "actual, expected",
        2,
        2,
        &[],
        "fails the test with both values and their difference unless they are equal",
    ),
    f(
        "calls",
        "action, name",
        0,
        2,
        &[],
        "the actions the test made, in order (`{action, name, targets, params, at, location}`)",
    ),
    f(
        "now",
        "",
        0,
        0,
        &[],
        "the test's virtual time since it started",
    ),
];

/// How many positional arguments an action (or `run_plan`) takes before
/// Bolt's optional description and parameter Hash (Puppet plans write
/// `run_task('t', $targets, 'why', { 'a' => 1 })`); `None` for the rest.
pub(crate) fn bolt_own_positional(name: &str) -> Option<usize> {
    match name {
        "run_task" | "run_command" | "run_script" => Some(2),
        "upload_file" | "download_file" => Some(3),
        "wait_until_available" | "run_plan" => Some(1),
        _ => None,
    }
}

/// The built-ins a checker or evaluator knows: [`Vocabulary::standard`], or
/// that with more entries (a test's, say).
#[derive(Clone, Debug)]
pub struct Vocabulary {
    functions: Vec<Builtin>,
    methods: Vec<Builtin>,
}

impl Vocabulary {
    /// The built-ins drover has.
    pub fn standard() -> &'static Vocabulary {
        static STANDARD: std::sync::OnceLock<Vocabulary> = std::sync::OnceLock::new();
        STANDARD.get_or_init(|| Vocabulary {
            functions: FUNCTIONS.to_vec(),
            methods: METHODS.to_vec(),
        })
    }

    /// This vocabulary with the functions of `test` blocks.
    pub fn with_testing(self) -> Vocabulary {
        TESTING.iter().fold(self, |v, b| v.with(*b))
    }

    /// This vocabulary with one more built-in (a function, action or method).
    pub fn with(mut self, b: Builtin) -> Vocabulary {
        match b.kind {
            Kind::Method => self.methods.push(b),
            _ => self.functions.push(b),
        }
        self
    }

    /// The function or action `name`.
    pub(crate) fn function(&self, name: &str) -> Option<&Builtin> {
        self.functions.iter().find(|b| b.name == name)
    }

    /// The method `name`.
    pub(crate) fn method(&self, name: &str) -> Option<&Builtin> {
        self.methods.iter().find(|b| b.name == name)
    }

    /// Every function and action.
    pub(crate) fn functions(&self) -> &[Builtin] {
        &self.functions
    }

    /// Every method.
    pub(crate) fn methods(&self) -> &[Builtin] {
        &self.methods
    }

    /// The reference section of `docs/language.md`, as Markdown.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let code = |s: &str| format!("`{s}`");
        out.push_str("| function | arguments | named | what it does |\n|---|---|---|---|\n");
        for b in &self.functions {
            let named = match b.named {
                Named::Callee => "the callee's parameters".to_string(),
                Named::Only(names) => names.iter().map(|n| code(n)).collect::<Vec<_>>().join(", "),
            };
            let named = match (b.takes_options(), named.is_empty()) {
                (true, true) => "action options".to_string(),
                (true, false) => format!("{named}, action options"),
                _ => named,
            };
            out.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                code(&b.usage()),
                b.arity(),
                named,
                b.doc
            ));
        }
        out.push_str("\n| method | on | arguments | what it does |\n|---|---|---|---|\n");
        for b in &self.methods {
            out.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                code(&b.usage()),
                b.on,
                b.arity(),
                b.doc
            ));
        }
        out.push_str("\n| action option | type | what it does |\n|---|---|---|\n");
        for o in ACTION_OPTIONS {
            out.push_str(&format!("| {} | {} | {} |\n", code(o.name), o.ty, o.doc));
        }
        out.push_str("\n| `with` option | what it does |\n|---|---|\n");
        for (name, doc) in WITH_OPTIONS {
            out.push_str(&format!("| {} | {} |\n", code(name), doc));
        }
        out.push_str("\nTypes: ");
        out.push_str(
            &TYPE_NAMES
                .iter()
                .map(|t| code(t))
                .collect::<Vec<_>>()
                .join(", "),
        );
        out.push_str(".\n");
        out
    }
}
