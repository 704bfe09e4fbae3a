#!/usr/bin/env bash
# Installs what Corral needs on a Debian or Ubuntu machine, only where it is missing:
# system packages, a Rust toolchain, and a running Docker daemon.
# Used by scripts/launch, scripts/test and .ci/run. Safe to run again.
set -euo pipefail

corral_sudo() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Debian packages to build Corral (git2's vendored libgit2 and openssl-sys; the desktop app's
# WebKitGTK, tray and input libraries), run git, and run containers.
CORRAL_APT_PACKAGES=(build-essential pkg-config libssl-dev git curl ca-certificates file docker.io busybox-static
  libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev libdbus-1-dev)
# What the tests add: a virtual X server and WebKit's WebDriver for the real window, a session
# bus and a Secret Service (gnome-keyring) for the keychain test, Python for Aider, and openssl
# for the gateway's TLS test's certificates.
CORRAL_E2E_PACKAGES=(xvfb xauth webkit2gtk-driver dbus dbus-x11 gnome-keyring python3 python3-venv openssl)

corral_install_apt() {
  local missing=()
  for pkg in "${CORRAL_APT_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "corral setup: installing ${missing[*]}"
    corral_sudo apt-get update -qq
    corral_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

corral_install_rust() {
  if command -v cargo >/dev/null 2>&1; then return; fi
  if [ -x "$HOME/.cargo/bin/cargo" ]; then export PATH="$HOME/.cargo/bin:$PATH"; return; fi
  echo "corral setup: installing Rust with rustup (https://rustup.rs)"
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c rustfmt,clippy
  export PATH="$HOME/.cargo/bin:$PATH"
}

# Starts the Docker daemon when none answers, and waits for it (60 s at most).
corral_start_docker() {
  if docker info >/dev/null 2>&1; then return; fi
  echo "corral setup: starting the Docker daemon"
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    corral_sudo systemctl start docker || true
  fi
  if ! docker info >/dev/null 2>&1; then
    local log="${TMPDIR:-/tmp}/corral-dockerd.log"
    corral_sudo sh -c "nohup dockerd >'$log' 2>&1 &"
  fi
  for _ in $(seq 1 60); do
    if docker info >/dev/null 2>&1; then return; fi
    sleep 1
  done
  echo "corral setup: the Docker daemon did not answer within 60 s; see ${TMPDIR:-/tmp}/corral-dockerd.log" >&2
  if docker info 2>&1 | grep -qi "permission denied"; then
    echo "corral setup: your user may not use Docker yet: sudo usermod -aG docker \$USER, then log in again" >&2
  fi
  return 1
}

# Node 20+ (Vite 8 and the Tauri CLI need it) and the project's npm packages, from the lock file.
corral_install_npm() {
  local major
  major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
  if [ "$major" -lt 20 ]; then
    echo "corral setup: Node.js 20 or newer is needed (found: $(node --version 2>/dev/null || echo none))." >&2
    echo "corral setup: install it from https://nodejs.org or your distribution's backports, then run this again." >&2
    return 1
  fi
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "corral setup: installing npm packages"
    npm ci --no-audit --no-fund --loglevel=error
  fi
}

corral_setup() {
  corral_install_apt "$@"
  corral_install_rust
  corral_install_npm
  corral_start_docker
}
