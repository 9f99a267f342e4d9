//! Ed25519 signing keys for evidence bundles, and the text files that hold them.
//!
//! A secret key file (written with mode 0600) and its public key file (`FILE.pub`):
//!
//! ```text
//! # restore-drill evidence signing key (Ed25519). …
//! # public key: ed25519:3b6a27bc…
//! ed25519-secret-key 9d61b19d…      (the 32-byte seed, 64 hex digits)
//!
//! # restore-drill evidence public key (Ed25519). …
//! ed25519-public-key 3b6a27bc…      (64 hex digits)
//! ```
//!
//! Lines starting with `#` and blank lines are ignored, so either file can carry notes. The
//! environment variable `RESTORE_DRILL_SIGNING_KEY` may hold a secret key file's text or just
//! the 64 hex digits of the seed (for CI secret stores). Error messages never repeat a key
//! file's content.
//!
//! The signature file beside the manifest (`MANIFEST.sha256.sig`) names the key that made it,
//! so `verify` can say *which* key signed a bundle it refuses:
//!
//! ```text
//! ed25519-public-key 3b6a27bc…
//! ed25519-signature 92a009a9…       (64 bytes, 128 hex digits)
//! ```

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

use super::hex;

/// Where `export` looks for the secret key when `--signing-key` is not given.
pub const SIGNING_KEY_ENV: &str = "RESTORE_DRILL_SIGNING_KEY";
/// Where `verify` looks for the trusted public key when `--public-key` is not given.
pub const PUBLIC_KEY_ENV: &str = "RESTORE_DRILL_PUBLIC_KEY";

const SECRET_TAG: &str = "ed25519-secret-key";
const PUBLIC_TAG: &str = "ed25519-public-key";
const SIGNATURE_TAG: &str = "ed25519-signature";

/// A signing key. Its `Debug` shows the public half only; the seed is wiped on drop.
pub struct SecretKey(SigningKey);

/// A public key, shown as `ed25519:<64 hex digits>`.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretKey(public {})", self.public())
    }
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

impl std::fmt::Display for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ed25519:{}", hex::encode(self.0.as_bytes()))
    }
}

impl SecretKey {
    /// A new key from the operating system's random source.
    pub fn generate() -> Result<SecretKey, String> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed)
            .map_err(|e| format!("cannot read the system's random source: {e}"))?;
        let key = SigningKey::from_bytes(&seed);
        wipe(&mut seed);
        Ok(SecretKey(key))
    }

    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// The signature file's text for `message` (the manifest).
    pub fn sign_file(&self, message: &[u8]) -> String {
        let sig = self.0.sign(message);
        format!(
            "# Ed25519 signature of MANIFEST.sha256, made by restore-drill evidence export.\n\
             {PUBLIC_TAG} {}\n{SIGNATURE_TAG} {}\n",
            hex::encode(self.0.verifying_key().as_bytes()),
            hex::encode(&sig.to_bytes())
        )
    }

    /// The secret key file's text. Only `keygen` writes it, and only to a 0600 file.
    fn file_text(&self) -> String {
        let seed = hex::encode(self.0.as_bytes());
        let text = format!(
            "# restore-drill evidence signing key (Ed25519). Keep it secret: whoever holds it can\n\
             # sign evidence bundles. Give auditors the .pub file beside it, never this one.\n\
             # public key: {}\n{SECRET_TAG} {seed}\n",
            self.public(),
        );
        wipe_string(seed);
        text
    }
}

impl PublicKey {
    /// The public key file's text.
    pub fn file_text(&self) -> String {
        format!(
            "# restore-drill evidence public key (Ed25519). Check bundles with\n\
             #   restore-drill evidence verify BUNDLE --public-key THIS_FILE\n\
             {PUBLIC_TAG} {}\n",
            hex::encode(self.0.as_bytes())
        )
    }
}

