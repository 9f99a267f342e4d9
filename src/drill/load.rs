//! Stage one of reading a file: TOML text to the strict types of `raw.rs`, section by section,
//! so that a problem in one `[[restore]]` does not hide the problems in the next. Every serde
//! error is turned into a message that names the key path and points at its line and column.

use std::ops::Range;

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::diag::{Diags, did_you_mean};

pub(crate) type Value<'i> = Spanned<DeValue<'i>>;

/// Syntax errors past this many are summarised: a file that is not TOML at all would otherwise
/// bury the first, useful one.
const MAX_SYNTAX_ERRORS: usize = 10;

/// Parses TOML, reporting every syntax error (up to a cap). `None` when there were any.
pub(crate) fn parse_toml<'i>(diags: &mut Diags<'_>, text: &'i str) -> Option<Spanned<DeTable<'i>>> {
    let (root, errors) = DeTable::parse_recoverable(text);
    if errors.is_empty() {
        return Some(root);
    }
    for e in errors.iter().take(MAX_SYNTAX_ERRORS) {
        let message = e.message().replace('`', "\"");
        diags.error(
            e.span().unwrap_or(0..0),
            "",
            format!("not valid TOML: {message}"),
        );
    }
    if errors.len() > MAX_SYNTAX_ERRORS {
        let last = errors.last().and_then(|e| e.span()).unwrap_or(0..0);
        diags.error(
            last,
            "",
            format!(
                "not valid TOML: {} more syntax errors not shown",
                errors.len() - MAX_SYNTAX_ERRORS
            ),
        );
    }
    None
}

/// Deserializes one section into its strict type. On failure, reports the problem in
/// `context` and returns `None`. `extra_keys` are keys handled elsewhere that a typo may have
/// meant (for suggestions).
///
/// serde stops at the first missing key; to report every missing key at once, each one found
/// is filled with a stand-in and the section read again, until a read finds no more. A later
/// complaint about a stand-in's type (a missing table, say) is left out: its key was reported
/// as missing already.
pub(crate) fn de<T: DeserializeOwned>(
    diags: &mut Diags<'_>,
    value: Value<'_>,
    context: &str,
    extra_keys: &[&str],
) -> Option<T> {
    /// More missing keys than any section has: a guard against a loop that never ends.
    const MAX_MISSING: usize = 32;
    let whole = value.clone();
    let mut attempt = value;
    let mut missing: Vec<String> = Vec::new();
    let mut stand_ins: Vec<Range<usize>> = Vec::new();
    loop {
        let e = match T::deserialize(ValueDeserializer::from(attempt.clone())) {
            Ok(v) if missing.is_empty() => return Some(v),
            Ok(_) => return None,
            Err(e) => e,
        };
        let span = e.span().unwrap_or_else(|| whole.span());
        let path = path_to(&whole, &span);
        let field = e
            .message()
            .strip_prefix("missing field `")
            .and_then(|m| m.split('`').next())
            .map(str::to_owned);
        // A missing key, in this section or a table inside it ([restore.connect], say): the
        // dotted path names it once.
        let full = field.as_ref().map(|f| {
            path.iter()
                .cloned()
                .chain(std::iter::once(f.clone()))
                .collect::<Vec<_>>()
                .join(".")
        });
        match (field, full) {
            (Some(f), Some(full)) if !missing.contains(&full) && missing.len() < MAX_MISSING => {
                diags.error(span, context, describe(e.message(), &path, extra_keys));
                match insert_stand_in(&mut attempt, &path, &f) {
                    Some(at) => stand_ins.push(at),
                    None => return None,
                }
                missing.push(full);
            }
            _ => {
                let here = path.join(".");
                let about_a_stand_in = !missing.is_empty()
                    && (e.span().is_none_or(|s| stand_ins.contains(&s))
                        || missing
                            .iter()
                            .any(|m| here == *m || here.starts_with(&format!("{m}."))));
                if !about_a_stand_in {
                    diags.error(span, context, describe(e.message(), &path, extra_keys));
                }
                return None;
            }
        }
    }
}

