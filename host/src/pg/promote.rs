//! Promoting a standby to be the data directory's PostgreSQL
//! (`coffer admin pg promote DIR`), and the pointer file
//! `DATA_DIR/postgres.location` ([`LOCATION_FILE`]) through which
//! [`EmbeddedPostgres::start`] finds it from then on.
//!
//! # The pointer
//!
//! Without `postgres.location` the embedded PostgreSQL lives in the data
//! directory (`DATA_DIR/postgres`, `DATA_DIR/run`, `DATA_DIR/postgres.log`).
//! With it, it lives in the directory the file names, laid out the same way:
//! after a promotion that is the standby's directory, which stays on its own
//! disk. A pointer naming a directory without a cluster (a disk not mounted)
//! is an error: Coffer never creates a fresh cluster there, nor falls back to
//! `DATA_DIR/postgres`.
//!
//! # Promotion
//!
//! The caller (the CLI) holds `DATA_DIR/coffer.lock`, so no server runs.
//! [`promote`] then
//! 1. refuses while the current primary's postmaster runs (a promoted
//!    standby beside it would split the metadata in two), and when the
//!    standby holds another cluster than the current primary's, if that one
//!    is still readable;
//! 2. starts the standby if it is not running, replaying only the WAL it
//!    has (no connection to any primary), and reads how far it got; the
//!    other standbys recorded in `DATA_DIR/postgres.standbys` are read the
//!    same way, and if one got further it is refused: under `ANY 1` the last
//!    acknowledged commits may be on that one only;
//! 3. writes the pointer (atomically), moves `DATA_DIR/postgres` aside to
//!    `DATA_DIR/postgres.replaced-<unix time>` if it is still there (a
//!    failure to move it is reported; with the pointer it is not used
//!    anyway), runs `pg_ctl promote -w` and stops the new primary.
//!
//! The pointer is written before `pg_ctl promote`, so an interrupted
//! promotion leaves a pointer to a standby, which `coffer serve` refuses to
//! run as a primary; running the promotion again finishes it. `--force`
//! skips the checks of step 1 and 2 (other than a running primary), and
//! accepts a standby that was already promoted.
//!
//! The other standbys are not re-pointed: they followed the old primary, and
//! the new one has no replication slots for them, so when they are given to
//! `coffer serve --pg-standby` again they are made again from a base backup
//! of the new primary ([`super::standby`]).

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sqlx::Connection;
use sqlx::postgres::PgConnection;

use super::embedded::{
    EmbeddedPostgres, Error, Options, Role, STANDBY_SIGNAL, StandbyLink, decide_run_as, io_err,
    remove_if_exists, run_failure, running_postmaster, system_identifier,
};
use super::standby::{record_standbys, recorded_standbys, write_atomically};

/// The file in the data directory naming the directory its PostgreSQL lives
/// in, when that is not the data directory itself.
pub const LOCATION_FILE: &str = "postgres.location";
/// How long a standby may take to replay the WAL it has before its position
/// is read.
const REPLAY_TIMEOUT: Duration = Duration::from_secs(300);
/// How long `pg_ctl promote -w` may take.
const PROMOTE_TIMEOUT: Duration = Duration::from_secs(60);
/// Delay between polls of a standby.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// The directory `DATA_DIR/postgres.location` names, if the file exists
/// (not checked further).
pub fn location(data_dir: &Path) -> Result<Option<PathBuf>, Error> {
    let path = data_dir.join(LOCATION_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(io_err(format!("reading {}", path.display()))(err)),
    };
    let dir = text
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with('#'))
        .map(PathBuf::from)
        .filter(|dir| dir.is_absolute())
        .ok_or_else(|| {
            Error::Location(format!(
                "{} names no absolute directory; write the directory holding the PostgreSQL \
                 cluster (its postgres/ subdirectory) into it, or remove it to use {}/postgres",
                path.display(),
                data_dir.display()
            ))
        })?;
    Ok(Some(dir))
}

