//! The `VersioningConfiguration` document of Put/GetBucketVersioning: parsing with
//! S3's validation and rendering a bucket's state.
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketVersioning.html>
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketVersioning.html>

use super::xml::{Doc, Element, XmlError, malformed, parse_document};
use crate::store::buckets::Versioning;

/// Largest versioning document we read, bytes; a valid one is under 200.
pub const MAX_DOCUMENT_BYTES: usize = 4 << 10;

/// Why a versioning configuration is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersioningError {
    /// Not a well-formed `VersioningConfiguration`, or a `Status` or `MfaDelete` that
    /// is not one of S3's values (`MalformedXML`, 400).
    #[error(transparent)]
    Malformed(#[from] XmlError),
    /// `<MfaDelete>Enabled</MfaDelete>` (`NotImplemented`, 501). MFA delete needs an
    /// `x-amz-mfa` header holding a device serial and a one-time code, checked against
    /// the account's MFA device; Coffer has no MFA devices, so it cannot honour it.
    /// Refusing says so, as Scality CloudServer does with `NotImplemented`; MinIO
    /// drops the element silently, which would let a client believe deletes are
    /// MFA-protected when they are not. `MfaDelete` `Disabled` is accepted.
    #[error("MFA delete is not supported: Coffer has no MFA devices to check x-amz-mfa against")]
    MfaDeleteNotImplemented,
}

impl VersioningError {
    /// The S3 error code to answer with.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed(e) => e.code(),
            Self::MfaDeleteNotImplemented => "NotImplemented",
        }
    }
}

/// Parses a PutBucketVersioning body (any namespace):
///
/// ```xml
/// <VersioningConfiguration><Status>Enabled</Status><MfaDelete>Disabled</MfaDelete></VersioningConfiguration>
/// ```
///
/// `Ok(None)` when `Status` is absent: the request changes nothing. A `Status` other
/// than `Enabled` or `Suspended` (case-sensitive), or an `MfaDelete` other than
/// `Enabled` or `Disabled`, is `MalformedXML`; `MfaDelete` `Enabled` is
/// [`VersioningError::MfaDeleteNotImplemented`]. The element is spelled `MfaDelete` on
/// the wire (the API reference's member list says `MFADelete`, its syntax and samples
/// `MfaDelete`).
pub fn parse_versioning_configuration(body: &[u8]) -> Result<Option<Versioning>, VersioningError> {
    let root = parse_document(body)?;
    if root.name != "VersioningConfiguration" {
        return Err(malformed(format!(
            "expected <VersioningConfiguration>, found <{}>",
            root.name
        ))
        .into());
    }
    if let Some(c) = root
        .children
        .iter()
        .find(|c| c.name != "Status" && c.name != "MfaDelete")
    {
        return Err(malformed(format!(
            "unexpected <{}> in <VersioningConfiguration>",
            c.name
        ))
        .into());
    }
    match root.child("MfaDelete")?.map(leaf).transpose()? {
        None | Some("Disabled") => {}
        Some("Enabled") => return Err(VersioningError::MfaDeleteNotImplemented),
        Some(other) => return Err(malformed(format!("bad <MfaDelete> {other:?}")).into()),
    }
    match root.child("Status")?.map(leaf).transpose()? {
        None => Ok(None),
        Some("Enabled") => Ok(Some(Versioning::Enabled)),
        Some("Suspended") => Ok(Some(Versioning::Suspended)),
        Some(other) => Err(malformed(format!("bad <Status> {other:?}")).into()),
    }
}

fn leaf(e: &Element) -> Result<&str, XmlError> {
    match e.children.first() {
        Some(c) => Err(malformed(format!(
            "unexpected <{}> in <{}>",
            c.name, e.name
        ))),
        None => Ok(e.text.trim()),
    }
}

/// Renders a bucket's versioning as GetBucketVersioning answers it: with its `Status`,
/// or, for a bucket that never had versioning, an empty
/// `<VersioningConfiguration xmlns="..."/>`. `MfaDelete` is never rendered (S3 sends it
/// only once it was configured, which Coffer refuses).
pub fn render_versioning_configuration(state: Versioning) -> String {
    let mut d = Doc::new();
    match state.as_str() {
        None => d.empty_root("VersioningConfiguration"),
        Some(status) => {
            d.root("VersioningConfiguration");
            d.text("Status", status);
            d.end("VersioningConfiguration");
        }
    }
    d.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Option<Versioning>, VersioningError> {
        parse_versioning_configuration(s.as_bytes())
    }

    #[test]
    fn statuses_parse_and_round_trip() {
        assert_eq!(
            parse(
                "<VersioningConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
                 <Status>Enabled</Status></VersioningConfiguration>"
            ),
            Ok(Some(Versioning::Enabled))
        );
        assert_eq!(
            parse(
                "<VersioningConfiguration><MfaDelete>Disabled</MfaDelete><Status>Suspended</Status></VersioningConfiguration>"
            ),
            Ok(Some(Versioning::Suspended))
        );
        assert_eq!(parse("<VersioningConfiguration/>"), Ok(None));
        assert_eq!(
            parse(
                "<VersioningConfiguration><MfaDelete>Disabled</MfaDelete></VersioningConfiguration>"
            ),
            Ok(None)
        );
        assert_eq!(
            parse(&render_versioning_configuration(Versioning::Unversioned)),
            Ok(None)
        );
        for status in [Versioning::Enabled, Versioning::Suspended] {
            assert_eq!(
                parse(&render_versioning_configuration(status)),
                Ok(Some(status))
            );
        }
    }

    #[test]
    fn golden_rendering() {
        assert_eq!(
            render_versioning_configuration(Versioning::Unversioned),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<VersioningConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>"
        );
        assert_eq!(
            render_versioning_configuration(Versioning::Suspended),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<VersioningConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Status>Suspended</Status></VersioningConfiguration>"
        );
    }

    #[test]
    fn faults() {
        for bad in [
            "",
            "<VersioningConfiguration>",
            "<Versioning><Status>Enabled</Status></Versioning>",
            "<VersioningConfiguration><Status>enabled</Status></VersioningConfiguration>",
            "<VersioningConfiguration><Status>Disabled</Status></VersioningConfiguration>",
            "<VersioningConfiguration><Status>Enabled</Status><Status>Enabled</Status></VersioningConfiguration>",
            "<VersioningConfiguration><MFADelete>Disabled</MFADelete></VersioningConfiguration>",
            "<VersioningConfiguration><MfaDelete>maybe</MfaDelete></VersioningConfiguration>",
            "<VersioningConfiguration><Status><Enabled/></Status></VersioningConfiguration>",
        ] {
            let r = parse(bad);
            assert!(
                matches!(r, Err(VersioningError::Malformed(_))),
                "{bad}: {r:?}"
            );
            assert_eq!(r.unwrap_err().code(), "MalformedXML");
        }
        let e = parse(
            "<VersioningConfiguration><Status>Enabled</Status><MfaDelete>Enabled</MfaDelete></VersioningConfiguration>",
        )
        .unwrap_err();
        assert_eq!(e, VersioningError::MfaDeleteNotImplemented);
        assert_eq!(e.code(), "NotImplemented");
    }
}
