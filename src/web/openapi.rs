//! The OpenAPI 3.1 document served at `/api/v1/openapi.json`, written by hand from [`DOCS`]:
//! one entry per route. A unit test holds [`DOCS`] to the routes the router registers (see
//! [`super::routes`]), so the document cannot drift from the server.

use serde_json::{Map, Value, json};

use super::Verb;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// Anyone.
    None,
    /// A member's API token (`Authorization: Bearer TOKEN`).
    Member,
    /// The admin token (`web.admin_token`).
    Admin,
    /// The signed link itself (the `{token}` path segment).
    Link,
    /// The admin page: the admin token as a bearer header, or the session cookie that
    /// `POST /login` sets. Answers are HTML pages, never JSON errors.
    AdminPage,
}

/// One route as documented.
#[derive(Debug, Clone, Copy)]
pub struct RouteDoc {
    pub verb: Verb,
    pub path: &'static str,
    pub summary: &'static str,
    pub auth: Auth,
    /// Schema name of the JSON request body (`"form"` for an HTML form).
    pub request: Option<&'static str>,
    /// Success status and schema name of its body (`"html"`, `"text"`, `None` for no body).
    pub status: u16,
    pub response: Option<&'static str>,
}

const fn doc(
    verb: Verb,
    path: &'static str,
    summary: &'static str,
    auth: Auth,
    request: Option<&'static str>,
    status: u16,
    response: Option<&'static str>,
) -> RouteDoc {
    RouteDoc {
        verb,
        path,
        summary,
        auth,
        request,
        status,
        response,
    }
}

use Auth as A;
use Verb as V;

