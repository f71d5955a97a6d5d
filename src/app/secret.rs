//! `drover secret createkeys | encrypt | decrypt`, as Bolt's `bolt secret`.

use std::io::Read;

use super::UsageError;
use crate::project::pkcs7::Keys;

/// Make the project's key pair.
pub(crate) fn createkeys(keys: &Keys, force: bool) -> Result<u8, UsageError> {
    match keys.create(force) {
        Ok(()) => {
            eprintln!(
                "made {} and {}: keep the private key out of version control",
                keys.private.display(),
                keys.public.display()
            );
            Ok(0)
        }
        Err(why) => fail(why),
    }
}

/// Print the encrypted value of `text` (or of standard input, less one
/// trailing newline).
pub(crate) fn encrypt(keys: &Keys, text: Option<String>) -> Result<u8, UsageError> {
    print(text, |t| keys.encrypt(t.as_bytes()))
}

/// Print the text of an encrypted value (or of standard input's).
pub(crate) fn decrypt(keys: &Keys, value: Option<String>) -> Result<u8, UsageError> {
    print(value, |v| keys.decrypt(v))
}

/// Print `f` of the input (the argument, else standard input).
fn print(
    input: Option<String>,
    f: impl FnOnce(&str) -> Result<String, String>,
) -> Result<u8, UsageError> {
    match input.map_or_else(stdin, Ok).and_then(|i| f(&i)) {
        Ok(out) => {
            outln!("{out}");
            Ok(0)
        }
        Err(why) => fail(why),
    }
}

fn stdin() -> Result<String, String> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read standard input: {e}"))?;
    Ok(text
        .strip_suffix('\n')
        .map(|t| t.strip_suffix('\r').unwrap_or(t))
        .unwrap_or(&text)
        .to_string())
}

fn fail(why: String) -> Result<u8, UsageError> {
    eprintln!("error: {why}");
    Ok(2)
}
