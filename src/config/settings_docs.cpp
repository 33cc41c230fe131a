// Texts generated from the settings table: .env.example, the bundled profiles and
// docs/CONFIGURATION.md. Unit tests compare the committed files with these functions.
#include <string>
#include <string_view>
#include <vector>

#include "config/setting_value.hpp"
#include "config/settings_table.hpp"
#include "gatewayd/settings.hpp"

namespace gatewayd {
namespace {

constexpr std::size_t kWidth = 100;

// Word-wraps `text` into lines of at most `width` characters, each starting with `prefix`.
std::string wrap(std::string_view text, std::string_view prefix, std::size_t width = kWidth) {
  std::string out;
  std::string line(prefix);
  bool empty_line = true;
  while (!text.empty()) {
    const auto space = text.find(' ');
    const auto word = text.substr(0, space);
    text = space == std::string_view::npos ? std::string_view{} : text.substr(space + 1);
    if (word.empty()) continue;
    if (!empty_line && line.size() + 1 + word.size() > width) {
      out += line + "\n";
      line = std::string(prefix);
      empty_line = true;
    }
    if (!empty_line) line += ' ';
    line += word;
    empty_line = false;
  }
  if (!empty_line) out += line + "\n";
  return out;
}

std::string env_header(std::string_view title) {
  std::string out;
  out += "# " + std::string(title) + "\n#\n";
  out += wrap(
      "Every variable gatewayd reads, with its default. Later sources win: built-in defaults, "
      ".env, .env.<profile> (selected with `--env <profile>`), the process environment, then "
      "command-line flags. Lines are KEY=VALUE; `export KEY=VALUE`, 'literal' and \"escaped\" "
      "values and # comments are accepted, nothing is expanded. An empty value leaves a "
      "number, bool, enum or duration at its default. Durations are a number in the unit the "
      "name ends with (_MS, _SECONDS) or carry their own: 250ms, 5s, 2m, 1h. Secrets are best "
      "passed through the process environment rather than kept in files.",
      "# ");
  return out;
}

std::string group_banner(std::string_view group) {
  const std::string rule = "# " + std::string(kWidth - 2, '-');
  return rule + "\n# " + std::string(group) + "\n" + rule + "\n";
}

}  // namespace

std::string env_example_text() {
  std::string out = env_header("gatewayd settings (.env.example)");
  std::string_view group;
  for (const auto& spec : settings_table()) {
    if (spec.group != group) {
      group = spec.group;
      out += "\n" + group_banner(group);
    }
    out += "\n";
    out += wrap(spec.description, "# ");
    std::string type = "Type: " + setting_value::describe_type(spec) + ".";
    if (spec.secret) type += " Secret: shown as *** by the admin API and never logged.";
    out += wrap(type, "# ");
    out += "#" + std::string(spec.name) + "=" + std::string(spec.default_value) + "\n";
  }
  return out;
}

std::string env_profile_text(const std::string& env) {
  if (env == "dev") {
    return "# gatewayd development profile (.env.dev), read on top of .env by "
           "`gatewayd --env dev`.\n"
           "# Variables not set here keep their defaults; .env.example lists them all.\n"
           "\n"
           "PORT=8001\n"
           "WORKERS=1\n"
           "LOG_LEVEL=debug\n"
           "LOG_FORMAT=text\n"
           "LOG_TO_STDOUT=true\n"
           "ACCESS_LOG_ENABLED=true\n"
           "CONFIG_WATCH=true\n"
           "\n"
           "# Nothing external is needed: records go to the spool file, limits stay local.\n"
           "MYSQL_ENABLED=false\n"
           "REDIS_ENABLED=false\n"
           "RATE_LIMIT_BACKEND=local\n"
           "\n"
           "# Development only. Never reuse these values anywhere else.\n"
           "JWT_SECRET_KEY=dev-only-insecure-jwt-secret-do-not-use-in-production\n"
           "ADMIN_TOKEN=dev-only-admin-token\n";
  }
  if (env == "prod") {
    return "# gatewayd production profile (.env.prod), read on top of .env by "
           "`gatewayd --env prod`.\n"
           "# Variables not set here keep their defaults; .env.example lists them all.\n"
           "# No secrets here: pass JWT_SECRET_KEY (or the JWT key paths), ADMIN_TOKEN,\n"
           "# MYSQL_PASSWORD and REDIS_PASSWORD through the process environment.\n"
           "\n"
           "DEBUG=false\n"
           "LOG_LEVEL=info\n"
           "LOG_FORMAT=json\n"
           "ACCESS_LOG_ENABLED=true\n"
           "WORKERS=0\n"
           "\n"
           "# The admin API stays on loopback; expose it deliberately, never by default.\n"
           "ADMIN_HOST=127.0.0.1\n"
           "\n"
           "MYSQL_ENABLED=true\n"
           "REDIS_ENABLED=true\n"
           "RATE_LIMIT_BACKEND=redis\n"
           "RATE_LIMIT_REDIS_FAILURE_MODE=local\n"
           "\n"
           "# No cross-origin access until origins are listed explicitly.\n"
           "ALLOWED_ORIGINS=\n"
           "\n"
           "TLS_MIN_VERSION=1.2\n";
  }
  std::string title = env == "default"
                          ? std::string("gatewayd settings (.env)")
                          : "gatewayd settings profile '" + env + "' (.env." + env + ")";
  std::string text = env_example_text();
  // Same body as .env.example, under the profile's own title.
  const auto first_break = text.find('\n');
  return "# " + title + text.substr(first_break);
}

std::string configuration_reference_text() {
  std::string out;
  out += "# Configuration reference\n\n";
  out += wrap(
      "gatewayd takes process settings from environment variables and `.env` files, and its "
      "routes and services from two YAML files. The tables below are generated from the "
      "settings table in `src/config/settings_table.cpp` (`configuration_reference_text()`); a "
      "unit test fails when this file and the code disagree, and the same table produces "
      "`.env.example`.",
      "");
  out += "\n## Sources and precedence\n\n";
  out +=
      "Later sources win:\n\n"
      "1. built-in defaults (below);\n"
      "2. `.env` in the working directory (optional);\n"
      "3. `.env.<profile>` for `--env <profile>` (`.env.dev` and `.env.prod` are bundled); a "
      "missing\n   profile file is an error, except for the `default` profile, which reads "
      "`.env` only;\n"
      "4. the process environment;\n"
      "5. command-line flags.\n\n";
  out += wrap(
      "Without `--env`, the profile comes from `ENVIRONMENT` in the process environment, else "
      "from `ENVIRONMENT` in `.env`. A malformed value (`PORT=abc`, `PORT=70000`, "
      "`LOG_FORMAT=xml`, a bool that is not true/false, 1/0, yes/no or on/off) stops start-up "
      "with a message naming the variable and where the value came from; secret values are "
      "never repeated in messages. A key in a `.env` file that gatewayd does not know is "
      "reported as a warning and ignored. Relative paths are relative to the working "
      "directory.",
      "");
  out += "\n### `.env` syntax\n\n";
  out +=
      "```sh\n"
      "# comment\n"
      "PORT=8001\n"
      "export LOG_LEVEL=debug          # `export ` is allowed; text after ' #' is a comment\n"
      "ALLOWED_ORIGINS='https://a.example.com,https://*.example.org'   # literal\n"
      "JWT_SECRET_KEY=\"quoted \\\"value\\\" with \\\\ escapes\"      # \\n \\t \\\\ \\\" "
      "\\$\n"
      "```\n\n";
  out += wrap(
      "Values are not expanded (`$HOME` stays as written). An empty value leaves a number, "
      "bool, enum or duration at its default; an empty string or list is a value. A line that "
      "is not `KEY=VALUE` is an error naming the file and line.",
      "");
  out +=
      "\n### Value types\n\n"
      "- **bool**: `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`, any case.\n"
      "- **integer**, **number**, **port**: within the range shown.\n"
      "- **duration**: a number in the unit the name ends with (`_MS`, `_SECONDS`), or with "
      "its own unit:\n  `250ms`, `5s`, `2m`, `1h`.\n"
      "- **list**: comma-separated; blanks around items are ignored.\n"
      "- **enum**: one of the listed values, any case.\n";
  out += "\n## Command line\n\n```\n" + usage_text() + "```\n\n";
  out += wrap("Unknown options and bad values print the usage and exit with status 2.", "");

  out += "\n## Environment variables\n";
  std::string_view group;
  for (const auto& spec : settings_table()) {
    if (spec.group != group) {
      group = spec.group;
      out += "\n### " + std::string(group) + "\n\n";
      out += "| Variable | Default | Type | Description |\n";
      out += "|---|---|---|---|\n";
    }
    std::string def = spec.default_value.empty() ? std::string("(empty)")
                                                 : "`" + std::string(spec.default_value) + "`";
    std::string type = setting_value::describe_type(spec);
    std::string desc(spec.description);
    if (spec.secret) desc += " **Secret.**";
    out += "| `" + std::string(spec.name) + "` | " + def + " | " + type + " | " + desc + " |\n";
  }
  out += "\n" + std::string(R"(## routes.yaml

```yaml
routes:
  - path: /api/v1/projects/**   # required; see "Path patterns"
    service: project-service    # required; a service of services.yaml, or `internal`
    methods: [GET, POST]        # default [GET]; any case; HEAD is implied by GET
    auth_required: true         # default true
    rate_limit: 100             # requests per minute for this route; default none
    timeout: 30                 # seconds, may be fractional; default 30
    strip_prefix: false         # drop the pattern's literal prefix before forwarding
    rewrite_path: null          # replace the path, {param} substituted (alias: rewrite)
    headers: {X-Env: prod}      # extra request headers sent upstream
    # gatewayd's own fields
    name: projects              # metric label; default "<METHODS> <host><path>"
    priority: 0                 # higher wins between routes of the same rank
    host: api.example.com       # exact host or *.example.com; default any host
    match: prefix               # exact | prefix; default from the pattern
    enabled: true
    connect_timeout: 5          # seconds; default UPSTREAM_CONNECT_TIMEOUT_MS
    max_body_bytes: 1048576     # default MAX_BODY_BYTES
    forward_authorization: true # pass the client's Authorization header upstream
    retry:
      count: 2                  # retries after the first attempt; default RETRY_MAX_ATTEMPTS - 1
      per_try_timeout: 2        # seconds; default: the route timeout
      on_status: [502, 503, 504]
      non_idempotent: false     # also retry POST/PATCH (body kept up to body_limit)
      body_limit: 65536
      backoff_base: 0.025       # seconds; default RETRY_BASE_MS
      backoff_max: 1            # seconds; default RETRY_MAX_MS
      backoff_multiplier: 2     # default RETRY_BACKOFF_FACTOR
      on_connect_failure: true
      on_timeout: true
    auth:
      methods: [jwt, api_key]   # accepted credentials; default both
      roles: [admin]            # any of
      scopes: [projects:read]   # all of
      permissions: [read]       # all of
    cors:                       # this route's CORS policy instead of the global one
      allowed_origins: ["https://app.example.com", "https://*.example.com"]
      allowed_methods: [GET, POST]
      allowed_headers: [Authorization, Content-Type]
      exposed_headers: [X-Request-Id, X-RateLimit-Remaining]
      allow_credentials: true   # never together with a "*" origin
      max_age: 600              # seconds (alias: max_age_seconds)
```

Unknown fields are errors, so a typo never passes silently. Errors name the file, the line,
the entry and the field, for example
`config/routes.yaml:14: routes[2] path=/x: service: unknown service 'projets'`.

`cors:` takes the fields of the global policy (`GET /admin/cors`), plus `enabled`; fields left
out take the built-in defaults of the `CORS_*` settings (every origin, the rate-limit headers
exposed, no credentials), not the global policy's current values. `cors: false` turns CORS off
for the route, `cors: true` gives it the defaults. A route's policy answers the preflights
whose path and `Access-Control-Request-Method` select that route, and sets the CORS headers of
its responses; routes without `cors:` use the global policy.

### Path patterns

| Pattern | Matches |
|---|---|
| `/a/b` | exactly `/a/b` |
| `/a/*`, `/a/**`, or `/a` with `match: prefix` | `/a` and everything under `/a/`, never `/aX` |
| `/users/{id}` | one segment captured as `id`; usable in `rewrite_path` |
| `/files/*/meta` | `*` inside a pattern is exactly one segment |
| `/users/{id}/**` | a template followed by any rest |

Precedence, from first to last criterion:

1. an exact route (no parameter, no wildcard) wins over every other kind;
2. then the route with more leading literal segments wins (longest literal prefix);
3. then a template whose non-literal parts are only `{param}` segments wins over one with a
   wildcard (`*` or a trailing `/*`, `/**`);
4. then a route with an exact `host` wins over a `*.domain` host, which wins over a route
   without `host` (a longer `*.domain` suffix first);
5. then the higher `priority`;
6. then the route that comes first in the file.

A route whose path matches but whose methods do not is skipped in favour of a lower-ranked one
that accepts the method; when none does, the answer is 405 with `Allow` listing the methods of
every route that matched the path. `OPTIONS` is not special.

Paths are normalised before matching and the upstream receives the normalised path:
percent-encoded unreserved characters (`A-Z a-z 0-9 - . _ ~`) are decoded, other escapes get
upper-case hex, `.` and `..` segments are resolved. Empty segments are kept (`/a//b` is not
`/a/b`). Rejected with 400: a target not starting with `/`, `%2F`/`%5C` (encoded slash or
backslash), a literal backslash, NUL or `%00`, other control characters (raw or encoded), bad
percent-encoding, `#`, and `..` climbing above `/`. The query string is passed on byte for byte.

`strip_prefix: true` removes the pattern's leading literal segments (`/demo/**` sends
`/demo/hello` as `/hello`, and `/demo` as `/`). `rewrite_path: /v2/users/{id}` replaces the whole
path, with captured parameters substituted. The two are mutually exclusive.

## services.yaml

```yaml
services:
  project-service:
    instances:                   # may be empty when a discovery backend fills it
      - url: http://127.0.0.1:8002   # http or https, host, optional port, no path
        weight: 1                # 0-10000; default 1; 0 drains the instance
        healthy: true            # false: never picked
    load_balancer: round_robin   # round_robin | weighted | least_connections | random
                                 # (alias: lb_strategy); default LOAD_BALANCER_STRATEGY
    health_check:                # active checks; off without this block
      path: /health
      interval: 30               # seconds
      timeout: 5                 # seconds, at most the interval
      healthy_threshold: 2
      unhealthy_threshold: 3
      expected_statuses: [200, "200-399"]
    circuit_breaker:             # defaults from CIRCUIT_BREAKER_*
      enabled: true
      failure_threshold: 5
      success_threshold: 2
      open_timeout: 60           # seconds
      half_open_max_requests: 3
      failure_ratio: 0.5
      window: 10                 # seconds
      window_min_requests: 20
      failure_statuses: [429]    # statuses counted as failures besides 5xx
    outlier_detection:
      enabled: true
      consecutive_5xx: 5
      consecutive_gateway_failures: 5
      base_ejection_time: 30     # seconds
      max_ejection_time: 300     # seconds
      max_ejection_percent: 10
    retry_budget:                # defaults from RETRY_BUDGET_*
      percent: 20
      min_retries_per_second: 3
      window: 10                 # seconds
    # TLS to https:// instances (ignored for http://). Files are re-read on every reload.
    tls_verify: true             # false: no certificate or host name check (logged as a warning)
    tls_ca_file: ca.pem          # CA bundle; default UPSTREAM_CA_FILE, else the system store
    tls_server_name: api.internal  # SNI and verified name; default the URL's host
    tls_cert_file: client.pem    # client certificate for mTLS, with tls_key_file;
    tls_key_file: client.key     # default UPSTREAM_CLIENT_CERT_FILE / _KEY_FILE
```

A service named `internal` cannot be declared: routes use `service: internal` for the gateway's
own endpoints. Instances of one service must be distinct, and at least one must have a weight
above 0.
)");
  return out;
}

}  // namespace gatewayd
