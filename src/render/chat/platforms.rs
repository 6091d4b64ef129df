//! A [`RoomSummary`] in each chat platform's own format, split into messages that each keep
//! within that platform's documented limits:
//!
//! - Slack incoming webhooks, Block Kit: at most 50 blocks a message, a section's text at
//!   most 3,000 characters, a header's at most 150 (api.slack.com/reference/block-kit/blocks).
//! - Mattermost incoming webhooks (Slack-compatible): Markdown `text`, at most 16,383
//!   characters a post (its `MaxMessageSize`); we stay under 16,000.
//! - Discord webhooks: `content` at most 2,000 characters; at most 10 embeds, an embed's title
//!   256 and description 4,096 characters, all embeds of a message 6,000 characters together
//!   (discord.com/developers/docs/resources/message#embed-object-embed-limits).
//! - Microsoft Teams Workflows webhooks: a message with one Adaptive Card (version 1.4); a
//!   message at most 28 KB (learn.microsoft.com, "Send messages using incoming webhooks");
//!   we stay under 24,000 bytes.
//! - Google Chat incoming webhooks: `cardsV2`, a message at most 32,000 bytes
//!   (developers.google.com/workspace/chat/format-messages); we stay under 28,000, and under
//!   100 widgets a card.
//! - Matrix: an `m.room.message` of msgtype `m.notice` with an HTML `formatted_body`; an event
//!   at most 65,536 bytes (spec, "Size limits"); we stay under 48,000 bytes of content.

use maud::html;
use serde_json::{Value, json};

use super::{Piece, RoomSummary, at_most, missing_line, more, pieces, plain, since};

/// The platforms a room can be on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    Slack,
    Mattermost,
    Discord,
    Teams,
    GoogleChat,
    Matrix,
}

impl Platform {
    pub const ALL: [Platform; 6] = [
        Platform::Slack,
        Platform::Mattermost,
        Platform::Discord,
        Platform::Teams,
        Platform::GoogleChat,
        Platform::Matrix,
    ];

