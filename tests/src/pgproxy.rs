//! A TCP proxy in front of the test cluster's Unix socket that can lose the answer to a
//! `COMMIT`: it forwards the commit to PostgreSQL (which commits) and then cuts the
//! connection before the answer reaches the client, which is left not knowing whether its
//! transaction happened. A real network fault, injected where no timing trick could
//! place it reliably.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UnixStream};

/// The proxy; it runs until the test process ends.
#[derive(Debug, Clone)]
pub struct CommitCutter {
    port: u16,
    database: String,
    armed: Arc<AtomicBool>,
    cut: Arc<AtomicUsize>,
}

impl CommitCutter {
    /// A fresh database on the shared cluster behind a new proxy.
    pub async fn start() -> CommitCutter {
        let (socket, database) = crate::pg::socket_and_database().await;
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let cutter = CommitCutter {
            port,
            database,
            armed: Arc::new(AtomicBool::new(false)),
            cut: Arc::new(AtomicUsize::new(0)),
        };
        let c = cutter.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (socket, c) = (socket.clone(), c.clone());
                tokio::spawn(async move { c.relay(client, socket).await });
            }
        });
        cutter
    }

    /// The URL to give `coffer serve --database-url`.
    pub fn url(&self) -> String {
        format!(
            "postgres://{}@127.0.0.1:{}/{}?sslmode=disable",
            coffer::pg::SUPERUSER,
            self.port,
            self.database
        )
    }

    /// Cut the next connection that commits a transaction which wrote an object row.
    pub fn arm(&self) {
        self.armed.store(true, Ordering::SeqCst);
    }

    /// How many commits were cut.
    pub fn cuts(&self) -> usize {
        self.cut.load(Ordering::SeqCst)
    }

    async fn relay(self, client: TcpStream, socket: PathBuf) {
        let Ok(server) = UnixStream::connect(&socket).await else {
            return;
        };
        let (mut client_rx, mut client_tx) = client.into_split();
        let (mut server_rx, mut server_tx) = server.into_split();
        let down = tokio::spawn(async move {
            let _ = tokio::io::copy(&mut server_rx, &mut client_tx).await;
        });
        // Client to server, message by message: the startup message has no type byte,
        // every later one is type, length (counting itself), payload.
        let mut first = true;
        let mut wrote_object = false;
        loop {
            let mut head = vec![0u8; if first { 4 } else { 5 }];
            if client_rx.read_exact(&mut head).await.is_err() {
                break;
            }
            let len_at = if first { 0 } else { 1 };
            let len = u32::from_be_bytes([
                head[len_at],
                head[len_at + 1],
                head[len_at + 2],
                head[len_at + 3],
            ]) as usize;
            let mut payload = vec![0u8; len.saturating_sub(4)];
            if client_rx.read_exact(&mut payload).await.is_err() {
                break;
            }
            let kind = if first { 0 } else { head[0] };
            first = false;
            let sql = query_of(kind, &payload);
            if sql.contains("INSERT INTO OBJECTS") {
                wrote_object = true;
            }
            let commit = sql.trim_start().starts_with("COMMIT");
            let cut = commit && wrote_object && self.armed.swap(false, Ordering::SeqCst);
            if cut {
                // Every earlier answer has arrived (the client waited for them); the
                // answer to this one never will.
                down.abort();
                self.cut.fetch_add(1, Ordering::SeqCst);
            }
            if server_tx.write_all(&head).await.is_err()
                || server_tx.write_all(&payload).await.is_err()
            {
                break;
            }
            if cut {
                // PostgreSQL has the COMMIT; let it commit, then hang up on the client.
                tokio::time::sleep(Duration::from_millis(300)).await;
                return;
            }
            if commit {
                wrote_object = false;
            }
        }
        down.abort();
    }
}

/// The SQL text of a simple query (`Q`) or a parse (`P`: statement name, then the text),
/// upper-cased; empty for other messages.
fn query_of(kind: u8, payload: &[u8]) -> String {
    let text = match kind {
        b'Q' => payload,
        b'P' => match payload.iter().position(|b| *b == 0) {
            Some(end) => &payload[end + 1..],
            None => return String::new(),
        },
        _ => return String::new(),
    };
    String::from_utf8_lossy(text).to_ascii_uppercase()
}
