//! Reading errors out of `aws_sdk_s3` results.

use std::fmt::Debug;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

/// What a failed SDK call tells about the server's answer.
#[derive(Debug, Clone)]
pub struct ErrInfo {
    /// The S3 error code (`NoSuchKey`, ...); for bodiless HEAD errors the SDK makes one up
    /// from the status (e.g. `NotFound`).
    pub code: Option<String>,
    /// The error message, if any.
    pub message: Option<String>,
    /// The HTTP status, if a response was received.
    pub status: Option<u16>,
    /// `x-amz-request-id` of the response.
    pub request_id: Option<String>,
    /// The whole error, for assertion messages.
    pub debug: String,
}

impl ErrInfo {
    /// The code as `&str` (`""` when absent).
    pub fn code(&self) -> &str {
        self.code.as_deref().unwrap_or("")
    }

    /// Asserts status and code, and that the response carried a request id.
    #[track_caller]
    pub fn assert(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status, self.code()),
            (Some(status), code),
            "unexpected error: {}",
            self.debug
        );
        assert!(
            self.request_id.as_deref().is_some_and(|id| !id.is_empty()),
            "error response without x-amz-request-id: {}",
            self.debug
        );
    }
}

/// Unwraps the error of an SDK call that must fail; panics (showing the output) if it
/// succeeded.
#[track_caller]
pub fn sdk_err<T: Debug, E: ProvideErrorMetadata + Debug>(
    result: Result<T, SdkError<E>>,
) -> ErrInfo {
    let err = match result {
        Ok(out) => panic!("expected the call to fail, but it succeeded: {out:?}"),
        Err(err) => err,
    };
    let raw = err.raw_response();
    ErrInfo {
        code: err.code().map(str::to_string),
        message: err.message().map(str::to_string),
        status: raw.map(|r| r.status().as_u16()),
        request_id: raw
            .and_then(|r| r.headers().get("x-amz-request-id"))
            .map(str::to_string),
        debug: format!("{err:?}"),
    }
}

/// One request as an SDK client put it on the wire (after signing).
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: String,
    /// Request URI.
    pub uri: String,
    /// Headers (lowercase names).
    pub headers: Vec<(String, String)>,
}

impl RecordedRequest {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An interceptor recording every request a client transmits; add it with
/// `TestServer::config_for(..).interceptor(recorder.clone())`.
#[derive(Debug, Clone, Default)]
pub struct RequestRecorder {
    seen: std::sync::Arc<std::sync::Mutex<Vec<RecordedRequest>>>,
}

impl RequestRecorder {
    /// Everything recorded so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The last recorded request.
    pub fn last(&self) -> RecordedRequest {
        self.requests().pop().expect("no request was recorded")
    }
}

impl aws_sdk_s3::config::Intercept for RequestRecorder {
    fn name(&self) -> &'static str {
        "RequestRecorder"
    }

    fn read_before_transmit(
        &self,
        context: &aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &aws_sdk_s3::config::RuntimeComponents,
        _cfg: &mut aws_sdk_s3::config::ConfigBag,
    ) -> Result<(), aws_sdk_s3::error::BoxError> {
        let request = context.request();
        let recorded = RecordedRequest {
            method: request.method().to_string(),
            uri: request.uri().to_string(),
            headers: request
                .headers()
                .iter()
                .map(|(n, v)| (n.to_ascii_lowercase(), v.to_string()))
                .collect(),
        };
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(recorded);
        Ok(())
    }
}