/// Puts an empty stand-in for key `field` into the table at `path` (keys, and `[n]` for the
/// n-th element of an array) inside `value`; returns the stand-in's (empty) span, or `None`
/// when there is no table there.
fn insert_stand_in(value: &mut Value<'_>, path: &[String], field: &str) -> Option<Range<usize>> {
    let mut at = value;
    for key in path {
        at = match at.get_mut() {
            DeValue::Table(t) => t.get_mut(key.as_str())?,
            DeValue::Array(a) => {
                let i: usize = key.strip_prefix('[')?.strip_suffix(']')?.parse().ok()?;
                a.get_mut(i.checked_sub(1)?)?
            }
            _ => return None,
        };
    }
    let start = at.span().start;
    let DeValue::Table(t) = at.get_mut() else {
        return None;
    };
    t.insert(
        Spanned::new(start..start, std::borrow::Cow::Owned(field.to_owned())),
        Spanned::new(
            start..start,
            DeValue::String(std::borrow::Cow::Borrowed("")),
        ),
    );
    Some(start..start)
}

/// Splits the `kind` tag off a tagged table. Returns the kind (one of `kinds`) and the rest of
/// the table, ready for `de`.
pub(crate) fn take_kind<'i>(
    diags: &mut Diags<'_>,
    value: Value<'i>,
    context: &str,
    kinds: &[&'static str],
) -> Option<(&'static str, Value<'i>)> {
    let span = value.span();
    let DeValue::Table(mut table) = value.into_inner() else {
        diags.error(span, context, "expected a table");
        return None;
    };
    let one_of = kinds.join(", ");
    let Some(kind) = table.remove("kind") else {
        diags.error(
            span,
            context,
            format!("missing required key \"kind\" (one of: {one_of})"),
        );
        return None;
    };
    let kind_span = kind.span();
    let Some(text) = kind.get_ref().as_str() else {
        diags.error(
            kind_span,
            context,
            format!(
                "key \"kind\": expected a string, found {} (one of: {one_of})",
                kind.get_ref().type_str()
            ),
        );
        return None;
    };
    match kinds.iter().find(|k| **k == text) {
        Some(k) => Some((k, Spanned::new(span, DeValue::Table(table)))),
        None => {
            let hint = match did_you_mean(text, kinds) {
                Some(s) => format!(" (did you mean \"{s}\"?)"),
                None => format!(" (expected one of: {one_of})"),
            };
            diags.error(kind_span, context, format!("unknown kind \"{text}\"{hint}"));
            None
        }
    }
}

/// The string value of `key` in a table value, if there is one (used to name a restore or a
/// check in messages before it is deserialized).
pub(crate) fn peek_str<'a>(value: &'a Value<'_>, key: &str) -> Option<&'a str> {
    value.get_ref().as_table()?.get(key)?.get_ref().as_str()
}

/// The keys leading from `value` to the innermost value that holds `span`. A table written
/// with a header (`[restore.target]`) has the header as its span, so a value "holds" a span
/// when it or anything inside it does. A span that is only a key's (an unknown key) stops at
/// the table holding that key.
fn path_to(value: &Value<'_>, span: &Range<usize>) -> Vec<String> {
    fn holds(v: &Value<'_>, span: &Range<usize>) -> bool {
        let s = v.span();
        if s.start <= span.start && span.end <= s.end {
            return true;
        }
        match v.get_ref() {
            DeValue::Table(t) => t.iter().any(|(k, c)| {
                let ks = k.span();
                (ks.start <= span.start && span.end <= ks.end) || holds(c, span)
            }),
            DeValue::Array(a) => a.iter().any(|c| holds(c, span)),
            _ => false,
        }
    }
    let mut path = Vec::new();
    let mut at = value;
    loop {
        let next = match at.get_ref() {
            DeValue::Table(t) => t
                .iter()
                .find(|(_, v)| holds(v, span))
                .map(|(k, v)| (k.get_ref().to_string(), v)),
            DeValue::Array(a) => a
                .iter()
                .enumerate()
                .find(|(_, v)| holds(v, span))
                .map(|(i, v)| (format!("[{}]", i + 1), v)),
            _ => None,
        };
        match next {
            Some((key, v)) => {
                path.push(key);
                at = v;
            }
            None => return path,
        }
    }
}

