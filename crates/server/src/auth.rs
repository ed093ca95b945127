//! HTTP Basic authentication against GNU Health's own users (`res_user`). A password check
//! costs ~0.15 s and 64 MiB with trytond's scrypt, so a verified credential is remembered
//! for a short time, keyed by a keyed digest of login and password (never the password
//! itself), and bound to the stored hash: a password change ends it.

use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderMap;
use base64::Engine;
use gnuhealth::db::Database;
use hmac::{Hmac, Mac};
use sha2::Sha256;
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
    verified: moka::sync::Cache<Vec<u8>, Principal>,
    /// Bounds concurrent password hashing (each scrypt check holds 64 MiB).
    hashing: Arc<Semaphore>,
}

impl Authenticator {
    pub fn new(secret: &[u8], ttl: Duration) -> Self {
        Authenticator {
            secret: secret.to_vec(),
            verified: moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(ttl)
                .build(),
            hashing: Arc::new(Semaphore::new(2)),
        }
    }

    /// The principal of a request, or 401.
    pub async fn authenticate(
        &self,
        db: &Database,
        headers: &HeaderMap,
    ) -> Result<Principal, ApiError> {
        let (login, password) = basic_credentials(headers).ok_or(ApiError::Unauthorized)?;
        let user = gnuhealth::security::find_active_user(db, &login)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        let Some(hash) = user.password_hash.clone() else {
            return Err(ApiError::Unauthorized);
        };
        let key = self.cache_key(&login, &password, &hash);
        if let Some(p) = self.verified.get(&key) {
            return Ok(p);
        }
        let permit = self
            .hashing
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| ApiError::Internal)?;
        let ok = tokio::task::spawn_blocking(move || {
            let ok = gnuhealth::security::verify_password(&password, &hash);
            drop(permit);
            ok
        })
        .await
        .map_err(|_| ApiError::Internal)?;
        if !ok {
            return Err(ApiError::Unauthorized);
        }
        let principal = Principal {
            user_id: user.id,
            login: user.login,
        };
        self.verified.insert(key, principal.clone());
        Ok(principal)
    }

    fn cache_key(&self, login: &str, password: &str, hash: &str) -> Vec<u8> {
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.secret) {
            Ok(m) => m,
            Err(_) => return Vec::new(),
        };
        for part in [login, password, hash] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        mac.finalize().into_bytes().to_vec()
    }
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
