//! A small loopback proxy in front of moto for S3 (the REST protocol), which rewrites
//! moto's answers into what AWS sends where moto differs: SSE-KMS objects (ETags that are no
//! MD5 of the content, `x-amz-server-side-encryption: aws:kms`), SSE-C objects (a bare 400
//! to HeadObject without the key), a 301 PermanentRedirect with `x-amz-bucket-region` for a
//! request signed for another region than the bucket's, 503 SlowDown and 400 InvalidRequest
//! faults, `x-amz-archive-status` and `x-amz-restore`, a copy that holds its 200 answer open,
//! and Object Lock as a caller without `s3:GetObjectRetention`'s HeadObject rights sees it
//! (no lock headers) with a working GetObjectRetention (moto 5.2 has none). Every call is
//! recorded for assertions.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};

/// A fault the proxy answers instead of forwarding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum S3Fault {
    /// HTTP 503 `SlowDown`, as S3 throttles a prefix.
    SlowDown,
    /// HTTP 400 `InvalidRequest`, as S3 answers a copy of an SSE-C source without its key
    /// headers or of a Requester Pays bucket without the header.
    InvalidRequest,
    /// HTTP 200 whose body is an `<Error>` (`InternalError`): S3 sends a copy's status before
    /// the copy is done, and a copy that then fails says so in the body.
    InternalErrorIn200,
}

/// One request as the proxy saw it.
#[derive(Debug, Clone)]
pub struct Call {
    pub op: &'static str,
    pub method: String,
    /// Bucket, as the first path segment (path-style addressing).
    pub bucket: String,
    /// The object key, decoded.
    pub key: String,
    pub query: String,
    /// Lowercased names.
    pub headers: HashMap<String, String>,
    /// The region the request was signed for.
    pub region: String,
}

#[derive(Default)]
pub struct Rules {
    /// Bucket → the region it lives in; requests signed for another region get a 301.
    pub regions: HashMap<String, String>,
    /// Objects whose key contains this are SSE-KMS objects.
    pub kms_marker: Option<String>,
    /// Objects whose key contains this are SSE-C objects.
    pub ssec_marker: Option<String>,
    /// (bucket, key) → `x-amz-archive-status` (listed as INTELLIGENT_TIERING).
    pub archived: HashMap<(String, String), String>,
    /// (bucket, key) → `x-amz-restore`, if any (listed as GLACIER).
    pub glacier: HashMap<(String, String), Option<String>>,
    /// Operation → (fault, how many more times).
    pub faults: HashMap<&'static str, (S3Fault, usize)>,
    /// Operation → how long its 200 answer is held open after its headers went out.
    pub holds: HashMap<&'static str, Duration>,
    /// Strip `x-amz-object-lock-*` from HeadObject answers and answer GetObjectRetention.
    pub lock_as_aws: bool,
    /// Forward conditional writes (a PUT with `If-None-Match` or `If-Match`) one at a time, as
    /// S3 applies them atomically: moto 5.2 checks the condition and then stores, unlocked,
    /// so two racing writers can both "win" in moto and never in S3.
    pub atomic_conditional_writes: bool,
}

/// Held while one conditional write is forwarded.
static CONDITIONAL_WRITE: Mutex<()> = Mutex::new(());

pub struct S3Proxy {
    pub port: u16,
    rules: Arc<Mutex<Rules>>,
    calls: Arc<Mutex<Vec<Call>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl S3Proxy {
    /// Listens on a free loopback port and forwards to `127.0.0.1:upstream`.
    pub fn start(upstream: u16) -> S3Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let rules = Arc::new(Mutex::new(Rules::default()));
        let calls = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (r2, c2, stop2) = (rules.clone(), calls.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let (r3, c3) = (r2.clone(), c2.clone());
                        std::thread::spawn(move || {
                            let _ = serve(conn, upstream, &r3, &c3);
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        S3Proxy {
            port,
            rules,
            calls,
            stop,
            thread: Some(thread),
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Changes the rules.
    pub fn rules(&self, f: impl FnOnce(&mut Rules)) {
        f(&mut self.rules.lock().unwrap());
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    pub fn count(&self, op: &str) -> usize {
        self.calls().iter().filter(|c| c.op == op).count()
    }
}

impl Drop for S3Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Reads one HTTP message: the head, then a Content-Length or chunked body, or (`to_eof`)
/// everything up to the end of the connection.
fn read_message(s: &mut TcpStream, to_eof: bool) -> std::io::Result<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 65536];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut body = buf[head_end..].to_vec();
    let chunked = header(&head, "transfer-encoding").is_some_and(|v| v.contains("chunked"));
    let len = header(&head, "content-length").and_then(|v| v.parse::<usize>().ok());
    if to_eof {
        loop {
            let k = s.read(&mut chunk)?;
            if k == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..k]);
        }
    } else if chunked {
        while !chunked_complete(&body) {
            let k = s.read(&mut chunk)?;
            if k == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..k]);
        }
    } else if let Some(n) = len {
        while body.len() < n {
            let k = s.read(&mut chunk)?;
            if k == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..k]);
        }
    }
    if chunked {
        body = dechunk(&body);
    }
    Ok((head, body))
}

