"""Verifying a hookpost webhook in Python with the standard library only (hmac, hashlib, base64).

Run: python verify.py <request.json> <secret> [now-seconds]
"""
import base64
import hashlib
import hmac
import json
import sys
import time

TOLERANCE_SEC = 5 * 60


def verify_standard(raw_body: bytes, headers: dict, secret: str, now: int | None = None) -> bool:
    """Standard Webhooks: HMAC-SHA256 over b"{id}.{timestamp}." + raw body, key = base64 after whsec_."""
    msg_id = headers.get("webhook-id")
    timestamp = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    if not (msg_id and timestamp and signatures) or not timestamp.isdigit():
        return False
    now = int(time.time()) if now is None else now
    if abs(now - int(timestamp)) > TOLERANCE_SEC:  # replay protection
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + raw_body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    # One "v1,<sig>" entry per active secret during a rotation: accept any of them.
    return any(
        version == "v1" and hmac.compare_digest(sig, expected)
        for version, _, sig in (entry.partition(",") for entry in signatures.split(" "))
    )


def verify_mailersend(raw_body: bytes, headers: dict, secret: str) -> bool:
    """MailerSend: Signature = hex HMAC-SHA256 of the raw body keyed with the whole secret string."""
    expected = hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers.get("signature", ""), expected)


def parse_items(raw_body: bytes, content_type: str) -> list:
    """A batch: a JSON array, or JSON Lines (application/x-ndjson), one event per line."""
    text = raw_body.decode("utf-8")
    if content_type.startswith("application/x-ndjson"):
        return [json.loads(line) for line in text.split("\n") if line]
    return json.loads(text)


def event_id(item: dict) -> str:
    """Per-event dedupe key: data.id for activity.* events, data.event_id for the other types."""
    return item["data"]["id"] if item["type"].startswith("activity.") else item["data"]["event_id"]


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        request = json.load(f)
    secret = sys.argv[2]
    now = int(sys.argv[3]) if len(sys.argv) > 3 else None
    body = base64.b64decode(request["body_base64"])
    headers = {k.lower(): v for k, v in request["headers"].items()}
    standard = verify_standard(body, headers, secret, now)
    # (The golden signing vectors have no Content-Type and are not batches: verify only.)
    items = parse_items(body, headers["content-type"]) if standard and "content-type" in headers else []
    print(json.dumps({
        "standard": standard,
        "mailersend": verify_mailersend(body, headers, secret),
        "batch_id": headers.get("webhook-id"),
        "event_ids": [event_id(i) for i in items],
    }))
    sys.exit(0 if standard else 1)
