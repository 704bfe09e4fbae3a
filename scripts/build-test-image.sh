#!/usr/bin/env bash
# Builds the small image tests run containers from, without a registry: a busybox-static rootfs
# imported with `docker import`. Usage: scripts/build-test-image.sh [TAG]. Does nothing when the
# image exists.
set -euo pipefail
tag="${1:-corral-test/busybox:1}"
if docker image inspect "$tag" >/dev/null 2>&1; then exit 0; fi
busybox="$(command -v busybox || true)"
if [ -z "$busybox" ] || ! file -L "$busybox" | grep -q "statically linked"; then
  echo "build-test-image: needs Debian's busybox-static (apt-get install busybox-static)" >&2
  exit 1
fi
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
# mktemp makes it 0700: as the image's / that would lock out every user but root (the relay
# runs as its own user), where real images have 0755.
chmod 755 "$root"
mkdir -p "$root"/{bin,tmp,workspace,etc,proc,sys,dev}
chmod 1777 "$root/tmp" "$root/workspace"
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done
echo "root:x:0:0:root:/root:/bin/sh" > "$root/etc/passwd"
echo "root:x:0:" > "$root/etc/group"
tar -C "$root" -c . | docker import --change 'ENV PATH=/bin' - "$tag" >/dev/null
echo "build-test-image: built $tag"
