//! Whose word counts on who sent a message: the `Authentication-Results` header (RFC 8601)
//! that our own receiving server added, named by its authserv-id
//! (`mail.inbound.trusted_authserv_id`). Anyone can write such a header into a message, so
//! one from another id, or lower down than the first trusted one, is never believed. Pure.

/// What the receiving server says about the `From:` of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// An aligned DMARC pass, or a DKIM pass for the From domain: the From is genuine.
    Pass(String),
    /// DMARC failed: the From is probably forged.
    Fail(String),
    /// The trusted header is there but vouches for nothing (no DMARC/DKIM pass for From).
    Unverified(String),
    /// No header from a trusted authserv-id (none configured, or the server stamped none).
    Absent,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        matches!(self, Verdict::Pass(_))
    }

    pub fn failed(&self) -> bool {
        matches!(self, Verdict::Fail(_))
    }

    /// A few words for a quarantine reason.
    pub fn describe(&self) -> String {
        match self {
            Verdict::Pass(w) => format!("the receiving server vouches for it ({w})"),
            Verdict::Fail(w) => format!("the receiving server reports {w}"),
            Verdict::Unverified(w) => format!(
                "the receiving server's Authentication-Results shows no aligned DMARC or DKIM pass ({w})"
            ),
            Verdict::Absent => "no Authentication-Results from the receiving server (mail.inbound.trusted_authserv_id)".to_string(),
        }
    }
}

/// Whether authserv-id `id` is one of `trusted` (case-insensitive; `*.example.com` matches
/// any id ending in `.example.com`, for providers whose receiving hosts differ).
pub fn is_trusted(id: &str, trusted: &[String]) -> bool {
    trusted.iter().any(|t| {
        let t = t.trim();
        match t.strip_prefix("*.") {
            Some(suffix) => {
                id.len() > suffix.len() + 1
                    && id
                        .to_ascii_lowercase()
                        .ends_with(&format!(".{}", suffix.to_ascii_lowercase()))
            }
            None => !t.is_empty() && id.eq_ignore_ascii_case(t),
        }
    })
}

/// The verdict for a message whose `Authentication-Results` values are `headers` (top first)
/// and whose From domain is `from_domain`: only the topmost header of a trusted id counts.
pub fn verdict(headers: &[String], trusted: &[String], from_domain: &str) -> Verdict {
    let Some(results) = headers
        .iter()
        .map(|h| parse(h))
        .find(|r| is_trusted(&r.authserv_id, trusted))
    else {
        return Verdict::Absent;
    };
    let from_domain = from_domain.to_ascii_lowercase();
    if let Some(r) = results
        .results
        .iter()
        .find(|r| r.method == "dmarc" && r.result == "fail")
    {
        return Verdict::Fail(r.describe());
    }
    for r in &results.results {
        if r.result != "pass" {
            continue;
        }
        match r.method.as_str() {
            // DMARC evaluates the From domain by definition; when the header names it, it
            // must be this message's.
            "dmarc" if r.prop("header.from").is_none_or(|d| d == from_domain) => {
                return Verdict::Pass(r.describe());
            }
            "dkim" => {
                let d = r.prop("header.d").map(str::to_string).or_else(|| {
                    r.prop("header.i")
                        .and_then(|i| i.rsplit_once('@').map(|(_, d)| d.to_string()))
                });
                // Relaxed alignment: the signing domain is the From domain or a parent of it.
                if d.is_some_and(|d| {
                    !d.is_empty() && (from_domain == d || from_domain.ends_with(&format!(".{d}")))
                }) {
                    return Verdict::Pass(r.describe());
                }
            }
            _ => {}
        }
    }
    let seen: Vec<String> = results.results.iter().map(|r| r.describe()).collect();
    Verdict::Unverified(if seen.is_empty() {
        "none".to_string()
    } else {
        seen.join(", ")
    })
}

/// One parsed `Authentication-Results` value.
#[derive(Debug, Default)]
struct Results {
    authserv_id: String,
    results: Vec<MethodResult>,
}

/// `method=result` and its `ptype.property=value` pairs, lowercased.
#[derive(Debug, Default)]
struct MethodResult {
    method: String,
    result: String,
    props: Vec<(String, String)>,
}

