#!/usr/bin/env bash
# Build, from Debian's packages, the base images deploy/Dockerfile and deploy/compose.yaml use,
# under their official names, for machines that reach Debian's mirror but no image registry
# (this project's CI). Users with a registry pull the official images instead; the project's
# Dockerfile and compose files are the same either way.
#
#   debian:bookworm-slim             debootstrap (minbase) + docker import
#   rust:1.95-slim-bookworm          this machine's Rust toolchain (rustc 1.95) on it
#   postgres:15-bookworm             Debian's postgresql-15, the official entrypoint's behaviour
#   prom/prometheus:v2.42.0          Debian's prometheus 2.42.0
#   ghcr.io/foundry-rs/foundry:v1.7.1  anvil 1.7.1 from node/js (run `npm ci --prefix node/js`)
#
# An image already present is kept (--force rebuilds them all). Needs root, debootstrap and a
# running Docker engine.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
force=0
[ "${1:-}" = "--force" ] && force=1
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# A client that builds with BuildKit: one with buildx, or Debian's docker.io 20.10 (built in).
. "$here/docker-client.sh"

have() { [ "$force" = 0 ] && docker image inspect "$1" >/dev/null 2>&1; }
build() { # NAME DOCKERFILE CONTEXT
  echo "== $1"
  docker build -q -t "$1" -f "$2" "$3" >/dev/null
}

if ! have debian:bookworm-slim; then
  echo "== debian:bookworm-slim (debootstrap)"
  debootstrap --variant=minbase bookworm "$work/rootfs" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log"; exit 1; }
  # As slim as the official one: no documentation, manuals or package lists.
  rm -rf "$work"/rootfs/usr/share/{doc,man,info}/* "$work"/rootfs/var/lib/apt/lists/* "$work"/rootfs/var/cache/apt/*.bin
  tar -C "$work/rootfs" -c . | docker import --change 'CMD ["bash"]' - debian:bookworm-slim >/dev/null
  rm -rf "$work/rootfs"
fi

if ! have rust:1.95-slim-bookworm; then
  toolchain="$(rustc --print sysroot)"
  case "$(rustc --version)" in "rustc 1.95."*) ;; *) echo "rust:1.95 needs this machine's rustc to be 1.95: $(rustc --version)" >&2; exit 1 ;; esac
  mkdir -p "$work/rust/toolchain" "$work/rust/extra-ca"
  # The compiler and the standard library; not the documentation.
  cp -a "$toolchain"/bin "$toolchain"/lib "$toolchain"/libexec "$toolchain"/etc "$work/rust/toolchain/" 2>/dev/null || true
  # A proxy's CA this machine trusts (crates.io through an intercepting proxy), if any.
  cp /usr/local/share/ca-certificates/*.crt "$work/rust/extra-ca/" 2>/dev/null || true
  build rust:1.95-slim-bookworm "$here/rust.Dockerfile" "$work/rust"
  rm -rf "$work/rust"
fi

if ! have postgres:15-bookworm; then
  build postgres:15-bookworm "$here/postgres.Dockerfile" "$here"
fi

if ! have prom/prometheus:v2.42.0; then
  build prom/prometheus:v2.42.0 "$here/prometheus.Dockerfile" "$here"
fi

if ! have ghcr.io/foundry-rs/foundry:v1.7.1; then
  anvil="$root/node/js/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
  [ -x "$anvil" ] || { echo "no anvil at $anvil: npm ci --prefix node/js" >&2; exit 1; }
  mkdir -p "$work/foundry"
  cp "$anvil" "$work/foundry/anvil"
  build ghcr.io/foundry-rs/foundry:v1.7.1 "$here/foundry.Dockerfile" "$work/foundry"
fi
echo "== base images ready"
