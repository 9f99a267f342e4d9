//! Small text rules and helpers: SHA-256 hex, name templates, slugs, `host:port`.

use toml::Spanned;

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Fills `{run_id}`, `{drill}` and `{restore}` in a target-name template.
pub fn render_template(template: &str, drill: &str, restore: &str, run_id: &str) -> String {
    template
        .replace("{run_id}", run_id)
        .replace("{drill}", drill)
        .replace("{restore}", restore)
}

pub(super) fn texts(list: Option<&[Spanned<String>]>) -> Vec<String> {
    list.unwrap_or_default()
        .iter()
        .map(|s| s.get_ref().clone())
        .collect()
}

/// Lowercase letters, digits and single inner hyphens, starting with a letter.
pub(super) fn valid_slug(s: &str, max: usize) -> bool {
    (1..=max).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.ends_with('-')
        && !s.contains("--")
}

/// `host:port` or `[v6]:port`.
pub(crate) fn parse_host_port(s: &str) -> Option<(&str, u16)> {
    let (host, port) = s.rsplit_once(':')?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let port: u16 = port.parse().ok().filter(|p| *p != 0)?;
    (!host.is_empty() && !host.contains(char::is_whitespace)).then_some((host, port))
}
