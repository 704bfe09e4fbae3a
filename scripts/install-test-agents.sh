#!/usr/bin/env bash
# Installs the real agent CLIs the tests drive (pinned versions: npm packages, and Aider from
# PyPI in its own virtualenv) into a cache folder, once, and prints the folder holding their
# commands. The tests point the CLIs at a scripted model server on 127.0.0.1; no real model API
# is ever used. Tests call this concurrently: one installs, the others wait on the lock.
set -euo pipefail
dir="${CORRAL_TEST_AGENTS:-/var/tmp/corral-test-agents}"
packages=("@anthropic-ai/claude-code@2.1.332" "@openai/codex@0.169.0" "@google/gemini-cli@0.61.0" "opencode-ai@1.18.33")
python_packages=("aider-chat==0.86.2")
mkdir -p "$dir"
exec 9>"$dir/.lock"
flock 9
stamp="$dir/.installed-$(printf '%s ' "${packages[@]}" | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "${packages[@]}" >&2
  touch "$stamp"
fi
pystamp="$dir/.installed-py-$(printf '%s ' "${python_packages[@]}" | sha256sum | cut -c1-16)"
if [ ! -f "$pystamp" ]; then
  rm -rf "$dir/aider-venv"
  python3 -m venv "$dir/aider-venv" >&2
  "$dir/aider-venv/bin/pip" install --quiet --disable-pip-version-check "${python_packages[@]}" >&2
  ln -sf "$dir/aider-venv/bin/aider" "$dir/node_modules/.bin/aider"
  touch "$pystamp"
fi
echo "$dir/node_modules/.bin"
