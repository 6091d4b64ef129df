//! Reply extraction: given the body of an e-mail reply, return only the new text the
//! member wrote — no quoted history, no signature, no mobile footer.
//!
//! This module owns everything between "raw bytes of a reply" and "the member's update
//! text": format detection, MIME decoding (via `mail-parser`), HTML-to-text conversion
//! with structural quote removal, and the plain-text rules.
//!
//! Conventions (the full rationale is in `docs/src/how-it-works/reply-conventions.md`):
//! - Quoted history is removed wherever it starts: attribution lines ("On … wrote:" in
//!   many languages, possibly wrapped over several lines), Outlook header blocks
//!   (≥ 2 localized "From:/Sent:/To:/Subject:" lines), "-----Original Message-----"
//!   separators and `>` blocks. Unquoted text *after* a `>` block (bottom-posting,
//!   inline answers) is kept.
//! - Signatures are removed: everything from an RFC 3676 "-- " delimiter, a mobile
//!   footer ("Sent from my iPhone", "Von meinem iPhone gesendet", …), a formal
//!   valediction alone on its line ("Best regards,", "Met vriendelijke groeten,") with
//!   the block below it, dash signatures ("-Alex"), mailing-list footers and
//!   undelimited contact blocks (name + phone/e-mail/address lines). Informal
//!   sign-offs ("Thanks,\nAlex", "LG, Eva") are kept: they are part of the message.
//! - A forwarded message ("---------- Forwarded message ----------") is kept whole: the
//!   member chose to share it.
//! - Never panics on any input; invalid UTF-8 is decoded lossily; work is linear in the
//!   input size and every regex is compiled once.

mod html;
mod patterns;
mod quote;
mod signature;

/// Input kind for `tidings reply extract --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Guess with [`detect_format`].
    Auto,
    /// A whole RFC 5322 message (headers, blank line, MIME body).
    Eml,
    /// A plain-text body.
    Text,
    /// An HTML body.
    Html,
}

/// Header names that mark the start of an RFC 5322 message.
const KNOWN_HEADERS: &[&str] = &[
    "from",
    "to",
    "cc",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "received",
    "return-path",
    "delivered-to",
    "reply-to",
    "in-reply-to",
    "references",
    "sender",
    "x-mailer",
    "user-agent",
    "dkim-signature",
    "authentication-results",
    "arc-seal",
    "x-received",
    "thread-topic",
    "thread-index",
];

/// Guess the format of raw bytes: an RFC 5322 message (header lines then blank line), a
/// bare HTML body, else text. Never returns [`Format::Auto`].
pub fn detect_format(input: &[u8]) -> Format {
    let head = &input[..input.len().min(64 * 1024)];
    let text = String::from_utf8_lossy(head);
    let text = text.trim_start_matches('\u{feff}');
    if looks_like_message(text) {
        return Format::Eml;
    }
    let t = text.trim_start();
    if t.starts_with('<') {
        let probe: String = t
            .chars()
            .take(4096)
            .collect::<String>()
            .to_ascii_lowercase();
        const TAGS: &[&str] = &[
            "<html",
            "<!doctype html",
            "<body",
            "<div",
            "<p>",
            "<p ",
            "<br",
            "<table",
            "<span",
            "<?xml",
            "<head",
            "<meta",
            "<font",
            "<blockquote",
            "<a ",
            "<b>",
            "<i>",
            "<ul",
            "<ol",
            "<h1",
            "<h2",
            "<h3",
            "<style",
            "<pre",
            "<center",
        ];
        if TAGS.iter().any(|tag| probe.contains(tag)) {
            return Format::Html;
        }
    }
    Format::Text
}

/// Header lines up to the first blank line, the first one a header, with at least one
/// well-known header name and at least two header fields (or one MIME field).
fn looks_like_message(text: &str) -> bool {
    let mut fields = 0;
    let mut known = 0;
    let mut mime = false;
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            return n > 0 && known > 0 && (fields >= 2 || mime);
        }
        if n > 0 && line.starts_with([' ', '\t']) {
            continue; // folded continuation
        }
        let Some((name, _)) = line.split_once(':') else {
            return false;
        };
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return false;
        }
        fields += 1;
        let name = name.to_ascii_lowercase();
        if KNOWN_HEADERS.contains(&name.as_str()) || name.starts_with("x-") {
            known += 1;
        }
        mime |= name == "mime-version" || name == "content-type";
        if n > 500 {
            return false;
        }
    }
    false
}

