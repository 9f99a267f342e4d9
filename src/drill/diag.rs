//! Diagnostics: problems found in a drill or tiers file, each pinned to a file, a line and a
//! column, with the key path it concerns. Validation collects every problem; it never stops at
//! the first.

use std::fmt;
use std::ops::Range;

/// How bad a diagnostic is. Errors make a file invalid (exit 20); warnings are printed only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

/// One problem in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// The file as the user named it (relative paths stay relative).
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// Which part of the drill the problem is in, e.g. `restore "orders"`; empty at top level.
    pub context: String,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        if self.severity == Severity::Warning {
            f.write_str("warning: ")?;
        }
        if !self.context.is_empty() {
            write!(f, "{}: ", self.context)?;
        }
        f.write_str(&self.message)
    }
}

/// A source text and its name, able to turn byte offsets into line:column.
#[derive(Debug)]
pub(crate) struct Source<'a> {
    pub(crate) name: String,
    pub(crate) text: &'a str,
}

impl Source<'_> {
    /// 1-based line and column (in characters) of a byte offset; offsets past the end or inside
    /// a multi-byte character are clamped to the nearest character boundary before them.
    pub(crate) fn position(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        (line, column)
    }
}

/// Collects the diagnostics of one file.
#[derive(Debug)]
pub(crate) struct Diags<'a> {
    pub(crate) source: &'a Source<'a>,
    pub(crate) items: Vec<Diagnostic>,
}

impl<'a> Diags<'a> {
    pub(crate) fn new(source: &'a Source<'a>) -> Self {
        Diags {
            source,
            items: Vec::new(),
        }
    }

    pub(crate) fn push(
        &mut self,
        severity: Severity,
        span: Range<usize>,
        context: &str,
        message: impl Into<String>,
    ) {
        let (line, column) = self.source.position(span.start);
        self.items.push(Diagnostic {
            severity,
            file: self.source.name.clone(),
            line,
            column,
            context: context.to_owned(),
            message: message.into(),
        });
    }

    pub(crate) fn error(&mut self, span: Range<usize>, context: &str, message: impl Into<String>) {
        self.push(Severity::Error, span, context, message);
    }

    pub(crate) fn warning(
        &mut self,
        span: Range<usize>,
        context: &str,
        message: impl Into<String>,
    ) {
        self.push(Severity::Warning, span, context, message);
    }

    pub(crate) fn has_errors(&self) -> bool {
        self.items.iter().any(|d| d.severity == Severity::Error)
    }

    /// The diagnostics in file order (line, then column), errors before warnings on a tie.
    pub(crate) fn into_sorted(mut self) -> Vec<Diagnostic> {
        self.items.sort_by_key(|a| (a.line, a.column, a.severity));
        self.items.dedup();
        self.items
    }
}

/// The closest candidate to a misspelt word, if it is close enough to be a likely typo.
pub(crate) fn did_you_mean<'c>(word: &str, candidates: &[&'c str]) -> Option<&'c str> {
    let word_lower = word.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (levenshtein(&word_lower, &c.to_ascii_lowercase()), *c))
        .filter(|(d, c)| *d <= (c.chars().count().max(word.chars().count()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        // `diagonal` is the previous row's value one column to the left.
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            let substitute = diagonal + usize::from(ca != *cb);
            row[j + 1] = substitute.min(above + 1).min(row[j] + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_counts_lines_and_characters() {
        let src = Source {
            name: "x.toml".into(),
            text: "a = 1\nné = 2\n",
        };
        assert_eq!(src.position(0), (1, 1));
        assert_eq!(src.position(6), (2, 1));
        // "né" is 3 bytes; the space after it is the 3rd character.
        assert_eq!(src.position(9), (2, 3));
        assert_eq!(src.position(1000), (3, 1));
    }

    #[test]
    fn suggests_only_close_words() {
        let keys = ["instance_class", "subnet_group", "security_groups"];
        assert_eq!(did_you_mean("instnce_class", &keys), Some("instance_class"));
        assert_eq!(
            did_you_mean("security_group", &keys),
            Some("security_groups")
        );
        assert_eq!(did_you_mean("colour", &keys), None);
    }
}
