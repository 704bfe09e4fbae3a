#!/usr/bin/env bash
# Builds a small glibc + Node.js base image for the agent tests, without a registry: this
# machine's own Debian packages (libc6, libstdc++6, libgcc-s1, bash, nodejs) and npm, its CA
# certificates and busybox-static for a shell, imported with `docker import`. It stands in for
# node:22-bookworm-slim, which real users pull. Corral builds its agent images FROM it.
# Usage: scripts/build-test-node-image.sh [TAG]. Does nothing when the image exists.
set -euo pipefail
tag="${1:-corral-test/node:$(node --version)-npm$(npm --version)-2}"
if docker image inspect "$tag" >/dev/null 2>&1; then echo "$tag"; exit 0; fi
busybox="$(command -v busybox || true)"
if [ -z "$busybox" ] || ! file -L "$busybox" | grep -q "statically linked"; then
  echo "build-test-node-image: needs Debian's busybox-static (apt-get install busybox-static)" >&2
  exit 1
fi
root="$(mktemp -d)"
list="$(mktemp)"
trap 'rm -rf "$root" "$list"' EXIT
mkdir -p "$root"/usr/{bin,lib,lib64,sbin} "$root"/{tmp,workspace,etc/ssl/certs,root,proc,sys,dev}
for d in bin lib lib64 sbin; do ln -s "usr/$d" "$root/$d"; done
chmod 1777 "$root/tmp" "$root/workspace"
dpkg -L libc6 libstdc++6 libgcc-s1 libtinfo6 bash nodejs | while IFS= read -r f; do
  if [ -L "$f" ] || [ -f "$f" ]; then printf '%s\n' "${f#/}"; fi
done > "$list"
tar -C / -cf - --no-recursion -T "$list" | tar -C "$root" -xf - --keep-directory-symlink
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
# npm as this machine has it (it may have been upgraded past the nodejs package's own copy).
rm -rf "$root/usr/lib/node_modules/npm"
cp -a "$(dirname "$(readlink -f "$(command -v npm)")")/.." "$root/usr/lib/node_modules/npm"
cp "$busybox" "$root/usr/bin/busybox"
for applet in $("$busybox" --list); do
  [ -e "$root/usr/bin/$applet" ] || [ -L "$root/usr/bin/$applet" ] || ln -s busybox "$root/usr/bin/$applet"
done
echo "root:x:0:0:root:/root:/bin/sh" > "$root/etc/passwd"
echo "root:x:0:" > "$root/etc/group"
echo "hosts: files dns" > "$root/etc/nsswitch.conf"
tar -C "$root" -c . | docker import \
  --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
  --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
  --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' - "$tag" >/dev/null
echo "build-test-node-image: built $tag" >&2
echo "$tag"
