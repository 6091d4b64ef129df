//! Outbound webhooks signed by the Standard Webhooks specification
//! (<https://www.standardwebhooks.com/>, spec v1): the event names, the endpoint secret
//! (`whsec_` + base64 of 32 random bytes), the message id (`msg_…`, the `webhook-id` header,
//! the same on every retry), the signature (`webhook-signature: v1,<base64 HMAC-SHA256 of
//! "{id}.{timestamp}.{body}">`), the JSON envelope, and the retry schedule. Pure logic.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The events a webhook may ask for, as their `type` reads.
pub const EVENTS: &[&str] = &[
    "update.created",
    "update.revised",
    "blocker.opened",
    "blocker.resolved",
    "comment.created",
    "reaction.added",
];

/// The event `tidings webhook test` sends; every endpoint receives it, whatever it asked for.
pub const PING: &str = "ping";

const SECRET_PREFIX: &str = "whsec_";

/// The events of `list` (comma or space separated names of [`EVENTS`]; empty or `*`: all),
/// in [`EVENTS`]' order, each once; an unknown name is an error naming it.
pub fn parse_events(list: &str) -> Result<Vec<&'static str>, String> {
    let names: Vec<&str> = list
        .split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if names.is_empty() || names == ["*"] {
        return Ok(EVENTS.to_vec());
    }
    for n in &names {
        if !EVENTS.contains(n) {
            return Err(format!(
                "unknown event {n:?} (events: {})",
                EVENTS.join(", ")
            ));
        }
    }
    Ok(EVENTS
        .iter()
        .copied()
        .filter(|e| names.contains(e))
        .collect())
}

/// A new endpoint secret, `whsec_` and the base64 of 32 random bytes.
pub fn new_secret() -> String {
    let raw: [u8; 32] = rand::random();
    format!("{SECRET_PREFIX}{}", STANDARD.encode(raw))
}

/// The key bytes of a secret (`whsec_` optional, as the spec's libraries read it).
pub fn secret_key(secret: &str) -> Result<Vec<u8>, String> {
    let b64 = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
    let key = STANDARD
        .decode(b64.trim_end_matches('='))
        .or_else(|_| {
            base64::engine::general_purpose::STANDARD_NO_PAD.decode(b64.trim_end_matches('='))
        })
        .map_err(|_| "the secret is not base64 after whsec_".to_string())?;
    if key.is_empty() {
        return Err("the secret is empty".into());
    }
    Ok(key)
}

/// A new message id: `msg_` and 24 random letters and digits.
pub fn new_message_id() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let raw: [u8; 24] = rand::random();
    let tail: String = raw
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect();
    format!("msg_{tail}")
}

/// The `webhook-signature` value for `body` sent as message `id` at Unix second `timestamp`.
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC takes a key of any length; new_from_slice cannot fail for it.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts keys of every length"),
    };
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// The body of a delivery: `{"type": …, "timestamp": …, "data": …}` (the spec's envelope),
/// `timestamp` the event's instant in RFC 3339 UTC.
pub fn envelope(kind: &str, at: i64, data: serde_json::Value) -> String {
    let ts = chrono::DateTime::from_timestamp(at, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    serde_json::json!({ "type": kind, "timestamp": ts, "data": data }).to_string()
}

/// Seconds to wait before attempt `attempt + 1` after attempt `attempt` (1-based) failed:
/// the spec's suggested schedule, 5 s, 5 min, 30 min, 2 h, 5 h, then every 10 h.
pub fn backoff_secs(attempt: i64) -> i64 {
    match attempt {
        ..=1 => 5,
        2 => 5 * 60,
        3 => 30 * 60,
        4 => 2 * 3600,
        5 => 5 * 3600,
        _ => 10 * 3600,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_the_specs_example() {
        // The example of the Standard Webhooks libraries' tests (svix-webhooks, python and
        // JavaScript): the same secret, id, timestamp and body give this signature.
        let key = secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("key");
        assert_eq!(
            sign(
                &key,
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330,
                br#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn secrets_and_ids_have_their_shapes() {
        let s = new_secret();
        assert!(s.starts_with("whsec_"));
        assert_eq!(secret_key(&s).expect("key").len(), 32);
        assert_ne!(s, new_secret());
        let id = new_message_id();
        assert!(id.starts_with("msg_") && id.len() == 28, "{id}");
        assert!(secret_key("whsec_!!!").is_err());
        assert!(secret_key("whsec_").is_err());
    }

    #[test]
    fn events_are_checked_and_ordered() {
        assert_eq!(parse_events("").expect("all"), EVENTS);
        assert_eq!(parse_events("*").expect("all"), EVENTS);
        assert_eq!(
            parse_events("blocker.resolved, update.created").expect("two"),
            ["update.created", "blocker.resolved"]
        );
        let e = parse_events("update.created,update.deleted").expect_err("unknown");
        assert!(e.contains("\"update.deleted\""), "{e}");
    }

    #[test]
    fn the_envelope_and_backoff() {
        let b = envelope("ping", 1_800_000_000, serde_json::json!({"a": 1}));
        let v: serde_json::Value = serde_json::from_str(&b).expect("json");
        assert_eq!(
            v,
            serde_json::json!({"type": "ping", "timestamp": "2027-01-15T08:00:00Z", "data": {"a": 1}})
        );
        let waits: Vec<i64> = (1..=8).map(backoff_secs).collect();
        assert_eq!(waits, [5, 300, 1800, 7200, 18000, 36000, 36000, 36000]);
    }
}
