#!/usr/bin/env bash
# Installs the system tools the tests call: Info-ZIP `zip` and `unzip`
# (the zip backend's interop tests and benchmark compare against them).
#
#   scripts/setup-system.sh      # as root, or with sudo available
#
# Idempotent: does nothing when both are on PATH. Otherwise runs
# `apt-get install -y zip unzip`, and `apt-get update` first if the install
# fails for lack of package lists. Progress goes to stderr.
set -euo pipefail

say() {
    echo "setup-system.sh: $*" >&2
}
die() {
    say "error: $*"
    exit 1
}

missing=()
for tool in zip unzip; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ "${#missing[@]}" -eq 0 ]; then
    say "zip and unzip are installed: nothing to do"
    exit 0
fi

command -v apt-get >/dev/null 2>&1 \
    || die "missing ${missing[*]}, and apt-get is not available: install Info-ZIP zip and unzip by hand"
if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
else
    die "missing ${missing[*]}: run this script as root (or install Info-ZIP zip and unzip)"
fi

say "installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! ${as_root[@]+"${as_root[@]}"} apt-get install -y --no-install-recommends "${missing[@]}" >&2; then
    say "install failed; updating the package lists and trying again"
    ${as_root[@]+"${as_root[@]}"} apt-get update >&2 || die "apt-get update failed"
    ${as_root[@]+"${as_root[@]}"} apt-get install -y --no-install-recommends "${missing[@]}" >&2 \
        || die "apt-get install ${missing[*]} failed"
fi
for tool in "${missing[@]}"; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is still missing after the install"
done
say "installed ${missing[*]}"
