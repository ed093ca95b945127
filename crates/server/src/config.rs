//! Configuration: a TOML file (`--config`), every key overridable by an environment
//! variable `GNUHEALTH_FHIR_<KEY>`, the main ones by command-line flags. The database can
//! be named directly or found through trytond's own configuration file.

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `sqlite:///abs/path/health.sqlite` or `postgresql://user:pass@host:5432/health`.
    pub database: Option<String>,
    /// trytond's configuration file; its `[database] uri` (and `path` for SQLite) locate
    /// the database named by `tryton_database`.
    pub tryton_config: Option<PathBuf>,
    pub tryton_database: Option<String>,
    pub listen: String,
    /// Where to serve Prometheus metrics (`/metrics`, with `/healthz` and `/readyz`), over
    /// plain HTTP, e.g. `127.0.0.1:9020`: apart from the FHIR address, so that only the
    /// monitoring can reach them. None: no metrics.
    pub metrics_listen: Option<String>,
    /// Public base URL (what clients see, e.g. behind nginx); default `https://<listen>`
    /// when TLS is on, else `http://<listen>`.
    pub base_url: Option<String>,
    pub server_name: String,
    /// Signs paging cursors (and later tokens): required outside the demo.
    pub secret_key: Option<String>,
    pub default_count: u32,
    pub max_count: u32,
    /// How long a verified password is remembered, in seconds.
    pub auth_cache_seconds: u64,
    /// Lifetime of bearer tokens, in seconds.
    pub token_seconds: i64,
    /// Lifetime of browser sessions (`/auth/login`), in seconds.
    pub session_seconds: u64,
    /// File the audit log (JSON lines) is appended to; none: no audit log.
    pub audit_log: Option<PathBuf>,
    /// Sign-in throttling, as trytond's `[session]` settings of the same meaning
    /// (`timeout`, `max_attempt`, `max_attempt_ip_network`, `ip_network_4`,
    /// `ip_network_6`); unset ones come from trytond's configuration file when
    /// `tryton_config` is given, else trytond's defaults.
    pub login_window_seconds: Option<i64>,
    pub login_max_attempts: Option<i64>,
    pub login_max_attempts_network: Option<i64>,
    pub login_ipv4_prefix: Option<u8>,
    pub login_ipv6_prefix: Option<u8>,
    /// trytond's progressive delay (up to 2^failures − 1 s) before answering a sign-in.
    pub login_delay: bool,
    /// Certificate chain (PEM) served over TLS; with `tls_key`, the server speaks HTTPS.
    pub tls_cert: Option<PathBuf>,
    /// Private key (PEM: PKCS#8, PKCS#1 or SEC1) of `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// Serve plain HTTP when no certificate is configured. Off by default: credentials and
    /// patient data must not cross a network in clear unless someone chose so (e.g. TLS
    /// ends at a reverse proxy on the same host).
    pub plain_http: bool,
    /// Reverse proxies (IP addresses or CIDR networks) whose `X-Forwarded-For` and
    /// `X-Forwarded-Proto` are believed. In the environment: comma-separated.
    #[serde(deserialize_with = "string_or_list")]
    pub trusted_proxies: Vec<String>,
    /// `Strict-Transport-Security: max-age` sent on responses served over HTTPS.
    pub hsts_seconds: u64,
    /// Largest request body accepted (413 above).
    pub max_body_bytes: usize,
    /// Largest total size of the request headers, names and values (431 above).
    pub max_header_bytes: usize,
    /// A database statement running longer than this is cancelled (the search is answered
    /// with a request to narrow it).
    pub query_timeout_ms: u64,
}

