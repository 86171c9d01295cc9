#!/usr/bin/env bash
# Installs Debian's chromium for the console's browser tests when it is missing (Playwright's own browser
# download cannot reach its host here; the distribution package can). The browser test files start in
# parallel, and two apt-get runs at once fail on dpkg's lock: one installs while the others wait here.
set -euo pipefail
# The check is under the lock too: mid-install, /usr/bin/chromium exists before its libraries do.
exec 9>"${TMPDIR:-/tmp}/hookpost-chromium-install.lock"
flock 9
if [ -x /usr/bin/chromium ]; then exit 0; fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium >/dev/null
/usr/bin/chromium --version