/// New text of a plain-text reply body.
pub fn reply_text(body: &str) -> String {
    quote::reply_text(body)
}

/// New text of an HTML reply body (quote containers like gmail_quote / blockquote /
/// Outlook divRplyFwdMsg removed structurally, then converted to readable text, then
/// [`reply_text`] rules).
pub fn reply_html(html: &str) -> String {
    quote::reply_text(&html::convert(html, true))
}

/// Convert HTML to readable plain text (paragraphs, `<br>`, lists as "- ", links as
/// text, entities decoded, no tags/styles/scripts).
pub fn html_to_text(html: &str) -> String {
    html::convert(html, false)
}

/// Whole RFC 5322 message: parse MIME with mail-parser, prefer text/plain, else the HTML
/// part; any charset; then extract. `None` when the bytes are not a parseable message.
pub fn reply_from_message(raw: &[u8]) -> Option<String> {
    let message = mail_parser::MessageParser::default().parse(raw)?;
    if message.headers().is_empty() {
        return None;
    }
    let sender = message
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.name.as_deref())
        .unwrap_or("")
        .to_string();
    reply_of_parsed(&message).map(|t| signature::strip_sender_sign_off(&t, &sender))
}

/// The new text of a parsed message, before the sender's own sign-off is looked for.
fn reply_of_parsed(message: &mail_parser::Message<'_>) -> Option<String> {
    // text_body may list an HTML part when there is no text/plain alternative.
    let text_part = message
        .text_body
        .iter()
        .filter_map(|&id| message.part(id))
        .find(|p| p.is_text() && !p.is_text_html());
    if let Some(part) = text_part {
        let text = part.text_contents().unwrap_or("");
        // format=flowed (RFC 3676): soft line breaks joined before anything else reads it.
        let flowed_param = |name: &str| {
            mail_parser::MimeHeaders::content_type(part)
                .and_then(|c| c.attribute(name))
                .map(|v| v.trim().to_ascii_lowercase())
        };
        let unflowed;
        let text = if flowed_param("format").as_deref() == Some("flowed") {
            unflowed =
                crate::mail::flowed::unflow(text, flowed_param("delsp").as_deref() == Some("yes"));
            unflowed.as_str()
        } else {
            text
        };
        // Some clients send an empty text/plain alternative next to the real HTML.
        if !text.trim().is_empty() || message.html_body.is_empty() {
            return Some(reply_text(text));
        }
    }
    let html_part = message
        .html_body
        .iter()
        .chain(message.text_body.iter())
        .filter_map(|&id| message.part(id))
        .find(|p| p.is_text_html());
    if let Some(part) = html_part {
        return Some(reply_html(part.text_contents().unwrap_or("")));
    }
    Some(String::new())
}

/// Dispatch on format ([`Format::Auto`] → [`detect_format`]).
pub fn extract(input: &[u8], format: Format) -> String {
    let format = match format {
        Format::Auto => detect_format(input),
        f => f,
    };
    match format {
        Format::Eml => {
            reply_from_message(input).unwrap_or_else(|| reply_text(&String::from_utf8_lossy(input)))
        }
        Format::Html => reply_html(&String::from_utf8_lossy(input)),
        Format::Text | Format::Auto => reply_text(&String::from_utf8_lossy(input)),
    }
}

#[cfg(test)]
mod tests {
    //! Fixtures written for this module (not taken from any corpus): each one is a
    //! typical reply shape of a client or language.
    use super::*;

