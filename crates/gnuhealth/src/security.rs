//! Tryton users and their password hashes: every scheme trytond may store (scrypt — its
//! default —, pbkdf2-sha512, bcrypt, argon2, and the legacy `sha1$`/`bcrypt$` forms),
//! verified in constant time.

use base64::Engine;
use subtle::ConstantTimeEq;

use crate::db::{Database, DbError, Param, Row, Sql};

/// An active Tryton user as stored in `res_user`.
#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub login: String,
    /// The stored hash (kept to bind cached credentials and tokens to it).
    pub password_hash: Option<String>,
}

/// Look up an active user by login (inactive users cannot sign in, as in Tryton).
pub async fn find_active_user(db: &Database, login: &str) -> Result<Option<User>, DbError> {
    Ok(user_of(&db.query(&active_user_sql(db, login)).await?))
}

/// The statements of a sign-in's read: the active user of `login`, and the recent
/// attempts of the login and of the client's network. Public so benchmarks can run
/// exactly them.
pub fn sign_in_statements(
    db: &Database,
    t: &Throttle,
    login: &str,
    ip: std::net::IpAddr,
    now: chrono::NaiveDateTime,
) -> [Sql; 2] {
    [
        active_user_sql(db, login),
        attempts_sql(db, t, login, ip, now),
    ]
}

fn active_user_sql(db: &Database, login: &str) -> Sql {
    let mut sql = db.sql();
    sql.push("SELECT id, login, password_hash FROM res_user WHERE login = ");
    sql.param(Param::Text(login.to_owned()));
    let t = sql.is_true("active");
    sql.push(" AND ").push(&t).push(" AND id > 0");
    sql
}

fn user_of(rows: &[Row]) -> Option<User> {
    rows.first().map(|r| User {
        id: r.int(0),
        login: r.opt_text(1).unwrap_or_default(),
        password_hash: r.opt_text(2),
    })
}

/// [`find_active_user`] and the recent failed sign-ins ([`AttemptCounts`]) in one read:
/// what every sign-in needs.
pub async fn find_active_user_and_attempts(
    db: &Database,
    t: &Throttle,
    login: &str,
    ip: std::net::IpAddr,
    now: chrono::NaiveDateTime,
) -> Result<(Option<User>, AttemptCounts), DbError> {
    let [user, attempts] = sign_in_statements(db, t, login, ip, now);
    let rows = db.query_all(&[&user, &attempts]).await?;
    match rows.as_slice() {
        [user, attempts] => Ok((user_of(user), counts_of(attempts))),
        _ => Err(DbError::Query(
            "sign-in read: wrong number of results".into(),
        )),
    }
}

/// Look up an active user by id (bearer tokens carry the id).
pub async fn find_active_user_by_id(db: &Database, id: i64) -> Result<Option<User>, DbError> {
    let mut sql = db.sql();
    sql.push("SELECT id, login, password_hash FROM res_user WHERE id = ");
    sql.param(Param::Int(id));
    let t = sql.is_true("active");
    sql.push(" AND ").push(&t).push(" AND id > 0");
    let rows = db.query(&sql).await?;
    Ok(rows.first().map(|r| User {
        id: r.int(0),
        login: r.opt_text(1).unwrap_or_default(),
        password_hash: r.opt_text(2),
    }))
}

/// Tryton's login throttling settings (`[session]` of trytond's configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttle {
    /// Failures of one login counted within this window (`timeout`, 300 s).
    pub window_seconds: i64,
    /// More failures than this for a login → refused (`max_attempt`, 5).
    pub max_attempts: i64,
    /// More attempts than this from one network → refused (`max_attempt_ip_network`, 300).
    pub max_attempts_network: i64,
    /// Prefix lengths that widen an address to its network (`ip_network_4` 32,
    /// `ip_network_6` 56).
    pub ipv4_prefix: u8,
    pub ipv6_prefix: u8,
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle {
            window_seconds: 300,
            max_attempts: 5,
            max_attempts_network: 300,
            ipv4_prefix: 32,
            ipv6_prefix: 56,
        }
    }
}

impl Throttle {
    /// The network of `ip` as trytond writes it (`str(ip_network(…, strict=False))`).
    pub fn network(&self, ip: std::net::IpAddr) -> String {
        use std::net::IpAddr;
        match ip {
            IpAddr::V4(a) => {
                let p = u32::from(self.ipv4_prefix.min(32));
                let mask = u32::MAX.checked_shl(32 - p).unwrap_or(0);
                let net = std::net::Ipv4Addr::from(u32::from(a) & mask);
                format!("{net}/{p}")
            }
            IpAddr::V6(a) => {
                let p = u32::from(self.ipv6_prefix.min(128));
                let mask = u128::MAX.checked_shl(128 - p).unwrap_or(0);
                let net = std::net::Ipv6Addr::from(u128::from(a) & mask);
                format!("{net}/{p}")
            }
        }
    }
}