/// Every configuration key, as `GNUHEALTH_FHIR_<KEY>` reads them.
const KEYS: &[&str] = &[
    "database",
    "tryton_config",
    "tryton_database",
    "listen",
    "metrics_listen",
    "base_url",
    "server_name",
    "secret_key",
    "default_count",
    "max_count",
    "auth_cache_seconds",
    "token_seconds",
    "session_seconds",
    "audit_log",
    "login_window_seconds",
    "login_max_attempts",
    "login_max_attempts_network",
    "login_ipv4_prefix",
    "login_ipv6_prefix",
    "login_delay",
    "tls_cert",
    "tls_key",
    "plain_http",
    "trusted_proxies",
    "hsts_seconds",
    "max_body_bytes",
    "max_header_bytes",
    "query_timeout_ms",
];

impl Default for Config {
    fn default() -> Self {
        Config {
            database: None,
            tryton_config: None,
            tryton_database: None,
            listen: "127.0.0.1:8020".into(),
            metrics_listen: None,
            base_url: None,
            server_name: "GNU Health FHIR server".into(),
            secret_key: None,
            default_count: 20,
            max_count: 1000,
            auth_cache_seconds: 60,
            token_seconds: 3600,
            session_seconds: 12 * 3600,
            audit_log: None,
            login_window_seconds: None,
            login_max_attempts: None,
            login_max_attempts_network: None,
            login_ipv4_prefix: None,
            login_ipv6_prefix: None,
            login_delay: true,
            tls_cert: None,
            tls_key: None,
            plain_http: false,
            trusted_proxies: Vec::new(),
            hsts_seconds: 31_536_000,
            max_body_bytes: 1024 * 1024,
            max_header_bytes: 16 * 1024,
            query_timeout_ms: 10_000,
        }
    }
}

impl Config {
    /// Defaults < file < environment.
    pub fn load(file: Option<&Path>) -> Result<Config, String> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(f) = file {
            if !f.is_file() {
                return Err(format!("configuration file {} not found", f.display()));
            }
            fig = fig.merge(Toml::file(f));
        }
        // Only our own keys: other GNUHEALTH_FHIR_* variables (scripts use some) are not
        // configuration.
        fig = fig.merge(Env::prefixed("GNUHEALTH_FHIR_").only(KEYS));
        fig.extract().map_err(|e| format!("configuration: {e}"))
    }

    /// The database URL: `database`, else found through `tryton_config`.
    pub fn database_url(&self) -> Result<String, String> {
        if let Some(url) = &self.database {
            return Ok(url.clone());
        }
        let (Some(conf), Some(name)) = (&self.tryton_config, &self.tryton_database) else {
            return Err(
                "no database: set `database`, or `tryton_config` and `tryton_database`".into(),
            );
        };
        tryton_database_url(conf, name)
    }

    /// The sign-in throttling settings: ours, else trytond's `[session]`, else defaults.
    pub fn throttle(&self) -> Result<gnuhealth::security::Throttle, String> {
        let mut t = gnuhealth::security::Throttle::default();
        if let Some(conf) = &self.tryton_config {
            let ini = ini::Ini::load_from_file(conf).map_err(|e| {
                format!("cannot read trytond configuration {}: {e}", conf.display())
            })?;
            if let Some(session) = ini.section(Some("session")) {
                let get = |key: &str| session.get(key).and_then(|v| v.trim().parse::<i64>().ok());
                t.window_seconds = get("timeout").unwrap_or(t.window_seconds);
                t.max_attempts = get("max_attempt").unwrap_or(t.max_attempts);
                t.max_attempts_network =
                    get("max_attempt_ip_network").unwrap_or(t.max_attempts_network);
                t.ipv4_prefix = get("ip_network_4")
                    .and_then(|v| u8::try_from(v).ok())
                    .unwrap_or(t.ipv4_prefix);
                t.ipv6_prefix = get("ip_network_6")
                    .and_then(|v| u8::try_from(v).ok())
                    .unwrap_or(t.ipv6_prefix);
            }
        }
        t.window_seconds = self.login_window_seconds.unwrap_or(t.window_seconds);
        t.max_attempts = self.login_max_attempts.unwrap_or(t.max_attempts);
        t.max_attempts_network = self
            .login_max_attempts_network
            .unwrap_or(t.max_attempts_network);
        t.ipv4_prefix = self.login_ipv4_prefix.unwrap_or(t.ipv4_prefix).min(32);
        t.ipv6_prefix = self.login_ipv6_prefix.unwrap_or(t.ipv6_prefix).min(128);
        Ok(t)
    }

    pub fn base_url(&self) -> String {
        let scheme = if self.tls_files().ok().flatten().is_some() {
            "https"
        } else {
            "http"
        };
        self.base_url
            .clone()
            .unwrap_or_else(|| format!("{scheme}://{}", self.listen))
            .trim_end_matches('/')
            .to_owned()
    }
}

