//! HTTP: the accept loop ([`server`]), the per-request pipeline ([`service`]) and bodies
//! ([`body`]).

pub mod body;
pub mod server;
pub mod service;
