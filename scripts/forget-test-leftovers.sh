#!/usr/bin/env bash
# Removes what earlier test runs on this machine left behind and a fresh machine does not have,
# so the next test run builds and installs it itself: leftover Corral containers, the images
# Corral built (corral-agent/*, and any image carrying a corral.instance label), this project's
# test images (corral-test/*, removed after the images built FROM them), and the agent CLIs
# installed for the tests. Used by `scripts/test --fresh` and .ci/run. Never touches images that
# are not Corral's.
set -euo pipefail
agents="${CORRAL_TEST_AGENTS:-/var/tmp/corral-test-agents}"

containers="$(docker ps -aq --filter label=corral.run)"
if [ -n "$containers" ]; then
  echo "forget-test-leftovers: removing $(wc -w <<<"$containers") Corral containers"
  docker rm -f $containers >/dev/null
fi

# Children before parents: agent and build images are built FROM the test base images.
remove_images() {
  local what="$1" images="$2"
  images="$(sort -u <<<"$images" | sed '/^$/d')"
  [ -n "$images" ] || return 0
  echo "forget-test-leftovers: removing $(wc -l <<<"$images") $what"
  docker image rm -f $images >/dev/null
}
remove_images "agent and build images" "$(docker image ls --format '{{.Repository}}:{{.Tag}}' 'corral-agent/*')
$(docker image ls -q --filter label=corral.instance)"
remove_images "test images" "$(docker image ls --format '{{.Repository}}:{{.Tag}}' 'corral-test/*')"

left="$(docker image ls --format '{{.Repository}}:{{.Tag}}' | grep -E '^corral-(agent|test)/' || true)"
if [ -n "$left" ]; then
  echo "forget-test-leftovers: could not remove: $left" >&2
  exit 1
fi
if [ -d "$agents" ]; then
  echo "forget-test-leftovers: removing the test agent CLIs in $agents"
  rm -rf "$agents"
fi
