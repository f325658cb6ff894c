//! HTTP: the accept loop ([`server`]), the per-request pipeline ([`service`]), bodies
//! ([`body`]) and the admin API on its own listener ([`admin`]).

pub mod admin;
pub mod body;
pub mod server;
pub mod service;
