//! `coffer admin`: accounts and access keys. Works whether or not a server is running: the
//! embedded PostgreSQL is adopted if running, otherwise started for the command and stopped.

use anyhow::Context;
use clap::Subcommand;
use coffer::policy::{Limits, PolicyEngine, catalog};
use coffer::store::{accounts, policies, secrets};
use serde_json::json;
use std::path::PathBuf;

use super::{DatabaseArgs, database, storage};

#[derive(Debug, clap::Args)]
pub struct AdminArgs {
    #[command(flatten)]
    db: DatabaseArgs,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Access keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Policy modules and their attachment to buckets. Running servers pick changes up
    /// within their poll interval (`--policy-poll-ms`), without a restart.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Volumes: list, add, drain, remove.
    #[command(subcommand)]
    Volume(storage::VolumeCommand),
    /// Scrub every copy now (`--wait`: and repair what it finds), list lost objects, or
    /// set the background scrub's rate.
    Scrub(storage::ScrubArgs),
    /// The repair queue: status, rate.
    #[command(subcommand)]
    Repair(storage::RepairCommand),
    /// The embedded PostgreSQL's standbys (`coffer serve --pg-standby`): promote one, show
    /// their state.
    #[command(subcommand)]
    Pg(super::pg::PgCommand),
}

#[derive(Debug, Subcommand)]
enum PolicyCommand {
    /// Validate a module (a WebAssembly component) and store it as NAME, replacing any
    /// module of that name (buckets using NAME switch to the new one).
    Put {
        /// Module name.
        name: String,
        /// The `.wasm` component.
        file: PathBuf,
    },
    /// Attach stored module NAME to BUCKET, or `default` (the built-in module) with a
    /// configuration of metadata rules (docs/policies.md, "Metadata rules").
    Attach {
        /// Bucket name.
        bucket: String,
        /// Module name (`default`: the built-in module).
        name: String,
        /// JSON configuration handed to the module with every decision (checked first
        /// for `default`).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Log the inputs of BUCKET's decisions (and what was decided) to rotating JSON-lines
    /// files under the server's data directory, decision-logs/BUCKET/, for `coffer policy
    /// replay`. Credentials are never logged. `--off` stops.
    Log {
        /// Bucket name.
        bucket: String,
        /// Largest size of one file, MiB.
        #[arg(long, value_name = "MIB", default_value_t = 64, conflicts_with = "off")]
        max_mib: u64,
        /// How many files to keep (the current one and rotated ones), 1 to 100.
        #[arg(long, value_name = "N", default_value_t = 4, conflicts_with = "off")]
        files: u32,
        /// Stop logging.
        #[arg(long)]
        off: bool,
    },
    /// Detach BUCKET's module: it goes back to the default (S3 ACLs).
    Detach {
        /// Bucket name.
        bucket: String,
    },
    /// Evaluate module NAME (stored, or `default`) in shadow of BUCKET's active module on
    /// live traffic: only the active module decides; each disagreement is counted in
    /// /metrics (coffer_policy_shadow_disagreements_total) and logged with the request id,
    /// operation, key and both answers. `--off` ends it.
    Shadow {
        /// Bucket name.
        bucket: String,
        /// Candidate module name (`default`: the built-in module).
        #[arg(required_unless_present = "off", conflicts_with = "off")]
        name: Option<String>,
        /// JSON configuration for the candidate (checked as an attach checks it).
        #[arg(long, conflicts_with = "off")]
        config: Option<PathBuf>,
        /// The fraction of the bucket's decisions the candidate also makes (0 < RATE <= 1).
        #[arg(
            long,
            value_name = "RATE",
            default_value_t = 1.0,
            conflicts_with = "off"
        )]
        sample: f64,
        /// End the bucket's shadow evaluation.
        #[arg(long)]
        off: bool,
    },
    /// List stored modules and the buckets using them.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Delete a stored module (refused while a bucket uses it).
    Delete {
        /// Module name.
        name: String,
    },
}

