//! The class server's join endpoint: `POST /kubequest/v1/join` with `{"code": "ABCD-EFGH"}`
//! answers the learner's kubeconfig, so a learner types a short code instead of copying a file.
//!
//! It is KubeQuest's own path, not a Kubernetes one, and it only exists while a teacher serves a
//! class ([`JoinCodes::set`]); otherwise the path is like any other unknown path (RBAC's 403 for
//! a request without a token). It is answered before authentication, because the learner has no
//! token yet: the code is the credential. Nothing else is reachable without a token.
//!
//! - A code is compared case-insensitively, with or without its dash (Crockford base32 also
//!   reads `O` as `0` and `I`/`L` as `1`), against every code of the class in constant time.
//! - A code is valid until the class ends, by the machine's wall clock (the cluster's virtual
//!   clock may run faster or be paused; the class ends at a real time).
//! - An unknown or expired code is `403 Forbidden` with a `metav1.Status`; more than
//!   [`MAX_BAD_CODES`] bad codes within a minute from one address are `429 TooManyRequests`
//!   (with `Retry-After`) until the minute has passed, whatever code is sent meanwhile, so codes
//!   cannot be guessed by trying them. Any method but POST is `405`.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{Method, Request, Response};
use serde_json::{Value, json};

use super::{Body, error_response, json_response};
use crate::error::Error;

/// The join endpoint's path.
pub const PATH: &str = "/kubequest/v1/join";

/// Bad codes one address may send within [`BAD_CODE_WINDOW`]; the next ones are refused.
pub const MAX_BAD_CODES: usize = 10;

/// The window [`MAX_BAD_CODES`] counts in.
pub const BAD_CODE_WINDOW: Duration = Duration::from_secs(60);

/// What an unknown or expired code is told.
pub const BAD_CODE_MESSAGE: &str =
    "join code not recognised or expired; ask your teacher for your code";

/// The largest join request body read (a code is a few bytes).
const MAX_JOIN_BODY: usize = 4 * 1024;

/// Addresses whose bad codes are remembered at once; beyond it the oldest is forgotten, so a
/// flood from many addresses cannot grow the server's memory.
const MAX_TRACKED_ADDRESSES: usize = 4096;

/// One learner's join code.
#[derive(Clone, PartialEq, Eq)]
pub struct JoinEntry {
    /// The code as shown on the join sheet (`ABCD-EFGH`).
    pub code: String,
    /// The learner it belongs to.
    pub learner: String,
    /// The learner's kubeconfig (YAML), answered to whoever sends the code.
    pub kubeconfig: String,
    /// When the class ends: the code is refused from then on (wall clock).
    pub expires_at: jiff::Timestamp,
}

impl std::fmt::Debug for JoinEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The code and the kubeconfig are credentials: never in logs.
        f.debug_struct("JoinEntry")
            .field("learner", &self.learner)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// The class's join codes and the bad-code counts per address.
#[derive(Debug, Default)]
pub struct JoinCodes {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// `None`: no class is served, the path does not exist.
    entries: Option<Vec<(Vec<u8>, JoinEntry)>>,
    /// Times of recent bad codes, per address.
    failures: HashMap<IpAddr, VecDeque<Instant>>,
}

/// What a code is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinAnswer {
    /// The learner's name and kubeconfig.
    Joined { learner: String, kubeconfig: String },
    /// Unknown or expired (403).
    Refused,
    /// Too many bad codes from this address: retry after so many seconds (429).
    TooMany { retry_after: u32 },
}

/// `abcd-efgh`, `ABCDEFGH` and ` abcd efgh ` all read as `ABCDEFGH`; Crockford base32 reads
/// `O` as `0` and `I`/`L` as `1`.
pub fn normalize(code: &str) -> Vec<u8> {
    code.bytes()
        .filter(|b| !matches!(b, b'-' | b' ' | b'\t'))
        .map(|b| match b.to_ascii_uppercase() {
            b'O' => b'0',
            b'I' | b'L' => b'1',
            other => other,
        })
        .collect()
}