/// Reads a secret key from exactly one of two forms: a key file as `keygen` writes it
/// (comments, one `ed25519-secret-key` line), or the 64 hex digits of the seed alone. Anything
/// else is refused, notably a public key given as the secret (its `.pub` line, its
/// `ed25519:…` form, or a bare hex line beside other content), which would otherwise sign
/// with a key nobody can verify. A key file whose `# public key:` comment does not match its
/// seed is refused too. `source` names where it came from, for messages; the text is never
/// echoed.
pub fn parse_secret_key(text: &str, source: &str) -> Result<SecretKey, String> {
    let trimmed = text.trim();
    if trimmed.starts_with("ed25519:") {
        return Err(format!(
            "{source} holds a public key (ed25519:…), not a secret one: give the secret key file \
             keygen wrote, or its seed's 64 hex digits alone"
        ));
    }
    if let Some(mut seed) = hex::decode::<32>(trimmed) {
        let key = SigningKey::from_bytes(&seed);
        wipe(&mut seed);
        return Ok(SecretKey(key));
    }
    let mut found = None;
    let mut public_only = false;
    let mut noted_public = None;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if let Some(comment) = line.strip_prefix('#') {
            if let Some(p) = comment.trim().strip_prefix("public key:") {
                noted_public = Some(p.trim().to_owned());
            }
            continue;
        }
        if line.is_empty() {
            continue;
        }
        let (tag, value) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        match tag {
            SECRET_TAG if found.is_none() => found = Some(value.trim()),
            SECRET_TAG => return Err(format!("{source}: more than one {SECRET_TAG} line")),
            PUBLIC_TAG => public_only = true,
            _ => {
                return Err(format!(
                    "{source}: line {} is neither a comment nor the {SECRET_TAG} line: not a key \
                     file restore-drill wrote (give the file keygen wrote, or the seed's 64 hex \
                     digits alone)",
                    n + 1
                ));
            }
        }
    }
    let Some(value) = found else {
        return Err(if public_only {
            format!(
                "{source} holds a public key, not a secret one (the secret key is the file \
                 without .pub)"
            )
        } else {
            format!(
                "{source}: no {SECRET_TAG} line (expected a file written by \
                 restore-drill evidence keygen)"
            )
        });
    };
    if public_only {
        return Err(format!(
            "{source} holds both a secret and a public key line: not a key file restore-drill wrote"
        ));
    }
    let Some(mut seed) = hex::decode::<32>(value) else {
        return Err(format!("{source}: the {SECRET_TAG} is not 64 hex digits"));
    };
    let key = SecretKey(SigningKey::from_bytes(&seed));
    wipe(&mut seed);
    if let Some(noted) = noted_public
        && noted != key.public().to_string()
    {
        return Err(format!(
            "{source}: its \"# public key:\" comment does not match its secret key: the file was \
             edited or pieced together"
        ));
    }
    Ok(key)
}

/// Reads a public key from a public key file's text (or a bare `ed25519:HEX` / 64 hex digits).
pub fn parse_public_key(text: &str, source: &str) -> Result<PublicKey, String> {
    let mut found = None;
    for line in meaningful_lines(text) {
        let (tag, value) = line.split_once(char::is_whitespace).unwrap_or(("", line));
        match tag {
            PUBLIC_TAG => found = Some(value.trim()),
            SECRET_TAG => {
                return Err(format!(
                    "{source} is a secret key file: give verify the public key (the .pub file), \
                     and keep the secret one away from auditors"
                ));
            }
            "" => {
                let bare = line.strip_prefix("ed25519:").unwrap_or(line);
                if hex::decode::<32>(bare).is_some() {
                    found = Some(bare);
                }
            }
            _ => {}
        }
    }
    let value = found.ok_or_else(|| format!("{source}: no {PUBLIC_TAG} line"))?;
    public_from_hex(value).ok_or_else(|| format!("{source}: the {PUBLIC_TAG} is not a valid key"))
}

fn public_from_hex(value: &str) -> Option<PublicKey> {
    let bytes = hex::decode::<32>(value)?;
    VerifyingKey::from_bytes(&bytes).ok().map(PublicKey)
}

/// The file beside a run's `report.json` that holds the run's signature.
pub const RUN_SIGNATURE: &str = "report.sig";

/// What a run's signature covers: its drill, its run id and its `report.json`'s SHA-256 (the
/// report holds every number; the history row records the same hash).
pub fn run_message(drill: &str, run_id: &str, report_sha256: &str) -> Vec<u8> {
    format!("restore-drill run signature v1\ndrill {drill}\nrun {run_id}\nreport.json sha256 {report_sha256}\n")
        .into_bytes()
}

impl SecretKey {
    /// `report.sig`'s text for a run, made when the run ends.
    pub fn sign_run(&self, drill: &str, run_id: &str, report_sha256: &str) -> String {
        let sig = self.0.sign(&run_message(drill, run_id, report_sha256));
        format!(
            "# Ed25519 signature of this run's report.json, made by restore-drill run as the run\n\
             # ended. Checked by restore-drill evidence verify --public-key.\n\
             {PUBLIC_TAG} {}\n{SIGNATURE_TAG} {}\n",
            hex::encode(self.0.verifying_key().as_bytes()),
            hex::encode(&sig.to_bytes())
        )
    }
}

/// The runner's key from `RESTORE_DRILL_SIGNING_KEY` (as `evidence export` reads it: a key
/// file's text, or the seed alone); `None` when it is unset or empty. Never echoed.
pub fn signing_key_from_env() -> Result<Option<SecretKey>, String> {
    match std::env::var(SIGNING_KEY_ENV) {
        Ok(value) if !value.trim().is_empty() => {
            parse_secret_key(&value, SIGNING_KEY_ENV).map(Some)
        }
        _ => Ok(None),
    }
}

/// A parsed signature file: who signed, and the signature.
pub struct SignatureFile {
    pub signer: PublicKey,
    signature: Signature,
}

