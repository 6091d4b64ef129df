//! Signed tokens: the reply token carried in the sub-addressed `Reply-To` (member + local date),
//! and signed, expiring preference links. Both are HMAC-SHA256 over the server secret.
//!
//! Reply tokens are lower-case only because some mail systems lower-case the local part.

use chrono::NaiveDate;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::MemberId;

type HmacSha256 = Hmac<Sha256>;

/// The server's signing secret. Never printed.
#[derive(Clone)]
/// Held as HMAC-SHA256 keyed with it: each signature starts from a copy of that state
/// instead of hashing the key again (a digest signs a hundred comment addresses).
pub struct Secret(HmacSha256);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(**hidden**)")
    }
}

impl Secret {
    pub fn new(bytes: Vec<u8>) -> Self {
        // new_from_slice accepts any key length for HMAC, so this cannot fail.
        match HmacSha256::new_from_slice(&bytes) {
            Ok(m) => Secret(m),
            Err(_) => unreachable!("HMAC takes keys of any length"),
        }
    }
    fn mac(&self, purpose: &str, msg: &str) -> Vec<u8> {
        let mut m = self.0.clone();
        m.update(purpose.as_bytes());
        m.update(b"\0");
        m.update(msg.as_bytes());
        m.finalize().into_bytes().to_vec()
    }

    /// A hex HMAC of `msg` under `purpose` (kept apart from the "reply" and "link" purposes),
    /// for other signed values such as the preferences page's form token.
    pub fn sign(&self, purpose: &str, msg: &str) -> String {
        hex::encode(&self.mac(purpose, msg)[..16])
    }

    /// Whether `sig` is `sign(purpose, msg)`, compared in constant time.
    pub fn verify(&self, purpose: &str, msg: &str, sig: &str) -> bool {
        constant_eq(self.sign(purpose, msg).as_bytes(), sig.as_bytes())
    }
}

/// A verified reply token: which member answered which check-in (0: the daily stand-up) for
/// which local date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyToken {
    pub member: MemberId,
    pub date: NaiveDate,
    pub checkin: i64,
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is malformed")]
    Malformed,
    #[error("the token's signature does not match")]
    BadSignature,
    #[error("the link has expired")]
    Expired,
    #[error("the link was ended when its member signed out everywhere")]
    Revoked,
}

impl ReplyToken {
    /// `m<id>-<yyyymmdd>-<16 hex of HMAC>` for the stand-up (the form every earlier request
    /// carried), `m<id>-c<check-in>-<yyyymmdd>-<16 hex>` for another check-in.
    pub fn encode(&self, secret: &Secret) -> String {
        let body = self.body(&self.date.format("%Y%m%d").to_string());
        let sig = hex::encode(&secret.mac("reply", &body)[..8]);
        format!("{body}-{sig}")
    }

    fn body(&self, day: &str) -> String {
        match self.checkin {
            0 => format!("m{}-{day}", self.member),
            c => format!("m{}-c{c}-{day}", self.member),
        }
    }

    /// Parses and verifies a token (case-insensitive).
    pub fn verify(token: &str, secret: &Secret) -> Result<ReplyToken, TokenError> {
        let t = token.trim().to_ascii_lowercase();
        let parts: Vec<&str> = t.split('-').collect();
        let (m, c, d, sig) = match parts.as_slice() {
            [m, d, sig] => (*m, None, *d, *sig),
            [m, c, d, sig] => (*m, Some(*c), *d, *sig),
            _ => return Err(TokenError::Malformed),
        };
        let member: MemberId = m
            .strip_prefix('m')
            .and_then(|s| s.parse().ok())
            .ok_or(TokenError::Malformed)?;
        let checkin: i64 = match c {
            None => 0,
            Some(c) => c
                .strip_prefix('c')
                .and_then(|s| s.parse().ok())
                .filter(|n| *n > 0)
                .ok_or(TokenError::Malformed)?,
        };
        let date = NaiveDate::parse_from_str(d, "%Y%m%d").map_err(|_| TokenError::Malformed)?;
        let want = ReplyToken {
            member,
            date,
            checkin,
        };
        let expected = hex::encode(&secret.mac("reply", &want.body(d))[..8]);
        if !constant_eq(expected.as_bytes(), sig.as_bytes()) {
            return Err(TokenError::BadSignature);
        }
        Ok(want)
    }
}

/// A verified comment token: a reader answering one update from their digest (the address of
/// its "Reply to …" link, `updates+c…@domain`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommentToken {
    pub reader: MemberId,
    pub update: i64,
}

impl CommentToken {
    /// `c<reader>-u<update>-<16 hex of HMAC>`.
    pub fn encode(&self, secret: &Secret) -> String {
        let body = format!("c{}-u{}", self.reader, self.update);
        let sig = hex::encode(&secret.mac("comment", &body)[..8]);
        format!("{body}-{sig}")
    }