    /// Its name in commands and the API: `slack`, `mattermost`, `discord`, `teams`,
    /// `google-chat`, `matrix`.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Slack => "slack",
            Platform::Mattermost => "mattermost",
            Platform::Discord => "discord",
            Platform::Teams => "teams",
            Platform::GoogleChat => "google-chat",
            Platform::Matrix => "matrix",
        }
    }

    pub fn parse(s: &str) -> Option<Platform> {
        Platform::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

pub const SLACK_BLOCKS: usize = 50;
pub const SLACK_SECTION_CHARS: usize = 3000;
pub const SLACK_HEADER_CHARS: usize = 150;
pub const MATTERMOST_CHARS: usize = 16_000;
pub const DISCORD_CONTENT_CHARS: usize = 2000;
pub const DISCORD_EMBEDS: usize = 10;
pub const DISCORD_TITLE_CHARS: usize = 256;
pub const DISCORD_DESCRIPTION_CHARS: usize = 4096;
pub const DISCORD_TOTAL_CHARS: usize = 6000;
pub const TEAMS_BYTES: usize = 24_000;
pub const GOOGLE_CHAT_BYTES: usize = 28_000;
pub const GOOGLE_CHAT_WIDGETS: usize = 100;
pub const MATRIX_BYTES: usize = 48_000;

/// The messages `s` is posted as on `platform`, in order.
pub fn messages(platform: Platform, s: &RoomSummary) -> Vec<Value> {
    let ps = pieces(s);
    match platform {
        Platform::Slack => slack(&ps),
        Platform::Mattermost => mattermost(&ps),
        Platform::Discord => discord(&ps),
        Platform::Teams => teams(&ps),
        Platform::GoogleChat => google_chat(s, &ps),
        Platform::Matrix => matrix(&ps),
    }
}

/// Slack's mrkdwn escapes: `&`, `<`, `>`.
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A piece as Slack mrkdwn (Mattermost reads the same, with `**` for bold).
fn markdown(p: &Piece, bold: &str, link: impl Fn(&str, &str) -> String) -> String {
    let esc = |s: &str| slack_escape(s);
    match p {
        Piece::Headline(h) => format!("{bold}{}{bold}", esc(h)),
        Piece::BlockersHeading(n) => format!("{bold}Open blockers ({n}){bold}"),
        Piece::Blocker(b) => {
            let mut t = format!(
                "{bold}{}{bold} ({}): {}",
                esc(&b.who),
                since(b.since),
                esc(&b.lines.join(" / "))
            );
            if b.hidden_lines > 0 {
                t.push_str(&format!(" _{}_", more(b.hidden_lines)));
            }
            t
        }
        Piece::Update(u) => {
            let mut t = format!("{bold}{}{bold}", esc(&u.who));
            for part in &u.parts {
                t.push('\n');
                if let Some(h) = &part.heading {
                    t.push_str(&format!("_{}_: ", esc(h)));
                }
                t.push_str(&esc(&part.lines.join("\n")));
            }
            if u.hidden_lines > 0 {
                let m = more(u.hidden_lines);
                t.push('\n');
                t.push_str(&match &u.url {
                    Some(url) => link(url, &m),
                    None => m,
                });
            }
            t
        }
        Piece::Missing(names) => format!("_{}_", esc(&missing_line(names))),
        Piece::Link(u) => link(u, "Open the team log"),
    }
}

fn slack_markdown(p: &Piece) -> String {
    markdown(p, "*", |url, text| format!("<{url}|{text}>"))
}

fn slack(ps: &[Piece]) -> Vec<Value> {
    let mut blocks = Vec::new();
    let mut headline = String::new();
    for p in ps {
        let block = match p {
            Piece::Headline(h) => {
                headline = h.clone();
                json!({"type": "header", "text": {"type": "plain_text", "text": at_most(h, SLACK_HEADER_CHARS)}})
            }
            Piece::Missing(_) | Piece::Link(_) => {
                json!({"type": "context", "elements": [{"type": "mrkdwn", "text": at_most(&slack_markdown(p), SLACK_SECTION_CHARS)}]})
            }
            _ => {
                json!({"type": "section", "text": {"type": "mrkdwn", "text": at_most(&slack_markdown(p), SLACK_SECTION_CHARS)}})
            }
        };
        blocks.push((block, 1));
    }
    super::pack(blocks, SLACK_BLOCKS, usize::MAX)
        .into_iter()
        .enumerate()
        .map(|(i, blocks)| {
            let text = if i == 0 {
                headline.clone()
            } else {
                format!("{headline} (continued)")
            };
            json!({"text": text, "blocks": blocks, "unfurl_links": false})
        })
        .collect()
}

fn mattermost(ps: &[Piece]) -> Vec<Value> {
    let parts: Vec<(String, usize)> = ps
        .iter()
        .map(|p| {
            let t = markdown(p, "**", |url, text| format!("[{text}]({url})"));
            let t = at_most(&t, MATTERMOST_CHARS - 2);
            let n = t.chars().count() + 2;
            (t, n)
        })
        .collect();
    super::pack(parts, usize::MAX, MATTERMOST_CHARS)
        .into_iter()
        .map(|texts| json!({"text": texts.join("\n\n")}))
        .collect()
}

/// A Discord embed's characters as the limit counts them (title and description here).
fn embed_chars(e: &Value) -> usize {
    ["title", "description"]
        .iter()
        .map(|k| e[*k].as_str().map_or(0, |s| s.chars().count()))
        .sum()
}

fn discord(ps: &[Piece]) -> Vec<Value> {
    let mut headline = String::new();
    let mut embeds = Vec::new();
    for p in ps {
        let embed = match p {
            Piece::Headline(h) => {
                headline = at_most(h, DISCORD_CONTENT_CHARS);
                continue;
            }
            Piece::Update(u) => {
                let body = plain(p);
                let desc = body
                    .split_once('\n')
                    .map_or("", |(_, rest)| rest)
                    .to_string();
                let mut e = json!({"title": at_most(&u.who, DISCORD_TITLE_CHARS),
                                   "description": at_most(&desc, DISCORD_DESCRIPTION_CHARS)});
                if let Some(url) = &u.url {
                    e["url"] = json!(url);
                }
                e
            }
            Piece::Blocker(_) => {
                json!({"title": "Open blocker", "description": at_most(&plain(p), DISCORD_DESCRIPTION_CHARS), "color": 0xB3261E})
            }
            Piece::BlockersHeading(_) => continue,
            Piece::Missing(_) | Piece::Link(_) => {
                json!({"description": at_most(&plain(p), DISCORD_DESCRIPTION_CHARS)})
            }
        };
        let n = embed_chars(&embed);
        embeds.push((embed, n));
    }
    let groups = super::pack(embeds, DISCORD_EMBEDS, DISCORD_TOTAL_CHARS);
    let groups = if groups.is_empty() {
        vec![Vec::new()]
    } else {
        groups
    };
    groups
        .into_iter()
        .enumerate()
        .map(|(i, embeds)| {
            let content = if i == 0 {
                headline.clone()
            } else {
                at_most(&format!("{headline} (continued)"), DISCORD_CONTENT_CHARS)
            };
            json!({"content": content, "embeds": embeds, "allowed_mentions": {"parse": []}})
        })
        .collect()
}

/// Adaptive Card elements of a piece.
fn card_elements(p: &Piece) -> Vec<Value> {
    let block = |text: String, extra: Value| {
        let mut b = json!({"type": "TextBlock", "text": text, "wrap": true});
        if let (Some(b), Some(e)) = (b.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        b
    };
    match p {
        Piece::Headline(h) => vec![block(
            h.clone(),
            json!({"size": "Medium", "weight": "Bolder"}),
        )],
        Piece::BlockersHeading(n) => vec![block(
            format!("Open blockers ({n})"),
            json!({"weight": "Bolder", "color": "Attention", "separator": true}),
        )],
        Piece::Update(u) => {
            let body = plain(p);
            let rest = body.split_once('\n').map_or("", |(_, r)| r).to_string();
            let mut v = vec![block(
                u.who.clone(),
                json!({"weight": "Bolder", "separator": true}),
            )];
            if !rest.is_empty() {
                v.push(block(rest, json!({"spacing": "None"})));
            }
            v
        }
        _ => vec![block(plain(p), json!({"isSubtle": true}))],
    }
}

fn teams(ps: &[Piece]) -> Vec<Value> {
    let link = ps.iter().find_map(|p| match p {
        Piece::Link(u) => Some(u.clone()),
        _ => None,
    });
    let items: Vec<(Vec<Value>, usize)> = ps
        .iter()
        .filter(|p| !matches!(p, Piece::Link(_)))
        .map(|p| {
            let els = card_elements(p);
            let n = serde_json::to_string(&els).map_or(0, |s| s.len());
            (els, n)
        })
        .collect();
    super::pack(items, usize::MAX, TEAMS_BYTES)
        .into_iter()
        .map(|groups| {
            let body: Vec<Value> = groups.into_iter().flatten().collect();
            let mut card = json!({
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": body,
            });
            if let Some(u) = &link {
                card["actions"] =
                    json!([{"type": "Action.OpenUrl", "title": "Open the team log", "url": u}]);
            }
            json!({"type": "message", "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": null,
                "content": card,
            }]})
        })
        .collect()
}