/// Recent login attempts, as trytond counts them in `res_user_login_attempt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptCounts {
    /// Failures of this login without a device cookie.
    pub login: i64,
    /// Attempts from the client's network.
    pub network: i64,
}

/// Logins are stored cut to the column's size, as trytond does.
fn attempt_login(login: &str) -> String {
    login.chars().take(512).collect()
}

fn window_start(t: &Throttle, now: chrono::NaiveDateTime) -> Param {
    Param::DateTime(now - chrono::Duration::seconds(t.window_seconds))
}

/// Counts the recent attempts for `login` and for the network of `ip` (one statement).
fn attempts_sql(
    db: &Database,
    t: &Throttle,
    login: &str,
    ip: std::net::IpAddr,
    now: chrono::NaiveDateTime,
) -> Sql {
    let mut sql = db.sql();
    sql.push("SELECT (SELECT COUNT(*) FROM res_user_login_attempt WHERE login = ");
    sql.param(Param::Text(attempt_login(login)));
    sql.push(" AND device_cookie IS NULL AND create_date >= ");
    sql.param(window_start(t, now));
    sql.push("), (SELECT COUNT(*) FROM res_user_login_attempt WHERE ip_network = ");
    sql.param(Param::Text(t.network(ip)));
    sql.push(" AND create_date >= ");
    sql.param(window_start(t, now));
    sql.push(")");
    sql
}

fn counts_of(rows: &[Row]) -> AttemptCounts {
    let row = rows.first();
    AttemptCounts {
        login: row.map_or(0, |r| r.int(0)),
        network: row.map_or(0, |r| r.int(1)),
    }
}

/// Record a failed attempt, first purging the attempts older than the window (trytond's
/// `LoginAttempt.add`).
pub async fn record_failure(
    db: &Database,
    t: &Throttle,
    login: &str,
    ip: std::net::IpAddr,
    now: chrono::NaiveDateTime,
) -> Result<(), DbError> {
    let mut purge = db.sql();
    purge.push("DELETE FROM res_user_login_attempt WHERE create_date < ");
    purge.param(window_start(t, now));
    db.execute(&purge).await?;
    let mut add = db.sql();
    add.push(
        "INSERT INTO res_user_login_attempt \
         (login, device_cookie, ip_address, ip_network, create_date, create_uid) VALUES (",
    );
    add.param(Param::Text(attempt_login(login)));
    add.push(", NULL, ");
    add.param(Param::Text(ip.to_string()));
    add.push(", ");
    add.param(Param::Text(t.network(ip)));
    add.push(", ");
    add.param(Param::DateTime(now));
    add.push(", 0)");
    db.execute(&add).await?;
    Ok(())
}

/// Forget a login's failures after a successful sign-in (trytond's `LoginAttempt.remove`).
pub async fn clear_failures(db: &Database, login: &str) -> Result<(), DbError> {
    let mut sql = db.sql();
    sql.push("DELETE FROM res_user_login_attempt WHERE login = ");
    sql.param(Param::Text(attempt_login(login)));
    sql.push(" AND device_cookie IS NULL");
    db.execute(&sql).await?;
    Ok(())
}

/// Open a session for `user_id` in trytond's own table (`ir_session`), so that sessions
/// are shared by every instance and a sign-out anywhere ends them.
pub async fn create_session(
    db: &Database,
    user_id: i64,
    key: &str,
    now: chrono::NaiveDateTime,
) -> Result<(), DbError> {
    let mut sql = db.sql();
    sql.push("INSERT INTO ir_session (\"key\", create_uid, create_date) VALUES (");
    sql.param(Param::Text(key.to_owned()));
    sql.push(", ");
    sql.param(Param::Int(user_id));
    sql.push(", ");
    sql.param(Param::DateTime(now));
    sql.push(")");
    db.execute(&sql).await?;
    Ok(())
}

/// The user of a session opened after `not_before`, if it still exists.
pub async fn session_user(
    db: &Database,
    key: &str,
    not_before: chrono::NaiveDateTime,
) -> Result<Option<i64>, DbError> {
    let mut sql = db.sql();
    sql.push("SELECT create_uid FROM ir_session WHERE \"key\" = ");
    sql.param(Param::Text(key.to_owned()));
    sql.push(" AND create_date >= ");
    sql.param(Param::DateTime(not_before));
    Ok(db.query(&sql).await?.first().and_then(|r| r.opt_int(0)))
}

