#!/usr/bin/env bash
# Removes what earlier test runs on this machine left behind and a fresh machine does not have,
# so the next test run builds and installs it itself: this project's test images
# (corral-test/*), the agent images Corral built (corral-agent/*, and any image carrying a
# corral.instance label), leftover Corral containers, and the agent CLIs installed for the tests.
# Used by `scripts/test --fresh`. Never touches images that are not Corral's.
set -euo pipefail
agents="${CORRAL_TEST_AGENTS:-/var/tmp/corral-test-agents}"

containers="$(docker ps -aq --filter label=corral.run 2>/dev/null || true)"
if [ -n "$containers" ]; then
  echo "forget-test-leftovers: removing $(wc -w <<<"$containers") Corral containers"
  docker rm -f $containers >/dev/null
fi
images="$( (docker image ls -q 'corral-test/*'; docker image ls -q 'corral-agent/*';
  docker image ls -q --filter label=corral.instance) | sort -u)"
if [ -n "$images" ]; then
  echo "forget-test-leftovers: removing $(wc -w <<<"$images") images"
  docker image rm -f $images >/dev/null
fi
if [ -d "$agents" ]; then
  echo "forget-test-leftovers: removing the test agent CLIs in $agents"
  rm -rf "$agents"
fi