/// How the server listens, decided from `tls_cert`, `tls_key` and `plain_http`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    Https { cert: PathBuf, key: PathBuf },
    Http,
}

impl Config {
    /// The certificate and key, when both are set; an error when only one is.
    pub fn tls_files(&self) -> Result<Option<(PathBuf, PathBuf)>, String> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(c), Some(k)) => Ok(Some((c.clone(), k.clone()))),
            (None, None) => Ok(None),
            (Some(_), None) => {
                Err("tls_cert is set but tls_key is not: set both, or neither".into())
            }
            (None, Some(_)) => {
                Err("tls_key is set but tls_cert is not: set both, or neither".into())
            }
        }
    }

    /// HTTPS when a certificate and key are configured; plain HTTP only when `plain_http`
    /// says so; otherwise no way to serve, and the message says what to set.
    pub fn listen_mode(&self) -> Result<Listen, String> {
        match self.tls_files()? {
            Some((cert, key)) => Ok(Listen::Https { cert, key }),
            None if self.plain_http => Ok(Listen::Http),
            None => Err("refusing to serve plain HTTP: set tls_cert and tls_key \
                 (GNUHEALTH_FHIR_TLS_CERT, GNUHEALTH_FHIR_TLS_KEY) to serve HTTPS, or \
                 plain_http = true (GNUHEALTH_FHIR_PLAIN_HTTP) if TLS ends before this \
                 server, e.g. at a reverse proxy"
                .into()),
        }
    }
}

/// `trusted_proxies` as a TOML list, or as one comma-separated string (the environment's
/// form).
fn string_or_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Form {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Form::deserialize(d)? {
        Form::One(s) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        Form::Many(v) => v,
    })
}