/// The directory holding the embedded PostgreSQL of `data_dir` (a canonical
/// path): `data_dir`, or the directory `postgres.location` names, which must
/// hold a cluster.
pub(crate) fn cluster_home(data_dir: &Path) -> Result<PathBuf, Error> {
    let Some(home) = location(data_dir)? else {
        return Ok(data_dir.to_path_buf());
    };
    if !home.join("postgres").join("PG_VERSION").exists() {
        return Err(Error::Location(format!(
            "{} says the PostgreSQL of {} lives in {}, but {}/postgres holds no cluster (no \
             PG_VERSION): mount the disk it is on, promote another standby, or remove the file \
             to start over with an empty {}/postgres",
            data_dir.join(LOCATION_FILE).display(),
            data_dir.display(),
            home.display(),
            home.display(),
            data_dir.display()
        )));
    }
    fs::canonicalize(&home).map_err(io_err(format!("resolving {}", home.display())))
}

/// What [`promote`] did.
#[derive(Debug)]
pub struct Promotion {
    /// The directory the data directory's PostgreSQL now lives in.
    pub home: PathBuf,
    /// It was promoted earlier already; nothing was done.
    pub already: bool,
    /// How far it had replayed the old primary's WAL (`X/Y`), if read.
    pub position: Option<String>,
    /// Where the old `DATA_DIR/postgres` was moved.
    pub moved_aside: Option<PathBuf>,
    /// Why the old `DATA_DIR/postgres` could not be moved aside.
    pub not_moved: Option<String>,
    /// The other recorded standbys, to be made again from the new primary.
    pub others: Vec<PathBuf>,
}

/// Promotes the standby in `standby_dir` to be the PostgreSQL of `data_dir`;
/// see the module documentation. The caller holds `DATA_DIR/coffer.lock`.
pub async fn promote(data_dir: &Path, standby_dir: &Path, force: bool) -> Result<Promotion, Error> {
    let canonical =
        |dir: &Path| fs::canonicalize(dir).map_err(io_err(format!("resolving {}", dir.display())));
    let data_dir = canonical(data_dir)?;
    let home = canonical(standby_dir)?;
    let cluster = home.join("postgres");
    if !cluster.join("PG_VERSION").exists() {
        return Err(Error::PromoteRefused(format!(
            "{} holds no PostgreSQL cluster",
            cluster.display()
        )));
    }
    let old_home = location(&data_dir)?.unwrap_or_else(|| data_dir.clone());
    let is_standby = cluster.join(STANDBY_SIGNAL).exists();
    let others: Vec<PathBuf> = recorded_standbys(&data_dir)?
        .into_iter()
        .filter(|dir| *dir != home)
        .collect();
    let mut promotion = Promotion {
        home: home.clone(),
        already: false,
        position: None,
        moved_aside: None,
        not_moved: None,
        others: others.clone(),
    };
    if old_home == home && !is_standby {
        promotion.already = true;
        return Ok(promotion);
    }
    if !is_standby && !force {
        return Err(Error::PromoteRefused(format!(
            "{} is not a standby (no {STANDBY_SIGNAL}); if an interrupted promotion left it \
             promoted, run again with --force to make it the PostgreSQL of {}",
            cluster.display(),
            data_dir.display()
        )));
    }
    for old in [old_home.join("postgres"), data_dir.join("postgres")] {
        // The standby itself may be named already (an interrupted promotion).
        if old == cluster {
            continue;
        }
        if let Some(pid) = running_postmaster(&old) {
            return Err(Error::PromoteRefused(format!(
                "the PostgreSQL in {} is running (pid {pid}); a promoted standby beside it would \
                 split the metadata in two. Stop it (`pg_ctl stop -D {}`, or `kill -9 {pid}` if \
                 its disk is gone) and run again",
                old.display(),
                old.display()
            )));
        }
    }
    let id = system_identifier(&cluster)?;
    if old_home != home
        && let Ok(old_id) = system_identifier(&old_home.join("postgres"))
        && old_id != id
        && !force
    {
        return Err(Error::PromoteRefused(format!(
            "{} holds another cluster (system identifier {id}) than {}/postgres ({old_id}); \
             run again with --force to use it anyway",
            cluster.display(),
            old_home.display()
        )));
    }

    let mut server = None;
    if is_standby {
        let mut standby = replay_only(&home)?;
        let checked = match standby.boot().await {
            Ok(()) => match replayed(&standby).await {
                Ok(position) if force => Ok(position),
                Ok(position) => check_most_advanced(&home, position, id, &others)
                    .await
                    .map(|()| position),
                Err(err) => Err(err),
            },
            Err(err) => Err(err),
        };
        match checked {
            Ok(position) => promotion.position = Some(format_lsn(position)),
            Err(err) => {
                if let Err(stop_err) = standby.stop_whatever_runs().await {
                    tracing::warn!(error = %stop_err, "stopping the standby after a refusal");
                }
                return Err(err);
            }
        }
        server = Some(standby);
    }

    if home == data_dir {
        remove_if_exists(&data_dir.join(LOCATION_FILE))?;
    } else {
        let text = format!(
            "# Written by `coffer admin pg promote`: the PostgreSQL of this data directory lives\n\
             # in the directory below (its postgres/, run/ and postgres.log).\n{}\n",
            home.display()
        );
        write_atomically(&data_dir.join(LOCATION_FILE), text.as_bytes())?;
        let old = data_dir.join("postgres");
        if fs::symlink_metadata(&old).is_ok() {
            let seconds = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or_default();
            let aside = data_dir.join(format!("postgres.replaced-{seconds}"));
            match fs::rename(&old, &aside) {
                Ok(()) => promotion.moved_aside = Some(aside),
                Err(err) => promotion.not_moved = Some(err.to_string()),
            }
        }
    }

    if let Some(standby) = server {
        let mut cmd = standby.command("pg_ctl");
        cmd.arg("promote")
            .arg("-D")
            .arg(standby.cluster_dir())
            .args(["-w", "-s", "-t"])
            .arg(PROMOTE_TIMEOUT.as_secs().to_string());
        let failure = run_failure(
            cmd,
            PROMOTE_TIMEOUT + Duration::from_secs(5),
            "pg_ctl promote",
        )
        .await;
        standby.stop_whatever_runs().await?;
        if let Some(message) = failure {
            return Err(Error::Standby { dir: home, message });
        }
    }
    record_standbys(&data_dir, &others)?;
    tracing::info!(home = %home.display(), data_dir = %data_dir.display(), "standby promoted");
    Ok(promotion)
}