    #[test]
    fn an_outlook_sign_off_above_an_unquoted_original_goes() {
        // Outlook's reply: the original below a rule and a From/Sent/To/Subject block, not
        // quoted with '>'; a valediction, the name and the title above it are a signature.
        let body = "Wrote the spec.\nTomorrow: interviews with three customers.\n\nBest regards,\nBen Carter\nProduct Manager | Demo Inc.\n\n________________________________\nFrom: Tidings <tidings@demo.example>\nSent: Mon, 30 Nov 2026 21:30:00 +0000\nTo: Ben Carter <ben@demo.example>\nSubject: Your update for Mon 30 Nov\n\nHi Ben Carter,\n\nYour update for Monday, 30 November 2026:\n\n* What did you get done?\n\n* What's next?\n\n* Anything blocking you?\n\nJust reply to this email.\n";
        assert_eq!(
            reply_text(body),
            "Wrote the spec.\nTomorrow: interviews with three customers."
        );
        // "Best regards" inside a longer text that goes on is kept.
        let body = "Best regards to the ops team for the fast fix.\nShipped it.\nNext: docs.\nBlockers: none\nMore notes here.\nAnd more.\nAnd more.\nAnd more.\nAnd more.\nAnd more.\nAnd more.\nAnd more.\nAnd more.\nAnd more.\n";
        assert!(reply_text(body).contains("Shipped it."));
    }

    #[test]
    fn answers_under_each_quoted_question_keep_their_questions() {
        let body = "On Mon, 9 Mar 2026 at 16:30, Tidings <updates@example.test> wrote:\n> Hi Ann,\n>\n> * What did you get done?\n\nShipped the CSV importer.\n\n> * What's next?\nReview PR #42.\n> * Anything blocking you?\n\nWaiting on staging credentials.\n\n> Just reply to this email: type above the quoted text, as you always do.\n";
        let text = reply_text(body);
        assert_eq!(
            text,
            "What did you get done?\nShipped the CSV importer.\n\nWhat's next?\nReview PR #42.\n\nAnything blocking you?\nWaiting on staging credentials."
        );
        assert_eq!(
            crate::domain::sections::blockers(&text, &[]),
            vec!["Waiting on staging credentials."]
        );
        // Bottom-posting under the whole quoted request keeps no question: the quote does not
        // end with one.
        let bottom = "On Mon, 9 Mar 2026 at 16:30, Tidings <updates@example.test> wrote:\n> * What did you get done?\n> * What's next?\n> * Anything blocking you?\n> Just reply to this email.\n\nShipped it all.\n";
        assert_eq!(reply_text(bottom), "Shipped it all.");
    }

    #[test]
    fn a_format_flowed_reply_is_stored_with_its_soft_breaks_joined() {
        // As neomutt sends it with text_flowed set (DelSp=yes; the quote is flowed too).
        let raw = "From: Ann <ann@example.test>\r\nTo: updates@example.test\r\nSubject: Re: Your update\r\nMessage-ID: <f1@example.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8; format=flowed; delsp=yes\r\n\r\nShipped the CSV importer and fixed the two flaky tests in the  \r\nbilling service before lunch.\r\nNext: review PR #42.\r\n\r\nOn Mon, Mar 09, 2026 at 16:30:00 +0100, Tidings wrote:\r\n>Hi Ann,\r\n>What did you get done? What is next? Anything  \r\n>blocking you?\r\n";
        assert_eq!(
            reply_from_message(raw.as_bytes()).as_deref(),
            Some(
                "Shipped the CSV importer and fixed the two flaky tests in the billing service before lunch.\nNext: review PR #42."
            )
        );
        // Without format=flowed, the same line breaks are hard ones and stay.
        let fixed = raw.replace("; format=flowed; delsp=yes", "");
        assert!(
            reply_from_message(fixed.as_bytes())
                .unwrap_or_default()
                .contains("in the  \nbilling")
                || reply_from_message(fixed.as_bytes())
                    .unwrap_or_default()
                    .contains("in the\nbilling")
        );
    }

    const UPDATE: &str = "Finished the billing migration.\nToday I start on the export job.";

    /// `reply_text(UPDATE + sep + tail)` must give back UPDATE.
    fn check(tail: &str) {
        let body = format!("{UPDATE}\n\n{tail}");
        assert_eq!(reply_text(&body), UPDATE, "input was:\n{body}");
    }

