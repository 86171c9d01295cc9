#!/usr/bin/env bash
# Installs Debian's chromium for the console's browser tests when it is missing (Playwright's own browser
# download cannot reach its host here; the distribution package can).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium >/dev/null
/usr/bin/chromium --version
