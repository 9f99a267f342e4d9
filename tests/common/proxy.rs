//! A small loopback HTTP proxy in front of moto. moto makes RDS resources `available` at
//! once; real RDS takes minutes. The proxy holds the status of each resource a drill creates
//! (or modifies) at `creating` / `modifying` / `copying` for a set time after the call that
//! made it, so waiting, poll counts, resolution and timeouts are exercised for real. It also
//! records every call (the `Action` of each Query-protocol request) for assertions.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the proxy does to a call instead of (or before) forwarding it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 400 with the Query protocol's `Throttling` error, as RDS throttles.
    Throttle,
    /// HTTP 500 `InternalFailure`.
    ServerError,
    /// Waits this long, then forwards.
    Slow(Duration),
    /// Closes the connection without an answer.
    Drop,
}

#[derive(Default)]
struct State {
    /// (resource kind, identifier) → (held status, until).
    holds: HashMap<(&'static str, String), (&'static str, Instant)>,
    /// Per creating/modifying action, a hold other than the default.
    hold_for: HashMap<String, Duration>,
    /// Action → (fault, how many more times).
    faults: HashMap<String, (Fault, usize)>,
    calls: Vec<String>,
    /// A token bucket over all calls, as AWS throttles an account: (burst, per second,
    /// tokens left, last refill).
    rate: Option<(f64, f64, f64, Instant)>,
    /// Calls answered `Throttling` because the bucket was empty.
    throttled: usize,
    /// Restores created and not yet deleted, now and at most.
    in_flight: (i64, i64),
    /// The access key id of each call's SigV4 credential scope, in order (empty: unsigned).
    keys: Vec<String>,
    /// (action, request body) of every call, for what a request carried.
    bodies: Vec<(String, String)>,
    /// Action → (text, replacement) applied to its answers: what AWS sends where moto
    /// sends something else (an encrypted snapshot, a status moto never shows).
    rewrites: HashMap<String, Vec<(String, String)>>,
}

pub struct Proxy {
    pub port: u16,
    state: Arc<Mutex<State>>,
    hold: Arc<Mutex<Duration>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Proxy {
    /// Listens on a free loopback port and forwards to `127.0.0.1:upstream`.
    pub fn start(upstream: u16, hold: Duration) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let hold = Arc::new(Mutex::new(hold));
        let stop = Arc::new(AtomicBool::new(false));
        let (s2, h2, stop2) = (state.clone(), hold.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let (s3, h3) = (s2.clone(), h2.clone());
                        std::thread::spawn(move || {
                            let _ = serve(conn, upstream, &s3, &h3);
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Proxy {
            port,
            state,
            hold,
            stop,
            thread: Some(thread),
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every call so far, by its `Action`.
    pub fn calls(&self) -> Vec<String> {
        self.state.lock().unwrap().calls.clone()
    }

    /// The request bodies of every call of `action` so far, decoded form text.
    pub fn bodies(&self, action: &str) -> Vec<String> {
        self.state
            .lock()
            .unwrap()
            .bodies
            .iter()
            .filter(|(a, _)| a == action)
            .map(|(_, b)| url_decode(b))
            .collect()
    }

    /// Every answer to `action` gets `from` replaced by `to` (all occurrences).
    pub fn rewrite(&self, action: &str, from: &str, to: &str) {
        self.state
            .lock()
            .unwrap()
            .rewrites
            .entry(action.to_owned())
            .or_default()
            .push((from.to_owned(), to.to_owned()));
    }

    pub fn count(&self, action: &str) -> usize {
        self.calls().iter().filter(|c| *c == action).count()
    }

    pub fn set_hold(&self, d: Duration) {
        *self.hold.lock().unwrap() = d;
    }

    /// Holds what `action` creates or modifies for `d` instead of the default.
    pub fn hold_for(&self, action: &str, d: Duration) {
        self.state
            .lock()
            .unwrap()
            .hold_for
            .insert(action.to_owned(), d);
    }

    /// Throttles every call beyond a token bucket of `burst` calls refilled at `per_second`,
    /// as AWS throttles an account's API calls per region.
    pub fn rate_limit(&self, burst: f64, per_second: f64) {
        self.state.lock().unwrap().rate = Some((burst, per_second, burst, Instant::now()));
    }

    /// How many calls the rate limit refused.
    pub fn throttled(&self) -> usize {
        self.state.lock().unwrap().throttled
    }

    /// The most restored instances and clusters that existed at once (restores made through
    /// the proxy, minus deletes).
    pub fn peak_in_flight(&self) -> i64 {
        self.state.lock().unwrap().in_flight.1
    }

    /// A form field of the last `action` call's body.
    pub fn field(&self, action: &str, name: &str) -> Option<String> {
        let st = self.state.lock().unwrap();
        let (_, body) = st.bodies.iter().rev().find(|(a, _)| a == action)?;
        form_field(body, name)
    }

    /// The access key each call was signed with, in order, one per call of `calls()`.
    pub fn access_keys(&self) -> Vec<String> {
        self.state.lock().unwrap().keys.clone()
    }

    /// The next `times` calls of `action` get `fault`.
    pub fn fault(&self, action: &str, fault: Fault, times: usize) {
        self.state
            .lock()
            .unwrap()
            .faults
            .insert(action.to_owned(), (fault, times));
    }
}

impl Drop for Proxy {
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

/// Reads one HTTP message (head + Content-Length body, or to EOF when there is none).
fn read_message(s: &mut TcpStream, to_eof: bool) -> std::io::Result<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16384];
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
    let len = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case("content-length")
            .then(|| v.trim().parse::<usize>().ok())?
    });
    let mut body = buf[head_end..].to_vec();
    match len {
        Some(n) => {
            while body.len() < n {
                let k = s.read(&mut chunk)?;
                if k == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..k]);
            }
        }
        None if to_eof => loop {
            let k = s.read(&mut chunk)?;
            if k == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..k]);
        },
        None => {}
    }
    Ok((head, body))
}

