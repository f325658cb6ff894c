//! `coffer admin pg`: the embedded PostgreSQL's standbys. `promote` makes a standby the data
//! directory's PostgreSQL when the primary's disk is lost; `status` shows the primary, the
//! standbys and their replication state. Neither opens the database like the other admin
//! commands: promotion needs the server stopped, status starts nothing.

use anyhow::Context;
use clap::Subcommand;
use coffer::pg::{promote, status};
use std::path::PathBuf;

use super::DatabaseArgs;

#[derive(Debug, Subcommand)]
pub enum PgCommand {
    /// Make the standby in DIR (a `coffer serve --pg-standby DIR`) the PostgreSQL of the data
    /// directory, for when the primary's disk is lost. Refused while a coffer server uses the
    /// data directory, while the old primary runs, and when another standby got further.
    Promote {
        /// The standby's directory.
        dir: PathBuf,
        /// Promote even if another recorded standby got further, the standby holds another
        /// cluster than the old primary, or it was already promoted (an interrupted run).
        #[arg(long)]
        force: bool,
    },
    /// Show the primary, the standbys of the last `coffer serve` and their replication state.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(db: &DatabaseArgs, command: &PgCommand) -> anyhow::Result<()> {
    if db.database_url.is_some() {
        anyhow::bail!(
            "`coffer admin pg` manages the embedded PostgreSQL; with --database-url, standbys and \
             their promotion are the business of that PostgreSQL's own tools (pg_ctl promote)"
        );
    }
    match command {
        PgCommand::Promote { dir, force } => {
            let _lock = super::serve::lock_data_dir(&db.data_dir)
                .context("refusing to promote while a coffer server runs; stop it first")?;
            let done = promote::promote(&db.data_dir, dir, *force)
                .await
                .with_context(|| format!("promoting the standby in {}", dir.display()))?;
            print_promotion(&db.data_dir, &done);
        }
        PgCommand::Status { json } => {
            let status = status::collect(&db.data_dir).await?;
            if *json {
                println!("{}", serde_json::to_string(&status)?);
            } else {
                print_status(&status);
            }
        }
    }
    Ok(())
}

fn print_promotion(data_dir: &std::path::Path, done: &promote::Promotion) {
    let home = done.home.display();
    if done.already {
        println!("{home} is already the PostgreSQL of {}", data_dir.display());
        return;
    }
    match &done.position {
        Some(position) => {
            println!("promoted the standby in {home} (WAL replayed up to {position})")
        }
        None => println!("made {home} the primary (it was promoted before)"),
    }
    println!(
        "`coffer serve --data-dir {}` now runs on {home}/postgres ({})",
        data_dir.display(),
        data_dir.join(promote::LOCATION_FILE).display()
    );
    if let Some(aside) = &done.moved_aside {
        println!(
            "the old {}/postgres is now {}",
            data_dir.display(),
            aside.display()
        );
    }
    if let Some(why) = &done.not_moved {
        println!(
            "could not move the old {}/postgres aside ({why}); it is not used any more, remove it \
             when convenient",
            data_dir.display()
        );
    }
    for other in &done.others {
        println!(
            "standby {} followed the old primary: given to --pg-standby again, it is made again \
             from the new one",
            other.display()
        );
    }
    println!(
        "the metadata has one copy until `coffer serve` runs with a --pg-standby DIR on another \
         disk"
    );
}

fn print_status(status: &status::Status) {
    let state = |pid: Option<u32>| match pid {
        Some(pid) => format!("running (pid {pid})"),
        None => "not running".to_owned(),
    };
    println!(
        "primary\t{}\t{}{}",
        status.cluster.display(),
        state(status.pid),
        if status.promoted {
            " (a promoted standby, named by postgres.location)"
        } else {
            ""
        }
    );
    if let Some(names) = &status.synchronous_standby_names {
        println!(
            "synchronous_standby_names\t{}",
            if names.is_empty() { "(none)" } else { names }
        );
    }
    for standby in &status.standbys {
        let dir = standby
            .dir
            .as_ref()
            .map(|dir| dir.display().to_string())
            .unwrap_or_else(|| "(not recorded)".to_owned());
        let replication = match &standby.replication {
            Some(r) => format!(
                "{}\t{}\tflushed {}\tslot {}",
                r.state.as_deref().unwrap_or("not connected"),
                r.sync_state.as_deref().unwrap_or("-"),
                r.flush_lsn.as_deref().unwrap_or("-"),
                r.slot_wal_status.as_deref().unwrap_or("-")
            ),
            None => "no slot on the primary (or the primary is not running)".to_owned(),
        };
        println!(
            "standby\t{dir}\t{}\t{}{}\t{replication}",
            standby.name,
            state(standby.pid),
            if standby.is_standby || standby.dir.is_none() {
                ""
            } else {
                " (not a standby cluster)"
            }
        );
    }
}