/// End a session (sign-out).
pub async fn delete_session(db: &Database, key: &str) -> Result<(), DbError> {
    let mut sql = db.sql();
    sql.push("DELETE FROM ir_session WHERE \"key\" = ");
    sql.param(Param::Text(key.to_owned()));
    db.execute(&sql).await?;
    Ok(())
}

/// Does `password` match `hash`? Unknown formats never match. Costly for scrypt and argon2
/// (~0.1–0.3 s, 64 MiB): call it off the async threads and cache the result.
pub fn verify_password(password: &str, hash: &str) -> bool {
    let pw = password.as_bytes();
    if let Some(rest) = hash.strip_prefix("$scrypt$") {
        verify_scrypt(pw, rest)
    } else if let Some(rest) = hash.strip_prefix("$pbkdf2-sha512$") {
        verify_pbkdf2_sha512(pw, rest)
    } else if hash.starts_with("$argon2") {
        use argon2::PasswordVerifier;
        argon2::PasswordHash::new(hash)
            .map(|h| argon2::Argon2::default().verify_password(pw, &h).is_ok())
            .unwrap_or(false)
    } else if hash.starts_with("$2") {
        verify_bcrypt(pw, hash)
    } else if let Some(rest) = hash.strip_prefix("bcrypt$") {
        verify_bcrypt(pw, rest)
    } else if let Some(rest) = hash.strip_prefix("sha1$") {
        // Tryton's legacy `sha1$<hex digest of password + salt>$<salt>`.
        let mut parts = rest.splitn(2, '$');
        let (Some(digest), Some(salt)) = (parts.next(), parts.next()) else {
            return false;
        };
        use sha1::Digest;
        let mut h = sha1::Sha1::new();
        h.update(pw);
        h.update(salt.as_bytes());
        let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        hex.as_bytes().ct_eq(digest.as_bytes()).into()
    } else {
        false
    }
}

/// bcrypt truncates passwords at 72 bytes, exactly as trytond (through passlib) does.
fn verify_bcrypt(pw: &[u8], hash: &str) -> bool {
    let pw = &pw[..pw.len().min(72)];
    bcrypt::verify(pw, hash).unwrap_or(false)
}

/// passlib's `$scrypt$ln=16,r=8,p=1$<salt b64>$<key b64>` (standard alphabet, no padding).
fn verify_scrypt(pw: &[u8], rest: &str) -> bool {
    let parts: Vec<&str> = rest.split('$').collect();
    let [params, salt, key] = parts.as_slice() else {
        return false;
    };
    let (mut ln, mut r, mut p) = (None, None, None);
    for kv in params.split(',') {
        match kv.split_once('=') {
            Some(("ln", v)) => ln = v.parse::<u8>().ok(),
            Some(("r", v)) => r = v.parse::<u32>().ok(),
            Some(("p", v)) => p = v.parse::<u32>().ok(),
            _ => {}
        }
    }
    let b64 = base64::engine::general_purpose::STANDARD_NO_PAD;
    let (Some(ln), Some(r), Some(p), Ok(salt), Ok(key)) = (
        ln,
        r,
        p,
        b64.decode(salt.trim_end_matches('=')),
        b64.decode(key.trim_end_matches('=')),
    ) else {
        return false;
    };
    // Refuse absurd parameters from a tampered row rather than allocating gigabytes.
    if ln > 22 || key.is_empty() || key.len() > 128 {
        return false;
    }
    let Ok(params) = scrypt::Params::new(ln, r, p, key.len()) else {
        return false;
    };
    let mut out = vec![0u8; key.len()];
    if scrypt::scrypt(pw, &salt, &params, &mut out).is_err() {
        return false;
    }
    out.ct_eq(&key).into()
}

/// passlib's `$pbkdf2-sha512$<rounds>$<salt>$<checksum>` in its adapted base64 (`.` for `+`).
fn verify_pbkdf2_sha512(pw: &[u8], rest: &str) -> bool {
    let parts: Vec<&str> = rest.split('$').collect();
    let [rounds, salt, checksum] = parts.as_slice() else {
        return false;
    };
    let b64 = base64::engine::general_purpose::STANDARD_NO_PAD;
    let (Ok(rounds), Ok(salt), Ok(expected)) = (
        rounds.parse::<u32>(),
        b64.decode(salt.replace('.', "+")),
        b64.decode(checksum.replace('.', "+")),
    ) else {
        return false;
    };
    if expected.is_empty() || expected.len() > 64 || rounds == 0 || rounds > 10_000_000 {
        return false;
    }
    let mut out = vec![0u8; expected.len()];
    pbkdf2::pbkdf2_hmac::<sha2::Sha512>(pw, &salt, rounds, &mut out);
    out.ct_eq(&expected).into()
}