    #[test]
    fn gmail_on_wrote_single_and_split_lines() {
        check(
            "On Mon, Jan 15, 2024 at 10:02 AM Dana Park <dana@example.com> wrote:\n\n> What did you ship?\n>\n",
        );
        check(
            "On Mon, Jan 15, 2024 at 10:02 AM Dana Park <\ndana.park.with.a.long.alias@example.com> wrote:\n\n> What did you ship?\n",
        );
        check(
            "On Mon, Jan 15, 2024 at 10:02 AM Tidings Bot <bot@example.com>\nwrote:\n\n> What did you ship?\n",
        );
        // Header followed by unquoted history (some clients do not prefix with `>`).
        check(
            "On Jan 15, 2024, at 10:02, Dana Park <dana@example.com> wrote:\n\nWhat did you ship?\n",
        );
    }

    #[test]
    fn quote_headers_in_many_languages() {
        let headers = [
            // German
            "Am 15.01.2024 um 10:02 schrieb Dana Park <dana@example.de>:",
            "Dana Park <dana@example.de> schrieb am Mo., 15. Jan. 2024, 10:02:",
            // French
            "Le lun. 15 janv. 2024 à 10:02, Dana Park <dana@example.fr> a écrit :",
            // Spanish
            "El lun, 15 ene 2024 a las 10:02, Dana Park (<dana@example.es>) escribió:",
            // Italian
            "Il giorno lun 15 gen 2024 alle ore 10:02 Dana Park <dana@example.it> ha scritto:",
            // Dutch
            "Op ma 15 jan. 2024 om 10:02 schreef Dana Park <dana@example.nl>:",
            // Portuguese
            "Em seg., 15 de jan. de 2024 às 10:02, Dana Park <dana@example.pt> escreveu:",
            // Polish
            "pon., 15 sty 2024 o 10:02 Dana Park <dana@example.pl> napisał(a):",
            // Swedish
            "Den mån 15 jan. 2024 kl 10:02 skrev Dana Park <dana@example.se>:",
            // Norwegian
            "man. 15. jan. 2024 kl. 10:02 skrev Dana Park <dana@example.no>:",
            // Danish
            "Den 15. jan. 2024 kl. 10.02 skrev Dana Park <dana@example.dk>:",
            // Russian
            "пн, 15 янв. 2024 г. в 10:02, Дана Парк <dana@example.ru>:",
            "15.01.2024 10:02, Дана Парк пишет:",
            // Chinese
            "Dana Park <dana@example.cn> 于2024年1月15日周一 10:02写道：",
            "在 2024年1月15日，上午10:02，Dana Park <dana@example.cn> 写道：",
            // Japanese
            "2024年1月15日(月) 10:02 Dana Park <dana@example.jp>:",
            "2024/01/15 10:02、Dana Park <dana@example.jp> のメッセージ:",
        ];
        for h in headers {
            check(&format!("{h}\n\n> Was hast du gestern gemacht?\n> Dana\n"));
            check(&format!("{h}\nWhat did you do yesterday?\n"));
        }
    }