#[derive(Debug, Subcommand)]
enum AccountCommand {
    /// Create an account with one access key.
    Create {
        /// Account name (also its display name).
        name: String,
        /// Email address (for `emailAddress=` ACL grants).
        #[arg(long)]
        email: Option<String>,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// List accounts.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum KeyCommand {
    /// Create another access key for an account.
    Create {
        /// Account name.
        account: String,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// List access keys (never secrets).
    List {
        /// Only this account's keys.
        account: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke an access key.
    Revoke {
        /// The access key id.
        key: String,
    },
}

pub async fn run(args: AdminArgs) -> anyhow::Result<()> {
    if let AdminCommand::Pg(command) = &args.command {
        return super::pg::run(&args.db, command).await;
    }
    let db = database::open(&args.db, 2).await?;
    let result = execute(&args, &db.pool).await;
    db.pool.close().await;
    if let Some(pg) = &db.embedded {
        // Only stop a PostgreSQL we started; a running server keeps its own.
        if !pg.adopted() {
            pg.stop()
                .await
                .context("stopping the embedded PostgreSQL")?;
        }
    }
    result
}

async fn new_key(
    pool: &sqlx::PgPool,
    master_key: &secrets::MasterKey,
    account: &accounts::Account,
) -> anyhow::Result<(String, String)> {
    let access_key = secrets::generate_access_key();
    let secret_key = secrets::generate_secret_key();
    let (ct, nonce) = master_key.seal(&access_key, &secret_key)?;
    accounts::insert_key(pool, account.id, &access_key, &ct, &nonce).await?;
    Ok((access_key, secret_key))
}

fn print_credentials(
    account: &accounts::Account,
    access_key: &str,
    secret_key: &str,
    as_json: bool,
) {
    if as_json {
        println!(
            "{}",
            json!({
                "account": account.name,
                "canonical_id": account.canonical_id,
                "display_name": account.display_name,
                "email": account.email,
                "access_key": access_key,
                "secret_key": secret_key,
            })
        );
    } else {
        println!("account:      {}", account.name);
        println!("canonical id: {}", account.canonical_id);
        println!("access key:   {access_key}");
        println!("secret key:   {secret_key}   (shown only this once)");
    }
}

async fn execute(args: &AdminArgs, pool: &sqlx::PgPool) -> anyhow::Result<()> {
    let master_key = secrets::MasterKey::load_or_create(&args.db.data_dir)?;
    match &args.command {
        AdminCommand::Account(AccountCommand::Create { name, email, json }) => {
            let account = accounts::create_account(
                pool,
                name,
                &secrets::generate_canonical_id(),
                email.as_deref(),
            )
            .await
            .with_context(|| format!("creating account {name}"))?;
            let (ak, sk) = new_key(pool, &master_key, &account).await?;
            print_credentials(&account, &ak, &sk, *json);
        }
        AdminCommand::Account(AccountCommand::List { json }) => {
            let accounts = accounts::list_accounts(pool).await?;
            if *json {
                println!("{}", serde_json::to_string(&accounts)?);
            } else {
                for a in accounts {
                    println!(
                        "{}\t{}\t{}",
                        a.name,
                        a.canonical_id,
                        a.email.unwrap_or_default()
                    );
                }
            }
        }
        AdminCommand::Key(KeyCommand::Create { account, json }) => {
            let account = accounts::account_by_name(pool, account).await?;
            let (ak, sk) = new_key(pool, &master_key, &account).await?;
            print_credentials(&account, &ak, &sk, *json);
        }
        AdminCommand::Key(KeyCommand::List { account, json }) => {
            let keys = accounts::list_keys(pool, account.as_deref()).await?;
            if *json {
                println!("{}", serde_json::to_string(&keys)?);
            } else {
                for k in keys {
                    let status = if k.revoked { "revoked" } else { "active" };
                    println!("{}\t{}\t{}", k.access_key, k.account, status);
                }
            }
        }
        AdminCommand::Key(KeyCommand::Revoke { key }) => {
            accounts::revoke_key(pool, key).await?;
            println!("revoked {key}");
        }
        AdminCommand::Policy(command) => policy_command(command, pool).await?,
        AdminCommand::Volume(command) => storage::volume(command, pool).await?,
        AdminCommand::Scrub(scrub) => storage::scrub(scrub, pool, &args.db.data_dir).await?,
        AdminCommand::Repair(command) => storage::repair(command, pool).await?,
        // Run by `run` before the database is opened.
        AdminCommand::Pg(_) => anyhow::bail!("`admin pg` does not run on an open database"),
    }
    Ok(())
}

async fn policy_command(command: &PolicyCommand, pool: &sqlx::PgPool) -> anyhow::Result<()> {
    match command {
        PolicyCommand::Put { name, file } => {
            let wasm =
                std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
            // Only validates the module: no decisions, so no answer cache.
            let engine = PolicyEngine::new(Limits {
                decision_cache_bytes: 0,
                ..Limits::default()
            })?;
            let stored = catalog::put_module(&engine, pool, name, &wasm).await?;
            println!(
                "stored policy module {} ({} bytes, sha256 {}, contract {}, hooks: {})",
                stored.name,
                stored.size,
                stored.digest,
                stored.contract,
                stored.hooks.join(", ")
            );
        }
        PolicyCommand::Attach {
            bucket,
            name,
            config,
        } => {
            let config = config
                .as_ref()
                .map(|path| {
                    std::fs::read_to_string(path)
                        .with_context(|| format!("reading {}", path.display()))
                })
                .transpose()?;
            catalog::attach(None, pool, bucket, name, config.as_deref()).await?;
            println!("attached {name} to bucket {bucket}");
        }
        PolicyCommand::Log {
            bucket,
            max_mib,
            files,
            off,
        } => {
            if *off {
                if policies::clear_decision_log(pool, bucket).await? {
                    println!("bucket {bucket}: decision log stopped");
                } else {
                    println!("bucket {bucket} had no decision log");
                }
                return Ok(());
            }
            anyhow::ensure!(
                (1..=100).contains(files),
                "--files must be between 1 and 100"
            );
            anyhow::ensure!(*max_mib >= 1, "--max-mib must be at least 1");
            policies::set_decision_log(pool, bucket, max_mib << 20, *files).await?;
            println!(
                "logging bucket {bucket}'s decisions: decision-logs/{bucket}/ in the server's \
                 data directory, {files} files of {max_mib} MiB at most"
            );
        }
        PolicyCommand::Shadow {
            bucket,
            name,
            config,
            sample,
            off,
        } => {
            if *off {
                if catalog::end_shadow(pool, bucket).await? {
                    println!("bucket {bucket}: shadow evaluation ended");
                } else {
                    println!("bucket {bucket} had no shadow module");
                }
                return Ok(());
            }
            // clap requires the name without --off.
            let name = name.as_deref().unwrap_or_default();
            let config = config
                .as_ref()
                .map(|path| {
                    std::fs::read_to_string(path)
                        .with_context(|| format!("reading {}", path.display()))
                })
                .transpose()?;
            catalog::shadow(None, pool, bucket, name, config.as_deref(), *sample).await?;
            println!(
                "evaluating {name} in shadow of bucket {bucket}'s module on {} % of its decisions",
                sample * 100.0
            );
        }
        PolicyCommand::Detach { bucket } => {
            if catalog::detach(pool, bucket).await? {
                println!("detached; bucket {bucket} uses the default module");
            } else {
                println!("bucket {bucket} already uses the default module");
            }
        }
        PolicyCommand::List { json } => {
            let modules = catalog::list(pool).await?;
            if *json {
                println!("{}", serde_json::to_string(&modules)?);
            } else {
                for m in modules {
                    println!(
                        "{}\t{}\t{} bytes\t{}",
                        m.name,
                        m.digest,
                        m.size,
                        m.buckets.join(",")
                    );
                }
            }
        }
        PolicyCommand::Delete { name } => {
            catalog::delete_module(pool, name).await?;
            println!("deleted policy module {name}");
        }
    }
    Ok(())
}