/// The standby in `home` as a standby that replays only the WAL it has.
fn replay_only(home: &Path) -> Result<EmbeddedPostgres, Error> {
    let run_as = decide_run_as(&home.join("postgres"))?;
    EmbeddedPostgres::at(
        home,
        home,
        run_as,
        Options::default(),
        Role::Standby(StandbyLink::default()),
    )
}

/// Refuses if another recorded standby of the same cluster replayed more WAL
/// than `position`.
async fn check_most_advanced(
    home: &Path,
    position: u64,
    id: u64,
    others: &[PathBuf],
) -> Result<(), Error> {
    for other in others {
        let cluster = other.join("postgres");
        if !cluster.join(STANDBY_SIGNAL).exists() || system_identifier(&cluster).ok() != Some(id) {
            continue;
        }
        let mut standby = replay_only(other)?;
        let was_running = standby.postmaster_pid().is_some();
        let result = match standby.boot().await {
            Ok(()) => replayed(&standby).await,
            Err(err) => Err(err),
        };
        if !was_running && let Err(err) = standby.stop_whatever_runs().await {
            tracing::warn!(standby = %other.display(), error = %err, "stopping a standby");
        }
        let theirs = result.map_err(|err| {
            Error::PromoteRefused(format!(
                "cannot read how far the standby in {} got ({err}); it may hold the last \
                 commits. Run again with --force if it is lost",
                other.display()
            ))
        })?;
        if theirs > position {
            return Err(Error::PromoteRefused(format!(
                "the standby in {} replayed more WAL ({}) than the one in {} ({}): the last \
                 acknowledged commits may be on it only. Promote that one, or run again with \
                 --force",
                other.display(),
                format_lsn(theirs),
                home.display(),
                format_lsn(position)
            )));
        }
    }
    Ok(())
}

