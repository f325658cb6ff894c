//! Response bodies. (Request payloads, whose framing and checks are S3's, are
//! `s3::payload`.)

use bytes::Bytes;
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;

/// The response body type: full buffers or streams, boxed once.
pub type ResponseBody = UnsyncBoxBody<Bytes, std::io::Error>;

/// A response body holding `data`.
pub fn full(data: impl Into<Bytes>) -> ResponseBody {
    http_body_util::Full::new(data.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// An empty response body.
pub fn empty() -> ResponseBody {
    http_body_util::Empty::new()
        .map_err(|never| match never {})
        .boxed_unsync()
}