/// Google Chat's card text takes a few HTML tags (`<b>`, `<i>`, `<a href>`, `<br>`).
fn chat_html(p: &Piece) -> String {
    let text = plain(p);
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        if i > 0 {
            out.push_str("<br>");
        }
        let esc = html! { (line) }.into_string();
        if i == 0 && matches!(p, Piece::Update(_) | Piece::Blocker(_)) {
            out.push_str(&format!("<b>{esc}</b>"));
        } else {
            out.push_str(&esc);
        }
    }
    out
}

fn google_chat(s: &RoomSummary, ps: &[Piece]) -> Vec<Value> {
    let widgets: Vec<(Value, usize)> = ps
        .iter()
        .filter(|p| !matches!(p, Piece::Headline(_)))
        .map(|p| {
            let w = match p {
                Piece::Link(u) => json!({"buttonList": {"buttons": [{"text": "Open the team log", "onClick": {"openLink": {"url": u}}}]}}),
                _ => json!({"textParagraph": {"text": chat_html(p)}}),
            };
            let n = w.to_string().len();
            (w, n)
        })
        .collect();
    let headline = s.headline();
    let groups = super::pack(widgets, GOOGLE_CHAT_WIDGETS, GOOGLE_CHAT_BYTES);
    let groups = if groups.is_empty() {
        vec![Vec::new()]
    } else {
        groups
    };
    let n = groups.len();
    groups
        .into_iter()
        .enumerate()
        .map(|(i, widgets)| {
            let subtitle = if n > 1 {
                format!("part {} of {n}", i + 1)
            } else {
                String::new()
            };
            json!({
                "text": if i == 0 { headline.clone() } else { String::new() },
                "cardsV2": [{
                    "cardId": format!("tidings-{}-{}", s.date, i + 1),
                    "card": {
                        "header": {"title": at_most(&headline, 200), "subtitle": subtitle},
                        "sections": [{"widgets": widgets}],
                    }
                }]
            })
        })
        .collect()
}

/// A piece as Matrix's HTML (`formatted_body`).
fn matrix_html(p: &Piece) -> String {
    match p {
        Piece::Headline(h) => html! { h4 { (h) } }.into_string(),
        Piece::BlockersHeading(n) => html! { p { strong { "Open blockers (" (n) ")" } } }.into_string(),
        Piece::Update(u) => html! {
            p {
                strong { (u.who) }
                @for part in &u.parts {
                    br;
                    @if let Some(h) = &part.heading { em { (h) } ": " }
                    @for (i, l) in part.lines.iter().enumerate() { @if i > 0 { br; } (l) }
                }
                @if u.hidden_lines > 0 {
                    br;
                    @if let Some(url) = &u.url { a href=(url) { (more(u.hidden_lines)) } } @else { (more(u.hidden_lines)) }
                }
            }
        }
        .into_string(),
        Piece::Link(u) => html! { p { a href=(u) { "Open the team log" } } }.into_string(),
        _ => html! { p { (plain(p)) } }.into_string(),
    }
}

fn matrix(ps: &[Piece]) -> Vec<Value> {
    let items: Vec<((String, String), usize)> = ps
        .iter()
        .map(|p| {
            let (t, h) = (plain(p), matrix_html(p));
            let n = t.len() + h.len() + 16;
            ((t, h), n)
        })
        .collect();
    super::pack(items, usize::MAX, MATRIX_BYTES)
        .into_iter()
        .map(|parts| {
            let (texts, htmls): (Vec<String>, Vec<String>) = parts.into_iter().unzip();
            json!({"msgtype": "m.notice", "body": texts.join("\n\n"),
                   "format": "org.matrix.custom.html", "formatted_body": htmls.join("")})
        })
        .collect()
}
