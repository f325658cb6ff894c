//! HTTP transport: the accept loop ([`server`]), TLS ([`tls`]), lingering close
//! ([`linger`]) and response bodies ([`body`]). What a request means is decided above,
//! by the doors in `front`.

pub mod body;
pub mod linger;
pub mod server;
pub mod tls;