    #[test]
    fn outlook_header_blocks_localized() {
        let blocks = [
            "From: Dana Park <dana@example.com>\nSent: Monday, January 15, 2024 10:02 AM\nTo: Team <team@example.com>\nSubject: Daily update",
            "*From:* Dana Park [mailto:dana@example.com]\n*Sent:* Monday, January 15, 2024 10:02 AM\n*To:* Team\n*Subject:* Daily update",
            "Von: Dana Park <dana@example.de>\nGesendet: Montag, 15. Januar 2024 10:02\nAn: Team\nBetreff: Tagesupdate",
            "De : Dana Park <dana@example.fr>\nEnvoyé : lundi 15 janvier 2024 10:02\nÀ : Équipe\nObjet : Point quotidien",
            "De: Dana Park <dana@example.es>\nEnviado: lunes, 15 de enero de 2024 10:02\nPara: Equipo\nAsunto: Actualización",
            "Da: Dana Park <dana@example.it>\nInviato: lunedì 15 gennaio 2024 10:02\nA: Team\nOggetto: Aggiornamento",
            "Van: Dana Park <dana@example.nl>\nVerzonden: maandag 15 januari 2024 10:02\nAan: Team\nOnderwerp: Update",
            "De: Dana Park <dana@example.pt>\nEnviada em: segunda-feira, 15 de janeiro de 2024 10:02\nPara: Equipe\nAssunto: Atualização",
            "Od: Dana Park <dana@example.pl>\nWysłano: poniedziałek, 15 stycznia 2024 10:02\nDo: Zespół\nTemat: Aktualizacja",
            "Från: Dana Park <dana@example.se>\nSkickat: den 15 januari 2024 10:02\nTill: Teamet\nÄmne: Uppdatering",
            "Fra: Dana Park <dana@example.no>\nSendt: mandag 15. januar 2024 10:02\nTil: Teamet\nEmne: Oppdatering",
            "От: Дана Парк <dana@example.ru>\nОтправлено: 15 января 2024 г. 10:02\nКому: Команда\nТема: Обновление",
            "发件人: Dana Park <dana@example.cn>\n发送时间: 2024年1月15日 10:02\n收件人: 团队\n主题: 更新",
            "差出人: Dana Park <dana@example.jp>\n送信日時: 2024年1月15日 10:02\n宛先: チーム\n件名: 更新",
        ];
        for b in blocks {
            check(&format!("{b}\n\nWhat did you do yesterday?\n"));
            check(&format!(
                "________________________________\n{b}\n\nWhat did you do yesterday?\n"
            ));
        }
    }

    #[test]
    fn original_message_separators() {
        for sep in [
            "-----Original Message-----",
            "----- Original Message -----",
            "-----Ursprüngliche Nachricht-----",
            "-------- Message d'origine --------",
            "-------- Mensaje original --------",
            "-------- Messaggio originale --------",
            "-------- Oorspronkelijk bericht --------",
            "-------- Oprindelig meddelelse --------",
            "-------- Исходное сообщение --------",
        ] {
            check(&format!("{sep}\nWhat did you do yesterday?\n"));
        }
    }

    #[test]
    fn apple_mail_thunderbird_and_yahoo() {
        // Apple Mail quotes its own header.
        check(
            "> On 15 Jan 2024, at 10:02, Dana Park <dana@example.com> wrote:\n>\n> What did you ship?\n",
        );
        // Thunderbird.
        check("On 15/01/2024 10:02, Dana Park wrote:\n> What did you ship?\n");
        // Yahoo.
        check(
            "On Monday, January 15, 2024, 10:02:11 AM GMT+1, Dana Park <dana@example.com> wrote:\n\n\nWhat did you ship?\n",
        );
        // Android "---- wrote ----".
        check("---- Dana Park wrote ----\n\n> What did you ship?\n");
    }

    #[test]
    fn mobile_footers_many_languages() {
        for footer in [
            "Sent from my iPhone",
            "Sent from my Samsung Galaxy smartphone.",
            "Sent via the Samsung Galaxy S7, an AT&T 4G LTE smartphone",
            "Get Outlook for Android<https://aka.ms/ghei36>",
            "Von meinem iPhone gesendet",
            "Envoyé de mon iPhone",
            "Enviado desde mi iPhone",
            "Inviato da iPhone",
            "Verzonden vanaf mijn iPhone",
            "Enviado do meu iPhone",
            "Wysłane z iPhone'a",
            "Skickat från min iPhone",
            "Sendt fra min iPhone",
            "Отправлено с iPhone",
            "从我的iPhone发送",
            "iPhoneから送信",
        ] {
            check(footer);
            check(&format!(
                "{footer}\n\nOn 15 Jan 2024, at 10:02, Dana <dana@example.com> wrote:\n> q\n"
            ));
        }
        // A sentence that merely starts like a footer is text.
        let body = "Done.\n\nSent from my desk, which is much nicer than my phone.";
        assert_eq!(reply_text(body), body);
    }