impl SignatureFile {
    pub fn parse(text: &str) -> Result<SignatureFile, String> {
        let (mut signer, mut signature) = (None, None);
        for line in meaningful_lines(text) {
            match line.split_once(char::is_whitespace) {
                Some((PUBLIC_TAG, v)) => signer = public_from_hex(v.trim()),
                Some((SIGNATURE_TAG, v)) => {
                    signature = hex::decode::<64>(v.trim()).map(|b| Signature::from_bytes(&b))
                }
                _ => {}
            }
        }
        match (signer, signature) {
            (Some(signer), Some(signature)) => Ok(SignatureFile { signer, signature }),
            (None, _) => Err(format!("no valid {PUBLIC_TAG} line")),
            (_, None) => Err(format!("no valid {SIGNATURE_TAG} line")),
        }
    }

    /// Whether `key` made this signature over `message`. Strict verification: no malleable
    /// or small-order signatures.
    pub fn verifies(&self, key: &PublicKey, message: &[u8]) -> bool {
        key.0.verify_strict(message, &self.signature).is_ok()
    }
}

/// Writes a new key pair: `out` (mode 0600, never overwritten) and `out.pub`.
pub fn write_key_pair(out: &Path) -> Result<(PathBuf, PublicKey), String> {
    let key = SecretKey::generate()?;
    let public_path = public_path_of(out);
    for p in [out, public_path.as_path()] {
        if p.exists() {
            return Err(format!(
                "{} exists; a key is never overwritten (move it away first)",
                p.display()
            ));
        }
    }
    let mut text = key.file_text();
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(out)
        .and_then(|mut f| {
            f.write_all(text.as_bytes())?;
            f.sync_all()
        });
    // The text held the seed: wipe it before anything else can fail.
    wipe_string(std::mem::take(&mut text));
    written.map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    let public = key.public();
    std::fs::write(&public_path, public.file_text())
        .map_err(|e| format!("cannot write {}: {e}", public_path.display()))?;
    Ok((public_path, public))
}

/// `FILE.pub` for a secret key file `FILE`.
pub fn public_path_of(secret: &Path) -> PathBuf {
    let mut name = secret.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

fn meaningful_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

/// Overwrites a string that held a secret before freeing it.
pub(crate) fn wipe_string(s: String) {
    let mut bytes = s.into_bytes();
    wipe(&mut bytes);
}

/// Overwrites secret bytes; `black_box` keeps the compiler from dropping the dead store.
fn wipe(bytes: &mut [u8]) {
    bytes.fill(0);
    std::hint::black_box(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_12_only_a_key_file_or_the_seed_alone_is_a_secret_key() {
        let key = SecretKey::generate().unwrap();
        let public_hex = hex::encode(key.public().0.as_bytes());
        let seed_hex = hex::encode(key.0.as_bytes());
        // The two accepted forms.
        assert_eq!(
            parse_secret_key(&key.file_text(), "k").unwrap().public(),
            key.public()
        );
        assert_eq!(
            parse_secret_key(&format!("  {seed_hex}\n"), "env")
                .unwrap()
                .public(),
            key.public()
        );
        // A public key given as the secret, in each of its forms.
        let refused = [
            key.public().file_text(),
            key.public().to_string(),
            format!("# notes\n{public_hex}\n"),
            format!("{}{public_hex}\n", key.file_text()),
            key.file_text().replace(&seed_hex, &public_hex),
        ];
        for (i, text) in refused.iter().enumerate() {
            let err = parse_secret_key(text, "k").err();
            assert!(err.is_some(), "form {i} was accepted as a secret key");
            assert!(
                !err.unwrap().contains(&seed_hex),
                "form {i} echoed the seed"
            );
        }
    }

    #[test]
    fn sign_and_verify_through_the_file_formats() {
        let key = SecretKey::generate().unwrap();
        let again = parse_secret_key(&key.file_text(), "k").unwrap();
        assert_eq!(again.public(), key.public());
        let public = parse_public_key(&key.public().file_text(), "k.pub").unwrap();
        let sig = SignatureFile::parse(&key.sign_file(b"manifest")).unwrap();
        assert_eq!(sig.signer, public);
        assert!(sig.verifies(&public, b"manifest"));
        assert!(!sig.verifies(&public, b"manifest!"));
        let other = SecretKey::generate().unwrap().public();
        assert!(!sig.verifies(&other, b"manifest"));
    }

    #[test]
    fn bare_hex_and_mixups_are_told_apart() {
        let key = SecretKey::generate().unwrap();
        let seed = hex::encode(key.0.as_bytes());
        assert_eq!(
            parse_secret_key(&format!("{seed}\n"), "env")
                .unwrap()
                .public(),
            key.public()
        );
        let e = parse_secret_key(&key.public().file_text(), "k.pub").unwrap_err();
        assert!(e.starts_with("k.pub holds a public key"), "{e}");
        let e = parse_public_key(&key.file_text(), "k").unwrap_err();
        assert!(e.starts_with("k is a secret key file"), "{e}");
        let e = parse_secret_key("ed25519-secret-key 12zz\n", "k").unwrap_err();
        assert_eq!(e, "k: the ed25519-secret-key is not 64 hex digits");
        assert!(!format!("{key:?}").contains(&seed));
    }
}
