//! The `PreSignedUrl` of cross-region RDS calls (`CopyDBSnapshot`, `CopyDBClusterSnapshot`,
//! `StartDBInstanceAutomatedBackupsReplication`) on encrypted resources.
//!
//! Called in the destination region, these calls need a SigV4 query-signed URL of the same
//! call, signed for the **source** region, with `DestinationRegion` among its parameters. Other
//! SDKs build it from `SourceRegion`; the Rust SDK does not (smithy-rs "RDS customizations").
//! This builds it as botocore does (`botocore.handlers.inject_presigned_url_rds`), byte for byte:
//! `https://rds.<source>.<domain>/?<the call's parameters, in order>&DestinationRegion=<dest>`
//! then the authentication parameters, signed with `aws-sigv4` for GET, `host` the only signed
//! header, valid for an hour. A test compares it with botocore's own output.

use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;

/// How long the URL is valid: botocore's default.
pub const EXPIRES: Duration = Duration::from_secs(3600);

/// The credentials the URL is signed with: those of the call it rides on.
#[derive(Clone)]
pub struct Keys {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// Percent-encodes as SigV4 (and Python's `quote(safe="-_.~")`) does: everything but the
/// unreserved characters, as uppercase `%XX` of the UTF-8 bytes.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The RDS endpoint host of a region.
pub fn rds_host(region: &str) -> String {
    let domain = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    format!("rds.{region}.{domain}")
}

/// The pre-signed URL of `action` with `params` (the call's own parameters, in the order the
/// call sends them, without `PreSignedUrl`), signed for `source_region` at `now`.
pub fn presigned_url(
    action: &str,
    params: &[(&str, &str)],
    keys: &Keys,
    source_region: &str,
    destination_region: &str,
    now: SystemTime,
) -> Result<String, String> {
    let mut query: Vec<(&str, &str)> = vec![("Action", action), ("Version", "2014-10-31")];
    query.extend_from_slice(params);
    query.push(("DestinationRegion", destination_region));
    let ops = query
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let host = rds_host(source_region);
    let unsigned = format!("https://{host}/?{ops}");

    let identity: Identity = aws_sdk_rds::config::Credentials::new(
        keys.access_key_id.clone(),
        keys.secret_access_key.clone(),
        keys.session_token.clone(),
        None,
        "restore-drill-presign",
    )
    .into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(EXPIRES);
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(source_region)
        .name("rds")
        .time(now)
        .settings(settings)
        .build()
        .map_err(|e| format!("cannot sign the pre-signed URL: {e}"))?
        .into();
    let request = SignableRequest::new(
        "GET",
        unsigned.as_str(),
        std::iter::once(("host", host.as_str())),
        SignableBody::Bytes(&[]),
    )
    .map_err(|e| format!("cannot sign the pre-signed URL: {e}"))?;
    let (instructions, signature) = sign(request, &params)
        .map_err(|e| format!("cannot sign the pre-signed URL: {e}"))?
        .into_parts();
    // The authentication parameters in botocore's order, then the signature.
    let signed: Vec<(&str, &str)> = instructions
        .params()
        .iter()
        .map(|(k, v)| (*k, v.as_ref()))
        .collect();
    let get = |name: &str| {
        signed
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
            .ok_or_else(|| format!("the signer gave no {name}"))
    };
    let mut auth = vec![
        ("X-Amz-Algorithm", get("X-Amz-Algorithm")?),
        ("X-Amz-Credential", get("X-Amz-Credential")?),
        ("X-Amz-Date", get("X-Amz-Date")?),
        ("X-Amz-Expires", get("X-Amz-Expires")?),
        ("X-Amz-SignedHeaders", get("X-Amz-SignedHeaders")?),
    ];
    if keys.session_token.is_some() {
        auth.push(("X-Amz-Security-Token", get("X-Amz-Security-Token")?));
    }
    let auth = auth
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    Ok(format!("{unsigned}&{auth}&X-Amz-Signature={signature}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_keeps_only_unreserved_characters() {
        assert_eq!(
            encode("arn:aws:rds:us-east-1:1:snapshot:a b/c~d"),
            "arn%3Aaws%3Ards%3Aus-east-1%3A1%3Asnapshot%3Aa%20b%2Fc~d"
        );
        assert_eq!(encode("é"), "%C3%A9");
    }

    #[test]
    fn hosts_follow_the_partition() {
        assert_eq!(rds_host("eu-west-1"), "rds.eu-west-1.amazonaws.com");
        assert_eq!(rds_host("cn-north-1"), "rds.cn-north-1.amazonaws.com.cn");
    }
}