    #[test]
    fn quoted_blocks_bottom_and_inline_posting() {
        // Bottom posting: history first, answer below.
        let body = "On Mon, Jan 15, 2024 at 10:02 AM Dana <dana@example.com> wrote:\n> What did you ship?\n\nThe billing migration.";
        assert_eq!(reply_text(body), "The billing migration.");
        // Inline answers: quoted history goes, answers stay; a quoted stand-up question right
        // above an answer stays as its label (#22: answers keep their questions).
        let body = "On Mon, Jan 15, 2024 at 10:02 AM Dana <dana@example.com> wrote:\n> Yesterday?\n\nBilling migration.\n\n> Today?\n\nExport job.\n";
        assert_eq!(
            reply_text(body),
            "Yesterday?\nBilling migration.\n\nToday?\nExport job."
        );
        let body = "On Mon, Jan 15, 2024 at 10:02 AM Dana <dana@example.com> wrote:\n> Did the build pass?\n\nYes.\n\n> And the deploy?\n\nTomorrow.\n";
        assert_eq!(reply_text(body), "Yes.\n\nTomorrow.");
        // A bare `>` block at the end is history.
        check("> What did you ship?\n> Dana");
    }

    #[test]
    fn signatures() {
        check("-- \nAlex Smith\nStaff Engineer, Example Inc.");
        check("--\nAlex");
        check("Best regards,\nAlex Smith\nStaff Engineer");
        check("Met vriendelijke groeten,\n\nPiet Jansen");
        check("Mit freundlichen Grüßen\nDana Park");
        check("Cordialement,\nDana");
        check("Best,\nDana");
        check("-Alex");
        check(
            "Alex Smith\nStaff Engineer\nTel: +1 555 010 2030\nalex@example.com\nwww.example.com",
        );
        check(
            "_______________________________________________\nteam mailing list\nteam@lists.example.org\nhttps://lists.example.org/listinfo/team",
        );
        // Informal sign-offs are part of the message.
        let body = "Shipped it.\n\nThanks,\nAlex";
        assert_eq!(reply_text(body), body);
        let body = "Shipped it.\n\nLG, Eva";
        assert_eq!(reply_text(body), body);
    }

    #[test]
    fn forwarded_messages_are_kept() {
        let body = "FYI, this is what the vendor sent.\n\n---------- Forwarded message ---------\nFrom: Vendor <v@example.com>\nDate: Mon, Jan 15, 2024 at 10:02 AM\nSubject: Outage\nTo: Alex <alex@example.com>\n\nWe had an outage.";
        assert_eq!(reply_text(body), body);
    }

    #[test]
    fn ordinary_text_is_untouched() {
        for body in [
            "Yesterday: fixed the login bug.\nToday: code review.\nBlockers: none.",
            "On Monday I fixed 3 bugs.\nOn Tuesday I wrote docs.",
            "Date: Friday\nTime: 10:00\nPlace: room 4",
            "Bob wrote a great RFC, read it.",
            "The 2024 plan is what Bob wrote\nand we follow it.",
            "The invoice for 2024 was sent\nto the client.",
            "- item one\n- item two\n\n> a quote I am discussing\n\nand my comment on it",
        ] {
            assert_eq!(reply_text(body), body);
        }
    }

    #[test]
    fn reply_and_header_on_one_line() {
        assert_eq!(
            reply_text(
                "Works for me. On Mon, Jan 15, 2024 at 10:02 AM, dana@example.com wrote:\n> q"
            ),
            "Works for me."
        );
    }

    #[test]
    fn html_replies() {
        let gmail = r#"<div dir="ltr">Shipped the export.<br><br>Thanks,<br>Alex</div><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">On Mon, Jan 15, 2024 at 10:02 AM Dana &lt;<a href="mailto:dana@example.com">dana@example.com</a>&gt; wrote:<br></div><blockquote class="gmail_quote">What did you ship?</blockquote></div>"#;
        assert_eq!(reply_html(gmail), "Shipped the export.\n\nThanks,\nAlex");
        let outlook = r#"<html><head><style>p{margin:0}</style></head><body><p>Shipped&nbsp;the export.</p><div id="appendonsend"></div><hr><div id="divRplyFwdMsg"><b>From:</b> Dana<br><b>Sent:</b> Monday</div><div>What did you ship?</div></body></html>"#;
        assert_eq!(reply_html(outlook), "Shipped the export.");
        let apple = "<html><body>Shipped it &amp; tested it.<div><br><blockquote type=\"cite\"><div>On 15 Jan 2024, at 10:02, Dana wrote:</div><div>q</div></blockquote></div></body></html>";
        assert_eq!(reply_html(apple), "Shipped it & tested it.");
        // Text-only quote header inside HTML (no container).
        let plain = "<p>Done.</p><p>From: Dana &lt;dana@example.com&gt;<br>Sent: Monday<br>To: Team<br>Subject: Update</p><p>q</p>";
        assert_eq!(reply_html(plain), "Done.");
    }