/// A form field of a Query-protocol body, decoded.
pub fn form_field(body: &str, name: &str) -> Option<String> {
    body.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| url_decode(v))
    })
}

fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
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

fn serve(
    mut client: TcpStream,
    upstream: u16,
    state: &Mutex<State>,
    hold: &Mutex<Duration>,
) -> std::io::Result<()> {
    client.set_nonblocking(false)?;
    loop {
        let Ok((head, body)) = read_message(&mut client, false) else {
            return Ok(());
        };
        let text = String::from_utf8_lossy(&body).into_owned();
        // Query protocol (RDS, EC2, IAM): the form's Action; JSON protocol (KMS, Backup):
        // the operation named by X-Amz-Target.
        let action = form_field(&text, "Action")
            .or_else(|| {
                head.lines().find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.trim()
                        .eq_ignore_ascii_case("x-amz-target")
                        .then(|| v.trim().rsplit('.').next().unwrap_or_default().to_owned())
                })
            })
            .unwrap_or_default();
        let now = Instant::now();
        let mut d = *hold.lock().unwrap();
        let mut fault;
        {
            let mut st = state.lock().unwrap();
            st.calls.push(action.clone());
            let key = head
                .split("Credential=")
                .nth(1)
                .and_then(|c| c.split('/').next())
                .unwrap_or_default()
                .to_owned();
            st.keys.push(key);
            st.bodies.push((action.clone(), text.clone()));
            if let Some(h) = st.hold_for.get(&action) {
                d = *h;
            }
            fault = match st.faults.get_mut(&action) {
                Some((f, n)) if *n > 0 => {
                    *n -= 1;
                    Some(*f)
                }
                _ => None,
            };
            if let Some((burst, per_second, tokens, last)) = st.rate.as_mut() {
                *tokens =
                    (*tokens + now.duration_since(*last).as_secs_f64() * *per_second).min(*burst);
                *last = now;
                if *tokens >= 1.0 {
                    *tokens -= 1.0;
                } else if fault.is_none() {
                    fault = Some(Fault::Throttle);
                    st.throttled += 1;
                }
            }
            if fault.is_none() {
                match action.as_str() {
                    a if a.starts_with("RestoreDB") => st.in_flight.0 += 1,
                    "DeleteDBInstance" | "DeleteDBCluster" => st.in_flight.0 -= 1,
                    _ => {}
                }
                st.in_flight.1 = st.in_flight.1.max(st.in_flight.0);
            }
            let made: Option<(&'static str, &str, &'static str)> = match action.as_str() {
                "RestoreDBInstanceToPointInTime" => {
                    Some(("DBInstance", "TargetDBInstanceIdentifier", "creating"))
                }
                "RestoreDBInstanceFromDBSnapshot" | "CreateDBInstance" => {
                    Some(("DBInstance", "DBInstanceIdentifier", "creating"))
                }
                "ModifyDBInstance" => Some(("DBInstance", "DBInstanceIdentifier", "modifying")),
                "RestoreDBClusterToPointInTime" | "RestoreDBClusterFromSnapshot" => {
                    Some(("DBCluster", "DBClusterIdentifier", "creating"))
                }
                "ModifyDBCluster" => Some(("DBCluster", "DBClusterIdentifier", "modifying")),
                "CopyDBSnapshot" => Some(("DBSnapshot", "TargetDBSnapshotIdentifier", "copying")),
                "CopyDBClusterSnapshot" => Some((
                    "DBClusterSnapshot",
                    "TargetDBClusterSnapshotIdentifier",
                    "copying",
                )),
                _ => None,
            };
            if let Some((kind, field, status)) = made
                && let Some(id) = form_field(&text, field)
            {
                st.holds
                    .insert((kind, id.to_lowercase()), (status, now + d));
            }
        }
        match fault {
            Some(Fault::Drop) => return Ok(()),
            Some(Fault::Throttle) => {
                error_answer(
                    &mut client,
                    400,
                    "Bad Request",
                    "Throttling",
                    "Rate exceeded",
                )?;
                continue;
            }
            Some(Fault::ServerError) => {
                error_answer(
                    &mut client,
                    500,
                    "Internal Server Error",
                    "InternalFailure",
                    "injected by the test proxy",
                )?;
                continue;
            }
            Some(Fault::Slow(t)) => std::thread::sleep(t),
            None => {}
        }
        // Forward, one request per upstream connection.
        let mut up = TcpStream::connect(("127.0.0.1", upstream))?;
        let mut fwd_head = String::new();
        for line in head.trim_end().lines() {
            if line.to_ascii_lowercase().starts_with("connection:") {
                continue;
            }
            fwd_head.push_str(line);
            fwd_head.push_str("\r\n");
        }
        fwd_head.push_str("Connection: close\r\n\r\n");
        up.write_all(fwd_head.as_bytes())?;
        up.write_all(&body)?;
        let (rhead, rbody) = read_message(&mut up, true)?;
        let mut rbody = rewrite(&action, rbody, state);
        if let Some(rules) = state.lock().unwrap().rewrites.get(&action) {
            let mut text = String::from_utf8_lossy(&rbody).into_owned();
            for (from, to) in rules {
                text = text.replace(from, to);
            }
            rbody = text.into_bytes();
        }
        let mut out = String::new();
        for line in rhead.trim_end().lines() {
            let l = line.to_ascii_lowercase();
            if l.starts_with("content-length:") || l.starts_with("connection:") {
                continue;
            }
            out.push_str(line);
            out.push_str("\r\n");
        }
        out.push_str(&format!("Content-Length: {}\r\n\r\n", rbody.len()));
        client.write_all(out.as_bytes())?;
        client.write_all(&rbody)?;
        client.flush()?;
    }
}

