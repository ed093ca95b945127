//! `gnuhealth-fhir`: a FHIR R4 server for GNU Health. `serve` serves an existing GNU Health
//! database; `demo` creates (or reuses) a demo database — an embedded SQLite file, or an
//! existing empty PostgreSQL database — and serves it.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use gnuhealth_fhir::config::Config;
use gnuhealth_fhir::serve;

#[derive(Parser)]
#[command(
    name = "gnuhealth-fhir",
    version,
    about = "FHIR R4 server for GNU Health"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve an existing GNU Health database.
    Serve {
        /// TOML configuration file.
        #[arg(long)]
        config: Option<PathBuf>,
        /// sqlite:///abs/path/health.sqlite or postgresql://user:pass@host:port/db
        #[arg(long)]
        database: Option<String>,
        /// Address to listen on (default 127.0.0.1:8020).
        #[arg(long)]
        listen: Option<String>,
    },
    /// Create (or reuse) the demo database and serve it: a SQLite file, or an existing
    /// empty PostgreSQL database.
    Demo {
        /// Number of generated patients.
        #[arg(long, default_value_t = 1000)]
        patients: u32,
        /// Where the demo database lives: a SQLite file, or
        /// postgresql://user:pass@host:port/db (an existing database without tables).
        #[arg(long, default_value = "gnuhealth-demo.sqlite")]
        db: String,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8020")]
        listen: String,
        /// Build the database and exit without serving.
        #[arg(long)]
        generate_only: bool,
        /// Seed of the generator (the same seed gives the same data).
        #[arg(long, default_value_t = 5)]
        seed: u64,
    },
    /// Show the SQL of a search and the database's plan for it, e.g.
    /// `explain --database URL 'Patient?family=gar&_sort=birthdate'`.
    Explain {
        /// TOML configuration file.
        #[arg(long)]
        config: Option<PathBuf>,
        /// sqlite:///abs/path/health.sqlite or postgresql://user:pass@host:port/db
        #[arg(long)]
        database: Option<String>,
        /// `Type?query`, as after the base URL.
        search: String,
    },
    /// Tools for the GNU Health database (they never change it).
    Db {
        #[command(subcommand)]
        action: DbCommand,
    },
    /// Print, as JSON, what a GNU Health user may read through this server: model access,
    /// record rules and field access for every model behind the served types.
    Access {
        /// TOML configuration file.
        #[arg(long)]
        config: Option<PathBuf>,
        /// sqlite:///abs/path/health.sqlite or postgresql://user:pass@host:port/db
        #[arg(long)]
        database: Option<String>,
        /// The user's login.
        #[arg(long)]
        login: String,
    },
}

#[derive(Subcommand)]
enum DbCommand {
    /// Print the SQL of the indexes GNU Health lacks and some searches need (those the
    /// database already has are left out), for the administrator to run or not.
    SuggestIndexes {
        /// TOML configuration file.
        #[arg(long)]
        config: Option<PathBuf>,
        /// sqlite:///abs/path/health.sqlite or postgresql://user:pass@host:port/db
        #[arg(long)]
        database: Option<String>,
    },
}