/// The database URL trytond would use for database `name` under config file `conf`.
pub fn tryton_database_url(conf: &Path, name: &str) -> Result<String, String> {
    let ini = ini::Ini::load_from_file(conf)
        .map_err(|e| format!("cannot read trytond configuration {}: {e}", conf.display()))?;
    let section = ini.section(Some("database"));
    let uri = section
        .and_then(|s| s.get("uri"))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("sqlite://");
    if uri.starts_with("sqlite:") {
        // trytond keeps SQLite databases as `<[database] path>/<name>.sqlite`.
        let dir = section
            .and_then(|s| s.get("path"))
            .map(str::trim)
            .ok_or_else(|| format!("{}: [database] path is not set", conf.display()))?;
        let file = Path::new(dir).join(format!("{name}.sqlite"));
        let file = std::path::absolute(&file).map_err(|e| e.to_string())?;
        Ok(format!("sqlite://{}", file.display()))
    } else if uri.starts_with("postgresql:") || uri.starts_with("postgres:") {
        Ok(format!("{}/{}", uri.trim_end_matches('/'), name))
    } else {
        Err(format!(
            "unsupported trytond database uri in {}",
            conf.display()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_toml(text: &str) -> Result<Config, String> {
        Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::string(text))
            .extract()
            .map_err(|e| e.to_string())
    }

    #[test]
    fn listen_mode_rules() {
        let cfg = Config::default();
        let refused = cfg.listen_mode().err().unwrap_or_default();
        for key in ["tls_cert", "tls_key", "plain_http"] {
            assert!(refused.contains(key), "{refused}");
        }
        assert_eq!(cfg.base_url(), "http://127.0.0.1:8020");
        let plain = Config {
            plain_http: true,
            ..Config::default()
        };
        assert_eq!(plain.listen_mode(), Ok(Listen::Http));
        let tls = Config {
            tls_cert: Some("c.pem".into()),
            tls_key: Some("k.pem".into()),
            ..Config::default()
        };
        assert_eq!(
            tls.listen_mode(),
            Ok(Listen::Https {
                cert: "c.pem".into(),
                key: "k.pem".into()
            })
        );
        assert_eq!(tls.base_url(), "https://127.0.0.1:8020");
        // Half a TLS configuration is an error, even with plain_http.
        let half = Config {
            tls_cert: Some("c.pem".into()),
            plain_http: true,
            ..Config::default()
        };
        let e = half.listen_mode().err().unwrap_or_default();
        assert!(e.contains("tls_key"), "{e}");
    }

    /// Every key of the file can be set in the environment, and nothing else.
    #[test]
    fn every_key_can_come_from_the_environment() {
        let mut keys: Vec<String> = match serde_json::to_value(Config::default()) {
            Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
            other => panic!("{other:?}"),
        };
        keys.sort_unstable();
        let mut expected: Vec<&str> = KEYS.to_vec();
        expected.sort_unstable();
        assert_eq!(keys, expected);
    }

    #[test]
    fn trusted_proxies_as_list_or_comma_separated() {
        let cfg = from_toml("trusted_proxies = [\"10.0.0.1\", \"fd00::/8\"]");
        assert_eq!(
            cfg.map(|c| c.trusted_proxies),
            Ok(vec!["10.0.0.1".to_owned(), "fd00::/8".to_owned()])
        );
        let cfg = from_toml("trusted_proxies = \"10.0.0.1, 192.168.0.0/16,\"");
        assert_eq!(
            cfg.map(|c| c.trusted_proxies),
            Ok(vec!["10.0.0.1".to_owned(), "192.168.0.0/16".to_owned()])
        );
        let defaults = from_toml("");
        assert_eq!(
            defaults.map(|c| (
                c.hsts_seconds,
                c.max_body_bytes,
                c.max_header_bytes,
                c.query_timeout_ms
            )),
            Ok((31_536_000, 1024 * 1024, 16 * 1024, 10_000))
        );
    }

    #[test]
    fn finds_database_through_trytond_config() {
        let dir = std::env::temp_dir().join(format!("ghf-conf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_default();
        let sqlite = dir.join("sqlite.conf");
        std::fs::write(&sqlite, "[database]\nuri = sqlite://\npath = /srv/gh\n")
            .unwrap_or_default();
        assert_eq!(
            tryton_database_url(&sqlite, "health").ok().as_deref(),
            Some("sqlite:///srv/gh/health.sqlite")
        );
        let pg = dir.join("pg.conf");
        std::fs::write(
            &pg,
            "[database]\nuri = postgresql://gh:pw@127.0.0.1:5432/\npath = /x\n",
        )
        .unwrap_or_default();
        assert_eq!(
            tryton_database_url(&pg, "health").ok().as_deref(),
            Some("postgresql://gh:pw@127.0.0.1:5432/health")
        );
        assert!(tryton_database_url(&dir.join("missing.conf"), "health").is_err());
        std::fs::write(
            &pg,
            "[database]\nuri = postgresql://x/\n[session]\ntimeout = 60\nmax_attempt = 3\n",
        )
        .unwrap_or_default();
        let cfg = Config {
            tryton_config: Some(pg.clone()),
            login_max_attempts: Some(4),
            ..Config::default()
        };
        let t = cfg.throttle().unwrap_or_default();
        assert_eq!((t.window_seconds, t.max_attempts), (60, 4));
        assert_eq!(t.max_attempts_network, 300);
        std::fs::remove_dir_all(&dir).unwrap_or_default();
    }
}