/// A Query-protocol error answer.
fn error_answer(
    client: &mut TcpStream,
    status: u16,
    reason: &str,
    code: &str,
    message: &str,
) -> std::io::Result<()> {
    let body = format!(
        "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>proxy</RequestId></ErrorResponse>"
    );
    write!(
        client,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    client.flush()
}

/// Replaces `available` with the held status in each member of a describe answer whose
/// resource is still held.
fn rewrite(action: &str, body: Vec<u8>, state: &Mutex<State>) -> Vec<u8> {
    let (kind, id_tag, status_tag) = match action {
        "DescribeDBInstances" => ("DBInstance", "DBInstanceIdentifier", "DBInstanceStatus"),
        "DescribeDBClusters" => ("DBCluster", "DBClusterIdentifier", "Status"),
        "DescribeDBSnapshots" => ("DBSnapshot", "DBSnapshotIdentifier", "Status"),
        "DescribeDBClusterSnapshots" => {
            ("DBClusterSnapshot", "DBClusterSnapshotIdentifier", "Status")
        }
        _ => return body,
    };
    let text = String::from_utf8_lossy(&body).into_owned();
    let open = format!("<{kind}>");
    let close = format!("</{kind}>");
    let st = state.lock().unwrap();
    let now = Instant::now();
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(i) = rest.find(&open) {
        let Some(j) = rest[i..].find(&close) else {
            break;
        };
        let member = &rest[i..i + j + close.len()];
        out.push_str(&rest[..i]);
        let id = between(member, &format!("<{id_tag}>"), &format!("</{id_tag}>"))
            .unwrap_or_default()
            .to_lowercase();
        match st.holds.get(&(kind, id)) {
            Some((status, until)) if *until > now => out.push_str(&member.replace(
                &format!("<{status_tag}>available</{status_tag}>"),
                &format!("<{status_tag}>{status}</{status_tag}>"),
            )),
            _ => out.push_str(member),
        }
        rest = &rest[i + j + close.len()..];
    }
    out.push_str(rest);
    out.into_bytes()
}

fn between<'a>(s: &'a str, a: &str, b: &str) -> Option<&'a str> {
    let i = s.find(a)? + a.len();
    let j = s[i..].find(b)?;
    Some(&s[i..i + j])
}
