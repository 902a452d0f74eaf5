# syntax=docker/dockerfile:1
#
# The dbprov image: the `dbprov` binary (CLI and operator) with the PostgreSQL and MariaDB client tools,
# running as an unprivileged user. Build from the repository root:
#
#   docker build -t ghcr.io/dbprov/dbprov:0.1.0 .
#
# The operator manifests (`dbprov install`, deploy/helm/dbprov) run it as user 65532 with a read-only root
# filesystem and a writable /tmp; keep USER below in step with dbprov_install::RUN_AS_USER (a test checks).

ARG RUST_VERSION=1.90
ARG DEBIAN_RELEASE=trixie

FROM rust:${RUST_VERSION}-slim-${DEBIAN_RELEASE} AS build
WORKDIR /src
# Only what the build reads: the workspace manifests and sources, not target/ or local state.
COPY Cargo.toml Cargo.lock rustfmt.toml ./
COPY .cargo .cargo
COPY crates crates
COPY xtask xtask
# The registry and target caches survive between builds; the binary is copied out of the cached target.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --package dbprov-cli --bin dbprov \
    && install -D -m 0755 target/release/dbprov /out/dbprov

FROM debian:${DEBIAN_RELEASE}-slim AS runtime
# The client tools backups and restores run (pg_dump/pg_restore/psql, mariadb-dump/mariadb): trixie ships
# PostgreSQL 17 and MariaDB 11.8 clients. pg_dump refuses servers newer than itself; for those, build on a
# newer release (--build-arg DEBIAN_RELEASE=...) or use a server of at most the client's version.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates postgresql-client mariadb-client \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 65532 dbprov \
    && useradd --system --uid 65532 --gid 65532 --home-dir /home/dbprov --create-home \
       --shell /usr/sbin/nologin dbprov
COPY --from=build /out/dbprov /usr/local/bin/dbprov

LABEL org.opencontainers.image.title="dbprov" \
      org.opencontainers.image.description="Declarative PostgreSQL, MySQL/MariaDB and SQLite provisioning: CLI and Kubernetes operator" \
      org.opencontainers.image.source="https://github.com/dbprov/dbprov" \
      org.opencontainers.image.licenses="Apache-2.0"

USER 65532:65532
WORKDIR /home/dbprov
ENTRYPOINT ["dbprov"]
CMD ["--help"]