    /// Whether `token` has a comment token's shape (`c…`), to be verified as one.
    pub fn looks_like(token: &str) -> bool {
        token.trim().to_ascii_lowercase().starts_with('c')
    }

    /// Parses and verifies a token (case-insensitive).
    pub fn verify(token: &str, secret: &Secret) -> Result<CommentToken, TokenError> {
        let t = token.trim().to_ascii_lowercase();
        let mut parts = t.split('-');
        let (Some(c), Some(u), Some(sig), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let reader: MemberId = c
            .strip_prefix('c')
            .and_then(|s| s.parse().ok())
            .ok_or(TokenError::Malformed)?;
        let update: i64 = u
            .strip_prefix('u')
            .and_then(|s| s.parse().ok())
            .ok_or(TokenError::Malformed)?;
        let expected = hex::encode(&secret.mac("comment", &format!("c{reader}-u{update}"))[..8]);
        if !constant_eq(expected.as_bytes(), sig.as_bytes()) {
            return Err(TokenError::BadSignature);
        }
        Ok(CommentToken { reader, update })
    }
}

/// A signed preferences link payload: member, expiry (unix seconds) and the member's link
/// epoch (raised by `member signout`, which ends every link signed over an older one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkToken {
    pub member: MemberId,
    pub expires: i64,
    pub epoch: i64,
}

/// A link token as written, before its signature is checked against the member's epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedLink {
    pub member: MemberId,
    pub expires: i64,
    sig: String,
}

/// How far back `check` looks for the epoch an ended link was signed over.
const MAX_EPOCHS_BACK: i64 = 1000;

impl LinkToken {
    /// `<id>.<expires>.<32 hex of HMAC>`; goes in a URL path segment. The epoch is signed,
    /// not written: the verifier knows the member's current one. (Epoch 0 signs the bare
    /// `<id>.<expires>`, so links from before epochs existed still work.)
    pub fn encode(&self, secret: &Secret) -> String {
        let body = format!("{}.{}", self.member, self.expires);
        format!("{body}.{}", link_sig(secret, &body, self.epoch))
    }

    /// Parses the one canonical spelling of a link token: decimal numbers without sign or
    /// leading zeros, and a 32-digit lower-case hex signature. Anything else is malformed.
    pub fn parse(token: &str) -> Result<SignedLink, TokenError> {
        let mut parts = token.split('.');
        let (Some(m), Some(e), Some(sig), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let member: MemberId = canonical_number(m)?;
        let expires: i64 = canonical_number(e)?;
        if sig.len() != 32 || !sig.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(TokenError::Malformed);
        }
        Ok(SignedLink {
            member,
            expires,
            sig: sig.to_string(),
        })
    }

    /// Parses and checks a token against the member's current `epoch` in one step.
    pub fn verify(
        token: &str,
        secret: &Secret,
        epoch: i64,
        now: i64,
    ) -> Result<LinkToken, TokenError> {
        Self::parse(token)?.check(secret, epoch, now)
    }
}

impl SignedLink {
    /// The link, if it is signed over the member's current `epoch` and not expired;
    /// [`TokenError::Revoked`] when it was signed over an earlier epoch (the member signed out
    /// everywhere since).
    pub fn check(&self, secret: &Secret, epoch: i64, now: i64) -> Result<LinkToken, TokenError> {
        let body = format!("{}.{}", self.member, self.expires);
        let matches =
            |e: i64| constant_eq(link_sig(secret, &body, e).as_bytes(), self.sig.as_bytes());
        if !matches(epoch) {
            let earlier = (epoch - MAX_EPOCHS_BACK).max(0)..epoch;
            if earlier.rev().any(matches) {
                return Err(TokenError::Revoked);
            }
            return Err(TokenError::BadSignature);
        }
        if self.expires < now {
            return Err(TokenError::Expired);
        }
        Ok(LinkToken {
            member: self.member,
            expires: self.expires,
            epoch,
        })
    }

    /// The link if its signature is good over any epoch up to `epoch` (expiry still counts):
    /// for the one-click unsubscribe, which must keep working from every email ever sent.
    pub fn check_any_epoch(
        &self,
        secret: &Secret,
        epoch: i64,
        now: i64,
    ) -> Result<LinkToken, TokenError> {
        let body = format!("{}.{}", self.member, self.expires);
        let signed = ((epoch - MAX_EPOCHS_BACK).max(0)..=epoch)
            .rev()
            .find(|e| constant_eq(link_sig(secret, &body, *e).as_bytes(), self.sig.as_bytes()))
            .ok_or(TokenError::BadSignature)?;
        if self.expires < now {
            return Err(TokenError::Expired);
        }
        Ok(LinkToken {
            member: self.member,
            expires: self.expires,
            epoch: signed,
        })
    }
}

