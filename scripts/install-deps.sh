#!/usr/bin/env bash
# Installs the Debian 12 packages Kavach needs to build, test and run its demo.
# Idempotent: packages already present are skipped, and apt is not touched when nothing is missing.
# Run as root, or as a user with sudo.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  clang-14 libclang-rt-14-dev lld-14 lld clang-format clang-tidy
  libboost1.81-dev libboost-json1.81-dev
  libexpected-dev libsodium-dev libssl-dev libsqlite3-dev libpq-dev libzstd-dev
  libspdlog-dev libfmt-dev libcli11-dev libtomlplusplus-dev
  libgtest-dev libgmock-dev libbenchmark-dev libgoogle-perftools-dev
  postgresql postgresql-client
  curl python3 sqlite3 wrk
  nodejs chromium fonts-lohit-deva
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

# Debian's nodejs comes without npm (NodeSource's includes it); the ABDM conformance test needs it.
if ! command -v npm >/dev/null && ! dpkg-query -W -f='${Status}' npm 2>/dev/null | grep -q "install ok installed"; then
  missing+=(npm)
fi

if ((${#missing[@]} == 0)); then
  echo "install-deps: every package is already installed"
  exit 0
fi

sudo_cmd=()
if ((EUID != 0)); then
  command -v sudo >/dev/null || { echo "install-deps: run as root or install sudo" >&2; exit 1; }
  sudo_cmd=(sudo)
fi

echo "install-deps: installing ${missing[*]}"
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