/// A new scrypt hash in passlib's format with trytond's parameters (ln=16, r=8, p=1), as
/// trytond writes for new passwords; used by the demo database.
pub fn hash_scrypt(password: &str, salt: &[u8; 16]) -> Option<String> {
    let params = scrypt::Params::new(16, 8, 1, 32).ok()?;
    let mut key = [0u8; 32];
    scrypt::scrypt(password.as_bytes(), salt, &params, &mut key).ok()?;
    let b64 = base64::engine::general_purpose::STANDARD_NO_PAD;
    Some(format!(
        "$scrypt$ln=16,r=8,p=1${}${}",
        b64.encode(salt),
        b64.encode(key)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Real hashes from a trytond 7.0 database (passlib defaults).
    const SCRYPT: &str =
        "$scrypt$ln=16,r=8,p=1$qRUCoJSyFuL8v3fu3du7tw$V8vVI7zCVkz3C++aD52XOCWPPKUbtcVpyfadNPOaQw0";
    const PBKDF2: &str = "$pbkdf2-sha512$25000$QQghZCyFkFLqvdfa2zsnJA$yQlfVm9dAwHVEfIqoe/Y03mkVRNvcGIirrJCgZBVq5.2t2jqJKWBHhW4TzODPaf0MIyLeBqY8LLaTfm.EuPmqw";

    #[test]
    fn networks_are_written_as_trytond_writes_them() {
        let t = Throttle::default();
        let ip = |s: &str| s.parse().unwrap_or_else(|_| unreachable!());
        assert_eq!(t.network(ip("127.0.0.1")), "127.0.0.1/32");
        assert_eq!(
            t.network(ip("2001:db8:aa:bbcc:1::5")),
            "2001:db8:aa:bb00::/56"
        );
        let wide = Throttle {
            ipv4_prefix: 24,
            ..t
        };
        assert_eq!(wide.network(ip("10.1.2.3")), "10.1.2.0/24");
    }

    #[test]
    fn trytond_scrypt() {
        assert!(verify_password("fhir-Reader-2024!", SCRYPT));
        assert!(!verify_password("fhir-Reader-2024", SCRYPT));
    }

    #[test]
    fn passlib_pbkdf2() {
        // The example hash's password is not recorded; a fresh one checks the format.
        assert!(!verify_password("whatever", PBKDF2));
        let salt = b"0123456789abcdef";
        let mut out = [0u8; 64];
        pbkdf2::pbkdf2_hmac::<sha2::Sha512>(b"secret", salt, 1000, &mut out);
        let b64 = base64::engine::general_purpose::STANDARD_NO_PAD;
        let h = format!(
            "$pbkdf2-sha512$1000${}${}",
            b64.encode(salt).replace('+', "."),
            b64.encode(out).replace('+', ".")
        );
        assert!(verify_password("secret", &h));
        assert!(!verify_password("Secret", &h));
    }

    #[test]
    fn bcrypt_truncates_at_72() {
        let long = "x".repeat(80);
        let h = bcrypt::hash(&long.as_bytes()[..72], 4).unwrap_or_default();
        assert!(verify_password(&long, &h));
        assert!(verify_password(&"x".repeat(72), &h));
        assert!(!verify_password(&"x".repeat(71), &h));
        assert!(verify_password(&long, &format!("bcrypt${h}")));
    }

    #[test]
    fn argon2_and_sha1() {
        use argon2::password_hash::{PasswordHasher, SaltString};
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap_or_else(|_| unreachable!());
        let h = argon2::Argon2::default()
            .hash_password(b"pw", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default();
        assert!(verify_password("pw", &h));
        assert!(!verify_password("pw2", &h));
        // sha1("pw" + "salt")
        use sha1::Digest;
        let hex: String = sha1::Sha1::digest(b"pwsalt")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(verify_password("pw", &format!("sha1${hex}$salt")));
        assert!(!verify_password("px", &format!("sha1${hex}$salt")));
    }

    #[test]
    fn generated_scrypt_roundtrips() {
        let h = hash_scrypt("gnusolidario", b"fixed-salt-16byt").unwrap_or_default();
        assert!(h.starts_with("$scrypt$ln=16,r=8,p=1$"));
        assert!(verify_password("gnusolidario", &h));
        assert!(!verify_password("gnusolidari0", &h));
        assert!(!verify_password("x", "$unknown$"));
    }
}
