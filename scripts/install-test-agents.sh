#!/usr/bin/env bash
# Installs the real agent CLIs the tests drive (pinned versions, from the npm registry) into a
# cache folder, once, and prints the folder holding their commands. The tests point the CLIs at
# a scripted model server on 127.0.0.1; no real model API is ever used.
set -euo pipefail
dir="${CORRAL_TEST_AGENTS:-/var/tmp/corral-test-agents}"
packages=("@anthropic-ai/claude-code@2.1.332" "@openai/codex@0.169.0" "@google/gemini-cli@0.61.0" "opencode-ai@1.18.33")
stamp="$dir/.installed-$(printf '%s ' "${packages[@]}" | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "${packages[@]}" >&2
  touch "$stamp"
fi
echo "$dir/node_modules/.bin"
