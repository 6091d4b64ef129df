//! The OpenAPI 3.1 document served at `/api/v1/openapi.json`, derived from the code: every
//! handler carries `#[utoipa::path]` (method, path, parameters, body, every status it answers
//! and its content type) and is registered only through utoipa-axum's `routes!` (see
//! [`super::Routes`]), so a route cannot be served without being documented; request and
//! response bodies are the Rust types the server (de)serializes, deriving `ToSchema`.
//!
//! What every route of a kind answers is added here from what its annotation states, so it is
//! written once: a bearer-token route also answers 401 and 429 (and 403 for the admin token);
//! a JSON body also gets 400, 408, 413, 415 and 422; a form body 408 and 413.

use std::sync::OnceLock;

use serde::Serialize;
use serde_json::{Value, json};
use utoipa::{OpenApi, ToSchema};

/// The JSON error every API failure answers with.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// A stable machine-readable `code` and a `message` for people.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    #[schema(example = "invalid")]
    pub code: String,
    pub message: String,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tidings",
        description = "Asynchronous stand-ups by email. Member tokens: `tidings token create --member EMAIL` (stored hashed; `tidings token revoke`). Errors are `{\"error\": {\"code\", \"message\"}}` with a stable code.",
    ),
    components(schemas(ErrorBody)),
    tags(
        (name = "updates", description = "A member's updates"),
        (name = "me", description = "A member's own preferences and digests"),
        (name = "log", description = "The team log: a team's updates by page, searched, exported"),
        (name = "admin", description = "Members, teams, holidays, check-ins and webhooks (the admin token)"),
        (name = "pages", description = "HTML pages: admin, preferences, unsubscribe"),
        (name = "ops", description = "Health, metrics and this document"),
    )
)]
struct ApiDoc;

/// The document the annotations describe, before the common statuses are added.
pub(super) fn base() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The OpenAPI document (built once).
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| finish(super::routes().into_openapi()))
}

