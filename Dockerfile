# syntax=docker/dockerfile:1
# Multi-stage build: compile in the Rust image, run in a slim Debian as a non-root user.

FROM rust:1-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock diesel.toml ./
COPY src src
COPY migrations migrations
COPY templates templates
COPY static static
RUN cargo build --release --locked --bin portalops

FROM debian:bookworm-slim
# libpq for Diesel; the PostgreSQL 15 server only for the single-container mode (no
# DATABASE_URL: PortalOps runs its own database under /data). Debian's default cluster is
# not created.
RUN mkdir -p /etc/postgresql-common \
 && echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf \
 && apt-get update \
 && apt-get install -y --no-install-recommends libpq5 postgresql-15 ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin portalops \
 && mkdir -p /data /uploads \
 && chown portalops:portalops /data /uploads
COPY --from=build /src/target/release/portalops /usr/local/bin/portalops
USER portalops
ENV PORTALOPS_BIND=0.0.0.0:8000 \
    PORTALOPS_DATA_DIR=/data \
    PORTALOPS_UPLOAD_DIR=/uploads
VOLUME ["/data", "/uploads"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8000/healthz || exit 1
STOPSIGNAL SIGTERM
ENTRYPOINT ["portalops"]
CMD ["serve"]
