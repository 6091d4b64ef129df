//! The `webhooks` section of the OpenAPI 3.1 document: each event Tidings POSTs to a webhook
//! endpoint, its Standard Webhooks headers and its JSON body (the envelope and each event's
//! `data`). utoipa has no `webhooks` field, so the section is written here as JSON, against
//! the component schemas the API's own types give (`Section`). The tests hold real
//! deliveries to these schemas (tests/it/webhooks.rs, with Python's `jsonschema`).

use serde_json::{Value, json};

use crate::domain::webhook::{EVENTS, PING};

/// What each event's `data` holds, and when it is sent.
fn event_data(event: &str) -> (&'static str, Value) {
    let update = json!({"$ref": "#/components/schemas/WebhookUpdate"});
    let blocker = json!({"$ref": "#/components/schemas/WebhookBlocker"});
    let person = json!({"$ref": "#/components/schemas/WebhookPerson"});
    match event {
        "update.created" => (
            "A member's first update of a day (or answer to a check-in), by reply or API.",
            object(json!({"update": update}), &["update"]),
        ),
        "update.revised" => (
            "A later reply or post the same day: the update with its new revision and text.",
            object(json!({"update": update}), &["update"]),
        ),
        "blocker.opened" => (
            "An update writes a blocker while none was open.",
            object(json!({"blocker": blocker}), &["blocker"]),
        ),
        "blocker.resolved" => (
            "An open blocker is closed: by an update saying there is none (`resolved_by.how` = `update`), or by `resolved`, the blockers page or the API (`command`).",
            object(
                json!({"blocker": blocker, "resolved_by": object(json!({
                    "how": {"type": "string", "enum": ["update", "command"]},
                    "update_id": {"type": "integer", "format": "int64", "description": "The update that closed it (`how` = `update`)."}
                }), &["how"])}),
                &["blocker", "resolved_by"],
            ),
        ),
        "comment.created" => (
            "A comment by email on an update.",
            object(
                json!({"comment": object(json!({
                    "id": {"type": "integer", "format": "int64"},
                    "author": person,
                    "text": {"type": "string"}
                }), &["id", "author", "text"]), "update": update}),
                &["comment", "update"],
            ),
        ),
        "reaction.added" => (
            "A reaction by email on an update (once per person and reaction).",
            object(
                json!({"reaction": {"type": "string"}, "member": person, "update": update}),
                &["reaction", "member", "update"],
            ),
        ),
        _ => (
            "`tidings webhook test` or `POST /api/v1/admin/webhooks/{id}/test`: sent to every endpoint, whatever it asked for.",
            object(
                json!({"webhook": object(json!({
                    "id": {"type": "integer", "format": "int64"},
                    "team": {"type": ["string", "null"]},
                    "events": {"type": "array", "items": {"type": "string"}}
                }), &["id", "team", "events"]), "message": {"type": "string"}}),
                &["webhook", "message"],
            ),
        ),
    }
}

fn object(properties: Value, required: &[&str]) -> Value {
    json!({"type": "object", "properties": properties, "required": required})
}

/// The component schemas the events share.
fn components() -> Value {
    json!({
        "WebhookPerson": object(json!({
            "id": {"type": "integer", "format": "int64"},
            "name": {"type": "string"},
            "email": {"type": "string", "format": "email"}
        }), &["id", "name", "email"]),
        "WebhookUpdate": object(json!({
            "id": {"type": "integer", "format": "int64"},
            "author": {"$ref": "#/components/schemas/WebhookPerson"},
            "teams": {"type": "array", "items": {"type": "string"}, "description": "The teams it belongs to (a check-in's answer: that check-in's team)."},
            "date": {"type": "string", "format": "date", "description": "The author's local date it is for."},
            "checkin": {"type": ["string", "null"], "description": "The check-in it answers; `null`: the daily stand-up."},
            "revision": {"type": "integer", "format": "int64", "minimum": 1},
            "source": {"type": "string", "description": "`email` or `api`."},
            "text": {"type": "string"},
            "sections": {"type": "array", "items": {"$ref": "#/components/schemas/Section"}},
            "url": {"type": "string", "description": "The update in the team log (`web.base_url`)."}
        }), &["id", "author", "teams", "date", "checkin", "revision", "source", "text", "sections"]),
        "WebhookBlocker": object(json!({
            "member": {"$ref": "#/components/schemas/WebhookPerson"},
            "since": {"type": "string", "format": "date", "description": "The author's local date it was first written."},
            "lines": {"type": "array", "items": {"type": "string"}},
            "update": {"$ref": "#/components/schemas/WebhookUpdate"}
        }), &["member", "since", "lines", "update"])
    })
}

/// The signature headers every delivery carries.
fn headers() -> Value {
    let h = |d: &str| json!({"required": true, "schema": {"type": "string"}, "description": d});
    json!({
        "webhook-id": h("`msg_…`: the same on every attempt of this delivery; drop one you have handled."),
        "webhook-timestamp": h("Unix seconds of this attempt, signed."),
        "webhook-signature": h("`v1,` and the base64 HMAC-SHA256, keyed with the secret's bytes after `whsec_`, of `{webhook-id}.{webhook-timestamp}.{body}`.")
    })
}

/// Adds the `webhooks` section and its component schemas to `doc`.
pub(super) fn add(doc: &mut Value) {
    if let (Some(have), Value::Object(add)) =
        (doc["components"]["schemas"].as_object_mut(), components())
    {
        have.extend(add);
    }
    let mut hooks = serde_json::Map::new();
    for event in EVENTS.iter().copied().chain([PING]) {
        let (when, data) = event_data(event);
        let body = object(
            json!({
                "type": {"type": "string", "const": event},
                "timestamp": {"type": "string", "format": "date-time", "description": "When it happened (UTC)."},
                "data": data
            }),
            &["type", "timestamp", "data"],
        );
        hooks.insert(
            event.to_string(),
            json!({"post": {
                "operationId": format!("webhook_{}", event.replace('.', "_")),
                "summary": format!("`{event}`"),
                "description": format!("{when} Signed by the Standard Webhooks specification; retried with the same `webhook-id` until the receiver answers 2xx (see the manual's Chat and webhooks)."),
                "tags": ["webhooks"],
                "parameters": headers().as_object().into_iter().flatten().map(|(name, h)| {
                    let mut p = h.clone();
                    p["name"] = json!(name);
                    p["in"] = json!("header");
                    p
                }).collect::<Vec<_>>(),
                "requestBody": {"required": true, "content": {"application/json": {"schema": body}}},
                "responses": {"2XX": {"description": "Accepted: the delivery is done."},
                              "410": {"description": "Gone: the delivery fails at once."},
                              "default": {"description": "Tried again later on the schedule."}}
            }}),
        );
    }
    doc["webhooks"] = Value::Object(hooks);
    if let Some(tags) = doc["tags"].as_array_mut() {
        tags.push(json!({"name": "webhooks", "description": "What Tidings POSTs to webhook endpoints (`tidings webhook add`)"}));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_event_is_in_the_document() {
        let doc = super::super::openapi::document();
        for e in super::EVENTS.iter().chain([&super::PING]) {
            let body = &doc["webhooks"][*e]["post"]["requestBody"]["content"]["application/json"]["schema"];
            assert_eq!(body["properties"]["type"]["const"], *e, "{e}");
        }
        assert!(doc["components"]["schemas"]["WebhookUpdate"].is_object());
    }
}
