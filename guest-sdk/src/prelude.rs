//! What the standard prelude would bring, for `no_std` builds (without the
//! `std` feature only `core`'s prelude is in scope).

#[allow(unused_imports)]
pub(crate) use alloc::{
    borrow::ToOwned,
    boxed::Box,
    format,
    string::{String, ToString},
    vec,
    vec::Vec,
};
