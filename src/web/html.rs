//! The one page shell of every HTML response (preferences, unsubscribe, admin, errors):
//! doctype, `lang`, title, viewport, favicon, the shared CSS and a `main` landmark, so every
//! page reads alike to a person and to a screen reader.

use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};

/// The page CSS: the shared look (`templates/theme.css`: colours, type, pills, dark mode)
/// then the pages' own rules.
static CSS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "{}\n{}",
        crate::render::theme::THEME_CSS,
        include_str!("../../templates/page.css")
    )
});
/// Served at `/favicon.svg` and linked from every page (browsers otherwise ask for a
/// `/favicon.ico` that does not exist and log an error).
pub const FAVICON_SVG: &str = include_str!("../../templates/favicon.svg");

/// What the header of a page shows besides "Tidings": the team the page is about, the
/// navigation (the current page marked) and, for a signed-in reader, Sign out.
#[derive(Debug, Default)]
pub struct Header<'a> {
    pub team: Option<&'a str>,
    /// `(href, label, current)`.
    pub nav: Vec<(String, &'static str, bool)>,
    pub signout: bool,
}

/// A whole page without navigation: `body` goes inside `<main>` and should start with an `h1`.
pub fn page(title: &str, body: Markup) -> Markup {
    page_with(title, &Header::default(), body)
}

/// A whole page with its header: "Tidings", the team, the navigation and Sign out above
/// `<main>`, which holds `body` (starting with an `h1`).
pub fn page_with(title: &str, header: &Header<'_>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                meta name="color-scheme" content="light dark";
                title { (title) " · Tidings" }
                link rel="icon" href="/favicon.svg" type="image/svg+xml";
                style { (PreEscaped(CSS.as_str())) }
            }
            body {
                a.skip href="#main" { "Skip to the page" }
                header.top { div.bar {
                    span.brand { "Tidings" }
                    @if let Some(t) = header.team { span.team { (t) } }
                    @if !header.nav.is_empty() {
                        nav aria-label="Pages" {
                            @for (href, label, current) in &header.nav {
                                a href=(href) aria-current=[current.then_some("page")] { (label) }
                            }
                        }
                    }
                    @if header.signout {
                        form method="post" action="/signout" {
                            button.quiet type="submit" { "Sign out" }
                        }
                    }
                } }
                main id="main" { (body) }
            }
        }
    }
}

/// A page with the headers every HTML answer carries.
pub fn html_response(status: StatusCode, m: Markup) -> Response {
    (
        status,
        // Pages hold form tokens or signed links: keep them out of shared caches and other
        // sites' frames, and the link out of other sites' Referer. ("no-referrer" would also
        // make browsers send `Origin: null` on our own form posts, which the Origin check
        // refuses.)
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::REFERRER_POLICY, "same-origin"),
        ],
        Html(m.into_string()),
    )
        .into_response()
}

/// A page that says what went wrong in words for people (never internal error text).
pub fn message_page(status: StatusCode, title: &str, message: &str, more: Markup) -> Response {
    html_response(
        status,
        page(title, html! { h1 { (title) } p { (message) } (more) }),
    )
}

/// The icon every page links to.
#[utoipa::path(get, path = "/favicon.svg", tag = "ops",
    responses((status = 200, description = "An SVG icon.", body = String, content_type = "image/svg+xml")))]
pub async fn favicon() -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        FAVICON_SVG,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_pages_css_uses_only_the_themes_names() {
        for css in [
            super::CSS.as_str(),
            include_str!("../../templates/admin.css"),
        ] {
            assert_eq!(
                crate::render::theme::unknown_vars(css),
                Vec::<String>::new()
            );
        }
    }
}