impl MethodResult {
    fn prop(&self, name: &str) -> Option<&str> {
        self.props
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn describe(&self) -> String {
        match self.prop("header.from").or(self.prop("header.d")) {
            Some(d) => format!("{}={} {d}", self.method, self.result),
            None => format!("{}={}", self.method, self.result),
        }
    }
}

/// Parses `authserv-id [version] *( ";" method=result [reason] *prop )` with comments
/// removed; whatever does not fit is skipped.
fn parse(value: &str) -> Results {
    let clean = strip_comments(value);
    let mut parts = clean.split(';');
    let authserv_id = parts
        .next()
        .and_then(|p| p.split_whitespace().next())
        .unwrap_or_default()
        .to_string();
    let mut results = Vec::new();
    for part in parts {
        let mut words = part.split_whitespace();
        let Some((method, result)) = words.next().and_then(|w| w.split_once('=')) else {
            continue;
        };
        // `dkim/1=pass`: a method version.
        let method = method.split('/').next().unwrap_or(method);
        let props = words
            .filter_map(|w| w.split_once('='))
            .map(|(k, v)| {
                (
                    k.to_ascii_lowercase(),
                    v.trim_matches('"').to_ascii_lowercase(),
                )
            })
            .collect();
        results.push(MethodResult {
            method: method.trim().to_ascii_lowercase(),
            result: result.trim().to_ascii_lowercase(),
            props,
        });
    }
    Results {
        authserv_id,
        results,
    }
}

/// The value without RFC 5322 comments (nested parentheses, quoted strings kept whole), with
/// folding whitespace as spaces.
fn strip_comments(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut depth = 0usize;
    let mut quoted = false;
    let mut escaped = false;
    for c in value.chars() {
        if escaped {
            escaped = false;
            if depth == 0 {
                out.push(c);
            }
            continue;
        }
        match c {
            '\\' => {
                escaped = true;
                if depth == 0 && quoted {
                    out.push(c);
                }
            }
            '"' if depth == 0 => {
                quoted = !quoted;
                out.push(c);
            }
            '(' if !quoted => depth += 1,
            ')' if !quoted && depth > 0 => depth -= 1,
            '\r' | '\n' | '\t' if depth == 0 => out.push(' '),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn only_the_topmost_header_of_a_trusted_id_counts() {
        let trusted = ids(&["mx.example.test"]);
        let forged_above = vec![
            "evil.test; dmarc=pass header.from=example.test".to_string(),
            "mx.example.test; dmarc=none header.from=example.test".to_string(),
            "mx.example.test; dmarc=pass header.from=example.test".to_string(),
        ];
        assert!(matches!(
            verdict(&forged_above, &trusted, "example.test"),
            Verdict::Unverified(_)
        ));
        let stamped = vec![
            "mx.example.test; spf=pass smtp.mailfrom=example.test; dkim=pass header.d=example.test; dmarc=pass (p=reject dis=none) header.from=example.test".to_string(),
        ];
        assert!(verdict(&stamped, &trusted, "example.test").passed());
        // Not configured: nothing is believed.
        assert_eq!(verdict(&stamped, &[], "example.test"), Verdict::Absent);
        // Another id only.
        assert_eq!(
            verdict(&stamped, &ids(&["mx.google.com"]), "example.test"),
            Verdict::Absent
        );
    }

    #[test]
    fn a_pass_must_be_aligned_with_the_from_domain() {
        let t = ids(&["mx.example.test"]);
        let h = |s: &str| vec![format!("mx.example.test; {s}")];
        assert!(!verdict(&h("dmarc=pass header.from=evil.test"), &t, "example.test").passed());
        assert!(verdict(&h("dmarc=pass"), &t, "example.test").passed());
        assert!(verdict(&h("dkim=pass header.d=example.test"), &t, "example.test").passed());
        assert!(verdict(&h("dkim=pass header.d=example.test"), &t, "eu.example.test").passed());
        assert!(!verdict(&h("dkim=pass header.d=evil.test"), &t, "example.test").passed());
        assert!(!verdict(&h("dkim=pass header.d=ample.test"), &t, "example.test").passed());
        assert!(verdict(&h("dkim=pass header.i=@example.test"), &t, "example.test").passed());
        assert!(
            !verdict(
                &h("spf=pass smtp.mailfrom=example.test"),
                &t,
                "example.test"
            )
            .passed()
        );
        assert!(
            verdict(
                &h("dmarc=fail header.from=example.test; dkim=pass header.d=example.test"),
                &t,
                "example.test"
            )
            .failed()
        );
    }

    #[test]
    fn comments_versions_and_folding_are_read_as_rfc_8601_says() {
        let t = ids(&["*.messagingengine.com", "mx.google.com"]);
        let fastmail = vec!["mx6.messagingengine.com;\r\n    arc=none (no signatures found);\r\n    dkim=pass (2048-bit rsa key sha256) header.d=example.com header.i=@example.com header.b=abc header.a=rsa-sha256 header.s=s1 x-bits=2048;\r\n    dmarc=pass policy.published-domain-policy=none header.from=example.com".to_string()];
        assert!(verdict(&fastmail, &t, "example.com").passed());
        let gmail = vec!["mx.google.com 1; dkim=pass header.i=@gmail.com header.s=20230601 header.b=\"x\"; spf=pass (google.com: domain of a@gmail.com designates 1.2.3.4 as permitted sender) smtp.mailfrom=a@gmail.com; dmarc=pass (p=NONE sp=QUARANTINE dis=NONE) header.from=gmail.com".to_string()];
        assert!(verdict(&gmail, &t, "gmail.com").passed());
        // "(dmarc=pass)" in a comment is no result.
        let commented =
            vec!["mx.google.com; spf=none (dmarc=pass header.from=gmail.com)".to_string()];
        assert!(!verdict(&commented, &t, "gmail.com").passed());
        assert!(!is_trusted("messagingengine.com", &t));
        assert!(is_trusted("MX.Google.COM", &t));
    }
}
