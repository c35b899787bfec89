# Stand-in for the official postgres:15-bookworm where no registry is reachable: Debian's
# PostgreSQL 15, started as the official image starts it (as root, reading POSTGRES_PASSWORD or
# POSTGRES_PASSWORD_FILE, then the server as the postgres user; POSTGRES_USER, POSTGRES_DB;
# data in /var/lib/postgresql/data; pg_isready). Built by build-base-images.sh; users pull the
# official image.
FROM debian:bookworm-slim
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-15 \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/postgresql/data /var/run/postgresql \
 && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql
COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data
EXPOSE 5432
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]
