//! Authentication against GNU Health's own users (`res_user`): HTTP Basic, and bearer
//! tokens issued by `POST /auth/token`. A password check costs ~0.15 s and 64 MiB with
//! trytond's scrypt, so a verified credential is remembered for a short time, keyed by a
//! keyed digest of login and password (never the password itself), and bound to the stored
//! hash: a password change ends it. Tokens are signed with the secret key (any instance
//! sharing it accepts them), expire, and carry a fingerprint of the user's password hash;
//! every use checks that the user is still active and the hash unchanged.
//! Password checks are throttled as trytond throttles logins, in the same table
//! (`res_user_login_attempt`), so the limits hold across instances and Tryton itself.

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gnuhealth::db::Database;
use gnuhealth::security::Throttle;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

use crate::error::ApiError;

/// Who is making the request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: i64,
    pub login: String,
}

/// Verifies credentials and remembers recent successes.
pub struct Authenticator {
    secret: Vec<u8>,
    verified: moka::future::Cache<Vec<u8>, Principal>,
    /// Bounds concurrent password hashing (each scrypt check holds 64 MiB).
    hashing: Arc<Semaphore>,
    throttle: Throttle,
    /// How long a browser session lasts after sign-in.
    pub session_age: Duration,
    /// trytond's progressive delay (0 to 2^failures − 1 s) before answering a sign-in.
    login_delay: bool,
    /// Counts the failed sign-ins (the server's metrics read it).
    pub login_failures: prometheus_client::metrics::counter::Counter,
}

impl Authenticator {
    pub fn new(secret: &[u8], ttl: Duration, throttle: Throttle, login_delay: bool) -> Self {
        Authenticator {
            throttle,
            session_age: Duration::from_secs(12 * 3600),
            login_delay,
            login_failures: Default::default(),
            secret: secret.to_vec(),
            verified: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(ttl)
                .build(),
            hashing: Arc::new(Semaphore::new(2)),
        }
    }

    /// The principal of a request (Basic credentials or a bearer token), or 401.
    pub async fn authenticate(
        &self,
        db: &Database,
        headers: &HeaderMap,
        client: IpAddr,
    ) -> Result<Principal, ApiError> {
        if let Some(token) = bearer_token(headers) {
            return self.check_token(db, token).await;
        }
        if let Some((login, password)) = basic_credentials(headers) {
            return self.check_password(db, &login, password, client).await;
        }
        let session = cookie(headers, SESSION_COOKIE).ok_or(ApiError::Unauthorized)?;
        self.check_session(db, session, self.session_age).await
    }

    /// Verify a login and password from `client` (cached as described above), throttled
    /// as trytond's `User.get_login`, cached or not: too many attempts from the client's network → 429
    /// without recording; more than the maximum failures for the login → 429 and one more
    /// failure recorded; else a progressive delay, then the check; success forgets the
    /// login's failures, failure records one. Unknown, inactive and password-less logins
    /// fail exactly like a wrong password, hash computation included.
    pub async fn check_password(
        &self,
        db: &Database,
        login: &str,
        password: String,
        client: IpAddr,
    ) -> Result<Principal, ApiError> {
        let t = self.throttle;
        let now = chrono::Utc::now().naive_utc();
        // Counted before anything else, as trytond does: a locked login stays locked even
        // for a password verified a moment ago.
        let (user, counts) =
            gnuhealth::security::find_active_user_and_attempts(db, &t, login, client, now).await?;
        let throttled = || ApiError::TooManyRequests {
            retry_after: t.window_seconds.max(1) as u64,
            message: "too many sign-in attempts; try again later".into(),
        };
        if counts.network > t.max_attempts_network {
            return Err(throttled());
        }
        if counts.login > t.max_attempts {
            self.record_failure(db, login, client, now).await;
            return Err(throttled());
        }
        let hash = user.as_ref().and_then(|u| u.password_hash.clone());
        let key = hash.as_deref().map(|h| self.cache_key(login, &password, h));
        if let Some(k) = &key
            && let Some(p) = self.verified.get(k).await
        {
            if counts.login > 0 {
                self.clear_failures(db, login).await;
            }
            return Ok(p);
        }
        if self.login_delay && counts.login > 0 {
            use rand::Rng;
            let max = (1u64 << counts.login.min(16)) - 1;
            let secs = rand::rng().random_range(0..=max);
            tokio::time::sleep(Duration::from_secs(secs)).await;
        }
        let checked = match (user, key) {
            (Some(user), Some(key)) => {
                let principal = Principal {
                    user_id: user.id,
                    login: user.login,
                };
                // Requests that bring the same new credentials at once wait for one check
                // rather than each hashing (a client opening many connections).
                self.verified
                    .try_get_with(key, async {
                        if self.verify(password, hash).await? {
                            Ok(principal)
                        } else {
                            Err(ApiError::Unauthorized)
                        }
                    })
                    .await
                    .map_err(|e| match *e {
                        ApiError::Unauthorized => ApiError::Unauthorized,
                        _ => ApiError::Internal,
                    })
            }
            _ => {
                self.verify(password, hash).await?;
                Err(ApiError::Unauthorized)
            }
        };
        match checked {
            Ok(principal) => {
                if counts.login > 0 {
                    self.clear_failures(db, login).await;
                }
                Ok(principal)
            }
            Err(ApiError::Unauthorized) => {
                self.record_failure(db, login, client, now).await;
                Err(ApiError::Unauthorized)
            }
            Err(e) => Err(e),
        }
    }