fn main() -> std::process::ExitCode {
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr);
    // Read before any configuration file: the log starts first.
    match std::env::var("GNUHEALTH_FHIR_LOG_FORMAT").as_deref() {
        Ok("json") => logs.json().init(),
        Ok("text") | Err(_) => logs.init(),
        Ok(other) => {
            eprintln!("gnuhealth-fhir: GNUHEALTH_FHIR_LOG_FORMAT={other}: use json or text");
            return std::process::ExitCode::FAILURE;
        }
    }
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(cli));
    // Blocking work abandoned by an interrupted demo is not waited for.
    runtime.shutdown_background();
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) if e.starts_with(NO_SUCH_USER) => {
            eprintln!("gnuhealth-fhir: {e}");
            std::process::ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("gnuhealth-fhir: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve {
            config,
            database,
            listen,
        } => {
            let mut cfg = Config::load(config.as_deref())?;
            if let Some(d) = database {
                cfg.database = Some(d);
            }
            if let Some(l) = listen {
                cfg.listen = l;
            }
            let url = cfg.database_url()?;
            let secret = cfg.secret_key.clone().ok_or(
                "a secret key is required: set secret_key in the configuration \
                 or GNUHEALTH_FHIR_SECRET_KEY",
            )?;
            if secret.len() < 16 {
                return Err("the secret key must be at least 16 characters".into());
            }
            serve(cfg, &url, secret.into_bytes()).await
        }
        Command::Access {
            config,
            database,
            login,
        } => access_report(config, database, &login).await,
        Command::Explain {
            config,
            database,
            search,
        } => explain(config, database, &search).await,
        Command::Db {
            action: DbCommand::SuggestIndexes { config, database },
        } => {
            let mut cfg = Config::load(config.as_deref())?;
            if let Some(d) = database {
                cfg.database = Some(d);
            }
            let db = gnuhealth::db::Database::connect(&cfg.database_url()?)
                .await
                .map_err(|e| e.to_string())?;
            let sql = gnuhealth::indexes::suggestion(&db)
                .await
                .map_err(|e| e.to_string())?;
            print!("{sql}");
            Ok(())
        }
        Command::Demo {
            patients,
            db,
            listen,
            generate_only,
            seed,
        } => {
            let opts = gnuhealth::demo::DemoOptions { patients, seed };
            let (summary, url) = if gnuhealth::demo::postgres::is_url(&db) {
                let summary = tokio::select! {
                    s = gnuhealth::demo::postgres::create_or_reuse(&db, &opts) => {
                        s.map_err(|e| e.to_string())?
                    }
                    // Dropping the build rolls its transaction back and deletes its
                    // scratch files; main does not wait for the generator's thread.
                    _ = tokio::signal::ctrl_c() => {
                        return Err("interrupted: the database is left as it was".into());
                    }
                };
                (summary, db)
            } else {
                let path = std::path::absolute(&db).map_err(|e| e.to_string())?;
                let url = format!("sqlite://{}", path.display());
                let summary = tokio::task::spawn_blocking(move || {
                    gnuhealth::demo::create_or_reuse(&path, &opts)
                })
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
                (summary, url)
            };
            eprintln!("{summary}");
            if generate_only {
                return Ok(());
            }
            let mut cfg = Config::load(None)?;
            cfg.listen = listen;
            // Development: without a certificate, plain HTTP is allowed on loopback, where
            // nothing crosses a network; anywhere else the usual rule (plain_http) holds.
            let loopback = cfg
                .listen
                .parse::<std::net::SocketAddr>()
                .is_ok_and(|a| a.ip().is_loopback());
            if cfg.tls_files()?.is_none() && loopback {
                cfg.plain_http = true;
            }
            // The demo needs no configuration: a fresh random key per run is fine (cursors
            // and tokens signed with it end with the run).
            let secret = cfg
                .secret_key
                .clone()
                .map(String::into_bytes)
                .unwrap_or_else(random_secret);
            let others: Vec<String> = gnuhealth::demo::DEMO_COLLEAGUES
                .iter()
                .map(|(login, _, group)| format!("{login} ({group})"))
                .collect();
            println!(
                "GNU Health FHIR demo: {}/metadata\n  user: {} (Health Doctor)  password: {}\n  \
                 same password: {}",
                cfg.base_url(),
                gnuhealth::demo::DEMO_LOGIN,
                gnuhealth::demo::DEMO_PASSWORD,
                others.join(", ")
            );
            serve(cfg, &url, secret).await
        }
    }
}

/// The error of `access` for an unknown or inactive login (exit status 2).
const NO_SUCH_USER: &str = "no active user";

async fn access_report(
    config: Option<PathBuf>,
    database: Option<String>,
    login: &str,
) -> Result<(), String> {
    let mut cfg = Config::load(config.as_deref())?;
    if let Some(d) = database {
        cfg.database = Some(d);
    }
    let db = gnuhealth::db::Database::connect(&cfg.database_url()?)
        .await
        .map_err(|e| e.to_string())?;
    let user = gnuhealth::security::find_active_user(&db, login)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("{NO_SUCH_USER} with the login '{login}'"))?;
    let models = gnuhealth::registry::all_models();
    let policy = gnuhealth::access::Policy::load(&db, user.id, models)
        .await
        .map_err(|e| e.to_string())?;
    let mut report = gnuhealth::access::report(&db, &policy, models)
        .await
        .map_err(|e| e.to_string())?;
    if let Some(o) = report.as_object_mut() {
        o.insert("login".into(), serde_json::Value::String(user.login));
    }
    println!("{report}");
    Ok(())
}

async fn explain(
    config: Option<PathBuf>,
    database: Option<String>,
    search: &str,
) -> Result<(), String> {
    let mut cfg = Config::load(config.as_deref())?;
    if let Some(d) = database {
        cfg.database = Some(d);
    }
    let db = gnuhealth::db::Database::connect(&cfg.database_url()?)
        .await
        .map_err(|e| e.to_string())?;
    let (type_name, query) = search.split_once('?').unwrap_or((search, ""));
    let def = gnuhealth::registry::find(type_name.trim_start_matches('/'))
        .ok_or_else(|| format!("resource type '{type_name}' is not served"))?;
    let mut req = gnuhealth::search::SearchRequest::new(Vec::new(), cfg.default_count);
    for (k, v) in form_urlencoded::parse(query.as_bytes()).into_owned() {
        match k.as_str() {
            "_sort" => req
                .sort
                .extend(gnuhealth::search::parse_sort(def, &v).map_err(|e| e.to_string())?),
            "_count" => {
                req.count =
                    fhir::search::parse_count(&v, cfg.max_count).map_err(|e| e.to_string())?
            }
            _ => req.params.push((k, v)),
        }
    }
    let ctx = gnuhealth::resources::Context {
        base_url: cfg.base_url(),
    };
    for (sql, plan) in gnuhealth::search::explain(&db, def, &ctx, &req)
        .await
        .map_err(|e| e.to_string())?
    {
        println!("{sql}\n  {}\n", plan.join("\n  "));
    }
    Ok(())
}

fn random_secret() -> Vec<u8> {
    use rand::RngCore;
    let mut key = vec![0u8; 32];
    rand::rng().fill_bytes(&mut key);
    key
}
