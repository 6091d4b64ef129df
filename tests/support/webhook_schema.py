#!/usr/bin/env python3
"""Validates webhook payloads (JSON lines on stdin) against the `webhooks` section of Tidings'
OpenAPI document (the file given) with `jsonschema_rs` (Draft 2020-12, as OpenAPI 3.1 uses;
in the rig's venv as Schemathesis' own validator). Prints one line per payload: "ok TYPE" or
"bad TYPE: the errors"."""
import json, sys

import jsonschema_rs

doc = json.load(open(sys.argv[1]))
for line in sys.stdin:
    payload = json.loads(line)
    kind = payload.get("type")
    hook = doc.get("webhooks", {}).get(kind)
    if hook is None:
        print(f"bad {kind}: not in the document's webhooks")
        continue
    schema = dict(hook["post"]["requestBody"]["content"]["application/json"]["schema"])
    schema["components"] = doc["components"]
    validator = jsonschema_rs.Draft202012Validator(schema)
    errors = [f"{list(e.instance_path)}: {e.message}" for e in validator.iter_errors(payload)]
    print(f"ok {kind}" if not errors else f"bad {kind}: {'; '.join(errors)}")