/// Every route of the server.
pub const DOCS: &[RouteDoc] = &[
    doc(
        V::Get,
        "/",
        "The admin page: teams, members and their next request and digest, the outbox, the quarantine. Without credentials, a login form; off (a page saying how to turn it on) while web.admin_token is empty.",
        A::AdminPage,
        None,
        200,
        Some("html"),
    ),
    doc(
        V::Post,
        "/login",
        "Log in to the admin page with the admin token (form field `token`); sets the session cookie and redirects to `/`.",
        A::None,
        Some("form"),
        303,
        None,
    ),
    doc(
        V::Post,
        "/logout",
        "End the admin session (form token from the admin page required); redirects to `/`.",
        A::AdminPage,
        Some("form"),
        303,
        None,
    ),
    doc(
        V::Get,
        "/healthz",
        "Liveness: the database answers.",
        A::None,
        None,
        200,
        Some("Status"),
    ),
    doc(
        V::Get,
        "/metrics",
        "Prometheus metrics: mail by kind and state, replies by status, outbox depth, tick durations.",
        A::None,
        None,
        200,
        Some("text"),
    ),
    doc(
        V::Get,
        "/favicon.svg",
        "The icon every page links to.",
        A::None,
        None,
        200,
        Some("text"),
    ),
    doc(
        V::Get,
        "/u/{token}",
        "The List-Unsubscribe URL: a page that says what unsubscribing stops, with an Unsubscribe button (or, once unsubscribed, Subscribe again). A GET or HEAD changes nothing, so link scanners cannot unsubscribe anyone.",
        A::Link,
        None,
        200,
        Some("html"),
    ),
    doc(
        V::Post,
        "/u/{token}",
        "RFC 8058 one-click unsubscribe (body `List-Unsubscribe=One-Click`; answers JSON), or the page's buttons (form `action=unsubscribe|resubscribe`; answers a page).",
        A::Link,
        None,
        200,
        Some("Status"),
    ),
    doc(
        V::Get,
        "/p/{token}",
        "The preferences page behind the signed link in every email.",
        A::Link,
        None,
        200,
        Some("html"),
    ),
    doc(
        V::Post,
        "/p/{token}",
        "Submit the preferences page (form token required; redirects back to the page).",
        A::Link,
        Some("form"),
        303,
        None,
    ),
    doc(
        V::Get,
        "/link",
        "A form to get a fresh preferences link by email.",
        A::None,
        None,
        200,
        Some("html"),
    ),
    doc(
        V::Post,
        "/link",
        "Email a fresh preferences link if the address is a member's (the answer never says).",
        A::None,
        Some("form"),
        200,
        Some("html"),
    ),
    doc(
        V::Get,
        "/api/v1/openapi.json",
        "This document.",
        A::None,
        None,
        200,
        Some("OpenApi"),
    ),
    doc(
        V::Post,
        "/api/v1/updates",
        "Store an update for a local date (default: today in your zone); appended to one already there. With an `Idempotency-Key` header a retry returns the first response and stores nothing.",
        A::Member,
        Some("NewUpdate"),
        201,
        Some("UpdateResponse"),
    ),
    doc(
        V::Get,
        "/api/v1/updates",
        "Your and your teammates' updates for `?date=YYYY-MM-DD` (default: today in your zone).",
        A::Member,
        None,
        200,
        Some("UpdateList"),
    ),
    doc(
        V::Get,
        "/api/v1/me/preferences",
        "Your preferences, in the shape of `tidings member list --json`.",
        A::Member,
        None,
        200,
        Some("Member"),
    ),
    doc(
        V::Put,
        "/api/v1/me/preferences",
        "Change your preferences; absent fields keep their value. Next instants are planned again at once.",
        A::Member,
        Some("MemberPatch"),
        200,
        Some("Member"),
    ),
    doc(
        V::Get,
        "/api/v1/digests/latest",
        "The latest digest queued for you.",
        A::Member,
        None,
        200,
        Some("Digest"),
    ),
    doc(
        V::Get,
        "/api/v1/admin/members",
        "All members.",
        A::Admin,
        None,
        200,
        Some("MemberList"),
    ),
    doc(
        V::Post,
        "/api/v1/admin/members",
        "Add a member (email, name and timezone required).",
        A::Admin,
        Some("MemberPatch"),
        201,
        Some("Member"),
    ),
    doc(
        V::Get,
        "/api/v1/admin/members/{email}",
        "One member.",
        A::Admin,
        None,
        200,
        Some("Member"),
    ),
    doc(
        V::Put,
        "/api/v1/admin/members/{email}",
        "Change a member, teams included.",
        A::Admin,
        Some("MemberPatch"),
        200,
        Some("Member"),
    ),
    doc(
        V::Delete,
        "/api/v1/admin/members/{email}",
        "Remove a member and their updates.",
        A::Admin,
        None,
        204,
        None,
    ),
    doc(
        V::Get,
        "/api/v1/admin/teams",
        "Teams with their member counts.",
        A::Admin,
        None,
        200,
        Some("TeamList"),
    ),
    doc(
        V::Post,
        "/api/v1/admin/teams",
        "Add a team.",
        A::Admin,
        Some("NewTeam"),
        201,
        Some("Team"),
    ),
    doc(
        V::Get,
        "/api/v1/admin/teams/{name}/holidays",
        "A team's holidays.",
        A::Admin,
        None,
        200,
        Some("Holidays"),
    ),
    doc(
        V::Post,
        "/api/v1/admin/teams/{name}/holidays",
        "Add a team holiday (no requests or digests that local date).",
        A::Admin,
        Some("NewHoliday"),
        201,
        Some("Holiday"),
    ),
];

