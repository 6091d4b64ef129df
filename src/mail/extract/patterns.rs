//! Line-level patterns shared by the plain-text rules: quote headers ("On … wrote:"),
//! Outlook header blocks, "original message" separators, forward markers, mobile
//! footers and valedictions, each in many languages.
//!
//! Every regex is compiled once (`LazyLock`) and is only ever run on a single line or
//! on a window of at most a few short lines, so the cost per message stays linear.

use regex::Regex;
use std::sync::LazyLock;

/// A lazily compiled pattern. `None` only if a literal of this module were invalid,
/// which the unit tests rule out; at run time that degrades to "never matches"
/// instead of a panic.
pub type Pattern = LazyLock<Option<Regex>>;

/// Compile a pattern literal of this module.
fn re(pattern: &str) -> Option<Regex> {
    Regex::new(pattern).ok()
}

/// Does `p` match somewhere in `s`?
pub fn is_match(p: &Pattern, s: &str) -> bool {
    p.as_ref().is_some_and(|r| r.is_match(s))
}

/// Replace all matches of `p` in `s` (unchanged when the pattern is unavailable).
pub fn replace_all<'s>(p: &Pattern, s: &'s str, with: &str) -> std::borrow::Cow<'s, str> {
    match p.as_ref() {
        Some(r) => r.replace_all(s, with),
        None => std::borrow::Cow::Borrowed(s),
    }
}

/// First match of `p` in `s`.
pub fn find<'s>(p: &Pattern, s: &'s str) -> Option<regex::Match<'s>> {
    p.as_ref().and_then(|r| r.find(s))
}

/// "wrote"-verbs of quote headers (attribution lines), lower/upper case insensitive.
/// Kept as one alternation so each language is a plain word list.
const WROTE_VERBS: &str = concat!(
    "wrote|writes|has written|schrieb|hat geschrieben|schreef|het volgende geschreven|geschreven|",
    "a écrit|a ecrit|écrit|escribió|escribio|ha escrito|ha escrit|va escriure|ha scritto|scrisse|",
    "escreveu|escrevera|napisał\\(a\\)|napisała|napisał|napisal|pisze|skrev|skrivit|skriver|",
    "kirjoitti|написал\\(а\\)|написала|написал|написав|написала|пише|пишет|napsal\\(a\\)|napsala|",
    "napsal|napísal|írta|yazdı|đã viết|έγραψε|rašė|rakstīja|kirjutas|a scris|wrote the following"
);

/// Verbs that only count when they end the line with a colon ("… <bob@x.com> sent:"):
/// too common in ordinary sentences to be trusted otherwise.
const END_ONLY_VERBS: &str = "sent";

/// CJK attribution endings (no word boundaries in these scripts).
const CJK_VERBS: &str = "写道|寫道|のメッセージ|が書きました|は書きました|작성|님이 작성";

/// Header line ends with a wrote-verb, optionally followed by a colon and/or dashes
/// ("… wrote:", "---- John wrote ----", "… a écrit :").
pub static VERB_AT_END: Pattern = LazyLock::new(|| {
    re(&format!(
        r"(?i)(?:^|[^\p{{L}}])(?:{WROTE_VERBS})\s*[:：]?[\s\-–—]*$|(?:^|[^\p{{L}}])(?:{END_ONLY_VERBS})\s*[:：]\s*$|(?:{CJK_VERBS})\s*[:：]?\s*$"
    ))
});

/// A wrote-verb anywhere ("Am … schrieb Adam <a@x>:" puts the name after the verb).
pub static VERB_ANY: Pattern = LazyLock::new(|| {
    re(&format!(
        r"(?i)(?:^|[^\p{{L}}])(?:{WROTE_VERBS})(?:[^\p{{L}}]|$)|(?:{CJK_VERBS})"
    ))
});

/// Something that looks like a calendar date or a year, for verb-less headers
/// ("2014-03-20 8:48 GMT+01:00 Rémi <r@x.com>:").
pub static DATE_LIKE: Pattern =
    LazyLock::new(|| re(r"(?:19|20)\d\d|\d{1,4}[./\-]\d{1,2}[./\-]\d{1,4}|\d{1,2}:\d\d"));

/// An e-mail address (loose on purpose: headers wrap and add "mailto:").
pub static EMAIL: Pattern = LazyLock::new(|| re(r"[\w.+\-']+@[\w\-]+(?:\.[\w\-]+)+"));