fn chunked_complete(b: &[u8]) -> bool {
    let mut i = 0;
    loop {
        let Some(eol) = find(&b[i..], b"\r\n") else {
            return false;
        };
        let size_text = String::from_utf8_lossy(&b[i..i + eol]);
        let size_text = size_text.split(';').next().unwrap_or("").trim().to_owned();
        let Ok(size) = usize::from_str_radix(&size_text, 16) else {
            return false;
        };
        i += eol + 2;
        if size == 0 {
            return find(&b[i..], b"\r\n").is_some();
        }
        if b.len() < i + size + 2 {
            return false;
        }
        i += size + 2;
    }
}

fn dechunk(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(eol) = find(&b[i..], b"\r\n") {
        let size_text = String::from_utf8_lossy(&b[i..i + eol]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .unwrap_or(0);
        i += eol + 2;
        if size == 0 || b.len() < i + size {
            break;
        }
        out.extend_from_slice(&b[i..i + size]);
        i += size + 2;
    }
    out
}

pub fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn query_has(query: &str, name: &str) -> bool {
    query
        .split('&')
        .any(|kv| kv.split('=').next() == Some(name))
}

/// The S3 operation of a REST request.
fn op_of(method: &str, key: &str, query: &str, head: &str) -> &'static str {
    let copy = header(head, "x-amz-copy-source").is_some();
    match method {
        "PUT" if copy && query_has(query, "partNumber") => "UploadPartCopy",
        "PUT" if copy => "CopyObject",
        "PUT" if key.is_empty() && query.is_empty() => "CreateBucket",
        "PUT" if query_has(query, "partNumber") => "UploadPart",
        "PUT" if key.is_empty() => "PutBucketConfig",
        "PUT" => "PutObject",
        "POST" if query_has(query, "uploads") => "CreateMultipartUpload",
        "POST" if query_has(query, "uploadId") => "CompleteMultipartUpload",
        "POST" if query_has(query, "delete") => "DeleteObjects",
        "HEAD" if key.is_empty() => "HeadBucket",
        "HEAD" => "HeadObject",
        "GET" if key.is_empty() && query_has(query, "versions") => "ListObjectVersions",
        "GET" if key.is_empty() && query_has(query, "location") => "GetBucketLocation",
        "GET" if key.is_empty() && query_has(query, "list-type") => "ListObjectsV2",
        "GET" if key.is_empty() => "GetBucket",
        "GET" if query_has(query, "retention") => "GetObjectRetention",
        "GET" if query_has(query, "attributes") => "GetObjectAttributes",
        "GET" if query_has(query, "tagging") => "GetObjectTagging",
        "GET" => "GetObject",
        "DELETE" => "Delete",
        _ => "Other",
    }
}

/// A non-MD5 ETag for an SSE-KMS object, different per bucket as AWS's are.
fn kms_etag(bucket: &str, etag: &str) -> String {
    let md5: String = etag
        .replace("&quot;", "")
        .replace("&#34;", "")
        .chars()
        .filter(char::is_ascii_hexdigit)
        .collect();
    let h = Sha256::digest(format!("{bucket}/{md5}").as_bytes());
    h.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

fn error_body(code: &str, message: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>proxy</RequestId></Error>"
    )
}