fn schemas() -> Value {
    let date = json!({"type": "string", "format": "date", "example": "2026-03-09"});
    let time = json!({"type": "string", "pattern": "^[0-9]{2}:[0-9]{2}$", "example": "08:30"});
    let instant = json!({"type": "string", "format": "date-time"});
    let away = json!({"type": "array", "items": {"type": "object", "required": ["from", "to"],
        "properties": {"from": date, "to": date}}});
    let workdays = json!({"type": "array", "items": {"enum": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}, "example": ["mon", "tue", "wed", "thu", "fri"]});
    let update = json!({"type": "object",
    "required": ["id", "date", "text", "source", "revision", "edited", "created_at", "updated_at"],
    "properties": {
        "id": {"type": "integer"}, "date": date, "text": {"type": "string"},
        "source": {"enum": ["email", "api"]}, "revision": {"type": "integer"},
        "edited": {"type": "boolean"}, "created_at": instant, "updated_at": instant,
        "author": {"type": "object", "properties": {"name": {"type": "string"}, "email": {"type": "string"}}}
    }});
    json!({
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "object",
            "required": ["code", "message"], "properties": {
                "code": {"type": "string", "description": "Stable, for programs: missing_token, invalid_token, rate_limited, too_large, bad_json, unsupported_media_type, invalid, not_found, conflict, admin_disabled, no_route, method_not_allowed, internal."},
                "message": {"type": "string", "description": "For people."}}}}},
        "Status": {"type": "object", "properties": {"status": {"type": "string"}}},
        "OpenApi": {"type": "object"},
        "NewUpdate": {"type": "object", "required": ["text"], "additionalProperties": false,
            "properties": {"text": {"type": "string"}, "date": date}},
        "Update": update,
        "UpdateResponse": {"type": "object", "required": ["update"], "properties": {"update": {"$ref": "#/components/schemas/Update"}}},
        "UpdateList": {"type": "object", "required": ["date", "updates"], "properties": {
            "date": date, "updates": {"type": "array", "items": {"$ref": "#/components/schemas/Update"}}}},
        "Member": {"type": "object",
            "required": ["email", "name", "timezone", "request_at", "digest_at", "workdays", "paused", "unsubscribed", "away", "team", "teams", "aliases"],
            "properties": {
                "email": {"type": "string", "format": "email"}, "name": {"type": "string"},
                "timezone": {"type": "string", "example": "Europe/Berlin"},
                "request_at": time, "digest_at": time, "workdays": workdays,
                "paused": {"type": "boolean"}, "unsubscribed": {"type": "boolean"}, "away": away,
                "team": {"type": ["string", "null"]}, "teams": {"type": "array", "items": {"type": "string"}},
                "aliases": {"type": "array", "items": {"type": "string"}}}},
        "MemberList": {"type": "array", "items": {"$ref": "#/components/schemas/Member"}},
        "MemberPatch": {"type": "object", "additionalProperties": false,
            "description": "Any fields of Member. email, aliases and (for members) team/teams are read-only: they may be sent back unchanged.",
            "properties": {
                "email": {"type": "string"}, "name": {"type": "string"}, "timezone": {"type": "string"},
                "request_at": time, "digest_at": time, "workdays": workdays,
                "paused": {"type": "boolean"}, "unsubscribed": {"type": "boolean"}, "away": away,
                "team": {"type": ["string", "null"]}, "teams": {"type": "array", "items": {"type": "string"}},
                "aliases": {"type": "array", "items": {"type": "string"}}}},
        "Digest": {"type": "object", "properties": {
            "subject": {"type": "string"}, "date": date, "state": {"enum": ["pending", "sending", "sent", "failed"]},
            "queued_at": instant, "sent_at": {"type": ["string", "null"], "format": "date-time"},
            "text": {"type": ["string", "null"]}, "html": {"type": ["string", "null"]}}},
        "Team": {"type": "object", "properties": {"name": {"type": "string"}, "members": {"type": "integer"}}},
        "TeamList": {"type": "array", "items": {"$ref": "#/components/schemas/Team"}},
        "NewTeam": {"type": "object", "required": ["name"], "additionalProperties": false, "properties": {"name": {"type": "string"}}},
        "Holidays": {"type": "object", "properties": {"team": {"type": "string"}, "holidays": {"type": "array", "items": date}}},
        "NewHoliday": {"type": "object", "required": ["date"], "additionalProperties": false, "properties": {"date": date}},
        "Holiday": {"type": "object", "properties": {"team": {"type": "string"}, "date": date}},
    })
}

fn content(schema: &str) -> Value {
    match schema {
        "html" => json!({"text/html": {"schema": {"type": "string"}}}),
        "text" => json!({"text/plain": {"schema": {"type": "string"}}}),
        "form" => json!({"application/x-www-form-urlencoded": {"schema": {"type": "object"}}}),
        s => json!({"application/json": {"schema": {"$ref": format!("#/components/schemas/{s}")}}}),
    }
}

fn error(description: &str) -> Value {
    json!({"description": description, "content": content("Error")})
}