    /// Recording needs INSERT/DELETE on `res_user_login_attempt`; without them sign-ins
    /// still work (unthrottled), and the operator is told.
    async fn record_failure(
        &self,
        db: &Database,
        login: &str,
        client: IpAddr,
        now: chrono::NaiveDateTime,
    ) {
        self.login_failures.inc();
        if let Err(e) =
            gnuhealth::security::record_failure(db, &self.throttle, login, client, now).await
        {
            tracing::warn!(
                "cannot record a failed sign-in (grant INSERT and DELETE on \
                 res_user_login_attempt to the server's role): {e}"
            );
        }
    }

    async fn clear_failures(&self, db: &Database, login: &str) {
        if let Err(e) = gnuhealth::security::clear_failures(db, login).await {
            tracing::warn!("cannot clear the failed sign-ins of a user: {e}");
        }
    }

    /// Check a password against a hash off the async threads, at most two at once; with
    /// no hash, against one nothing matches (same cost, always false).
    async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, ApiError> {
        let permit = self
            .hashing
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| ApiError::Internal)?;
        tokio::task::spawn_blocking(move || {
            let ok = match &hash {
                Some(h) => gnuhealth::security::verify_password(&password, h),
                None => {
                    gnuhealth::security::verify_password(&password, dummy_hash());
                    false
                }
            };
            drop(permit);
            ok
        })
        .await
        .map_err(|_| ApiError::Internal)
    }

    /// A bearer token for `principal`, valid `lifetime` from `now` (Unix seconds).
    pub async fn issue_token(
        &self,
        db: &Database,
        principal: &Principal,
        now: i64,
        lifetime: i64,
    ) -> Result<String, ApiError> {
        let user = gnuhealth::security::find_active_user_by_id(db, principal.user_id)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        let fingerprint = self.fingerprint(user.password_hash.as_deref().unwrap_or(""));
        Ok(self.sign(&format!("1:{}:{}:{fingerprint}", user.id, now + lifetime)))
    }

    /// The principal of a bearer token: authentic, not expired, user active, password
    /// unchanged since it was issued.
    async fn check_token(&self, db: &Database, token: &str) -> Result<Principal, ApiError> {
        let payload = self.open(token).ok_or(ApiError::Unauthorized)?;
        let parts: Vec<&str> = payload.split(':').collect();
        let ["1", uid, expires, fingerprint] = parts.as_slice() else {
            return Err(ApiError::Unauthorized);
        };
        let expires: i64 = expires.parse().map_err(|_| ApiError::Unauthorized)?;
        if expires <= chrono::Utc::now().timestamp() {
            return Err(ApiError::Unauthorized);
        }
        self.current_user(db, uid, fingerprint).await
    }

    /// The user `uid` if still active and with the password hash `fingerprint` was made of.
    async fn current_user(
        &self,
        db: &Database,
        uid: &str,
        fingerprint: &str,
    ) -> Result<Principal, ApiError> {
        let uid: i64 = uid.parse().map_err(|_| ApiError::Unauthorized)?;
        let user = gnuhealth::security::find_active_user_by_id(db, uid)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        let current = self.fingerprint(user.password_hash.as_deref().unwrap_or(""));
        if !bool::from(current.as_bytes().ct_eq(fingerprint.as_bytes())) {
            return Err(ApiError::Unauthorized);
        }
        Ok(Principal {
            user_id: user.id,
            login: user.login,
        })
    }

    /// Open a browser session: a row in trytond's `ir_session` (so any instance accepts
    /// it and a sign-out ends it everywhere) and the signed cookie value naming it.
    pub async fn open_session(
        &self,
        db: &Database,
        principal: &Principal,
    ) -> Result<String, ApiError> {
        let user = gnuhealth::security::find_active_user_by_id(db, principal.user_id)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        let key = random_hex(32);
        gnuhealth::security::create_session(db, user.id, &key, chrono::Utc::now().naive_utc())
            .await?;
        let fingerprint = self.fingerprint(user.password_hash.as_deref().unwrap_or(""));
        Ok(self.sign(&format!("s:{key}:{}:{fingerprint}", user.id)))
    }

    /// The `ir_session` key of an authentic session cookie.
    pub fn session_key(&self, cookie: &str) -> Option<String> {
        let payload = self.open(cookie)?;
        let parts: Vec<&str> = payload.split(':').collect();
        match parts.as_slice() {
            ["s", key, _, _] => Some((*key).to_owned()),
            _ => None,
        }
    }

    /// The principal of a session cookie: authentic, its `ir_session` row present and
    /// younger than `max_age`, user active, password unchanged.
    pub async fn check_session(
        &self,
        db: &Database,
        cookie: &str,
        max_age: Duration,
    ) -> Result<Principal, ApiError> {
        let payload = self.open(cookie).ok_or(ApiError::Unauthorized)?;
        let parts: Vec<&str> = payload.split(':').collect();
        let ["s", key, uid, fingerprint] = parts.as_slice() else {
            return Err(ApiError::Unauthorized);
        };
        let age = chrono::Duration::from_std(max_age).map_err(|_| ApiError::Internal)?;
        let not_before = chrono::Utc::now().naive_utc() - age;
        let owner = gnuhealth::security::session_user(db, key, not_before)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        if owner.to_string() != *uid {
            return Err(ApiError::Unauthorized);
        }
        self.current_user(db, uid, fingerprint).await
    }

    /// A CSRF token for a form: signed, expiring, bound to the nonce of the browser's
    /// CSRF cookie (double submit).
    pub fn csrf_token(&self, nonce: &str, expires: i64) -> String {
        self.sign(&format!("c:{nonce}:{expires}"))
    }

    /// Does the form's CSRF token belong to this browser's nonce, unexpired?
    pub fn check_csrf(&self, token: &str, nonce: &str, now: i64) -> bool {
        let Some(payload) = self.open(token) else {
            return false;
        };
        let parts: Vec<&str> = payload.split(':').collect();
        let ["c", signed_nonce, expires] = parts.as_slice() else {
            return false;
        };
        let fresh = expires.parse::<i64>().is_ok_and(|e| e > now);
        fresh && bool::from(signed_nonce.as_bytes().ct_eq(nonce.as_bytes()))
    }

    /// `base64(payload).base64(HMAC(payload))`.
    fn sign(&self, payload: &str) -> String {
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(payload.as_bytes()),
            URL_SAFE_NO_PAD.encode(self.mac(payload.as_bytes()))
        )
    }

    /// The payload of a value made by [`Self::sign`] with our key, if authentic.
    fn open(&self, signed: &str) -> Option<String> {
        let (payload_b64, sig_b64) = signed.split_once('.')?;
        let payload = URL_SAFE_NO_PAD.decode(payload_b64).ok()?;
        let sig = URL_SAFE_NO_PAD.decode(sig_b64).ok()?;
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).ok()?;
        mac.update(&payload);
        // Constant-time comparison of the signature.
        mac.verify_slice(&sig).ok()?;
        String::from_utf8(payload).ok()
    }

    /// A short keyed digest of a password hash: changes when the password does, reveals
    /// nothing of the hash.
    fn fingerprint(&self, password_hash: &str) -> String {
        let mut data = b"password-hash:".to_vec();
        data.extend_from_slice(password_hash.as_bytes());
        URL_SAFE_NO_PAD.encode(&self.mac(&data)[..12])
    }

    fn mac(&self, data: &[u8]) -> Vec<u8> {
        match Hmac::<Sha256>::new_from_slice(&self.secret) {
            Ok(mut m) => {
                m.update(data);
                m.finalize().into_bytes().to_vec()
            }
            // HMAC accepts keys of any length.
            Err(_) => Vec::new(),
        }
    }

    fn cache_key(&self, login: &str, password: &str, hash: &str) -> Vec<u8> {
        // Length-prefixed parts: no two different triples give the same input.
        let mut data = Vec::new();
        for part in [login, password, hash] {
            data.extend_from_slice(&(part.len() as u64).to_be_bytes());
            data.extend_from_slice(part.as_bytes());
        }
        self.mac(&data)
    }
}

