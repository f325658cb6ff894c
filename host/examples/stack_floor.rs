//! The floor of Coffer's stack: what hyper, tokio and sqlx reach on this machine when a
//! request does nothing but the one PostgreSQL statement it cannot do without.
//!
//! `scripts/bench-limits` runs it against its reference PostgreSQL and drives it with
//! the same client as Coffer and nginx (`coffer bench --scenario http-get` and
//! `http-put`). A GET reads one of `--rows` rows by primary key and answers with its
//! bytes; a PUT inserts its body as a new row in one autocommitted statement (durable on
//! a PostgreSQL with `synchronous_commit` on, as `bench-limits`' is: the commit is fsynced
//! before the answer, as Coffer's are). No S3 signature, no XML, no policy, no
//! object metadata: the distance between this and Coffer is what Coffer's own work
//! costs, and the distance between this and nginx or `pgbench` is what the stack costs
//! before Coffer does anything.
//!
//! ```text
//! cargo run --release --example stack_floor -- --database-url postgres://... [--size 4096]
//! ```
//! It prints `stack-floor listening on http://ADDR` once it serves.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;
use bytes::Bytes;
use clap::Parser;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use sqlx::postgres::PgPoolOptions;

/// The floor server's options.
#[derive(Parser)]
struct Args {
    /// PostgreSQL to use; the table `stack_floor` in it is replaced.
    #[arg(long)]
    database_url: String,
    /// Address to serve on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Connection pool size (Coffer's `--db-pool` default).
    #[arg(long, default_value_t = 32)]
    pool: u32,
    /// Rows GETs read, in turn.
    #[arg(long, default_value_t = 1000)]
    rows: i64,
    /// Bytes in each row GETs read.
    #[arg(long, default_value_t = 4096)]
    size: usize,
}

/// What every request needs.
struct Floor {
    pool: sqlx::PgPool,
    rows: i64,
    /// Requests so far: GETs read the rows in turn, PUTs insert rows after them.
    next: AtomicU64,
}

impl Floor {
    async fn handle(&self, request: Request<Incoming>) -> anyhow::Result<Response<Full<Bytes>>> {
        let n = self.next.fetch_add(1, Ordering::Relaxed) as i64;
        match *request.method() {
            Method::GET => {
                let id = n % self.rows + 1;
                let data: Vec<u8> =
                    sqlx::query_scalar("SELECT data FROM stack_floor WHERE id = $1")
                        .bind(id)
                        .fetch_one(&self.pool)
                        .await?;
                Ok(Response::new(Full::new(Bytes::from(data))))
            }
            Method::PUT => {
                let body = request.into_body().collect().await?.to_bytes();
                sqlx::query("INSERT INTO stack_floor (id, data) VALUES ($1, $2)")
                    .bind(self.rows + 1 + n)
                    .bind(body.as_ref())
                    .execute(&self.pool)
                    .await?;
                Ok(Response::new(Full::new(Bytes::new())))
            }
            _ => Ok(status(StatusCode::METHOD_NOT_ALLOWED)),
        }
    }
}

fn status(code: StatusCode) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = code;
    response
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(args.rows > 0, "--rows must be at least 1");
    let pool = PgPoolOptions::new()
        .max_connections(args.pool)
        .test_before_acquire(false)
        .connect(&args.database_url)
        .await
        .context("connecting to PostgreSQL")?;
    sqlx::raw_sql(
        "DROP TABLE IF EXISTS stack_floor;
         CREATE TABLE stack_floor (id bigint PRIMARY KEY, data bytea NOT NULL)",
    )
    .execute(&pool)
    .await
    .context("creating the table")?;
    // Random bytes, as objects are, so PostgreSQL's compression gains nothing (as on PUT).
    // The subquery names `i` so that it runs once per row.
    sqlx::query(
        "INSERT INTO stack_floor (id, data)
         SELECT i, substring((SELECT string_agg(uuid_send(gen_random_uuid()), ''::bytea)
                              FROM generate_series(1, ($2 + 15) / 16) j WHERE i > 0)
                             FROM 1 FOR $2)
         FROM generate_series(1, $1) i",
    )
    .bind(args.rows)
    .bind(i32::try_from(args.size).context("--size is too large")?)
    .execute(&pool)
    .await
    .context("filling the table")?;
    sqlx::raw_sql("VACUUM ANALYZE stack_floor")
        .execute(&pool)
        .await?;
    let floor = Arc::new(Floor {
        pool,
        rows: args.rows,
        next: AtomicU64::new(0),
    });
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    println!("stack-floor listening on http://{}", listener.local_addr()?);
    let mut http = http1::Builder::new();
    http.keep_alive(true);
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let (floor, http) = (floor.clone(), http.clone());
        tokio::spawn(async move {
            let svc = service_fn(move |request| {
                let floor = floor.clone();
                async move {
                    let response = match floor.handle(request).await {
                        Ok(r) => r,
                        Err(e) => {
                            eprintln!("stack-floor: {e:#}");
                            status(StatusCode::INTERNAL_SERVER_ERROR)
                        }
                    };
                    Ok::<_, Infallible>(response)
                }
            });
            let _ = http.serve_connection(TokioIo::new(stream), svc).await;
        });
    }
}