fn answer(
    client: &mut TcpStream,
    status: &str,
    extra: &[(&str, String)],
    body: &str,
    head_only: bool,
) -> std::io::Result<()> {
    let mut out = format!("HTTP/1.1 {status}\r\nContent-Type: application/xml\r\n");
    for (k, v) in extra {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    client.write_all(out.as_bytes())?;
    if !head_only {
        client.write_all(body.as_bytes())?;
    }
    client.flush()
}

/// Sends `head` and `body` to moto on a connection of its own; returns its answer.
fn forward(upstream: u16, head: &str, body: &[u8]) -> std::io::Result<(String, Vec<u8>)> {
    let mut up = TcpStream::connect(("127.0.0.1", upstream))?;
    let mut fwd = String::new();
    for line in head.trim_end().lines() {
        let l = line.to_ascii_lowercase();
        if l.starts_with("connection:") || l.starts_with("transfer-encoding:") {
            continue;
        }
        if l.starts_with("content-length:") {
            continue;
        }
        fwd.push_str(line);
        fwd.push_str("\r\n");
    }
    if !body.is_empty() || !head.starts_with("GET") && !head.starts_with("HEAD") {
        fwd.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    fwd.push_str("Connection: close\r\n\r\n");
    up.write_all(fwd.as_bytes())?;
    up.write_all(body)?;
    read_message(&mut up, true)
}

fn serve(
    mut client: TcpStream,
    upstream: u16,
    rules: &Mutex<Rules>,
    calls: &Mutex<Vec<Call>>,
) -> std::io::Result<()> {
    client.set_nonblocking(false)?;
    loop {
        let Ok((head, body)) = read_message(&mut client, false) else {
            return Ok(());
        };
        let first = head.lines().next().unwrap_or_default().to_owned();
        let mut parts = first.split(' ');
        let method = parts.next().unwrap_or_default().to_owned();
        let target = parts.next().unwrap_or_default().to_owned();
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let path = path.trim_start_matches('/');
        let (bucket, raw_key) = path.split_once('/').unwrap_or((path, ""));
        let key = url_decode(raw_key);
        let bucket = bucket.to_owned();
        let query = query.to_owned();
        let op = op_of(&method, &key, &query, &head);
        let region = header(&head, "authorization")
            .and_then(|a| a.split("Credential=").nth(1))
            .and_then(|c| c.split('/').nth(2))
            .unwrap_or_default()
            .to_owned();
        let headers: HashMap<String, String> = head
            .lines()
            .skip(1)
            .filter_map(|l| {
                let (k, v) = l.split_once(':')?;
                Some((k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            })
            .collect();
        calls.lock().unwrap().push(Call {
            op,
            method: method.clone(),
            bucket: bucket.clone(),
            key: key.clone(),
            query: query.clone(),
            headers: headers.clone(),
            region: region.clone(),
        });
        let head_only = method == "HEAD";
        let (home, fault, hold, kms, ssec, archived, glacier, lock) = {
            let mut r = rules.lock().unwrap();
            let fault = match r.faults.get_mut(op) {
                Some((f, n)) if *n > 0 => {
                    *n -= 1;
                    Some(*f)
                }
                _ => None,
            };
            let copy_source = headers
                .get("x-amz-copy-source")
                .map(|s| url_decode(s))
                .unwrap_or_default();
            let kms = r.kms_marker.as_deref().is_some_and(|m| key.contains(m));
            let ssec = r
                .ssec_marker
                .as_deref()
                .is_some_and(|m| key.contains(m) || copy_source.contains(m));
            let id = (bucket.clone(), key.clone());
            (
                r.regions.get(&bucket).cloned(),
                fault,
                r.holds.get(op).copied(),
                kms,
                ssec,
                r.archived.get(&id).cloned(),
                r.glacier.get(&id).cloned(),
                r.lock_as_aws,
            )
        };
        // The wrong region's endpoint: S3 answers 301 and names the bucket's region.
        if let Some(home) = &home
            && !bucket.is_empty()
            && op != "GetBucketLocation"
            && !region.is_empty()
            && *home != region
        {
            answer(
                &mut client,
                "301 Moved Permanently",
                &[("x-amz-bucket-region", home.clone())],
                &error_body(
                    "PermanentRedirect",
                    "The bucket you are attempting to access must be addressed using the specified endpoint.",
                ),
                head_only,
            )?;
            continue;
        }
        match fault {
            Some(S3Fault::SlowDown) => {
                answer(
                    &mut client,
                    "503 Slow Down",
                    &[],
                    &error_body("SlowDown", "Please reduce your request rate."),
                    head_only,
                )?;
                continue;
            }
            Some(S3Fault::InvalidRequest) => {
                answer(
                    &mut client,
                    "400 Bad Request",
                    &[],
                    &error_body(
                        "InvalidRequest",
                        "This copy request is illegal because it is made by a requester who is not the bucket owner and the bucket has Requester Pays enabled.",
                    ),
                    head_only,
                )?;
                continue;
            }
            Some(S3Fault::InternalErrorIn200) => {
                answer(
                    &mut client,
                    "200 OK",
                    &[],
                    &error_body(
                        "InternalError",
                        "We encountered an internal error. Please try again.",
                    ),
                    head_only,
                )?;
                continue;
            }
            None => {}
        }
        if ssec {
            match op {
                // No body to a HEAD: a bare 400.
                "HeadObject" => {
                    answer(&mut client, "400 Bad Request", &[], "", true)?;
                    continue;
                }
                "GetObject" | "CopyObject" | "UploadPartCopy" | "GetObjectAttributes" => {
                    answer(
                        &mut client,
                        "400 Bad Request",
                        &[],
                        &error_body(
                            "InvalidRequest",
                            "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.",
                        ),
                        head_only,
                    )?;
                    continue;
                }
                _ => {}
            }
        }
        if op == "GetObjectRetention" && lock {
            // Read the lock of that version from moto's HeadObject.
            let kept: Vec<&str> = query
                .split('&')
                .filter(|kv| {
                    let name = kv.split('=').next().unwrap_or("");
                    name != "retention" && name != "x-id" && !name.is_empty()
                })
                .collect();
            let rest = head.split_once("\r\n").map_or("", |(_, r)| r);
            let head_req = format!(
                "HEAD /{bucket}/{raw_key}?{} HTTP/1.1\r\n{rest}",
                kept.join("&")
            );
            let (rhead, _) = forward(upstream, &head_req, &[])?;
            let mode = header(&rhead, "x-amz-object-lock-mode").map(str::to_owned);
            let until = header(&rhead, "x-amz-object-lock-retain-until-date").map(str::to_owned);
            match (mode, until) {
                (Some(m), Some(u)) => answer(
                    &mut client,
                    "200 OK",
                    &[],
                    &format!(
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Retention xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Mode>{m}</Mode><RetainUntilDate>{u}</RetainUntilDate></Retention>"
                    ),
                    false,
                )?,
                _ => answer(
                    &mut client,
                    "404 Not Found",
                    &[],
                    &error_body(
                        "NoSuchObjectLockConfiguration",
                        "The specified object does not have a ObjectLock configuration",
                    ),
                    false,
                )?,
            }
            continue;
        }
        let conditional = method == "PUT"
            && (headers.contains_key("if-none-match") || headers.contains_key("if-match"))
            && rules.lock().unwrap().atomic_conditional_writes;
        let (rhead, rbody) = if conditional {
            let _one = CONDITIONAL_WRITE.lock().unwrap_or_else(|p| p.into_inner());
            forward(upstream, &head, &body)?
        } else {
            forward(upstream, &head, &body)?
        };
        let mut status_line = rhead.lines().next().unwrap_or_default().to_owned();
        let mut out_headers: Vec<String> = Vec::new();
        let mut content_length: Option<String> = None;
        for line in rhead.trim_end().lines().skip(1) {
            let l = line.to_ascii_lowercase();
            if l.starts_with("connection:") || l.starts_with("transfer-encoding:") {
                continue;
            }
            if l.starts_with("content-length:") {
                content_length = line.split_once(':').map(|(_, v)| v.trim().to_owned());
                continue;
            }
            if lock && op == "HeadObject" && l.starts_with("x-amz-object-lock-") {
                continue;
            }
            if kms && (op == "HeadObject" || op == "GetObject") {
                if l.starts_with("etag:") {
                    let etag = line.split_once(':').map(|(_, v)| v.trim()).unwrap_or("");
                    out_headers.push(format!("ETag: \"{}\"", kms_etag(&bucket, etag)));
                    continue;
                }
                if l.starts_with("x-amz-server-side-encryption") {
                    continue;
                }
            }
            out_headers.push(line.to_owned());
        }
        if op == "HeadBucket"
            && let Some(home) = &home
            && !out_headers
                .iter()
                .any(|h| h.to_ascii_lowercase().starts_with("x-amz-bucket-region"))
        {
            out_headers.push(format!("x-amz-bucket-region: {home}"));
        }
        if kms && (op == "HeadObject" || op == "GetObject") && status_line.contains(" 200") {
            out_headers.push("x-amz-server-side-encryption: aws:kms".into());
            out_headers.push(
                "x-amz-server-side-encryption-aws-kms-key-id: arn:aws:kms:us-east-1:123456789012:key/source-key"
                    .into(),
            );
        }
        if op == "HeadObject" && status_line.contains(" 200") {
            if let Some(a) = &archived {
                out_headers.push("x-amz-storage-class: INTELLIGENT_TIERING".into());
                out_headers.push(format!("x-amz-archive-status: {a}"));
            }
            if let Some(g) = &glacier {
                out_headers.push("x-amz-storage-class: GLACIER".into());
                if let Some(r) = g {
                    out_headers.push(format!("x-amz-restore: {r}"));
                }
            }
        }
        let rbody = match op {
            "ListObjectVersions" | "ListObjectsV2" => {
                rewrite_listing(&bucket, rbody, rules).into_bytes()
            }
            _ => rbody,
        };
        if status_line.is_empty() {
            status_line = "HTTP/1.1 502 Bad Gateway".into();
        }
        let mut out = format!("{status_line}\r\n");
        for h in &out_headers {
            out.push_str(h);
            out.push_str("\r\n");
        }
        let len = if head_only {
            content_length.unwrap_or_else(|| "0".into())
        } else {
            rbody.len().to_string()
        };
        out.push_str(&format!("Content-Length: {len}\r\n\r\n"));
        client.write_all(out.as_bytes())?;
        client.flush()?;
        if let Some(d) = hold
            && status_line.contains(" 200")
        {
            // The 200 and its headers are out; the body follows when the copy is "done".
            std::thread::sleep(d);
        }
        if !head_only {
            client.write_all(&rbody)?;
        }
        client.flush()?;
    }
}

/// Rewrites a listing's entries: SSE-KMS ETags, and the storage classes of archived and
/// Glacier objects.
fn rewrite_listing(bucket: &str, body: Vec<u8>, rules: &Mutex<Rules>) -> String {
    let text = String::from_utf8_lossy(&body).into_owned();
    let r = rules.lock().unwrap();
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    loop {
        let next = ["<Version>", "<Contents>"]
            .iter()
            .filter_map(|t| rest.find(t).map(|i| (i, *t)))
            .min();
        let Some((i, open)) = next else { break };
        let close = open.replace('<', "</");
        let Some(j) = rest[i..].find(&close) else {
            break;
        };
        let entry = &rest[i..i + j + close.len()];
        out.push_str(&rest[..i]);
        let key = url_decode(between(entry, "<Key>", "</Key>").unwrap_or_default());
        let mut e = entry.to_owned();
        if r.kms_marker.as_deref().is_some_and(|m| key.contains(m))
            && let Some(etag) = between(entry, "<ETag>", "</ETag>")
        {
            e = e.replace(
                &format!("<ETag>{etag}</ETag>"),
                &format!("<ETag>&quot;{}&quot;</ETag>", kms_etag(bucket, etag)),
            );
        }
        let id = (bucket.to_owned(), key.clone());
        let class = if r.archived.contains_key(&id) {
            Some("INTELLIGENT_TIERING")
        } else if r.glacier.contains_key(&id) {
            Some("GLACIER")
        } else {
            None
        };
        if let Some(c) = class
            && let Some(old) = between(&e, "<StorageClass>", "</StorageClass>")
        {
            e = e.replace(
                &format!("<StorageClass>{old}</StorageClass>"),
                &format!("<StorageClass>{c}</StorageClass>"),
            );
        }
        out.push_str(&e);
        rest = &rest[i + j + close.len()..];
    }
    out.push_str(rest);
    out
}

fn between<'a>(s: &'a str, a: &str, b: &str) -> Option<&'a str> {
    let i = s.find(a)? + a.len();
    let j = s[i..].find(b)?;
    Some(&s[i..i + j])
}
