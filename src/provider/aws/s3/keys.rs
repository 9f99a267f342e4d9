//! Object keys on the wire. A key may hold any Unicode character, spaces, `+`, `%`, `?` and
//! `#`; the SDK encodes keys in request paths, but not inside `x-amz-copy-source`, and keys a
//! listing returns under `encoding-type=url` come back encoded (a space as `+`, `+` as `%2B`).

/// `x-amz-copy-source` for one version: `bucket/key?versionId=id`, key and id percent-encoded
/// (everything but unreserved characters and `/`).
pub(crate) fn copy_source(bucket: &str, key: &str, version_id: &str) -> String {
    format!(
        "{bucket}/{}?versionId={}",
        encode(key, true),
        encode(version_id, false)
    )
}

/// A query-string value (tags in `x-amz-tagging`): everything but unreserved characters
/// percent-encoded.
pub(crate) fn query_encode(s: &str) -> String {
    encode(s, false)
}

/// An object key in a request path (`wire.rs`): everything but unreserved characters and `/`
/// percent-encoded, as the SDK encodes it.
pub(crate) fn path_encode(key: &str) -> String {
    encode(key, true)
}

fn encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        let plain = b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'.' | b'~')
            || (keep_slash && b == b'/');
        if plain {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes a key S3 returned under `encoding-type=url`: `+` is a space, `%XX` a byte.
/// A key as a listing returned it: URL-decoded when the listing says it encoded keys.
pub(crate) fn listed_key(raw: Option<&str>, encoded: bool) -> Result<String, String> {
    let raw = raw.unwrap_or_default();
    if encoded {
        url_decode(raw)
    } else {
        Ok(raw.to_owned())
    }
}

pub(crate) fn url_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s
                    .get(i + 1..i + 3)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| format!("the listing returned a badly encoded key \"{s}\""))?;
                out.push(hex);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out)
        .map_err(|_| format!("the listing returned a key that is not UTF-8: \"{s}\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_sources_encode_everything_a_url_could_misread() {
        assert_eq!(
            copy_source("b", "a b/c+d%e?f#g/ü.txt", "v+1/="),
            "b/a%20b/c%2Bd%25e%3Ff%23g/%C3%BC.txt?versionId=v%2B1%2F%3D"
        );
        assert_eq!(
            copy_source("b", "plain/key-1_x.y~", "null"),
            "b/plain/key-1_x.y~?versionId=null"
        );
    }

    #[test]
    fn listing_keys_decode_as_s3_encodes_them() {
        assert_eq!(url_decode("a+b%2Bc%25d/%ED%95%9C").unwrap(), "a b+c%d/한");
        assert_eq!(url_decode("x%20y").unwrap(), "x y");
        assert!(url_decode("bad%2").is_err());
        assert!(url_decode("bad%zz").is_err());
        assert!(url_decode("%FF").is_err());
    }
}
