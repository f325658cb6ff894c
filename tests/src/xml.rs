//! Minimal S3 XML reading: enough to check what a test needs without a parser.

/// Unescapes the five predefined XML entities and numeric character references.
pub fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp..];
        let Some(semi) = after.find(';') else {
            out.push_str(after);
            return out;
        };
        let entity = &after[1..semi];
        let decoded = match entity {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => out.push(c),
            None => out.push_str(&after[..=semi]),
        }
        rest = &after[semi + 1..];
    }
    out.push_str(rest);
    out
}

/// The text of every `<tag>...</tag>` element (not nested in itself), unescaped, in order.
/// `<tag/>` yields an empty string.
pub fn all_tag_text(xml: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}>");
    let open_attr = format!("<{tag} ");
    let empty = format!("<{tag}/>");
    let close = format!("</{tag}>");
    let mut found = Vec::new();
    let mut rest = xml;
    loop {
        let candidates = [
            rest.find(&open).map(|i| (i, open.len(), false)),
            rest.find(&open_attr).map(|i| (i, 0, false)),
            rest.find(&empty).map(|i| (i, empty.len(), true)),
        ];
        let Some((start, skip, is_empty)) = candidates.into_iter().flatten().min_by_key(|c| c.0)
        else {
            return found;
        };
        if is_empty {
            found.push(String::new());
            rest = &rest[start + skip..];
            continue;
        }
        let body_start = if skip == 0 {
            match rest[start..].find('>') {
                Some(gt) if rest[start..start + gt].ends_with('/') => {
                    found.push(String::new());
                    rest = &rest[start + gt + 1..];
                    continue;
                }
                Some(gt) => start + gt + 1,
                None => return found,
            }
        } else {
            start + skip
        };
        let Some(len) = rest[body_start..].find(&close) else {
            return found;
        };
        found.push(unescape(&rest[body_start..body_start + len]));
        rest = &rest[body_start + len + close.len()..];
    }
}

/// The text of the first `<tag>` element, unescaped.
pub fn tag_text(xml: &str, tag: &str) -> Option<String> {
    all_tag_text(xml, tag).into_iter().next()
}

/// Whether the document contains a `<tag>` element (with or without content).
pub fn has_tag(xml: &str, tag: &str) -> bool {
    !all_tag_text(xml, tag).is_empty()
}

/// The raw (still escaped) inner XML of every `<tag>` element, for nested structures such as
/// `<Contents>` or `<Version>`.
pub fn all_elements(xml: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut found = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        let body = &rest[start + open.len()..];
        let Some(len) = body.find(&close) else { break };
        found.push(body[..len].to_string());
        rest = &body[len + close.len()..];
    }
    found
}

/// The `<Code>` of an S3 error document.
pub fn error_code(xml: &str) -> Option<String> {
    if !xml.contains("<Error") {
        return None;
    }
    tag_text(xml, "Code")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_elements() {
        let doc = "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><Message>a &amp; b</Message>\
                   <Marker/><Prefix></Prefix><Key>x&#x41;</Key><Key>y</Key></Error>";
        assert_eq!(error_code(doc).as_deref(), Some("NoSuchKey"));
        assert_eq!(tag_text(doc, "Message").as_deref(), Some("a & b"));
        assert_eq!(tag_text(doc, "Marker").as_deref(), Some(""));
        assert_eq!(tag_text(doc, "Prefix").as_deref(), Some(""));
        assert_eq!(all_tag_text(doc, "Key"), ["xA", "y"]);
        assert!(!has_tag(doc, "Missing"));
        assert_eq!(
            error_code("<ListBucketResult><Code>x</Code></ListBucketResult>"),
            None
        );
        let list = "<R><Contents><Key>a</Key></Contents><Contents><Key>b</Key></Contents></R>";
        assert_eq!(
            all_elements(list, "Contents"),
            ["<Key>a</Key>", "<Key>b</Key>"]
        );
    }
}