/// A verb-less header ends with the quoted person's address: "… <a@b.c>:" or "(a@b.c):".
pub static ENDS_WITH_ADDRESS: Pattern =
    LazyLock::new(|| re(r"(?:[>)\]]|@[\w\-]+(?:\.[\w\-]+)+)\s*[:：]?\s*$"));

/// Where an English quote header starts inside a line that also carries reply text:
/// "reply--- On Wed, Apr 4, 2012 at 3:59 PM, bob@x.com wrote:".
pub static INLINE_ON: Pattern = LazyLock::new(|| re(r"(?:-{2,}\s*|\s)On\s+\S.*\d.*$"));

/// First words of a quote header in many languages; used to extend a header upwards
/// when its first line carries no verb ("Am 26.5.2017\num 12:00 schrieb Adam\n<a@x>:").
pub static HEADER_LEAD: Pattern = LazyLock::new(|| {
    re(concat!(
        r"(?i)^\s*(?:[-–—]{2,}\s*)?(?:(?:on|am|le|el|il|in data|op|w dniu|dnia|em|den|på|vào|",
        r"dne|el dia|στις|pada)\s|在|\d|",
        r"(?:mon|tue|wed|thu|fri|sat|sun|mo|di|mi|do|fr|sa|so|ma|ti|on|to|lø|sø|lun|mar|mer|",
        r"jeu|ven|sam|dim|pe|la|su|ke|pn|wt|śr|cz|pt|sob|nie|пн|вт|ср|чт|пт|сб|вс)\.?,?\s+\d)"
    ))
});

/// Keys of Outlook-style header blocks ("From: …", "*Von:* …", "Envoyé le : …").
/// The class of each key matters (see [`HeaderKey`]).
pub static HEADER_KEY: Pattern = LazyLock::new(|| {
    re(concat!(
        r"(?i)^\s*[*_]{0,2}\s*(?:",
        // from-class
        r"(?P<from>from|von|de|da|van|från|fra|od|от|від|feladó|kimden|lähettäjä|odesílatel|",
        r"message du|发件人|寄件者|寄件人|差出人|보낸 사람|보낸사람|afzender|remitente|mittente)",
        // sent / date class
        r"|(?P<date>sent|date|gesendet|datum|envoyé|envoyé le|envoye|enviado|enviada|enviado el|",
        r"enviada em|enviado em|inviato|data|verzonden|verstuurd|skickat|sendt|dato|lähetetty|",
        r"päivämäärä|wysłano|wysłane|data wysłania|отправлено|дата|надіслано|odesláno|elküldve|",
        r"dátum|gönderildi|tarih|发送时间|傳送時間|寄件日期|日期|时间|送信日時|日付|날짜|보낸 날짜|fecha)",
        // to / cc class
        r"|(?P<to>to|an|à|a|para|aan|till|til|do|кому|komu|címzett|kime|vastaanottaja|",
        r"收件人|收件者|宛先|받는 사람|받는사람|cc|bcc|kopie|kopia|kopi|copie à|copia|",
        r"копия|抄送|副本|destinatario|destinatari)",
        // subject class
        r"|(?P<subject>subject|betreff|objet|sujet|asunto|oggetto|assunto|onderwerp|ämne|emne|",
        r"temat|тема|předmět|tárgy|konu|aihe|主题|主旨|件名|제목|reply-to|antwort an)",
        r")[*_]{0,2}\s*[:：]"
    ))
});

/// Classes of keys in a header block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderKey {
    From,
    Date,
    To,
    Subject,
}

/// The key class of a header-block line, if it starts with a known key.
pub fn header_key(line: &str) -> Option<HeaderKey> {
    if line.len() > 600 {
        return None;
    }
    // Cheap pre-filter: a key is short, so a colon must come early.
    let head = line.get(..line.len().min(64)).unwrap_or(line);
    if !head.contains([':', '：']) && !line.chars().take(40).any(|c| c == ':' || c == '：') {
        return None;
    }
    let caps = HEADER_KEY.as_ref()?.captures(line)?;
    if caps.name("from").is_some() {
        Some(HeaderKey::From)
    } else if caps.name("date").is_some() {
        Some(HeaderKey::Date)
    } else if caps.name("to").is_some() {
        Some(HeaderKey::To)
    } else {
        Some(HeaderKey::Subject)
    }
}

