"""Verifying with the `standardwebhooks` package from PyPI (pip install standardwebhooks).

Run: python standardwebhooks_verify.py <request.json> <secret>
"""
import base64
import json
import sys

from standardwebhooks.webhooks import Webhook

with open(sys.argv[1]) as f:
    request = json.load(f)
raw_body = base64.b64decode(request["body_base64"])
headers = request["headers"]

wh = Webhook(sys.argv[2])  # the whsec_… string as shown by the API
# json_parse=False: the library would json.loads the body, which fails on JSON Lines bodies. Verify the
# raw bytes first, then parse by Content-Type. Raises WebhookVerificationError (also when the timestamp
# is more than 5 minutes away).
wh.verify(raw_body, headers, json_parse=False)
text = raw_body.decode("utf-8")
if headers["content-type"].startswith("application/x-ndjson"):
    items = [json.loads(line) for line in text.split("\n") if line]
else:
    items = json.loads(text)  # a JSON array, even for a single event
print(json.dumps({
    "standard": True,
    "batch_id": headers["webhook-id"],
    "event_ids": [i["data"]["id"] if i["type"].startswith("activity.") else i["data"]["event_id"] for i in items],
}))
