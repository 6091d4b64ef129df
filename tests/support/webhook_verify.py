#!/usr/bin/env python3
"""Verifies logged webhook deliveries (webhook_receiver.py's JSON lines, on stdin) with the
Standard Webhooks reference library (PyPI `standardwebhooks`, pinned in the rig's venv), not
with Tidings' code. For each delivery prints one JSON line: its webhook-id, whether it
verifies, its event type, and whether two forgeries of it are refused as they must be: the
body changed by one byte, and the same delivery replayed ten minutes later.
Usage: webhook_verify.py SECRET < log.jsonl"""
import base64, json, sys
from datetime import datetime, timedelta

import standardwebhooks.webhooks as sw

secret = sys.argv[1]
wh = sw.Webhook(secret)
real_datetime = sw.datetime


class Later(real_datetime):
    @classmethod
    def now(cls, tz=None):
        return real_datetime.now(tz) + timedelta(minutes=10)


def refused(body, headers, later=False):
    sw.datetime = Later if later else real_datetime
    try:
        wh.verify(body, headers)
        return False
    except sw.WebhookVerificationError:
        return True
    finally:
        sw.datetime = real_datetime


for line in sys.stdin:
    rec = json.loads(line)
    body = base64.b64decode(rec["body"])
    headers = rec["headers"]
    out = {"id": headers.get("webhook-id"), "status": rec["status"]}
    try:
        payload = wh.verify(body, headers)
        out.update(ok=True, type=payload.get("type"), data=payload.get("data"), payload=payload)
    except Exception as e:  # noqa: BLE001 - reported, not raised
        out.update(ok=False, error=f"{type(e).__name__}: {e}")
    tampered = bytearray(body)
    if tampered:
        tampered[len(tampered) // 2] ^= 0x01
    out["tampered_refused"] = refused(bytes(tampered), headers)
    out["replay_refused"] = refused(body, headers, later=True)
    print(json.dumps(out), flush=True)
