# Stand-in for the official rust:1.95-slim-bookworm where no registry is reachable: this
# machine's own Rust toolchain (the same release) on the local debian:bookworm-slim, with gcc
# for crates that build C. Built by build-base-images.sh; users pull the official image.
FROM debian:bookworm-slim
COPY extra-ca/ /usr/local/share/ca-certificates/
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates gcc libc6-dev \
 && update-ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY toolchain/ /usr/local/rust/
ENV CARGO_HOME=/usr/local/cargo \
    PATH=/usr/local/cargo/bin:/usr/local/rust/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RUN mkdir -p /usr/local/cargo/bin && cargo --version && rustc --version
