# Multi-stage build: compile with the full toolchain, run on a slim image as a non-root user.
FROM rust:1.91-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libssl-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src src
COPY deploy/rules.toml deploy/rules.toml
# The service alone by default; `--build-arg CARGO_FEATURES=tools` adds the demo, bench and
# generate commands (the compose stack's generator uses that image).
ARG CARGO_FEATURES=""
RUN cargo build --release --locked --no-default-features --features "$CARGO_FEATURES" --bin txscore

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin txscore
COPY --from=build /src/target/release/txscore /usr/local/bin/txscore
COPY deploy/rules.toml /etc/txscore/rules.toml
USER 10001
EXPOSE 9464
ENTRYPOINT ["txscore"]
CMD ["run"]
