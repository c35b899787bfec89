# Sourced: make `docker` a client that builds with BuildKit (RUN --mount). A client with the
# buildx plugin does; without it, a newer client refuses BuildKit, while Debian's docker.io
# (20.10, /usr/bin/docker) has it built in. Exports DOCKER_BUILDKIT=1.
export DOCKER_BUILDKIT=1
if ! command docker buildx version >/dev/null 2>&1 && [ -x /usr/bin/docker ]; then
  docker() { /usr/bin/docker "$@"; }
fi
