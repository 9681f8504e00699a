//! Masking secrets before text reaches an error, a log line or an event: credentials in URLs
//! (`https://user:pass@host/…` → `https://***@host/…`).

use std::borrow::Cow;

/// `text` with the userinfo of every `scheme://userinfo@host` masked as `***`.
pub fn secrets(text: &str) -> Cow<'_, str> {
    if !text.contains("://") || !text.contains('@') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        // The authority ends at the first '/', '?', '#' or whitespace.
        let end = tail
            .find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace() || c == '"')
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(i) => {
                out.push_str("***");
                out.push_str(&authority[i..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::secrets;

    #[test]
    fn masks_userinfo_only() {
        assert_eq!(
            secrets("https://a:b@h.example/p?q=1"),
            "https://***@h.example/p?q=1"
        );
        assert_eq!(
            secrets("see postgres://u@db/x and http://h/@x"),
            "see postgres://***@db/x and http://h/@x"
        );
        assert_eq!(secrets("mail me@x.example"), "mail me@x.example");
        assert_eq!(secrets("https://plain.example"), "https://plain.example");
    }
}