fn error(description: &str) -> Value {
    json!({"description": description,
           "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

fn page(description: &str) -> Value {
    json!({"description": description,
           "content": {"text/html": {"schema": {"type": "string"}}}})
}

/// Adds what the annotations imply (security schemes, the statuses every route of a kind
/// answers) and fixes the OpenAPI version.
fn finish(api: utoipa::openapi::OpenApi) -> Value {
    let mut doc = serde_json::to_value(&api).unwrap_or_else(|_| json!({}));
    doc["openapi"] = json!("3.1.0");
    doc["info"]["version"] = json!(env!("CARGO_PKG_VERSION"));
    // The crate's license and authors are not part of the API's description.
    if let Some(info) = doc["info"].as_object_mut() {
        info.remove("license");
        info.remove("contact");
    }
    doc["components"]["securitySchemes"] = json!({
        "memberToken": {"type": "http", "scheme": "bearer", "description": "A member's API token."},
        "adminToken": {"type": "http", "scheme": "bearer", "description": "web.admin_token."},
        "adminSession": {"type": "apiKey", "in": "cookie", "name": "tidings_admin",
            "description": "The admin page's session, set by POST /login (signed, expiring, HttpOnly, SameSite=Strict)."}
    });
    for op in operations(&mut doc) {
        add_links(op);
        add_required(op);
        add_common(op);
        split_summary(op);
    }
    super::openapi_webhooks::add(&mut doc);
    doc
}

/// Every operation of the document (each method of each path).
fn operations(doc: &mut Value) -> impl Iterator<Item = &mut Value> {
    doc["paths"]
        .as_object_mut()
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(|item| item.as_object_mut())
        .flat_map(|ops| ops.values_mut())
}

/// OpenAPI links from what a create answers to the operations on what it created, so a client
/// (and Schemathesis' stateful phase) can walk create → read → update → delete: (operation,
/// status, link name, target operation, parameter, where its value is in the answer).
const LINKS: &[(&str, &str, &str, &str, &str, &str)] = &[
    (
        "admin_add_webhook",
        "201",
        "TestWebhook",
        "admin_test_webhook",
        "id",
        "$response.body#/webhook/id",
    ),
    (
        "admin_add_webhook",
        "201",
        "ResumeWebhook",
        "admin_resume_webhook",
        "id",
        "$response.body#/webhook/id",
    ),
    (
        "admin_add_webhook",
        "201",
        "RemoveWebhook",
        "admin_remove_webhook",
        "id",
        "$response.body#/webhook/id",
    ),
    (
        "admin_add_member",
        "201",
        "GetMember",
        "admin_get_member",
        "email",
        "$response.body#/email",
    ),
    (
        "admin_add_member",
        "201",
        "UpdateMember",
        "admin_update_member",
        "email",
        "$response.body#/email",
    ),
    (
        "admin_add_member",
        "201",
        "RemoveMember",
        "admin_remove_member",
        "email",
        "$response.body#/email",
    ),
    (
        "admin_add_team",
        "201",
        "ListHolidays",
        "admin_list_holidays",
        "name",
        "$response.body#/name",
    ),
    (
        "admin_add_team",
        "201",
        "AddHoliday",
        "admin_add_holiday",
        "name",
        "$response.body#/name",
    ),
    (
        "admin_add_holiday",
        "201",
        "ListHolidays",
        "admin_list_holidays",
        "name",
        "$response.body#/team",
    ),
    (
        "admin_add_team",
        "201",
        "ListCheckins",
        "admin_list_checkins",
        "name",
        "$response.body#/name",
    ),
    (
        "admin_add_team",
        "201",
        "AddCheckin",
        "admin_add_checkin",
        "name",
        "$response.body#/name",
    ),
    (
        "post_update",
        "201",
        "ListUpdates",
        "list_updates",
        "date",
        "$response.body#/update/date",
    ),
    (
        "put_preferences",
        "200",
        "GetPreferences",
        "get_preferences",
        "",
        "",
    ),
];

fn add_links(op: &mut Value) {
    let id = op["operationId"].as_str().unwrap_or_default().to_string();
    for (from, status, name, to, param, value) in LINKS {
        if *from != id || op["responses"].get(*status).is_none() {
            continue;
        }
        let mut link = json!({"operationId": to});
        if !param.is_empty() {
            link["parameters"] = json!({ *param: value });
        }
        op["responses"][*status]["links"][*name] = link;
    }
}

/// What an operation's body holds beyond its type's own schema (the type serves several
/// operations): (operation, fields it requires, what else holds). Fields the server takes
/// only sent back unchanged are `readOnly` there: a client need not send them, and one that
/// sends a GET body back as it is may.
const BODY_RULES: &[(&str, &[&str], &str)] = &[
    (
        "post_update",
        &[],
        r#"{"anyOf": [{"required": ["text"]}, {"required": ["keep_draft"], "properties": {"keep_draft": {"const": true}}}]}"#,
    ),
    (
        "admin_add_member",
        &["email", "name", "timezone"],
        r#"{"properties": {"aliases": {"maxItems": 0}}}"#,
    ),
    (
        "admin_update_member",
        &[],
        r#"{"properties": {"email": {"readOnly": true, "description": "The path's address: may be sent back unchanged."},
                           "aliases": {"readOnly": true, "description": "Changed with `tidings member set --alias`: may be sent back unchanged."}}}"#,
    ),
    (
        "put_preferences",
        &[],
        r#"{"properties": {"email": {"readOnly": true, "description": "The member's address: may be sent back unchanged."},
                           "aliases": {"readOnly": true, "description": "Set by an admin: may be sent back unchanged."},
                           "team": {"readOnly": true, "description": "Set by an admin: may be sent back unchanged."},
                           "teams": {"readOnly": true, "description": "Set by an admin: may be sent back unchanged."},
                           "observer": {"readOnly": true, "description": "Set by an admin: may be sent back unchanged."},
                           "calendar_away": {"readOnly": true, "description": "Read from the member's calendars: may be sent back unchanged."}}}"#,
    ),
];