/// The "was this you?" link of a quarantined message without a token: inbound message,
/// its member, expiry. Signed over the member's link epoch like preference links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfirmToken {
    pub inbound: i64,
    pub member: MemberId,
    pub expires: i64,
}

impl ConfirmToken {
    /// `<inbound>.<member>.<expires>.<32 hex of HMAC>`.
    pub fn encode(&self, secret: &Secret, epoch: i64) -> String {
        format!("{}.{}", self.body(), self.sig(secret, epoch))
    }

    fn body(&self) -> String {
        format!("{}.{}.{}", self.inbound, self.member, self.expires)
    }

    fn sig(&self, secret: &Secret, epoch: i64) -> String {
        hex::encode(&secret.mac("confirm", &format!("{}.e{epoch}", self.body()))[..16])
    }

    /// The token's payload in its one canonical spelling, before the signature is checked
    /// (the member's epoch is needed for that), and its signature.
    pub fn parse(token: &str) -> Result<(ConfirmToken, String), TokenError> {
        let mut parts = token.split('.');
        let (Some(i), Some(m), Some(e), Some(sig), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(TokenError::Malformed);
        };
        let t = ConfirmToken {
            inbound: canonical_number(i)?,
            member: canonical_number(m)?,
            expires: canonical_number(e)?,
        };
        Ok((t, sig.to_string()))
    }

    /// Whether `sig` signs this payload over the member's current `epoch` and it has not
    /// expired; [`TokenError::Revoked`] when it was signed over an earlier epoch.
    pub fn check(
        &self,
        sig: &str,
        secret: &Secret,
        epoch: i64,
        now: i64,
    ) -> Result<(), TokenError> {
        let matches = |e: i64| constant_eq(self.sig(secret, e).as_bytes(), sig.as_bytes());
        if !matches(epoch) {
            // Signed over an earlier epoch: a real link, ended by `member signout`.
            if ((epoch - MAX_EPOCHS_BACK).max(0)..epoch).rev().any(matches) {
                return Err(TokenError::Revoked);
            }
            return Err(TokenError::BadSignature);
        }
        if self.expires < now {
            return Err(TokenError::Expired);
        }
        Ok(())
    }
}

fn link_sig(secret: &Secret, body: &str, epoch: i64) -> String {
    let signed = if epoch == 0 {
        body.to_string()
    } else {
        format!("{body}.e{epoch}")
    };
    hex::encode(&secret.mac("link", &signed)[..16])
}

/// A non-negative decimal number written as `to_string` writes it (no sign, no leading zero).
fn canonical_number<T: std::str::FromStr + ToString>(s: &str) -> Result<T, TokenError> {
    let n: T = s.parse().map_err(|_| TokenError::Malformed)?;
    if n.to_string() != s || s.starts_with('-') {
        return Err(TokenError::Malformed);
    }
    Ok(n)
}

/// Compare without an early exit, so timing does not reveal how much of a signature matched.
pub fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A fresh API token, `tdg_` and 48 hex digits (192 random bits). Shown once; only
/// [`hash_api_token`] of it is stored.
pub fn generate_api_token() -> String {
    let raw: [u8; 24] = rand::random();
    format!("tdg_{}", hex::encode(raw))
}

