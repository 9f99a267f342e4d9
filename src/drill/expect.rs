//! What a `sql` check expects of its query's first column: `= N`, `!= N`, `> N`, `>= N`,
//! `< N`, `<= N`, `between A and B`, `matches REGEX`, or `no rows`.

use std::fmt;

/// A checked expectation. Numbers are compared as f64 (exact for integers up to 2^53).
#[derive(Debug, Clone)]
pub enum Expect {
    Compare(Op, f64),
    Between(f64, f64),
    /// The value's text matches this regular expression (already compiled once to check it).
    Matches(regex::Regex),
    NoRows,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl Op {
    fn symbol(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Le => "<=",
        }
    }
}

const FORMS: &str = "\"= N\", \"!= N\", \"> N\", \">= N\", \"< N\", \"<= N\", \"between A and B\", \"matches REGEX\" or \"no rows\"";

impl Expect {
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        let bad = |why: &str| format!("invalid expectation \"{text}\": {why}");
        if t == "no rows" {
            return Ok(Expect::NoRows);
        }
        if let Some(re) = t.strip_prefix("matches ") {
            return regex::Regex::new(re.trim())
                .map(Expect::Matches)
                .map_err(|e| bad(&format!("the regular expression does not compile: {e}")));
        }
        if let Some(rest) = t.strip_prefix("between ") {
            let Some((a, b)) = rest.split_once(" and ") else {
                return Err(bad("expected \"between A and B\""));
            };
            let (a, b) = (
                number(a).map_err(|e| bad(&e))?,
                number(b).map_err(|e| bad(&e))?,
            );
            if a > b {
                return Err(bad("the lower bound is greater than the upper bound"));
            }
            return Ok(Expect::Between(a, b));
        }
        // Longest operators first, so ">=" is not read as ">" followed by "=".
        for (sym, op) in [
            (">=", Op::Ge),
            ("<=", Op::Le),
            ("!=", Op::Ne),
            ("==", Op::Eq),
            ("=", Op::Eq),
            (">", Op::Gt),
            ("<", Op::Lt),
        ] {
            if let Some(rest) = t.strip_prefix(sym) {
                return number(rest)
                    .map(|n| Expect::Compare(op, n))
                    .map_err(|e| bad(&e));
            }
        }
        Err(bad(&format!("expected one of {FORMS}")))
    }
}

fn number(text: &str) -> Result<f64, String> {
    let t = text.trim();
    t.parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .ok_or_else(|| format!("\"{t}\" is not a number"))
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expect::Compare(op, n) => write!(f, "{} {n}", op.symbol()),
            Expect::Between(a, b) => write!(f, "between {a} and {b}"),
            Expect::Matches(re) => write!(f, "matches {}", re.as_str()),
            Expect::NoRows => f.write_str("no rows"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert!(matches!(Expect::parse(">= 1000"), Ok(Expect::Compare(Op::Ge, n)) if n == 1000.0));
        assert!(matches!(Expect::parse("=0"), Ok(Expect::Compare(Op::Eq, n)) if n == 0.0));
        assert!(
            matches!(Expect::parse("between 1 and 5"), Ok(Expect::Between(a, b)) if a == 1.0 && b == 5.0)
        );
        assert!(matches!(Expect::parse("no rows"), Ok(Expect::NoRows)));
        assert!(matches!(
            Expect::parse("matches ^ok$"),
            Ok(Expect::Matches(_))
        ));
    }

    #[test]
    fn errors() {
        assert!(
            Expect::parse("between 5 and 1")
                .unwrap_err()
                .contains("lower bound")
        );
        assert!(
            Expect::parse(">= lots")
                .unwrap_err()
                .contains("\"lots\" is not a number")
        );
        assert!(
            Expect::parse("matches (")
                .unwrap_err()
                .contains("does not compile")
        );
        assert!(
            Expect::parse("about 5")
                .unwrap_err()
                .contains("expected one of")
        );
    }
}
