# gatewayd container image.
#
#   docker build -t gatewayd:0.1.0 .
#   docker run --rm -p 8001:8001 -e JWT_SECRET_KEY=... gatewayd:0.1.0
#
# Two stages: the build stage compiles with exactly the commands of scripts/run-dev.sh (the README's
# quick start), so the image and a developer's machine build the same way; the runtime stage holds
# the two binaries, the shared libraries they load, and nothing else from the toolchain.
# tests/deploy/check_manifests.py checks this file against the scripts and the README.

# ---------------------------------------------------------------------------------------------------
# Build stage: Debian 12, the distribution the project's dependency script targets.
FROM debian:12 AS build

# Sources live in /src; the build tree ends up in /src/build/release, as on a developer machine.
WORKDIR /src

# Only the dependency script first: the package layer below is then reused by every later build
# until the script itself changes.
COPY scripts/setup-deps.sh scripts/setup-deps.sh

# Installs the compiler, CMake, Ninja and the -dev packages (the "build" set of setup-deps.sh).
# Runs as root, so the script installs instead of just listing what is missing.
RUN bash scripts/setup-deps.sh build

# The rest of the source tree (.dockerignore keeps build trees, logs, data and .git out).
COPY . .

# Configures build/release (RelWithDebInfo, Ninja) and builds the gateway and the demo upstream,
# the same invocation as scripts/run-dev.sh.
RUN bash scripts/build.sh release gatewayd gatewayd-demo-upstream

# Copies the two binaries without their debug sections into /out; the runtime stage takes them
# from there. (Debug symbols stay in the build stage's /src/build/release for `docker cp`.)
RUN mkdir -p /out \
 && objcopy --strip-debug build/release/gatewayd /out/gatewayd \
 && objcopy --strip-debug build/release/gatewayd-demo-upstream /out/gatewayd-demo-upstream

# ---------------------------------------------------------------------------------------------------
# Runtime stage: the same Debian release, slim variant.
FROM debian:12-slim AS runtime

# Shared libraries the binaries load, one runtime package per -dev package of setup-deps.sh:
#   libboost-url1.81-dev -> libboost-url1.81.0   libssl-dev      -> libssl3
#   libyaml-cpp-dev      -> libyaml-cpp0.7       libhiredis-dev  -> libhiredis0.14
#   libmariadb-dev       -> libmariadb3 (also brings the caching_sha2_password plugin MySQL 8 uses)
#   libspdlog-dev        -> libspdlog1.10 and libfmt9
#   libjemalloc-dev      -> libjemalloc2 (the gateway's allocator)
# (Asio, Beast and nlohmann_json are header-only; libstdc++6, libgcc-s1 and libc6 are in the base.)
# ca-certificates is the system trust store for https upstreams and JWKS endpoints; curl is for
# the HEALTHCHECK below and for calling the admin API from inside the container.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libboost-url1.81.0 libssl3 libyaml-cpp0.7 libhiredis0.14 libmariadb3 libspdlog1.10 libfmt9 libjemalloc2 \
      ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*

# A fixed unprivileged account (uid/gid 10001) that owns nothing but the two writable folders;
# Kubernetes' runAsUser uses the same number.
RUN groupadd --system --gid 10001 gatewayd \
 && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home \
      --shell /usr/sbin/nologin gatewayd

# gatewayd reads .env, .env.<profile> and config/ relative to its working directory.
WORKDIR /app

# The binaries, on PATH so that ENTRYPOINT and `docker run --entrypoint` can name them.
COPY --from=build /out/gatewayd /out/gatewayd-demo-upstream /usr/local/bin/

# Routes and services (replace them with a bind mount or a Kubernetes ConfigMap at /app/config),
# and the production profile, which holds no secrets.
COPY config/ /app/config/
COPY .env.prod /app/.env.prod

# LOG_DIRECTORY (./logs) and DATA_DIRECTORY (./data, the record spool) are the only places the
# gateway writes; everything else stays root-owned and read-only for the service account.
RUN mkdir -p /app/logs /app/data \
 && chown 10001:10001 /app/logs /app/data \
 && chmod 0750 /app/logs /app/data

# Numeric user, so that Kubernetes' runAsNonRoot can verify it without resolving names.
USER 10001:10001

# 8001: public listener (PORT). 9901: admin API (ADMIN_PORT), which listens on 127.0.0.1 unless
# ADMIN_HOST says otherwise.
EXPOSE 8001 9901

# Liveness of the public listener. Uses https when TLS_CERT_FILE is set (certificate not checked:
# the probe only asks whether this process answers).
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD scheme=http; [ -n "${TLS_CERT_FILE:-}" ] && scheme=https; \
      curl -fsSk --max-time 2 -o /dev/null "$scheme://127.0.0.1:${PORT:-8001}/health" || exit 1

# SIGTERM (docker stop's default) drains: /ready turns 503, in-flight requests get
# SHUTDOWN_GRACE_SECONDS. Give `docker stop -t` more than that.
STOPSIGNAL SIGTERM

ENTRYPOINT ["gatewayd"]
CMD ["--env", "prod"]
