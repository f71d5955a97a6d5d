//! One vocabulary: the table in `drover::lang` is what `drover check`, the
//! evaluator and `docs/language.md` know of the built-ins.

use drover::lang::{Builtin, Kind, Named, Vocabulary};
use drover::source::SourceMap;

/// The evaluator implements exactly the table's names, with the same kinds.
#[test]
fn the_evaluator_implements_exactly_the_vocabulary() {
    let problems = drover::eval::vocabulary_mismatches(Vocabulary::standard());
    assert!(problems.is_empty(), "{problems:#?}");
}

const GREET: Builtin = Builtin {
    name: "greet",
    kind: Kind::Function,
    params: "name",
    min: 1,
    max: 1,
    named: Named::Only(&["loud"]),
    lambda: false,
    on: "",
    doc: "greets",
};

fn check(vocab: &Vocabulary, text: &str) -> Vec<String> {
    let mut sources = SourceMap::default();
    sources.add("t.plan", text);
    let (_, diags) = drover::check::check_sources_in(&sources, None, vocab);
    diags
        .iter()
        .map(|d| format!("{} {}", d.code, d.message))
        .collect()
}

/// A built-in added to the table alone: the checker accepts calls of it (and
/// checks them against its signature), and the consistency check demands
/// its implementation.
#[test]
fn a_builtin_added_only_to_the_table_is_checked_and_demands_an_implementation() {
    let plan = "plan t() {\n  greet(\"x\", loud => true);\n}\n";
    let standard = Vocabulary::standard();
    assert_eq!(
        check(standard, plan),
        ["unknown-function unknown function `greet`"]
    );

    let extended = standard.clone().with(GREET);
    assert_eq!(check(&extended, plan), Vec::<String>::new());
    assert_eq!(
        check(
            &extended,
            "plan t() {\n  greet(\"x\", \"y\", lowd => 1);\n}\n"
        ),
        [
            "wrong-arguments `greet` takes 1 positional argument(s), 2 given",
            "wrong-arguments `greet` has no parameter `lowd`",
        ]
    );
    assert_eq!(
        drover::eval::vocabulary_mismatches(&extended),
        [
            "function `greet` is in the vocabulary but the evaluator does not implement it \
          (add it to eval::functions::FUNCTIONS)"
        ]
    );

    let method = Builtin {
        name: "shout",
        kind: Kind::Method,
        on: "String",
        min: 0,
        max: 0,
        named: Named::Only(&[]),
        ..GREET
    };
    let extended = standard.clone().with(method);
    assert_eq!(
        check(
            &extended,
            "plan t() {\n  $x = \"a\".shout;\n  $x.length;\n}\n"
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        drover::eval::vocabulary_mismatches(&extended),
        [
            "method `.shout` is in the vocabulary but the evaluator does not implement it \
          (add it to eval::methods::METHODS)"
        ]
    );
}

/// Method signatures come from the table too.
#[test]
fn method_calls_are_checked_against_the_table() {
    let diags = check(
        Vocabulary::standard(),
        "plan t() {\n  $a = [1].join(\",\", \";\");\n  $b = \"x\".replace(\"a\");\n  $c = [1].map;\n  [$a, $b, $c].lenght;\n}\n",
    );
    assert_eq!(
        diags,
        [
            "wrong-arguments `.join` takes 0 to 1 positional argument(s), 2 given",
            "wrong-arguments `.replace` takes 2 positional argument(s), 1 given",
            "wrong-arguments `.map` needs a lambda: `.map |$x| { ... }`",
            "unknown-method unknown method `.lenght`",
        ]
    );
}

const START: &str = "<!-- vocabulary: generated from src/lang.rs by tests/vocabulary.rs -->\n";
const END: &str = "<!-- end of vocabulary -->\n";

/// `docs/language.md`'s reference of built-ins is the table's own text.
/// `DROVER_BLESS=1 cargo test --test vocabulary` rewrites it.
#[test]
fn the_language_reference_lists_the_table() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/language.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let (Some(a), Some(b)) = (doc.find(START), doc.find(END)) else {
        panic!("docs/language.md has no generated vocabulary section ({START:?} ... {END:?})");
    };
    let want = format!("{START}\n{}\n{END}", Vocabulary::standard().markdown());
    let have = &doc[a..b + END.len()];
    if have != want {
        if std::env::var_os("DROVER_BLESS").is_some() {
            let updated = format!("{}{want}{}", &doc[..a], &doc[b + END.len()..]);
            std::fs::write(&path, updated).unwrap();
        } else {
            panic!(
                "docs/language.md's vocabulary is out of date: run DROVER_BLESS=1 cargo test --test vocabulary"
            );
        }
    }
}
