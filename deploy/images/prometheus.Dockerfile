# Stand-in for the official prom/prometheus:v2.42.0 where no registry is reachable: Debian's
# Prometheus 2.42.0, run as the official image runs it (config in /etc/prometheus, data in
# /prometheus, wget for health checks). Built by build-base-images.sh; users pull the official
# image.
FROM debian:bookworm-slim
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends prometheus wget \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /prometheus \
 && chown nobody:nogroup /prometheus
USER 65534:65534
EXPOSE 9090
WORKDIR /prometheus
ENTRYPOINT ["/usr/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