/// "-----Original Message-----" and friends: everything below is history.
pub static ORIGINAL_MESSAGE: Pattern = LazyLock::new(|| {
    re(concat!(
        r"(?i)^\s*[-=_*~\s]*\s*(?:original message|original e-?mail|reply message|",
        r"ursprüngliche nachricht|ursprungliche nachricht|originalnachricht|antwort nachricht|",
        r"oprindelig meddelelse|oprindelig besked|oprindelig melding|opprinnelig melding|",
        r"originalmeddelande|ursprungligt meddelande|message d'origine|message original|",
        r"mensaje original|messaggio originale|mensagem original|oorspronkelijk bericht|",
        r"origineel bericht|oryginalna wiadomość|wiadomość oryginalna|исходное сообщение|",
        r"оригинальное сообщение|původní zpráva|alkuperäinen viesti|eredeti üzenet|",
        r"orijinal mesaj|原始邮件|原始郵件|原邮件|元のメッセージ|원본 메시지)",
        r"\s*[-=_*~:]*\s*$"
    ))
});

/// Forward markers: the member is sharing a message, which we keep whole.
pub static FORWARD_MARKER: Pattern = LazyLock::new(|| {
    re(concat!(
        r"(?i)^\s*[-=_*~\s]*\s*(?:forwarded message|begin forwarded message|forwarded e-?mail|",
        r"weitergeleitete nachricht|message transféré|message transfere|mensaje reenviado|",
        r"messaggio inoltrato|inizio messaggio inoltrato|mensagem encaminhada|",
        r"doorgestuurd bericht|vidarebefordrat meddelande|videresendt meddelelse|",
        r"videresendt melding|przekazana wiadomość|wiadomość przekazana|",
        r"пересылаемое сообщение|пересланное сообщение|přeposlaná zpráva|",
        r"välitetty viesti|转发的邮件|轉寄的郵件|転送されたメッセージ|전달된 메시지)",
        r"\s*[-=_*~:]*\s*$"
    ))
});

/// Mobile / client footers ("Sent from my iPhone", "Get Outlook for iOS", "Von meinem
/// iPhone gesendet"). Matched against a line with `<url>` parts removed; the caller
/// also bounds the length so that "Sent from my desk, is much easier…" stays text.
pub static MOBILE_FOOTER: Pattern = LazyLock::new(|| {
    re(concat!(
        r"(?i)^\s*(?:",
        r"sent (?:from|via|with|using|on) \S.*|sent from my .*|get outlook for .*|",
        r"envoyé (?:de|depuis|à partir de|a partir de|avec|par) .*|envoye (?:de|depuis) .*|",
        r"enviado (?:desde|de|do|com|a partir do|a partir de|por) .*|enviada (?:desde|de|do) .*|",
        r"inviato (?:da|dal|con) .*|verzonden (?:vanaf|met|van|via) .*|",
        r"verstuurd (?:vanaf|met|van|via) .*|gesendet (?:von|mit|vom|über) .*|",
        r"von meine[mr]? .* gesendet|.* für (?:ios|android) beziehen|",
        r"diese nachricht wurde von .* gesendet|wysłane (?:z|ze|przy) .*|wysłano (?:z|ze) .*|",
        r"skickat från .*|skickad från .*|sendt fra .*|lähetetty .*|отправлено (?:с|из|через) .*|",
        r"надіслано з .*|odesláno z .*|elküldve .*|gönderildi: .*|",
        r"从我的.*发送|发自我的.*|来自我的.*|從我的.*傳送|.*から送信|",
        r"sent from (?:yahoo|outlook|mail|gmail|samsung|proton|my) .*",
        r")\s*$"
    ))
});