/// Whether `a` and `b` are equal, in a time that depends only on their lengths.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl JoinCodes {
    /// Serve a class with these codes (replacing any earlier ones).
    pub fn set(&self, codes: Vec<JoinEntry>) {
        let entries = codes.into_iter().map(|e| (normalize(&e.code), e)).collect();
        let mut inner = self.lock();
        inner.entries = Some(entries);
    }

    /// No code is valid any more; the endpoint answers every code with 403 until
    /// [`JoinCodes::set`] is called again.
    pub fn clear(&self) {
        let mut inner = self.lock();
        if inner.entries.is_some() {
            inner.entries = Some(Vec::new());
        }
    }

    /// Whether a class is (or was) served here, so the path exists.
    pub fn enabled(&self) -> bool {
        self.lock().entries.is_some()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Judges `code` sent from `from` at `now` (monotonic, for the bad-code window) and
    /// `wall` (for the class's end).
    pub fn check(
        &self,
        code: Option<&str>,
        from: Option<IpAddr>,
        now: Instant,
        wall: jiff::Timestamp,
    ) -> JoinAnswer {
        let mut inner = self.lock();
        if let Some(addr) = from
            && let Some(times) = inner.failures.get_mut(&addr)
        {
            while times
                .front()
                .is_some_and(|t| now.duration_since(*t) >= BAD_CODE_WINDOW)
            {
                times.pop_front();
            }
            if times.len() >= MAX_BAD_CODES {
                let oldest = times.front().copied().unwrap_or(now);
                let left = BAD_CODE_WINDOW.saturating_sub(now.duration_since(oldest));
                return JoinAnswer::TooMany {
                    retry_after: u32::try_from(left.as_secs().max(1)).unwrap_or(60),
                };
            }
        }
        let wanted = code.map(normalize).unwrap_or_default();
        // Every code is compared, whichever matches, so the time taken tells nothing.
        let mut found: Option<&JoinEntry> = None;
        for (norm, entry) in inner.entries.iter().flatten() {
            if same(norm, &wanted) & !norm.is_empty() {
                found = Some(entry);
            }
        }
        if let Some(e) = found.filter(|e| wall < e.expires_at) {
            return JoinAnswer::Joined {
                learner: e.learner.clone(),
                kubeconfig: e.kubeconfig.clone(),
            };
        }
        if let Some(addr) = from {
            if !inner.failures.contains_key(&addr) && inner.failures.len() >= MAX_TRACKED_ADDRESSES
            {
                // Forget the address whose latest bad code is oldest.
                let stalest = inner
                    .failures
                    .iter()
                    .min_by_key(|(_, t)| t.back().copied())
                    .map(|(a, _)| *a);
                if let Some(a) = stalest {
                    inner.failures.remove(&a);
                }
            }
            inner.failures.entry(addr).or_default().push_back(now);
        }
        JoinAnswer::Refused
    }
}

/// The peer address of a connection, put on each of its requests.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub std::net::SocketAddr);

/// Answers a request to [`PATH`] (only called while [`JoinCodes::enabled`]).
pub(crate) async fn handle(codes: &JoinCodes, req: Request<Incoming>) -> Response<Body> {
    if req.method() != Method::POST {
        return error_response(&Error::MethodNotAllowed);
    }
    let from = req.extensions().get::<PeerAddr>().map(|p| p.0.ip());
    let body = match Limited::new(req.into_body(), MAX_JOIN_BODY).collect().await {
        Ok(c) => c.to_bytes(),
        Err(_) => {
            return error_response(&Error::RequestEntityTooLarge(MAX_JOIN_BODY));
        }
    };
    let code = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("code").and_then(Value::as_str).map(str::to_owned));
    match codes.check(
        code.as_deref(),
        from,
        Instant::now(),
        jiff::Timestamp::now(),
    ) {
        JoinAnswer::Joined {
            learner,
            kubeconfig,
        } => {
            tracing::info!(%learner, "a learner joined the class with their code");
            json_response(
                200,
                "application/json",
                &json!({"learner": learner, "kubeconfig": kubeconfig}),
                &[],
            )
        }
        JoinAnswer::Refused => {
            tracing::info!(?from, "a join code was refused");
            json_response(403, "application/json", &forbidden_status(), &[])
        }
        JoinAnswer::TooMany { retry_after } => {
            let mut resp = error_response(&Error::TooManyRequests {
                message: format!(
                    "too many join codes tried from this address; wait {retry_after} seconds \
                     and ask your teacher for your code"
                ),
                causes: Vec::new(),
                retry_after,
            });
            if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
                resp.headers_mut().insert("Retry-After", v);
            }
            resp
        }
    }
}

