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
    let text = match text {
        Some(t) => t,
        None => match stdin() {
            Ok(t) => t,
            Err(why) => return fail(why),
        },
    };
    match keys.encrypt(text.as_bytes()) {
        Ok(v) => {
            outln!("{v}");
            Ok(0)
        }
        Err(why) => fail(why),
    }
}

/// Print the text of an encrypted value (or of standard input's).
pub(crate) fn decrypt(keys: &Keys, value: Option<String>) -> Result<u8, UsageError> {
    let value = match value {
        Some(v) => v,
        None => match stdin() {
            Ok(v) => v,
            Err(why) => return fail(why),
        },
    };
    match keys.decrypt(&value) {
        Ok(text) => {
            outln!("{text}");
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