/// `n` random bytes as hex (the form of trytond's session keys).
pub fn random_hex(n: usize) -> String {
    use rand::RngCore;
    let mut bytes = vec![0u8; n];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A hash no password matches, checked for unknown logins so that they cost as much time
/// as known ones.
fn dummy_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        use rand::RngCore;
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        let mut secret = [0u8; 24];
        rand::rng().fill_bytes(&mut secret);
        gnuhealth::security::hash_scrypt(&URL_SAFE_NO_PAD.encode(secret), &salt).unwrap_or_default()
    })
}

/// The browser session cookie.
pub const SESSION_COOKIE: &str = "ghf_session";

/// The value of cookie `name`, if the request carries it.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// `Authorization: Bearer <token>`.
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// `Authorization: Basic base64(login:password)`.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (login, password) = text.split_once(':')?;
    Some((login.to_owned(), password.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_basic() {
        let mut h = HeaderMap::new();
        let v = base64::engine::general_purpose::STANDARD.encode("admin:pa:ss");
        h.insert(
            axum::http::header::AUTHORIZATION,
            format!("Basic {v}")
                .parse()
                .unwrap_or_else(|_| unreachable!()),
        );
        assert_eq!(
            basic_credentials(&h),
            Some(("admin".to_owned(), "pa:ss".to_owned()))
        );
        h.insert(
            axum::http::header::AUTHORIZATION,
            "Bearer x".parse().unwrap_or_else(|_| unreachable!()),
        );
        assert_eq!(basic_credentials(&h), None);
    }
}
