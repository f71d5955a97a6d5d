//! The second front end: Bolt's plans written in the Puppet language
//! (`plans/*.pp`) and in YAML (`plans/*.yaml`, `yaml`), read into drover's AST ([`crate::syntax::ast`]) so that
//! checking, running, dry runs and plan tests work on them as on drover's
//! own. `lexer` makes tokens, `parser` the AST; what Puppet means where it
//! differs from drover is the evaluator's business.

mod lexer;
mod parser;
mod yaml;

use crate::source::{FileId, SourceMap};
use crate::syntax::parser::Parsed;

/// Whether a file is a Bolt plan (Puppet language or YAML), by its name:
/// its code means what Puppet's does.
pub fn is_puppet(name: &str) -> bool {
    name.ends_with(".pp") || is_yaml(name)
}

/// Whether a file holds Puppet-language functions: a `.pp` file in a
/// `functions` directory.
pub fn is_functions_file(name: &str) -> bool {
    name.ends_with(".pp")
        && std::path::Path::new(name)
            .components()
            .any(|c| c.as_os_str() == "functions")
}

/// Whether a file is a YAML plan, by its name.
pub fn is_yaml(name: &str) -> bool {
    name.ends_with(".yaml") || name.ends_with(".yml")
}

/// Parse `text` as a standalone Puppet-language file named `name` (tests
/// and tools).
pub fn parse_str(name: &str, text: &str) -> (SourceMap, Parsed) {
    let mut sources = SourceMap::new();
    let id = sources.add(name, text);
    let parsed = parse(&sources, id);
    (sources, parsed)
}

/// Parse the Puppet-language file `id` of `sources`.
pub(crate) fn parse(sources: &SourceMap, id: FileId) -> Parsed {
    let file = sources.get(id);
    let parsed = if is_yaml(&file.name) {
        yaml::parse(id, &file.name, &file.text)
    } else {
        parser::parse(id, &file.text, is_functions_file(&file.name))
    };
    match parsed {
        Ok(file) => Parsed {
            file: Some(file),
            diagnostics: Vec::new(),
        },
        Err(d) => Parsed {
            file: None,
            diagnostics: vec![*d],
        },
    }
}