fn add_required(op: &mut Value) {
    let id = op["operationId"].as_str().unwrap_or_default().to_string();
    for (for_op, fields, extra) in BODY_RULES {
        if *for_op != id {
            continue;
        }
        let body = &mut op["requestBody"]["content"]["application/json"]["schema"];
        let mut also: Value = serde_json::from_str(extra).unwrap_or_else(|_| json!({}));
        if !fields.is_empty() {
            also["required"] = json!(fields);
        }
        *body = json!({"allOf": [body.clone(), also]});
    }
}

/// The handler's doc comment becomes the summary; a comment of more than one sentence is
/// the description, with its first sentence as the summary.
fn split_summary(op: &mut Value) {
    let Some(text) = op["summary"].as_str() else {
        return;
    };
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let first = match text.find(". ") {
        Some(i) => text[..=i].to_string(),
        None => text.clone(),
    };
    if first != text && op.get("description").is_none() {
        op["description"] = json!(text);
    }
    op["summary"] = json!(first);
}

fn add_common(op: &mut Value) {
    let schemes: Vec<String> = op["security"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r.as_object())
        .flat_map(|r| r.keys().cloned())
        .collect();
    let body_types: Vec<String> = op["requestBody"]["content"]
        .as_object()
        .map(|c| c.keys().cloned().collect())
        .unwrap_or_default();
    let mut add = |status: &str, v: Value| {
        let responses = &mut op["responses"];
        if responses.get(status).is_none() {
            responses[status] = v;
        }
    };
    add(
        "414",
        error("The request target is longer than 8 KiB (uri_too_long)."),
    );
    add(
        "431",
        error("More than 100 headers, or more than 64 KiB of them (headers_too_large)."),
    );
    let bearer = schemes
        .iter()
        .any(|s| s == "memberToken" || s == "adminToken");
    let page_only = schemes.iter().any(|s| s == "adminSession");
    if bearer && !page_only {
        add(
            "401",
            error("Missing, wrong or revoked token (missing_token, invalid_token)."),
        );
        add(
            "429",
            error("Rate limit of this token reached (rate_limited); see Retry-After."),
        );
        if schemes.iter().any(|s| s == "adminToken") {
            add("403", error("web.admin_token is not set (admin_disabled)."));
        }
    }
    if body_types.iter().any(|t| t == "application/json") {
        add("400", error("The body is not JSON (bad_json)."));
        add(
            "408",
            error("The body did not arrive within web.body_timeout_secs (timeout)."),
        );
        add(
            "413",
            error("The body is larger than web.max_body_bytes (too_large)."),
        );
        add(
            "415",
            error("The body is not sent as application/json (unsupported_media_type)."),
        );
        add(
            "422",
            error("A value is not acceptable, or the body is not a JSON object (invalid)."),
        );
    }
    if body_types
        .iter()
        .any(|t| t == "application/x-www-form-urlencoded")
    {
        add(
            "408",
            page("The form did not arrive within web.body_timeout_secs."),
        );
        add("413", page("The form is larger than web.max_body_bytes."));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_reference_resolves_and_every_operation_has_responses() {
        let doc = document();
        let text = doc.to_string();
        let schemas = doc["components"]["schemas"].as_object().expect("schemas");
        for part in text.split("#/components/schemas/").skip(1) {
            let name: String = part
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            assert!(schemas.contains_key(&name), "unresolved schema {name}");
        }
        let paths = doc["paths"].as_object().expect("paths");
        assert!(paths.len() >= 15, "{} paths", paths.len());
        let ids: Vec<&str> = paths
            .values()
            .flat_map(|ops| ops.as_object().into_iter().flatten())
            .filter_map(|(_, op)| op["operationId"].as_str())
            .collect();
        for (from, status, name, to, _, _) in LINKS {
            assert!(ids.contains(to), "link {name} names no operation {to}");
            let linked = text.contains(&format!("\"{name}\":{{\"operationId\":\"{to}\""));
            assert!(linked, "the link {name} of {from} {status} is missing");
        }
        for (path, ops) in paths {
            for (method, op) in ops.as_object().expect("operations") {
                let responses = op["responses"].as_object().expect("responses");
                assert!(!responses.is_empty(), "{method} {path} has no responses");
                assert!(
                    op["summary"].is_string(),
                    "{method} {path} has no summary (the handler's doc comment)"
                );
            }
        }
    }
}
