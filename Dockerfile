# restore-drill as a container image, for the schedulers `restore-drill schedule export` writes
# for (Kubernetes CronJobs, EventBridge Scheduler with ECS tasks). Build from the repository:
#
#   docker build -t restore-drill .
#   docker run --rm restore-drill validate /drills
#
# Put your drills into the image (a derived image with `COPY drills/ /drills/`) or mount them at
# /drills; reports go to /reports (a volume). Runs as an unprivileged user.

FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY examples ./examples
RUN cargo build --locked --release --bin restore-drill \
 && strip target/release/restore-drill

FROM debian:bookworm-slim
# CA certificates for AWS and TLS checks; the PostgreSQL client tools for the pg_amcheck check;
# coreutils' `timeout` bounds runs under ECS. Debian's stable packages get security fixes under
# a fixed name, so they are not pinned to a version.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates postgresql-client \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/restore-drill --create-home restore-drill \
 && mkdir -p /drills /reports \
 && chown restore-drill:restore-drill /reports
COPY --from=build /src/target/release/restore-drill /usr/local/bin/restore-drill
COPY drills/ /drills/
USER 10001
WORKDIR /var/lib/restore-drill
VOLUME ["/reports"]
ENTRYPOINT ["/usr/local/bin/restore-drill"]
CMD ["--help"]
