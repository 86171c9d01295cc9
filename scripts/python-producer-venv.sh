#!/usr/bin/env bash
# A Python venv for the producer guide's example (docs/examples/producer.py): confluent-kafka with its
# Avro and schema-registry extras from PyPI, every package pinned (the set one install resolved to), under
# .cache/ so it is made once per checkout. Prints the venv's python.
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/pinned-venv.sh" python-producer-venv \
  "confluent-kafka[avro,schemaregistry]==2.16.1" \
  anyio==4.16.0 attrs==26.1.0 Authlib==1.9.10 avro==1.12.2 cachetools==8.0.2 \
  certifi==2026.10.19.post1 cffi==2.1.1 charset-normalizer==3.5.3 cryptography==50.0.2 \
  fastavro==1.13.1 h11==0.16.0 httpcore2==2.16.2 httpx2==2.16.2 idna==3.20 joserfc==1.8.0 \
  pycparser==3.12 requests==2.34.2 truststore==0.10.5 typing_extensions==4.16.0 urllib3==2.8.0