/// Waits until the standby has replayed all the WAL it has (its startup
/// process waits for more), then returns how far that is.
async fn replayed(standby: &EmbeddedPostgres) -> Result<u64, Error> {
    let mut conn = PgConnection::connect_with(&standby.connect_options("postgres"))
        .await
        .map_err(Error::Connect)?;
    let result = replayed_on(&mut conn).await;
    if let Err(err) = conn.close().await {
        tracing::debug!(error = %err, "closing admin connection");
    }
    result
}

async fn replayed_on(conn: &mut PgConnection) -> Result<u64, Error> {
    let began = Instant::now();
    loop {
        let waiting: Option<String> = sqlx::query_scalar(
            "SELECT wait_event FROM pg_stat_activity WHERE backend_type = 'startup'",
        )
        .fetch_optional(&mut *conn)
        .await
        .map_err(Error::Query)?
        .flatten();
        if matches!(
            waiting.as_deref(),
            Some("RecoveryRetrieveRetryInterval" | "RecoveryWalStream")
        ) {
            break;
        }
        if began.elapsed() > REPLAY_TIMEOUT {
            return Err(Error::Start(format!(
                "the standby was still replaying WAL after {}s",
                REPLAY_TIMEOUT.as_secs()
            )));
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
    let position: i64 =
        sqlx::query_scalar("SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint")
            .fetch_one(&mut *conn)
            .await
            .map_err(Error::Query)?;
    Ok(u64::try_from(position).unwrap_or_default())
}

/// A WAL position as PostgreSQL writes it.
fn format_lsn(position: u64) -> String {
    format!("{:X}/{:X}", position >> 32, position & 0xffff_ffff)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::pg::DEFAULT_DATABASE;
    use crate::pg::embedded::tests::test_options;
    use crate::pg::standby::StandbySet;
    use crate::pg::standby::tests::{connect_to, kill_cluster, signal_cluster, test_primary};
    use sqlx::Executor;

    async fn count(home: &Path) -> i64 {
        let mut conn = connect_to(home, DEFAULT_DATABASE).await;
        let n = sqlx::query_scalar("SELECT count(*) FROM marker")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        n
    }

    async fn execute(home: &Path, sql: &str) {
        let mut conn = connect_to(home, DEFAULT_DATABASE).await;
        conn.execute(sql).await.unwrap();
        conn.close().await.unwrap();
    }

    #[tokio::test]
    async fn promote_after_losing_the_primary() {
        let (dir, primary) = test_primary().await;
        let standby_dir = tempfile::tempdir().unwrap();
        let home = fs::canonicalize(standby_dir.path()).unwrap();
        let mut set = StandbySet::start(&primary, std::slice::from_ref(&home))
            .await
            .unwrap();
        execute(primary.home(), "CREATE TABLE marker (v int)").await;
        for v in 0..3 {
            execute(primary.home(), &format!("INSERT INTO marker VALUES ({v})")).await;
        }
        let err = promote(dir.path(), &home, false).await.unwrap_err();
        assert!(matches!(err, Error::PromoteRefused(_)), "{err}");
        assert!(err.to_string().contains("is running"), "{err}");

        // The primary's disk is lost.
        set.stop_supervisor().await;
        kill_cluster(primary.home()).await;
        fs::remove_dir_all(primary.cluster_dir()).unwrap();
        drop(primary);

        // A promotion interrupted after writing the pointer: the standby is
        // not run as the primary, and promoting again finishes the job.
        write_atomically(
            &dir.path().join(LOCATION_FILE),
            format!("{}\n", home.display()).as_bytes(),
        )
        .unwrap();
        let err = EmbeddedPostgres::start(dir.path(), test_options())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("is a standby"), "{err}");

        let began = Instant::now();
        let done = promote(dir.path(), &home, false).await.unwrap();
        eprintln!("promotion took {:?}", began.elapsed());
        assert!(!done.already);
        assert!(done.position.is_some());
        assert_eq!(done.home, home);
        assert!(done.moved_aside.is_none());
        assert!(!home.join("postgres").join(STANDBY_SIGNAL).exists());
        assert_eq!(location(dir.path()).unwrap(), Some(home.clone()));

        let primary = EmbeddedPostgres::start(dir.path(), test_options())
            .await
            .unwrap();
        assert_eq!(primary.home(), home);
        assert_eq!(count(&home).await, 3, "every committed row survives");
        execute(&home, "INSERT INTO marker VALUES (3)").await;
        primary.stop().await.unwrap();
        let again = promote(dir.path(), &home, false).await.unwrap();
        assert!(again.already);
        set.stop().await;
    }

    #[tokio::test]
    async fn promote_picks_the_standby_that_got_furthest() {
        let (dir, primary) = test_primary().await;
        let ahead_dir = tempfile::tempdir().unwrap();
        let behind_dir = tempfile::tempdir().unwrap();
        let ahead = fs::canonicalize(ahead_dir.path()).unwrap();
        let behind = fs::canonicalize(behind_dir.path()).unwrap();
        let mut set = StandbySet::start(&primary, &[ahead.clone(), behind.clone()])
            .await
            .unwrap();
        execute(primary.home(), "CREATE TABLE marker (v int)").await;
        // Wait until both have the table, so that both are consistent past it.
        for home in [&ahead, &behind] {
            for _ in 0..200 {
                let mut conn = connect_to(home, DEFAULT_DATABASE).await;
                let there: bool = sqlx::query_scalar("SELECT to_regclass('marker') IS NOT NULL")
                    .fetch_one(&mut conn)
                    .await
                    .unwrap();
                conn.close().await.unwrap();
                if there {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        // Under ANY 1, this commit is acknowledged by `ahead` alone.
        signal_cluster(&behind, "STOP");
        execute(primary.home(), "INSERT INTO marker VALUES (1)").await;
        set.stop_supervisor().await;
        kill_cluster(primary.home()).await;
        kill_cluster(&behind).await;
        fs::remove_dir_all(primary.cluster_dir()).unwrap();
        drop(primary);

        let err = promote(dir.path(), &behind, false).await.unwrap_err();
        assert!(matches!(err, Error::PromoteRefused(_)), "{err}");
        assert!(err.to_string().contains(&*ahead.to_string_lossy()), "{err}");
        let done = promote(dir.path(), &ahead, false).await.unwrap();
        assert_eq!(done.others, std::slice::from_ref(&behind));
        let primary = EmbeddedPostgres::start(dir.path(), test_options())
            .await
            .unwrap();
        assert_eq!(count(&ahead).await, 1, "the acknowledged commit survives");
        primary.stop().await.unwrap();
        set.stop().await;
    }

    #[test]
    fn lsn_format() {
        assert_eq!(format_lsn(0x0000_0000_0301_5ff0), "0/3015FF0");
        assert_eq!(format_lsn(0x0000_0001_0000_0000), "1/0");
    }

    #[test]
    fn location_file() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(location(dir.path()).unwrap(), None);
        assert_eq!(cluster_home(dir.path()).unwrap(), dir.path());
        let other = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join(LOCATION_FILE),
            format!("# comment\n{}\n", other.path().display()),
        )
        .unwrap();
        assert_eq!(location(dir.path()).unwrap().as_deref(), Some(other.path()));
        // No cluster there: never fall back to DATA_DIR/postgres.
        assert!(matches!(cluster_home(dir.path()), Err(Error::Location(_))));
        fs::create_dir_all(other.path().join("postgres")).unwrap();
        fs::write(other.path().join("postgres/PG_VERSION"), "15\n").unwrap();
        assert_eq!(
            cluster_home(dir.path()).unwrap(),
            fs::canonicalize(other.path()).unwrap()
        );
        fs::write(dir.path().join(LOCATION_FILE), "relative/path\n").unwrap();
        assert!(matches!(location(dir.path()), Err(Error::Location(_))));
    }
}
