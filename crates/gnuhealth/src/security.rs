//! Tryton users and their password hashes: every scheme trytond may store (scrypt — its
//! default —, pbkdf2-sha512, bcrypt, argon2, and the legacy `sha1$`/`bcrypt$` forms),
//! verified in constant time.

use base64::Engine;
use subtle::ConstantTimeEq;

use crate::db::{Database, DbError, Param};

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
    let mut sql = db.sql();
    sql.push("SELECT id, login, password_hash FROM res_user WHERE login = ");
    sql.param(Param::Text(login.to_owned()));
    let t = sql.is_true("active");
    sql.push(" AND ").push(&t).push(" AND id > 0");
    let rows = db.query(&sql).await?;
    Ok(rows.first().map(|r| User {
        id: r.int(0),
        login: r.opt_text(1).unwrap_or_default(),
        password_hash: r.opt_text(2),
    }))
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

/// Which Tryton models a user may read, by trytond's model-access rule (`ir_model_access`):
/// the user's active groups and their ancestors; a model is readable when any active row
/// for one of those groups or for no group grants read, and when no row applies at all.
#[derive(Debug, Clone, Default)]
pub struct ModelAccess {
    readable: std::collections::HashMap<String, bool>,
}

impl ModelAccess {
    /// May the user read every one of `models`?
    pub fn can_read_all(&self, models: &[&str]) -> bool {
        models
            .iter()
            .all(|m| self.readable.get(*m).copied().unwrap_or(true))
    }
}

/// The user's effective groups: active groups they belong to, plus their active ancestors.
pub async fn effective_groups(db: &Database, user_id: i64) -> Result<Vec<i64>, DbError> {
    let mut sql = db.sql();
    let active = sql.is_true("g.active");
    sql.push(
        "WITH RECURSIVE anc(id, parent) AS ( \
           SELECT id, id FROM res_group \
           UNION SELECT g.id, anc.parent FROM res_group g JOIN anc ON g.parent = anc.id) \
         SELECT DISTINCT anc.parent FROM \"res_user-res_group\" ug \
         JOIN anc ON anc.id = ug.\"group\" JOIN res_group g ON g.id = anc.parent \
         WHERE ug.\"user\" = ",
    );
    sql.param(Param::Int(user_id));
    sql.push(" AND ").push(&active);
    Ok(db.query(&sql).await?.iter().map(|r| r.int(0)).collect())
}

/// Read access of `user_id` to each of `models`, in two queries.
pub async fn model_access(
    db: &Database,
    user_id: i64,
    models: &[&str],
) -> Result<ModelAccess, DbError> {
    let groups = effective_groups(db, user_id).await?;
    let mut sql = db.sql();
    let active = sql.is_true("a.active");
    sql.push(
        "SELECT m.model, MAX(CASE WHEN a.perm_read THEN 1 ELSE 0 END) \
         FROM ir_model_access a JOIN ir_model m ON m.id = a.model WHERE ",
    );
    sql.push(&active).push(" AND (a.\"group\" IS NULL OR ");
    sql.in_ids("a.\"group\"", &groups);
    sql.push(") AND m.model IN (");
    for (i, m) in models.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.param(Param::Text((*m).to_owned()));
    }
    if models.is_empty() {
        sql.push("NULL");
    }
    sql.push(") GROUP BY m.model");
    let readable = db
        .query(&sql)
        .await?
        .iter()
        .filter_map(|r| Some((r.opt_text(0)?, r.int(1) != 0)))
        .collect();
    Ok(ModelAccess { readable })
}