fn join(path: &[String], last: Option<&str>) -> String {
    let mut out = String::new();
    for part in path.iter().map(String::as_str).chain(last) {
        if !out.is_empty() && !part.starts_with('[') {
            out.push('.');
        }
        out.push_str(part);
    }
    out
}

/// The words between backticks in a serde message, in order.
fn ticked(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

/// Rewrites serde's message for people who write drill files: key paths instead of field
/// names, TOML words instead of Rust ones, and a suggestion for a likely typo.
fn describe(message: &str, path: &[String], extra_keys: &[&str]) -> String {
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let words = ticked(message);
        let field = words.first().copied().unwrap_or_default();
        let mut known: Vec<&str> = match rest.split_once("expected") {
            Some((_, list)) => ticked(list),
            None => Vec::new(),
        };
        if path.is_empty() {
            known.extend_from_slice(extra_keys);
        }
        let mut out = format!("unknown key \"{}\"", join(path, Some(field)));
        if field == "password" {
            out.push_str(
                " (a drill file never holds a password: name the environment variable that does, with \"password_env\")",
            );
        } else if let Some(s) = did_you_mean(field, &known) {
            out.push_str(&format!(" (did you mean \"{s}\"?)"));
        }
        return out;
    }
    if message.starts_with("missing field `") {
        let field = ticked(message).first().copied().unwrap_or_default();
        return format!("missing required key \"{}\"", join(path, Some(field)));
    }
    let key = join(path, None);
    let prefix = if key.is_empty() {
        String::new()
    } else {
        format!("key \"{key}\": ")
    };
    if let Some(rest) = message.strip_prefix("invalid type: ")
        && let Some((found, expected)) = rest.split_once(", expected ")
    {
        return format!(
            "{prefix}expected {}, found {}",
            rust_words(expected),
            found.replace('`', "\"")
        );
    }
    if message.starts_with("unknown variant `") {
        let words = ticked(message);
        let value = words.first().copied().unwrap_or_default();
        let known = words.get(1..).unwrap_or_default();
        let hint = match did_you_mean(value, known) {
            Some(s) => format!("did you mean \"{s}\"?"),
            None => format!("expected one of: {}", known.join(", ")),
        };
        return format!("{prefix}unknown value \"{value}\" ({hint})");
    }
    format!("{prefix}{}", rust_words(message))
}

/// serde names Rust types; a drill author thinks in TOML types.
fn rust_words(text: &str) -> String {
    let t = text.replace('`', "\"");
    match t.as_str() {
        "u16" | "u32" | "u64" | "i64" => "a whole number".to_owned(),
        "a boolean" | "bool" => "true or false".to_owned(),
        "a sequence" => "an array".to_owned(),
        "a string" => "a string".to_owned(),
        "struct RawConnect" | "struct RawReference" => "a table".to_owned(),
        s if s.starts_with("struct ") => "a table".to_owned(),
        s if s.starts_with("integer") && s.contains("out of range") => s.to_owned(),
        _ => t,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_unknown_nested_keys_with_a_path() {
        let path = vec!["target".to_owned()];
        let msg = describe(
            "unknown field `instnce_class`, expected one of `identifier`, `instance_class`",
            &path,
            &[],
        );
        assert_eq!(
            msg,
            "unknown key \"target.instnce_class\" (did you mean \"instance_class\"?)"
        );
    }

    #[test]
    fn describes_wrong_types_in_toml_words() {
        let path = vec!["target".to_owned(), "port".to_owned()];
        let msg = describe("invalid type: string \"x\", expected u16", &path, &[]);
        assert_eq!(
            msg,
            "key \"target.port\": expected a whole number, found string \"x\""
        );
    }
}