/// Valedictions that open a signature block when alone on their line
/// ("Best regards,", "Met vriendelijke groeten,", "Mit freundlichen Grüßen").
/// "Thanks," / "Cheers," are deliberately absent: they often carry meaning and the
/// corpora keep them.
pub static VALEDICTION: Pattern = LazyLock::new(|| {
    re(concat!(
        r"(?i)^\s*(?:",
        r"(?:best|kind|warm|warmest|many|with|all the best|my best|best and warm|kindest|warm personal) regards|",
        r"regards|rgds|br|kr|best|best wishes|all the best|sincerely|sincerely yours|yours sincerely|",
        r"yours truly|yours faithfully|faithfully|respectfully|cordially|",
        r"(?:met )?(?:vriendelijke|hartelijke|beste) groet(?:en)?|groet(?:en|jes)?|mvg|",
        r"mit (?:freundlichen|besten|herzlichen|lieben) grü(?:ß|ss)en|(?:freundliche|viele|beste|liebe|herzliche|schöne) grü(?:ß|ss)e|",
        r"mfg|lg|vg|gruß|gruss|grüße|grüsse|",
        r"(?:bien )?cordialement|bien à vous|salutations(?: distinguées)?|(?:meilleures|sincères) salutations|amicalement|",
        r"(?:un )?saludo(?:s)?(?: cordiales)?|atentamente|cordialmente|un abrazo|",
        r"(?:cordiali|distinti|cari) saluti|saluti|un saluto|",
        r"atenciosamente|cumprimentos|(?:melhores )?cumprimentos|abraços|",
        r"pozdrawiam(?: serdecznie)?|z poważaniem|serdecznie pozdrawiam|pozdrowienia|",
        r"(?:med )?vänlig(?:a)? hälsning(?:ar)?|hälsningar|mvh|",
        r"(?:med )?venlig hilsen|(?:med )?vennlig hilsen|hilsen|",
        r"ystävällisin terveisin|terveisin|",
        r"с уважением|всего доброго|всего хорошего|с наилучшими пожеланиями|з повагою|",
        r"s pozdravem|üdvözlettel|saygılarımla|此致|此致敬礼|祝好|顺祝商祺|敬具|よろしくお願いします|よろしくお願いいたします",
        r")\s*[,.!:;]?\s*$"
    ))
});

/// A short "dash signature": "-Abhishek Kona", "— Alex".
pub static DASH_NAME: Pattern =
    LazyLock::new(|| re(r"^\s*[-–—~]\s?\p{Lu}[\p{L}.'’\-]*(?:\s+\p{L}[\p{L}.'’\-]*){0,3}\s*$"));

/// A verb-less header starts with its date: "30.09.2017, 18.30, …", "Thu, 26 Jun 2014 …".
pub static VERBLESS_START: Pattern = LazyLock::new(|| re(r"^\s*(?:\d|\p{L}{1,12}\.?,?\s+\d)"));

/// `<http://…>` fragments that mail clients append to link text.
pub static ANGLE_URL: Pattern = LazyLock::new(|| re(r"<(?:https?|mailto):[^>]*>"));

/// Line shapes both the quote walk and the signature stripper look at.
pub(crate) fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

pub(crate) fn is_quoted(line: &str) -> bool {
    line.trim_start().starts_with('>')
}

/// "-- " (RFC 3676) and its common mangled form "--".
pub(crate) fn is_sig_delimiter(line: &str) -> bool {
    line == "-- " || line.trim() == "--"
}

/// A line made only of rule characters ("_____", "-----", "=====").
pub(crate) fn is_separator(line: &str) -> bool {
    let t = line.trim();
    let n = t.chars().count();
    (n >= 2 && t.chars().all(|c| c == '_'))
        || (n >= 3
            && t.chars()
                .all(|c| matches!(c, '-' | '_' | '=' | '*' | '~' | '—' | '–')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_patterns_compile() {
        for p in [
            &VERB_AT_END,
            &VERB_ANY,
            &DATE_LIKE,
            &EMAIL,
            &ENDS_WITH_ADDRESS,
            &INLINE_ON,
            &HEADER_LEAD,
            &HEADER_KEY,
            &ORIGINAL_MESSAGE,
            &FORWARD_MARKER,
            &MOBILE_FOOTER,
            &VALEDICTION,
            &DASH_NAME,
            &ANGLE_URL,
            &VERBLESS_START,
        ] {
            assert!(p.is_some());
        }
    }

    #[test]
    fn header_keys_are_classified() {
        assert_eq!(header_key("From: a@b.c"), Some(HeaderKey::From));
        assert_eq!(header_key("*Von:* Adam"), Some(HeaderKey::From));
        assert_eq!(header_key("Envoyé le :jeudi"), Some(HeaderKey::Date));
        assert_eq!(header_key("   Objet : Hello"), Some(HeaderKey::Subject));
        assert_eq!(header_key("收件人: Sylvie"), Some(HeaderKey::To));
        assert_eq!(header_key("Time: 7:00"), None);
    }
}
