#!/usr/bin/env bash
# Bring up the zkrollup stack (deploy/compose.yaml) and check it: preflight, build the image,
# deploy the contracts, bring the services up, wait for the node's /readyz and for Prometheus
# to scrape it, then print where everything is. On any failure: the services' logs and exit 1.
#
#   deploy/deploy.sh [--dev-secrets] [SERVICE ...]
#
# --dev-secrets  write the dev stack's missing secret files first: anvil's well-known keys
#                (INSECURE, public) and random passwords.
# SERVICE ...    bring up only these services and what they need (default: all of them).
#
# Environment: ZKROLLUP_TAG (the image's tag, default 0.1.0), ZKROLLUP_PROJECT (the compose
# project, default zkrollup), ZKROLLUP_SECRETS_DIR (default deploy/secrets), the host ports
# ZKROLLUP_NODE_PORT, ZKROLLUP_L1_PORT, ZKROLLUP_PROMETHEUS_PORT, ZKROLLUP_GRAFANA_PORT (8080,
# 8545, 9090, 3000), ZKROLLUP_DEADLINE_SECS (how long to wait for readiness, default 600),
# ZKROLLUP_SKIP_BUILD=1 (use the image as it is).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
tag="${ZKROLLUP_TAG:-0.1.0}"
project="${ZKROLLUP_PROJECT:-zkrollup}"
deadline_secs="${ZKROLLUP_DEADLINE_SECS:-600}"
secrets="${ZKROLLUP_SECRETS_DIR:-$here/secrets}"
node_port="${ZKROLLUP_NODE_PORT:-8080}"
prometheus_port="${ZKROLLUP_PROMETHEUS_PORT:-9090}"
export ZKROLLUP_TAG="$tag" ZKROLLUP_SECRETS_DIR="$secrets"

dev_secrets=0
if [ "${1:-}" = "--dev-secrets" ]; then dev_secrets=1; shift; fi
services=("$@")

say() { echo "deploy.sh: $*" >&2; }
fail() {
  say "FAILED: $*"
  if [ "${compose_ready:-0}" = 1 ]; then
    compose ps >&2 || true
    compose logs --no-color --tail=60 >&2 || true
  fi
  exit 1
}

# ---- preflight: tools
for tool in docker curl; do
  command -v "$tool" >/dev/null || fail "$tool is not installed"
done
# ---- preflight: secrets, each readable by its owner only, owned by the user that reads it
# (compose bind-mounts secret files as they are): the image's user 10001 for the keys and the
# database password, Grafana's 472 for its admin password.
secret_owner() { case "$1" in grafana_admin_password) echo 472 ;; *) echo 10001 ;; esac; }
dev_secret() {
  case "$1" in
    # anvil's accounts 0 and 1 (INSECURE: known to everyone; for the dev stack's anvil only).
    deployer_key) echo 0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80 ;;
    sequencer_key) echo 0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d ;;
    *) head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' ;;
  esac
}
mkdir -p "$secrets"
for name in deployer_key sequencer_key postgres_password grafana_admin_password; do
  file="$secrets/$name"
  if [ ! -e "$file" ] && [ "$dev_secrets" = 1 ]; then
    (umask 077 && dev_secret "$name" > "$file")
    chown "$(secret_owner "$name")" "$file" 2>/dev/null || fail "cannot chown $file to uid $(secret_owner "$name") (run as root)"
    say "wrote the dev secret $file"
  fi
  [ -f "$file" ] || fail "missing secret $file (write it, mode 0600; or --dev-secrets for the dev stack)"
  mode="$(stat -c %a "$file")"
  [ "$mode" = 600 ] || [ "$mode" = 400 ] || fail "$file has mode $mode: chmod 600 it"
  owner="$(stat -c %u "$file")"
  [ "$owner" = "$(secret_owner "$name")" ] || fail "$file is owned by uid $owner; the container reads it as uid $(secret_owner "$name"): chown $(secret_owner "$name") it"
done
. "$here/images/docker-client.sh"
docker info >/dev/null 2>&1 || fail "no Docker engine answers (start dockerd)"
if docker compose version >/dev/null 2>&1; then
  compose() { docker compose -p "$project" -f "$here/compose.yaml" "$@"; }
elif command -v docker-compose >/dev/null; then
  compose() { docker-compose -p "$project" -f "$here/compose.yaml" "$@"; }
else
  fail "neither 'docker compose' nor docker-compose (1.29 or newer) is installed"
fi

compose config -q || fail "the compose file does not check out"
compose_ready=1

# ---- build
if [ "${ZKROLLUP_SKIP_BUILD:-0}" != 1 ]; then
  say "building zkrollup:$tag"
  docker build -f "$here/Dockerfile" -t "zkrollup:$tag" "$root" || fail "the image did not build"
fi

# ---- the contracts: L1 up, then the one-shot deployment (idempotent)
if [ ${#services[@]} -eq 0 ] || printf '%s\n' "${services[@]}" | grep -qx -e node -e deploy; then
  compose up -d l1 || fail "L1 did not start"
  compose run --rm deploy || fail "the deployment failed"
fi

# ---- the stack
compose up -d "${services[@]}" || fail "the stack did not come up"

# ---- readiness, under a deadline
wait_for() { # WHAT COMMAND...
  local what="$1"; shift
  local start=$SECONDS
  until "$@" >/dev/null 2>&1; do
    (( SECONDS - start < deadline_secs )) || fail "$what: not within $deadline_secs s"
    sleep 2
  done
}
if [ ${#services[@]} -eq 0 ] || printf '%s\n' "${services[@]}" | grep -qx node; then
  wait_for "the node's /readyz" curl -fsS "http://127.0.0.1:$node_port/readyz"
fi
if [ ${#services[@]} -eq 0 ] || printf '%s\n' "${services[@]}" | grep -qx prometheus; then
  prometheus_scrapes_node() {
    curl -fsS "http://127.0.0.1:$prometheus_port/api/v1/query?query=up%7Bjob%3D%22zkrollup-node%22%7D%3D%3D1" | grep -q '"value"'
  }
  wait_for "Prometheus scraping the node" prometheus_scrapes_node
fi

cat <<EOT
zkrollup is up (project $project, image zkrollup:$tag):
  node API       http://127.0.0.1:$node_port   (/v1/status, /readyz, /metrics)
  L1 (anvil)     http://127.0.0.1:${ZKROLLUP_L1_PORT:-8545}
  Prometheus     http://127.0.0.1:$prometheus_port   (alerts: /alerts)
  Grafana        http://127.0.0.1:${ZKROLLUP_GRAFANA_PORT:-3000}   (admin; password in $secrets/grafana_admin_password)
  deployment     docker compose -p $project -f deploy/compose.yaml exec node cat /shared/deployment.json
  logs           docker compose -p $project -f deploy/compose.yaml logs -f node
  down           docker compose -p $project -f deploy/compose.yaml down --volumes
EOT