    #[test]
    fn html_to_text_basics() {
        let t = html_to_text(
            "<h1>Status</h1><p>Good &amp; green</p><ol><li>one</li><li>two</li></ol><script>x()</script>",
        );
        assert_eq!(t, "Status\n\nGood & green\n\n- one\n- two");
    }

    #[test]
    fn detect_formats() {
        assert_eq!(
            detect_format(b"From: a@example.com\nTo: b@example.com\nSubject: hi\n\nbody"),
            Format::Eml
        );
        assert_eq!(detect_format(b"<div>Hello</div>"), Format::Html);
        assert_eq!(
            detect_format(b"  <!DOCTYPE html><html><body>x</body></html>"),
            Format::Html
        );
        assert_eq!(
            detect_format(b"Hello\n\nFrom: a@example.com\nSent: today"),
            Format::Text
        );
        assert_eq!(
            detect_format(b"<http://link1> <http://link2>"),
            Format::Text
        );
        assert_eq!(detect_format(b""), Format::Text);
    }

    #[test]
    fn messages_with_mime() {
        let plain = b"From: Alex <alex@example.com>\r\nTo: bot@example.com\r\nSubject: Re: update\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nFertig mit der Migration, sch=F6n.\r\n\r\nAm 15.01.2024 um 10:02 schrieb Bot <bot@example.com>:\r\n> Was hast du gemacht?\r\n";
        assert_eq!(
            reply_from_message(plain).as_deref(),
            Some("Fertig mit der Migration, schön.")
        );
        let alt = b"From: Alex <alex@example.com>\nSubject: Re: update\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=XX\n\n--XX\nContent-Type: text/html; charset=utf-8\n\n<p>HTML version</p>\n--XX\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\nVGV4dCB2ZXJzaW9u\n--XX--\n";
        assert_eq!(reply_from_message(alt).as_deref(), Some("Text version"));
        let html_only = b"From: Alex <alex@example.com>\nSubject: Re: update\nContent-Type: text/html; charset=utf-8\n\n<div>Only HTML</div><blockquote>old</blockquote>";
        assert_eq!(reply_from_message(html_only).as_deref(), Some("Only HTML"));
        assert_eq!(extract(html_only, Format::Auto), "Only HTML");
    }

    #[test]
    fn never_panics_on_nasty_input() {
        let mut cases: Vec<Vec<u8>> = vec![
            vec![],
            b"\r".to_vec(),
            b">".to_vec(),
            b"\n\n\n".to_vec(),
            vec![0xff, 0xfe, 0xfd, b'\n', 0xc3],
            b"<".to_vec(),
            b"<a".to_vec(),
            b"<!--".to_vec(),
            b"<script>".to_vec(),
            b"</div></div><p><p><li>".to_vec(),
            b"&#xFFFFFFFF; &#55296; &#; &".to_vec(),
            "é<é>é&é;".as_bytes().to_vec(),
            b"From:\nTo:\n\n".to_vec(),
            b"From: a\r\nContent-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\n--".to_vec(),
            "On wrote:\n>\n> wrote:\n<\n\n日本語のメッセージ:"
                .as_bytes()
                .to_vec(),
            b":::\n---\n___\n-- \n".to_vec(),
        ];
        cases.push("a".repeat(100_000).into_bytes());
        cases.push("> x\n".repeat(10_000).into_bytes());
        cases.push("On 1 2024 wrote:\n".repeat(5_000).into_bytes());
        cases.push("<div>".repeat(20_000).into_bytes());
        for input in &cases {
            for format in [Format::Auto, Format::Eml, Format::Text, Format::Html] {
                let _ = extract(input, format);
            }
            let _ = detect_format(input);
            let _ = reply_from_message(input);
        }
    }
}