fn operation(d: &RouteDoc) -> Value {
    let mut op = Map::new();
    op.insert("summary".into(), json!(d.summary));
    let mut params = Vec::new();
    for seg in d.path.split('/') {
        if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            params.push(
                json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}),
            );
        }
    }
    if d.verb == Verb::Get && d.path == "/api/v1/updates" {
        params.push(json!({"name": "date", "in": "query", "required": false, "schema": {"type": "string", "format": "date"}}));
    }
    if d.verb == Verb::Post && d.path == "/api/v1/updates" {
        params.push(
            json!({"name": "Idempotency-Key", "in": "header", "required": false,
            "description": "Same key (per token, for 24 hours) → same response, no second update.",
            "schema": {"type": "string", "maxLength": 255}}),
        );
    }
    if !params.is_empty() {
        op.insert("parameters".into(), Value::Array(params));
    }
    if let Some(r) = d.request {
        op.insert(
            "requestBody".into(),
            json!({"required": true, "content": content(r)}),
        );
    }
    let mut responses = Map::new();
    let mut ok = json!({"description": "Success"});
    if let Some(r) = d.response {
        ok["content"] = content(r);
    }
    responses.insert(d.status.to_string(), ok);
    match d.auth {
        Auth::Member | Auth::Admin => {
            op.insert(
                "security".into(),
                json!([{ if d.auth == Auth::Admin { "adminToken" } else { "memberToken" }: [] }]),
            );
            responses.insert(
                "401".into(),
                error("Missing, wrong or revoked token (missing_token, invalid_token)."),
            );
            responses.insert(
                "429".into(),
                error("Rate limit of this token reached (rate_limited); see Retry-After."),
            );
            if d.auth == Auth::Admin {
                responses.insert(
                    "403".into(),
                    error("web.admin_token is not set (admin_disabled)."),
                );
            }
        }
        Auth::Link => {
            responses.insert(
                "403".into(),
                error("The link is tampered with (or the form token is wrong)."),
            );
            responses.insert(
                "410".into(),
                error("The link has expired (the page offers a fresh one)."),
            );
        }
        Auth::AdminPage => {
            op.insert(
                "security".into(),
                json!([{"adminToken": []}, {"adminSession": []}]),
            );
            responses.insert(
                "401".into(),
                json!({"description": "Wrong token, or a tampered or expired session: the login page.", "content": content("html")}),
            );
            responses.insert(
                "403".into(),
                json!({"description": "The form token is wrong, or web.admin_token is not set.", "content": content("html")}),
            );
        }
        Auth::None => {}
    }
    if d.request.is_some() {
        responses.insert(
            "413".into(),
            error("Body larger than web.max_body_bytes (too_large)."),
        );
        responses.insert("422".into(), error("A value is not acceptable (invalid)."));
    }
    op.insert("responses".into(), Value::Object(responses));
    Value::Object(op)
}

/// The OpenAPI document.
pub fn spec() -> Value {
    let mut paths = Map::new();
    for d in DOCS {
        let entry = paths
            .entry(d.path.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(ops) = entry {
            ops.insert(d.verb.as_str().to_ascii_lowercase(), operation(d));
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Tidings",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Asynchronous stand-ups by email. Member tokens: `tidings token create --member EMAIL` (stored hashed; `tidings token revoke`). Errors are `{\"error\": {\"code\", \"message\"}}` with a stable code."
        },
        "paths": Value::Object(paths),
        "components": {
            "schemas": schemas(),
            "securitySchemes": {
                "memberToken": {"type": "http", "scheme": "bearer", "description": "A member's API token."},
                "adminToken": {"type": "http", "scheme": "bearer", "description": "web.admin_token."},
                "adminSession": {"type": "apiKey", "in": "cookie", "name": "tidings_admin", "description": "The admin page's session, set by POST /login (signed, expiring, HttpOnly, SameSite=Strict)."}
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn the_document_lists_exactly_the_routes_the_router_registers() {
        let registered: BTreeSet<(Verb, &str)> =
            super::super::routes().registered.into_iter().collect();
        let documented: BTreeSet<(Verb, &str)> = DOCS.iter().map(|d| (d.verb, d.path)).collect();
        assert_eq!(
            registered.difference(&documented).collect::<Vec<_>>(),
            Vec::<&(Verb, &str)>::new(),
            "routes missing from web::openapi::DOCS"
        );
        assert_eq!(
            documented.difference(&registered).collect::<Vec<_>>(),
            Vec::<&(Verb, &str)>::new(),
            "documented routes the router does not have"
        );
        assert_eq!(DOCS.len(), documented.len(), "a route is documented twice");
    }

    #[test]
    fn every_schema_reference_resolves() {
        let spec = spec();
        let text = spec.to_string();
        let schemas = spec["components"]["schemas"].as_object().unwrap();
        for part in text.split("#/components/schemas/").skip(1) {
            let name: String = part.chars().take_while(|c| c.is_alphanumeric()).collect();
            assert!(schemas.contains_key(&name), "unresolved schema {name}");
        }
        for d in DOCS {
            assert!(
                spec["paths"][d.path][d.verb.as_str().to_ascii_lowercase()].is_object(),
                "{} {}",
                d.verb.as_str(),
                d.path
            );
        }
    }
}