/// SHA-256 hex of an API token: what is stored at rest.
pub fn hash_api_token(token: &str) -> String {
    use sha2::Digest;
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> Secret {
        Secret::new(b"test secret".to_vec())
    }

    #[test]
    fn reply_token_round_trips_and_is_case_insensitive() {
        let t = ReplyToken {
            member: 42,
            date: NaiveDate::from_ymd_opt(2026, 3, 8).unwrap(),
            checkin: 0,
        };
        let s = t.encode(&secret());
        assert_eq!(ReplyToken::verify(&s, &secret()), Ok(t));
        assert_eq!(ReplyToken::verify(&s.to_uppercase(), &secret()), Ok(t));
    }

    #[test]
    fn a_checkin_token_names_its_checkin_and_cannot_be_moved_to_another() {
        let standup = ReplyToken {
            member: 42,
            date: NaiveDate::from_ymd_opt(2026, 3, 13).unwrap(),
            checkin: 0,
        };
        let wins = ReplyToken {
            checkin: 7,
            ..standup
        };
        let s = wins.encode(&secret());
        assert!(s.starts_with("m42-c7-20260313-"), "{s}");
        assert_eq!(ReplyToken::verify(&s, &secret()), Ok(wins));
        // The stand-up's token is the form earlier requests carried.
        assert!(standup.encode(&secret()).starts_with("m42-20260313-"));
        // Another check-in's number, or the stand-up's form with the same signature: refused.
        let moved = s.replacen("-c7-", "-c8-", 1);
        assert_eq!(
            ReplyToken::verify(&moved, &secret()),
            Err(TokenError::BadSignature)
        );
        let sig = s.rsplit('-').next().unwrap();
        let as_standup = format!("m42-20260313-{sig}");
        assert_eq!(
            ReplyToken::verify(&as_standup, &secret()),
            Err(TokenError::BadSignature)
        );
        assert_eq!(
            ReplyToken::verify("m42-c0-20260313-00", &secret()),
            Err(TokenError::Malformed)
        );
    }

    #[test]
    fn tampered_reply_tokens_are_refused() {
        let t = ReplyToken {
            member: 42,
            date: NaiveDate::from_ymd_opt(2026, 3, 8).unwrap(),
            checkin: 0,
        };
        let s = t.encode(&secret());
        let other_member = s.replacen("m42", "m43", 1);
        assert_eq!(
            ReplyToken::verify(&other_member, &secret()),
            Err(TokenError::BadSignature)
        );
        let other_day = s.replacen("20260308", "20260309", 1);
        assert_eq!(
            ReplyToken::verify(&other_day, &secret()),
            Err(TokenError::BadSignature)
        );
        assert_eq!(
            ReplyToken::verify("garbage", &secret()),
            Err(TokenError::Malformed)
        );
        assert_eq!(
            ReplyToken::verify(&s, &Secret::new(b"other".to_vec())),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn links_expire_and_cannot_be_moved_to_another_member() {
        let l = LinkToken {
            member: 7,
            expires: 1000,
            epoch: 0,
        };
        let s = l.encode(&secret());
        assert_eq!(LinkToken::verify(&s, &secret(), 0, 999), Ok(l));
        assert_eq!(
            LinkToken::verify(&s, &secret(), 0, 1001),
            Err(TokenError::Expired)
        );
        let moved = s.replacen("7.", "8.", 1);
        assert_eq!(
            LinkToken::verify(&moved, &secret(), 0, 0),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn a_raised_epoch_revokes_every_older_link_and_unsubscribe_still_works() {
        let old = LinkToken {
            member: 7,
            expires: 1000,
            epoch: 0,
        }
        .encode(&secret());
        let mid = LinkToken {
            member: 7,
            expires: 1000,
            epoch: 1,
        }
        .encode(&secret());
        let new = LinkToken {
            member: 7,
            expires: 1000,
            epoch: 2,
        }
        .encode(&secret());
        for t in [&old, &mid] {
            assert_eq!(
                LinkToken::verify(t, &secret(), 2, 0),
                Err(TokenError::Revoked)
            );
            let l = LinkToken::parse(t)
                .unwrap()
                .check_any_epoch(&secret(), 2, 0);
            assert!(l.is_ok(), "{l:?}");
        }
        assert_eq!(LinkToken::verify(&new, &secret(), 2, 0).unwrap().epoch, 2);
        // A link signed over a future epoch is simply not valid.
        assert_eq!(
            LinkToken::verify(&new, &secret(), 1, 0),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn a_link_token_has_one_spelling() {
        let s = LinkToken {
            member: 2,
            expires: 1000,
            epoch: 0,
        }
        .encode(&secret());
        assert!(LinkToken::verify(&s, &secret(), 0, 0).is_ok());
        let (_, sig) = s.rsplit_once('.').unwrap();
        for other in [
            format!("02.1000.{sig}"),
            format!("+2.1000.{sig}"),
            format!("2.01000.{sig}"),
            format!("2.+1000.{sig}"),
            format!("2.1000.{}", sig.to_uppercase()),
            format!("2.1000.{sig}0"),
            format!(" 2.1000.{sig}"),
        ] {
            assert_eq!(
                LinkToken::verify(&other, &secret(), 0, 0),
                Err(TokenError::Malformed),
                "{other}"
            );
        }
    }

    #[test]
    fn comment_tokens_round_trip_and_refuse_forgery() {
        let t = CommentToken {
            reader: 7,
            update: 42,
        };
        let enc = t.encode(&secret());
        assert!(enc.starts_with("c7-u42-") && CommentToken::looks_like(&enc));
        assert_eq!(CommentToken::verify(&enc.to_uppercase(), &secret()), Ok(t));
        // Another update with the same signature, or a reply token: refused.
        let forged = enc.replace("u42", "u43");
        assert_eq!(
            CommentToken::verify(&forged, &secret()),
            Err(TokenError::BadSignature)
        );
        assert_eq!(
            CommentToken::verify("m7-20260309-0011223344556677", &secret()),
            Err(TokenError::Malformed)
        );
    }
}
