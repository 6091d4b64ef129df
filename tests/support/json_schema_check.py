#!/usr/bin/env python3
"""Validates JSON documents (one per line on stdin) against the JSON schema in the file given,
with `jsonschema_rs` (the draft the schema names; in the rig's venv as Schemathesis' own
validator). Prints one line per document: "ok" or "bad: the errors"."""
import json, sys

import jsonschema_rs

schema = json.load(open(sys.argv[1]))
validator = jsonschema_rs.validator_for(schema)
for line in sys.stdin:
    doc = json.loads(line)
    errors = [f"{list(e.instance_path)}: {e.message}" for e in validator.iter_errors(doc)]
    print("ok" if not errors else "bad: " + "; ".join(errors[:5]))