/// The 403 Status: reason `Forbidden` with KubeQuest's own message (`NewForbidden` would
/// name a resource and prefix `forbidden: `).
fn forbidden_status() -> Value {
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": BAD_CODE_MESSAGE,
        "reason": "Forbidden",
        "details": {},
        "code": 403,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(code: &str, learner: &str, expires_at: jiff::Timestamp) -> JoinEntry {
        JoinEntry {
            code: code.into(),
            learner: learner.into(),
            kubeconfig: format!("kubeconfig of {learner}"),
            expires_at,
        }
    }

    fn later() -> jiff::Timestamp {
        jiff::Timestamp::now() + jiff::SignedDuration::from_hours(8)
    }

    #[test]
    fn a_code_matches_whatever_its_case_and_dash() {
        let codes = JoinCodes::default();
        assert!(!codes.enabled(), "no class served: the path does not exist");
        codes.set(vec![
            entry("ABCD-EFGH", "ada", later()),
            entry("7K2M-9QRS", "grace", later()),
        ]);
        assert!(codes.enabled());
        let now = Instant::now();
        let wall = jiff::Timestamp::now();
        for typed in ["ABCD-EFGH", "abcdefgh", " abcd-efgh ", "abcd efgh"] {
            assert_eq!(
                codes.check(Some(typed), None, now, wall),
                JoinAnswer::Joined {
                    learner: "ada".into(),
                    kubeconfig: "kubeconfig of ada".into()
                },
                "{typed:?}"
            );
        }
        // Crockford base32: O reads as 0, I and L as 1.
        codes.set(vec![entry("10A0-B1C1", "lin", later())]);
        assert!(matches!(
            codes.check(Some("IOAO-BLCI"), None, now, wall),
            JoinAnswer::Joined { learner, .. } if learner == "lin"
        ));
        for bad in ["10A0-B1C", "10A0-B1C11", "", "-"] {
            assert_eq!(
                codes.check(Some(bad), None, now, wall),
                JoinAnswer::Refused,
                "{bad:?}"
            );
        }
        assert_eq!(codes.check(None, None, now, wall), JoinAnswer::Refused);
    }

    #[test]
    fn a_code_dies_when_the_class_ends_or_the_codes_are_cleared() {
        let codes = JoinCodes::default();
        let ends = jiff::Timestamp::now();
        codes.set(vec![entry("ABCD-EFGH", "ada", ends)]);
        let now = Instant::now();
        let before = ends - jiff::SignedDuration::from_secs(1);
        assert!(matches!(
            codes.check(Some("ABCD-EFGH"), None, now, before),
            JoinAnswer::Joined { .. }
        ));
        assert_eq!(
            codes.check(Some("ABCD-EFGH"), None, now, ends),
            JoinAnswer::Refused,
            "the code is refused from the class's end on"
        );
        codes.set(vec![entry("ABCD-EFGH", "ada", later())]);
        codes.clear();
        assert!(
            codes.enabled(),
            "after the class the path still answers 403"
        );
        assert_eq!(
            codes.check(Some("ABCD-EFGH"), None, now, before),
            JoinAnswer::Refused
        );
    }

    #[test]
    fn the_eleventh_bad_code_in_a_minute_is_refused_even_if_right() {
        let codes = JoinCodes::default();
        codes.set(vec![entry("ABCD-EFGH", "ada", later())]);
        let a: IpAddr = "192.168.1.20".parse().unwrap();
        let b: IpAddr = "192.168.1.21".parse().unwrap();
        let t0 = Instant::now();
        let wall = jiff::Timestamp::now();
        for i in 0..MAX_BAD_CODES {
            let at = t0 + Duration::from_secs(i as u64);
            assert_eq!(
                codes.check(Some("ZZZZ-ZZZZ"), Some(a), at, wall),
                JoinAnswer::Refused
            );
        }
        let at = t0 + Duration::from_secs(20);
        assert_eq!(
            codes.check(Some("ABCD-EFGH"), Some(a), at, wall),
            JoinAnswer::TooMany { retry_after: 40 },
            "once limited, no code is even looked at until the minute has passed"
        );
        assert!(
            matches!(
                codes.check(Some("ABCD-EFGH"), Some(b), at, wall),
                JoinAnswer::Joined { .. }
            ),
            "another address is not limited"
        );
        // The first bad code leaves the window 60 s after it was sent.
        let at = t0 + BAD_CODE_WINDOW;
        assert!(matches!(
            codes.check(Some("ABCD-EFGH"), Some(a), at, wall),
            JoinAnswer::Joined { .. }
        ));
    }

    #[test]
    fn a_good_code_does_not_count_against_its_address() {
        let codes = JoinCodes::default();
        codes.set(vec![entry("ABCD-EFGH", "ada", later())]);
        let a: IpAddr = "10.0.0.5".parse().unwrap();
        let t0 = Instant::now();
        let wall = jiff::Timestamp::now();
        for i in 0..(MAX_BAD_CODES * 3) {
            let at = t0 + Duration::from_millis(i as u64);
            assert!(matches!(
                codes.check(Some("abcd-efgh"), Some(a), at, wall),
                JoinAnswer::Joined { .. }
            ));
        }
    }

    #[test]
    fn the_tracked_addresses_are_bounded() {
        let codes = JoinCodes::default();
        codes.set(Vec::new());
        let t0 = Instant::now();
        let wall = jiff::Timestamp::now();
        for i in 0..(MAX_TRACKED_ADDRESSES + 100) {
            let addr = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i as u32));
            codes.check(Some("x"), Some(addr), t0, wall);
        }
        assert_eq!(codes.lock().failures.len(), MAX_TRACKED_ADDRESSES);
    }

    #[test]
    fn the_debug_text_shows_no_credential() {
        let text = format!("{:?}", entry("ABCD-EFGH", "ada", later()));
        assert!(text.contains("ada"), "{text}");
        assert!(
            !text.contains("ABCD") && !text.contains("kubeconfig of"),
            "{text}"
        );
    }
}
