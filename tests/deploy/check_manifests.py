#!/usr/bin/python3
"""Checks the container and Kubernetes deployment files of gatewayd.

Usage: check_manifests.py [REPO_ROOT] [--gatewayd PATH]

Docker cannot run where the tests run, and no Kubernetes API server is at hand, so the files are
checked against rules instead: the Dockerfile builds with exactly the commands of the README's quick
start, the compose file and the manifests agree with each other and with the gateway's settings,
and the Kubernetes objects carry the fields the deployment depends on (probes, drain timing,
security context, volumes). With --gatewayd, the binary also validates the bundled route and
service files, and its shared libraries are compared with the runtime packages of the image.

Prints one line per rule and ends with `deploy checks: N passed, M failed`; exits 1 on any failure.
"""

import argparse
import fnmatch
import json
import math
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

import yaml

# Runtime package of each -dev package in the "build" set of scripts/setup-deps.sh, as Debian 12
# names them. An empty list: header-only as gatewayd uses it (Asio and Beast from the Boost set,
# nlohmann_json). A new -dev package in setup-deps.sh must be added here, and its runtime package to
# the Dockerfile's runtime stage.
RUNTIME_PACKAGES_OF = {
    "libboost1.81-all-dev": [],
    "libboost-url1.81-dev": ["libboost-url1.81.0"],
    "libssl-dev": ["libssl3"],
    "nlohmann-json3-dev": [],
    "libyaml-cpp-dev": ["libyaml-cpp0.7"],
    "libhiredis-dev": ["libhiredis0.14"],
    "libmariadb-dev": ["libmariadb3"],
    "libspdlog-dev": ["libspdlog1.10", "libfmt9"],
    "libjemalloc-dev": ["libjemalloc2"],
}
# Packages every debian:12-slim image already has.
SLIM_BASE_PACKAGES = {"libc6", "libgcc-s1", "libstdc++6", "zlib1g"}

KNOWN_KINDS = {
    ("v1", "ConfigMap"),
    ("v1", "Secret"),
    ("v1", "Service"),
    ("apps/v1", "Deployment"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("policy/v1", "PodDisruptionBudget"),
}
DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
GATEWAY_UID = 10001
# The health path itself, not a longer one such as /healthz.
HEALTH_PATH = re.compile(r"/health(?![\w/.-])")


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print(f"ok   {name}")
        else:
            self.failed += 1
            print(f"FAIL {name}" + (f": {detail}" if detail else ""))
        return bool(ok)

    def warn(self, name, detail):
        print(f"WARN {name}: {detail}")


# ------------------------------------------------------------------------------------------------
# Small parsers


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def norm_cmd(text):
    return " ".join(text.split())


def parse_dockerfile(text):
    """Returns stages: [{"from": image, "name": alias, "instructions": [(KEYWORD, args)]}]."""
    logical = []
    current = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if stripped.startswith("#") and not current:
            continue
        if stripped.startswith("#"):
            continue  # comment lines inside a continued instruction are dropped, as docker does
        if raw.rstrip().endswith("\\"):
            current += raw.rstrip()[:-1] + " "
            continue
        current += raw
        if current.strip():
            logical.append(current.strip())
        current = ""
    if current.strip():
        logical.append(current.strip())
    stages = []
    for line in logical:
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        args = args.strip()
        if keyword == "FROM":
            parts = args.split()
            image = [p for p in parts if not p.startswith("--")][0]
            alias = None
            if len(parts) >= 3 and parts[-2].lower() == "as":
                alias = parts[-1]
            stages.append({"from": image, "name": alias, "instructions": []})
        elif stages:
            stages[-1]["instructions"].append((keyword, args))
    return stages


def instructions(stage, keyword):
    return [args for kw, args in stage["instructions"] if kw == keyword]


def json_form(args):
    try:
        value = json.loads(args)
    except ValueError:
        return None
    return value if isinstance(value, list) else None


def bash_array(text, name):
    m = re.search(name + r"=\((.*?)\)", text, re.S)
    return m.group(1).split() if m else []


def cpu_cores(quantity):
    q = str(quantity)
    return float(q[:-1]) / 1000 if q.endswith("m") else float(q)


def memory_bytes(quantity):
    q = str(quantity)
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40,
             "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
    for suffix in sorted(units, key=len, reverse=True):
        if q.endswith(suffix):
            return float(q[: -len(suffix)]) * units[suffix]
    return float(q)


def duration_seconds(text):
    total = 0.0
    matched = ""
    for value, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", str(text)):
        total += float(value) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 1e-6}[unit]
        matched += value + unit
    if matched != str(text):
        raise ValueError(f"not a duration: {text!r}")
    return total


def dockerignore_excludes(patterns, rel_path):
    """True when .dockerignore patterns (last match wins, ! re-includes) exclude rel_path or a
    parent folder of it."""
    parts = rel_path.strip("/").split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pat = pattern[1:] if negate else pattern
        pat = pat.strip("/")
        for cand in candidates:
            hit = fnmatch.fnmatchcase(cand, pat)
            if not hit and pat.startswith("**/"):
                hit = fnmatch.fnmatchcase(cand, pat[3:]) or fnmatch.fnmatchcase(
                    cand.split("/")[-1], pat[3:])
            if hit:
                excluded = not negate
                break
    return excluded


# ------------------------------------------------------------------------------------------------
# Dockerfile


def quick_start_build_commands(c, root):
    """The setup and build commands of the README's quick start, read from the script it runs."""
    readme = read(os.path.join(root, "README.md"))
    section = readme.split("## Quick start", 1)
    c.check("README has a Quick start section", len(section) == 2)
    quick = section[1].split("\n## ", 1)[0] if len(section) == 2 else ""
    blocks = re.findall(r"```[a-z]*\n(.*?)```", quick, re.S)
    commands = [norm_cmd(line.split(" #")[0]) for block in blocks for line in block.splitlines()
                if line.strip().startswith("bash scripts/")]
    c.check("README quick start runs `bash scripts/run-dev.sh`",
            "bash scripts/run-dev.sh" in commands, f"found {commands}")
    run_dev = read(os.path.join(root, "scripts", "run-dev.sh"))
    steps = [norm_cmd(line) for line in run_dev.splitlines()
             if re.match(r"\s*bash scripts/(setup-deps|build)\.sh\b", line)]
    c.check("run-dev.sh has a setup-deps.sh step",
            any(s.startswith("bash scripts/setup-deps.sh") for s in steps), f"steps {steps}")
    c.check("run-dev.sh has a build.sh step",
            any(s.startswith("bash scripts/build.sh") for s in steps), f"steps {steps}")
    return steps


def build_dir_of(c, root, kind):
    text = read(os.path.join(root, "scripts", "build.sh"))
    m = re.search(r"^\s*" + re.escape(kind) + r"\)\s*\n\s*dir=(\S+)", text, re.M)
    c.check(f"scripts/build.sh has a '{kind}' build kind", m is not None)
    return m.group(1) if m else None


def check_dockerfile(c, root):
    path = os.path.join(root, "Dockerfile")
    if not c.check("Dockerfile exists", os.path.isfile(path)):
        return None
    stages = parse_dockerfile(read(path))
    if not c.check("Dockerfile is multi-stage", len(stages) >= 2, f"{len(stages)} stage(s)"):
        return None
    build, runtime = stages[0], stages[-1]
    c.check("build stage is FROM debian:12", build["from"] == "debian:12", build["from"])
    c.check("build stage is named", bool(build["name"]))
    c.check("runtime stage is FROM debian:12-slim", runtime["from"] == "debian:12-slim",
            runtime["from"])

    # The build stage runs the quick start's commands, exactly and in order, and nothing else
    # installs packages or drives the compiler.
    steps = quick_start_build_commands(c, root)
    build_runs = [norm_cmd(r) for r in instructions(build, "RUN")]
    script_runs = [r for r in build_runs if r.startswith("bash scripts/")]
    c.check("build stage RUNs exactly the quick start's setup and build commands, in order",
            script_runs == steps, f"Dockerfile {script_runs} != scripts/run-dev.sh {steps}")
    for r in build_runs:
        if r in steps:
            continue
        c.check(f"extra build-stage RUN does not install or compile on its own: {r[:60]}",
                not re.search(r"\b(apt-get|apt|dpkg|cmake|ninja|make|g\+\+|gcc|c\+\+)\b", r), r)
    setup = read(os.path.join(root, "scripts", "setup-deps.sh"))
    for s in steps:
        words = shlex.split(s)
        if words[1] == "scripts/setup-deps.sh":
            arg = words[2] if len(words) > 2 else "all"
            c.check(f"setup-deps.sh accepts '{arg}'", re.search(r"^\s*" + re.escape(arg) + r"\)",
                                                                setup, re.M) is not None)
    build_steps = [shlex.split(s) for s in steps if s.startswith("bash scripts/build.sh")]
    targets = []
    build_dir = None
    if build_steps:
        words = build_steps[-1]
        kind = words[2] if len(words) > 2 else "release"
        targets = words[3:]
        build_dir = build_dir_of(c, root, kind)
        c.check("build.sh step names the gatewayd and gatewayd-demo-upstream targets",
                {"gatewayd", "gatewayd-demo-upstream"} <= set(targets), f"targets {targets}")

    # The runtime stage takes each built binary from the build tree the script wrote.
    build_text = " ".join(a for kw, a in build["instructions"] if kw in ("RUN", "COPY"))
    copies_from_build = [a for a in instructions(runtime, "COPY")
                         if re.search(r"--from=" + re.escape(build["name"] or "0") + r"\b", a)]
    copied = " ".join(copies_from_build)
    for t in targets:
        c.check(f"build stage uses {build_dir}/{t}", f"{build_dir}/{t}" in build_text)
        c.check(f"runtime stage copies {t} from the build stage",
                re.search(r"/" + re.escape(t) + r"(\s|$)", copied) is not None, copied)

    # Runtime libraries: one runtime package for each -dev package the build installs.
    build_pkgs = bash_array(setup, "build_packages")
    dev_pkgs = [p for p in build_pkgs if p.endswith("-dev")]
    runtime_runs = " ".join(instructions(runtime, "RUN"))
    installed = set()
    for m in re.finditer(r"apt-get install([^&;|]*)", runtime_runs):
        installed |= {w for w in m.group(1).split() if not w.startswith("-")}
    for dev in dev_pkgs:
        if not c.check(f"runtime package of {dev} is known", dev in RUNTIME_PACKAGES_OF,
                       "add it to RUNTIME_PACKAGES_OF and to the Dockerfile's runtime stage"):
            continue
        for pkg in RUNTIME_PACKAGES_OF[dev]:
            c.check(f"runtime stage installs {pkg} (for {dev})", pkg in installed,
                    f"installed: {sorted(installed)}")
    c.check("runtime stage installs no -dev package or toolchain",
            not any(p.endswith("-dev") or p in ("build-essential", "cmake", "g++")
                    for p in installed), f"installed: {sorted(installed)}")
    c.check("runtime stage installs curl for the HEALTHCHECK", "curl" in installed)
    c.check("runtime stage installs ca-certificates for https upstreams",
            "ca-certificates" in installed)

    # Account, layout, ports, health check, entry point.
    users = instructions(runtime, "USER")
    user = users[-1] if users else ""
    uid = user.split(":")[0]
    c.check(f"runtime USER is the numeric non-root uid {GATEWAY_UID}", uid == str(GATEWAY_UID),
            f"USER {user!r}")
    c.check(f"runtime stage creates the uid {GATEWAY_UID} account",
            re.search(r"useradd\b.*--uid\s+" + str(GATEWAY_UID), runtime_runs) is not None)
    workdirs = instructions(runtime, "WORKDIR")
    c.check("runtime WORKDIR is /app", workdirs and workdirs[-1] == "/app", f"{workdirs}")
    for folder in ("/app/logs", "/app/data"):
        c.check(f"{folder} is created and owned by uid {GATEWAY_UID}",
                folder in runtime_runs and re.search(
                    r"chown\s+(-R\s+)?" + str(GATEWAY_UID) + r"(:\d+)?\s[^&;]*" + re.escape(folder),
                    runtime_runs) is not None)
    exposed = " ".join(instructions(runtime, "EXPOSE")).split()
    c.check("EXPOSE 8001 and 9901", {"8001", "9901"} <= {p.split("/")[0] for p in exposed},
            f"{exposed}")
    health = instructions(runtime, "HEALTHCHECK")
    c.check("HEALTHCHECK probes /health",
            len(health) == 1 and HEALTH_PATH.search(health[0]) is not None
            and " CMD " in f" {health[0]} ",
            f"{health}")
    entry = [json_form(a) for a in instructions(runtime, "ENTRYPOINT")]
    cmd = [json_form(a) for a in instructions(runtime, "CMD")]
    c.check('ENTRYPOINT ["gatewayd"]', entry[-1:] == [["gatewayd"]], f"{entry}")
    c.check('CMD ["--env", "prod"]', cmd[-1:] == [["--env", "prod"]], f"{cmd}")

    # Files copied from the context exist and are not hidden by .dockerignore.
    ignore_path = os.path.join(root, ".dockerignore")
    patterns = []
    if c.check(".dockerignore exists", os.path.isfile(ignore_path)):
        patterns = [l.strip() for l in read(ignore_path).splitlines()
                    if l.strip() and not l.strip().startswith("#")]
        for must in (".git", "build", "build-release", "logs", "data", ".env"):
            c.check(f".dockerignore excludes {must}", dockerignore_excludes(patterns, must))
    context_sources = []
    for stage in stages:
        for args in instructions(stage, "COPY"):
            words = [w for w in args.split() if not w.startswith("--")]
            if "--from=" in args or len(words) < 2:
                continue
            context_sources += [w for w in words[:-1] if w != "."]
    for src in context_sources:
        rel = src.rstrip("/")
        c.check(f"COPY source {src} exists", os.path.exists(os.path.join(root, rel)))
        c.check(f"COPY source {src} is not excluded by .dockerignore",
                not dockerignore_excludes(patterns, rel))
    runtime_copies = instructions(runtime, "COPY")
    c.check("runtime stage copies .env.prod into /app (CMD uses --env prod)",
            any(re.search(r"(^|\s)\.env\.prod\s+/app(/|/\.env\.prod)?$", a) for a in runtime_copies),
            f"{runtime_copies}")
    c.check("runtime stage copies config/ into /app/config",
            any(re.search(r"(^|\s)config/?\s+/app/config/?$", a) for a in runtime_copies),
            f"{runtime_copies}")

    # A quick start that cannot configure on a fresh machine would break the image too.
    deps_cmake = os.path.join(root, "cmake", "Dependencies.cmake")
    if os.path.isfile(deps_cmake) and build_steps:
        build_sh = read(os.path.join(root, "scripts", "build.sh"))
        needs_gtest = re.search(r"find_package\(GTest REQUIRED\)", read(deps_cmake)) is not None
        tests_off = "-DGATEWAYD_BUILD_TESTS=OFF" in build_sh
        if needs_gtest and not tests_off and "libgtest-dev" not in build_pkgs:
            c.warn("build dependencies",
                   "CMake requires GTest for the release configuration, but the 'build' set of "
                   "setup-deps.sh lacks libgtest-dev/libgmock-dev: configure fails on a fresh "
                   "machine and in the image's build stage")
    return {"uid": GATEWAY_UID, "installed": installed, "image_workdir": "/app"}


# ------------------------------------------------------------------------------------------------
# Route and service files


def check_gateway_config(c, label, routes_text, services_text):
    try:
        routes = yaml.safe_load(routes_text)
        services = yaml.safe_load(services_text)
    except yaml.YAMLError as e:
        c.check(f"{label}: routes.yaml and services.yaml parse", False, str(e))
        return None
    c.check(f"{label}: routes.yaml and services.yaml parse", True)
    ok_routes = c.check(f"{label}: routes.yaml has a `routes` list",
                        isinstance(routes, dict) and isinstance(routes.get("routes"), list)
                        and len(routes["routes"]) > 0)
    ok_services = c.check(f"{label}: services.yaml has a `services` map",
                          isinstance(services, dict) and isinstance(services.get("services"), dict)
                          and len(services["services"]) > 0)
    if not (ok_routes and ok_services):
        return None
    names = set(services["services"])
    for i, r in enumerate(routes["routes"]):
        c.check(f"{label}: routes[{i}] has a path starting with /",
                isinstance(r, dict) and str(r.get("path", "")).startswith("/"))
        svc = r.get("service") if isinstance(r, dict) else None
        c.check(f"{label}: routes[{i}] names a declared service",
                svc == "internal" or svc in names, f"service {svc!r}, declared {sorted(names)}")
    urls = []
    for name, s in services["services"].items():
        insts = (s or {}).get("instances") or []
        c.check(f"{label}: service {name} has instances", len(insts) > 0)
        for inst in insts:
            url = str((inst or {}).get("url", ""))
            c.check(f"{label}: service {name} instance url {url} is http(s)://host:port",
                    re.match(r"^https?://[^/:]+(:\d+)?$", url) is not None)
            urls.append(url)
    return {"routes": routes, "services": services, "urls": urls}


def url_host_port(url):
    m = re.match(r"^(https?)://([^/:]+)(?::(\d+))?", url)
    if not m:
        return None, None
    return m.group(2), int(m.group(3) or (443 if m.group(1) == "https" else 80))


def run_check_config(c, label, gatewayd, routes_text, services_text):
    with tempfile.TemporaryDirectory() as tmp:
        cfg = os.path.join(tmp, "config")
        os.mkdir(cfg)
        with open(os.path.join(cfg, "routes.yaml"), "w", encoding="utf-8") as f:
            f.write(routes_text)
        with open(os.path.join(cfg, "services.yaml"), "w", encoding="utf-8") as f:
            f.write(services_text)
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
        proc = subprocess.run([gatewayd, "--check-config", "--config-dir", cfg], cwd=tmp, env=env,
                              capture_output=True, text=True, timeout=60)
        c.check(f"{label}: gatewayd --check-config accepts it", proc.returncode == 0,
                (proc.stdout + proc.stderr).strip())


# ------------------------------------------------------------------------------------------------
# docker-compose.yml


def env_map(env):
    if isinstance(env, dict):
        return {k: ("" if v is None else str(v)) for k, v in env.items()}
    out = {}
    for item in env or []:
        k, _, v = str(item).partition("=")
        out[k] = v
    return out


def check_compose(c, root, config_info, known_settings):
    path = os.path.join(root, "docker", "docker-compose.yml")
    if not c.check("docker/docker-compose.yml exists", os.path.isfile(path)):
        return None
    try:
        doc = yaml.safe_load(read(path))
    except yaml.YAMLError as e:
        c.check("docker-compose.yml parses", False, str(e))
        return None
    base = os.path.dirname(path)
    services = (doc or {}).get("services") or {}
    for name in ("gatewayd", "redis", "mysql", "demo-upstream"):
        c.check(f"compose: service {name} exists", name in services)
    if not all(n in services for n in ("gatewayd", "redis", "mysql", "demo-upstream")):
        return None
    gw, redis, mysql, demo = (services[n] for n in ("gatewayd", "redis", "mysql", "demo-upstream"))

    build = gw.get("build") or {}
    context = os.path.normpath(os.path.join(base, build.get("context", ".")))
    c.check("compose: gatewayd builds from the repository root",
            os.path.samefile(context, root), context)
    c.check("compose: gatewayd's Dockerfile exists",
            os.path.isfile(os.path.join(context, build.get("dockerfile", "Dockerfile"))))
    c.check("compose: redis is redis:7", str(redis.get("image", "")).startswith("redis:7"))
    c.check("compose: mysql is mysql:8.0", str(mysql.get("image", "")) == "mysql:8.0")

    # Schema: the SQL file is mounted into the MySQL image's init folder, and every side agrees on
    # the database name.
    sql_mounts = [v for v in mysql.get("volumes", []) if "/docker-entrypoint-initdb.d/" in str(v)]
    c.check("compose: mysql mounts an init script", len(sql_mounts) == 1, f"{sql_mounts}")
    sql_db = None
    if sql_mounts:
        src = os.path.normpath(os.path.join(base, str(sql_mounts[0]).split(":")[0]))
        c.check("compose: the mounted init script is scripts/database/init_database.sql",
                os.path.isfile(src) and os.path.samefile(
                    src, os.path.join(root, "scripts", "database", "init_database.sql")), src)
        if os.path.isfile(src):
            m = re.search(r"CREATE DATABASE IF NOT EXISTS\s+`?(\w+)`?", read(src))
            sql_db = m.group(1) if m else None
    gw_env = env_map(gw.get("environment"))
    my_env = env_map(mysql.get("environment"))
    c.check("compose: MYSQL_DATABASE agrees between gatewayd, mysql and the schema file",
            gw_env.get("MYSQL_DATABASE") == my_env.get("MYSQL_DATABASE") == sql_db,
            f"{gw_env.get('MYSQL_DATABASE')}, {my_env.get('MYSQL_DATABASE')}, {sql_db}")
    c.check("compose: MYSQL_USER and MYSQL_PASSWORD agree between gatewayd and mysql",
            gw_env.get("MYSQL_USER") == my_env.get("MYSQL_USER")
            and gw_env.get("MYSQL_PASSWORD") == my_env.get("MYSQL_PASSWORD"))
    c.check("compose: REDIS_HOST names the redis service", gw_env.get("REDIS_HOST") == "redis")
    c.check("compose: MYSQL_HOST names the mysql service", gw_env.get("MYSQL_HOST") == "mysql")
    c.check("compose: Redis and MySQL are enabled",
            gw_env.get("REDIS_ENABLED") == "true" and gw_env.get("MYSQL_ENABLED") == "true")
    for secret in ("JWT_SECRET_KEY", "ADMIN_TOKEN", "MYSQL_PASSWORD"):
        c.check(f"compose: {secret} comes from the environment, not the file",
                re.fullmatch(r"\$\{\w+(:?[?-][^}]*)?\}", gw_env.get(secret, "")) is not None,
                gw_env.get(secret))
    if known_settings is not None:
        unknown = sorted(k for k in gw_env if k not in known_settings)
        c.check("compose: every gatewayd variable is a known setting", not unknown, f"{unknown}")

    # Health checks and start order.
    for name, svc in services.items():
        hc = (svc.get("healthcheck") or {}).get("test")
        c.check(f"compose: {name} has a healthcheck", bool(hc))
    gw_hc = " ".join(map(str, (gw.get("healthcheck") or {}).get("test", [])))
    c.check("compose: gatewayd's healthcheck probes /health",
            HEALTH_PATH.search(gw_hc) is not None, gw_hc)
    deps = gw.get("depends_on") or {}
    for dep in ("redis", "mysql", "demo-upstream"):
        cond = deps.get(dep, {}).get("condition") if isinstance(deps, dict) else None
        c.check(f"compose: gatewayd waits for {dep} to be healthy", cond == "service_healthy",
                f"condition {cond}")

    # Demo upstream: same image, other entry point, reachable where services.yaml says.
    c.check("compose: demo-upstream uses gatewayd's image", demo.get("image") == gw.get("image"))
    entry = demo.get("entrypoint")
    c.check('compose: demo-upstream entrypoint is ["gatewayd-demo-upstream"]',
            entry == ["gatewayd-demo-upstream"], f"{entry}")
    cmd = [str(x) for x in demo.get("command") or []]
    demo_port = int(cmd[cmd.index("--port") + 1]) if "--port" in cmd else None
    c.check("compose: demo-upstream listens on 0.0.0.0:8002",
            "--host" in cmd and cmd[cmd.index("--host") + 1] == "0.0.0.0" and demo_port == 8002,
            f"{cmd}")
    demo_hc = " ".join(map(str, (demo.get("healthcheck") or {}).get("test", [])))
    c.check("compose: demo-upstream's healthcheck probes its own port",
            re.search(f":{demo_port}" + HEALTH_PATH.pattern, demo_hc) is not None, demo_hc)
    c.check('compose: gatewayd command is ["--env", "prod"] (or the image default)',
            gw.get("command") in (None, ["--env", "prod"]), f"{gw.get('command')}")

    # Drain: docker stop must wait longer than the gateway's grace period.
    grace = int(gw_env.get("SHUTDOWN_GRACE_SECONDS", "15"))
    try:
        stop = duration_seconds(gw.get("stop_grace_period", "10s"))
        c.check("compose: stop_grace_period > SHUTDOWN_GRACE_SECONDS", stop > grace,
                f"{stop} s <= {grace} s")
    except ValueError as e:
        c.check("compose: stop_grace_period parses", False, str(e))

    # Volumes and the read-only root.
    mounts = {str(v).split(":")[1]: str(v).split(":")[0] for v in gw.get("volumes", [])
              if ":" in str(v)}
    c.check("compose: gatewayd has a read-only root filesystem", gw.get("read_only") is True)
    for folder in ("/app/logs", "/app/data"):
        c.check(f"compose: {folder} is a writable volume",
                folder in mounts and not any(str(v).endswith(f"{folder}:ro")
                                             for v in gw.get("volumes", [])))
    named = set((doc.get("volumes") or {}).keys())
    for svc_name, svc in services.items():
        for v in svc.get("volumes", []):
            src = str(v).split(":")[0]
            if src.startswith((".", "/")):
                c.check(f"compose: {svc_name} bind mount {src} exists",
                        os.path.exists(os.path.normpath(os.path.join(base, src))))
            else:
                c.check(f"compose: {svc_name} volume {src} is declared", src in named)
    cfg_src = mounts.get("/app/config")
    if c.check("compose: /app/config is mounted", cfg_src is not None):
        cfg_dir = os.path.normpath(os.path.join(base, cfg_src))
        for f in ("routes.yaml", "services.yaml"):
            c.check(f"compose: {cfg_src}/{f} exists", os.path.isfile(os.path.join(cfg_dir, f)))
    if config_info:
        for url in config_info["urls"]:
            host, port = url_host_port(url)
            c.check(f"compose: upstream {url} is a compose service on its port",
                    host in services and (host != "demo-upstream" or port == demo_port))
    ports = [str(p) for p in gw.get("ports", [])]
    admin = [p for p in ports if p.endswith(":9901")]
    c.check("compose: the admin port is published on the host's loopback only",
            all(p.startswith("127.0.0.1:") for p in admin), f"{admin}")
    return {"image": gw.get("image")}


# ------------------------------------------------------------------------------------------------
# Kubernetes


def load_manifests(c, k8s_dir):
    docs = []
    for fname in sorted(os.listdir(k8s_dir)):
        if not fname.endswith((".yaml", ".yml")) or fname.startswith("kustomization."):
            continue
        try:
            for d in yaml.safe_load_all(read(os.path.join(k8s_dir, fname))):
                if d is not None:
                    docs.append((fname, d))
        except yaml.YAMLError as e:
            c.check(f"k8s: {fname} parses", False, str(e))
    return docs


def container_env(container):
    return {e["name"]: e for e in container.get("env", []) if isinstance(e, dict) and "name" in e}


def env_value(env, name, default=None):
    e = env.get(name)
    return str(e["value"]) if e is not None and "value" in e else default


def resolve_port(container, port):
    if isinstance(port, int):
        return port
    for p in container.get("ports", []):
        if p.get("name") == port:
            return p.get("containerPort")
    return None


def labels_match(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def check_pod_security(c, name, spec, container, uid):
    pod = spec.get("securityContext") or {}
    sec = container.get("securityContext") or {}
    run_as = sec.get("runAsUser", pod.get("runAsUser"))
    c.check(f"k8s: {name} runAsNonRoot", sec.get("runAsNonRoot", pod.get("runAsNonRoot")) is True)
    c.check(f"k8s: {name} runAsUser {uid} (the image's USER)", run_as == uid, f"{run_as}")
    c.check(f"k8s: {name} readOnlyRootFilesystem", sec.get("readOnlyRootFilesystem") is True)
    c.check(f"k8s: {name} allowPrivilegeEscalation false",
            sec.get("allowPrivilegeEscalation") is False)
    c.check(f"k8s: {name} drops ALL capabilities",
            "ALL" in ((sec.get("capabilities") or {}).get("drop") or []))


def check_resources(c, name, container):
    res = container.get("resources") or {}
    req, lim = res.get("requests") or {}, res.get("limits") or {}
    for kind in ("cpu", "memory"):
        if not c.check(f"k8s: {name} has {kind} request and limit", kind in req and kind in lim):
            continue
        conv = cpu_cores if kind == "cpu" else memory_bytes
        c.check(f"k8s: {name} {kind} request <= limit", conv(req[kind]) <= conv(lim[kind]),
                f"{req[kind]} > {lim[kind]}")


def check_mounts(c, name, spec, container):
    volumes = {v.get("name"): v for v in spec.get("volumes", [])}
    for m in container.get("volumeMounts", []):
        c.check(f"k8s: {name} mount {m.get('mountPath')} uses a declared volume",
                m.get("name") in volumes, f"volume {m.get('name')!r}")
    return volumes


def check_kubernetes(c, root, dockerfile_info, config_info, compose_info, known_settings):
    k8s_dir = os.path.join(root, "docker", "k8s")
    if not c.check("docker/k8s exists", os.path.isdir(k8s_dir)):
        return
    docs = load_manifests(c, k8s_dir)
    objects = {}
    for fname, d in docs:
        kind, api = d.get("kind"), d.get("apiVersion")
        name = (d.get("metadata") or {}).get("name", "")
        c.check(f"k8s: {fname} {kind}/{name}: apiVersion {api} fits kind",
                (api, kind) in KNOWN_KINDS)
        c.check(f"k8s: {fname} {kind}: metadata.name {name!r} is a DNS-1123 name",
                bool(DNS1123.match(str(name))) and len(str(name)) <= 63)
        c.check(f"k8s: {kind}/{name} is defined once", (kind, name) not in objects)
        objects[(kind, name)] = d

    kust_path = os.path.join(k8s_dir, "kustomization.yaml")
    if os.path.isfile(kust_path):
        kust = yaml.safe_load(read(kust_path)) or {}
        listed = kust.get("resources") or []
        manifest_files = sorted({f for f, _ in docs})
        c.check("k8s: kustomization lists every manifest", sorted(listed) == manifest_files,
                f"{listed} vs {manifest_files}")
        c.check("k8s: the gateway ConfigMap is not generated (a generated name forces restarts "
                "instead of reloads)", not kust.get("configMapGenerator"))

    by_kind = lambda k: {n: d for (kk, n), d in objects.items() if kk == k}
    deployments, services = by_kind("Deployment"), by_kind("Service")
    configmaps, secrets = by_kind("ConfigMap"), by_kind("Secret")
    hpas, pdbs = by_kind("HorizontalPodAutoscaler"), by_kind("PodDisruptionBudget")
    uid = (dockerfile_info or {}).get("uid", GATEWAY_UID)

    for kind, want in (("Deployment", deployments), ("Service", services),
                       ("ConfigMap", configmaps), ("Secret", secrets),
                       ("HorizontalPodAutoscaler", hpas), ("PodDisruptionBudget", pdbs)):
        c.check(f"k8s: a {kind} is defined", len(want) > 0)

    # Rules every Deployment follows.
    for dname, dep in deployments.items():
        spec = dep.get("spec") or {}
        tmpl = spec.get("template") or {}
        labels = (tmpl.get("metadata") or {}).get("labels") or {}
        selector = (spec.get("selector") or {}).get("matchLabels") or {}
        c.check(f"k8s: Deployment {dname} selector matches its template labels",
                labels_match(selector, labels), f"{selector} vs {labels}")
        pod = tmpl.get("spec") or {}
        containers = pod.get("containers") or []
        c.check(f"k8s: Deployment {dname} has containers", len(containers) > 0)
        c.check(f"k8s: Deployment {dname} does not inject service-link variables",
                pod.get("enableServiceLinks") is False)
        for ct in containers:
            cname = f"{dname}/{ct.get('name')}"
            check_resources(c, cname, ct)
            check_pod_security(c, cname, pod, ct, uid)
            check_mounts(c, cname, pod, ct)
            for probe in ("livenessProbe", "readinessProbe"):
                p = (ct.get(probe) or {}).get("httpGet") or {}
                c.check(f"k8s: {cname} {probe} targets a container port",
                        resolve_port(ct, p.get("port")) is not None, f"{p}")
            for e in ct.get("env", []):
                ref = (e.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    sec = secrets.get(ref.get("name"))
                    keys = set(((sec or {}).get("stringData") or {}).keys()) | set(
                        ((sec or {}).get("data") or {}).keys())
                    c.check(f"k8s: {cname} env {e['name']} refers to an existing secret key",
                            ref.get("optional") is True or ref.get("key") in keys,
                            f"{ref}")
            if known_settings is not None and "gatewayd" in (ct.get("image") or ""):
                if ct.get("command"):
                    continue  # another program of the image (the demo upstream)
                unknown = sorted(n for n in container_env(ct) if n not in known_settings)
                c.check(f"k8s: {cname} env names are known settings", not unknown, f"{unknown}")

    gw = deployments.get("gatewayd")
    if not c.check("k8s: Deployment gatewayd exists", gw is not None):
        return
    spec = gw["spec"]
    pod = spec["template"].get("spec") or {}
    labels = spec["template"]["metadata"].get("labels") or {}
    ct = next((x for x in pod.get("containers", []) if x.get("name") == "gatewayd"), None)
    if not c.check("k8s: Deployment gatewayd has a container named gatewayd", ct is not None):
        return
    env = container_env(ct)
    replicas = spec.get("replicas", 1)
    c.check("k8s: gatewayd replicas >= 2", replicas >= 2, f"{replicas}")
    if compose_info:
        c.check("k8s: gatewayd uses the image compose builds",
                ct.get("image") == compose_info.get("image"),
                f"{ct.get('image')} vs {compose_info.get('image')}")
    version = re.search(r"project\(gatewayd VERSION ([\d.]+)", read(os.path.join(root,
                                                                              "CMakeLists.txt")))
    if version:
        c.check("k8s: gatewayd image tag is the project version",
                str(ct.get("image", "")).endswith(":" + version.group(1)), ct.get("image"))
    args = ct.get("args")
    c.check('k8s: gatewayd runs with ["--env", "prod"] (or the image default)',
            not ct.get("command") and args in (None, ["--env", "prod"]), f"{args}")
    strategy = spec.get("strategy") or {}
    c.check("k8s: rolling update keeps capacity (maxUnavailable 0)",
            strategy.get("type", "RollingUpdate") == "RollingUpdate"
            and (strategy.get("rollingUpdate") or {}).get("maxUnavailable") == 0)

    # Probes: /health for liveness and start-up, /ready for readiness, all on the listener port.
    port = int(env_value(env, "PORT", "8001"))
    for probe, path in (("startupProbe", "/health"), ("livenessProbe", "/health"),
                        ("readinessProbe", "/ready")):
        p = (ct.get(probe) or {}).get("httpGet") or {}
        c.check(f"k8s: gatewayd {probe} is GET {path} on port {port}",
                p.get("path") == path and resolve_port(ct, p.get("port")) == port, f"{p}")

    # Drain timing: kubelet waits preStop, then SIGTERM starts the drain of
    # SHUTDOWN_GRACE_SECONDS; SIGKILL comes terminationGracePeriodSeconds after the start.
    grace = int(env_value(env, "SHUTDOWN_GRACE_SECONDS", "15"))
    pre = ((ct.get("lifecycle") or {}).get("preStop")) or {}
    pre_sleep = None
    if "sleep" in pre:
        pre_sleep = int(pre["sleep"].get("seconds", 0))
    else:
        cmd = (pre.get("exec") or {}).get("command") or []
        if len(cmd) == 2 and cmd[0] in ("sleep", "/bin/sleep"):
            pre_sleep = float(cmd[1])
    c.check("k8s: gatewayd has a preStop sleep", pre_sleep is not None and pre_sleep > 0, f"{pre}")
    tgps = pod.get("terminationGracePeriodSeconds", 30)
    c.check("k8s: terminationGracePeriodSeconds > preStop + SHUTDOWN_GRACE_SECONDS",
            tgps > (pre_sleep or 0) + grace, f"{tgps} <= {pre_sleep} + {grace}")

    # The listener closes at SIGTERM, so /health stops answering while in-flight requests finish;
    # on kubelets that keep probing during termination, liveness must not give up before that.
    live = ct.get("livenessProbe") or {}
    patience = live.get("periodSeconds", 10) * live.get("failureThreshold", 3)
    c.check("k8s: liveness tolerates a drain (periodSeconds x failureThreshold > "
            "SHUTDOWN_GRACE_SECONDS)", patience > grace, f"{patience} <= {grace}")

    # Volumes: the writable folders of a read-only root, and the ConfigMap directory.
    volumes = {v.get("name"): v for v in pod.get("volumes", [])}
    mounts = {m.get("mountPath"): m for m in ct.get("volumeMounts", [])}
    workdir = (dockerfile_info or {}).get("image_workdir", "/app")

    def in_image(p):
        return os.path.normpath(p if p.startswith("/") else os.path.join(workdir, p))

    for setting, default in (("LOG_DIRECTORY", "./logs"), ("DATA_DIRECTORY", "./data")):
        folder = in_image(env_value(env, setting, default))
        m = mounts.get(folder)
        vol = volumes.get((m or {}).get("name"), {})
        c.check(f"k8s: {setting} ({folder}) is a writable volume",
                m is not None and not m.get("readOnly") and ("emptyDir" in vol or
                                                              "persistentVolumeClaim" in vol))
    spool = volumes.get((mounts.get(in_image(env_value(env, "DATA_DIRECTORY", "./data"))) or {})
                        .get("name"), {})
    limit = (spool.get("emptyDir") or {}).get("sizeLimit")
    spool_max = int(env_value(env, "SPOOL_MAX_BYTES", str(1 << 30)))
    c.check("k8s: the spool volume holds SPOOL_MAX_BYTES",
            limit is None or memory_bytes(limit) >= spool_max, f"{limit} < {spool_max}")
    cfg_dir = in_image(env_value(env, "CONFIG_DIR", "config"))
    cm_mount = mounts.get(cfg_dir)
    cm_vol = volumes.get((cm_mount or {}).get("name"), {})
    cm_name = (cm_vol.get("configMap") or {}).get("name")
    c.check(f"k8s: a ConfigMap is mounted at CONFIG_DIR ({cfg_dir})", cm_name is not None)
    c.check("k8s: the ConfigMap mount has no subPath (updates reach the watcher)",
            cm_mount is not None and "subPath" not in cm_mount and "subPathExpr" not in cm_mount)
    c.check("k8s: the file watcher is on (CONFIG_WATCH)",
            env_value(env, "CONFIG_WATCH", "true").lower() in ("true", "1", "yes", "on"))
    cm = configmaps.get(cm_name)
    if c.check(f"k8s: mounted ConfigMap {cm_name} is defined", cm is not None):
        data = cm.get("data") or {}
        if c.check("k8s: ConfigMap holds routes.yaml and services.yaml",
                   "routes.yaml" in data and "services.yaml" in data, f"{sorted(data)}"):
            info = check_gateway_config(c, "ConfigMap", data["routes.yaml"],
                                        data["services.yaml"])
            if info and config_info:
                c.check("k8s: ConfigMap routes/services equal docker/config/*.yaml",
                        info["routes"] == config_info["routes"]
                        and info["services"] == config_info["services"])
            if info:
                svc_ports = {n: [p.get("port") for p in (s.get("spec") or {}).get("ports", [])]
                             for n, s in services.items()}
                for url in info["urls"]:
                    host, uport = url_host_port(url)
                    c.check(f"k8s: upstream {url} is a Service of these manifests",
                            uport in svc_ports.get(host, []), f"services {svc_ports}")

    # Cluster settings: replicas share Redis and MySQL, each names itself.
    node = (env.get("CLUSTER_NODE_ID") or {}).get("valueFrom", {}).get("fieldRef", {})
    c.check("k8s: CLUSTER_NODE_ID is the pod name", node.get("fieldPath") == "metadata.name")
    c.check("k8s: several replicas share limits in Redis",
            env_value(env, "REDIS_ENABLED") == "true"
            and env_value(env, "RATE_LIMIT_BACKEND") == "redis")
    c.check("k8s: records go to MySQL", env_value(env, "MYSQL_ENABLED") == "true")
    for secret in ("JWT_SECRET_KEY", "ADMIN_TOKEN", "MYSQL_PASSWORD"):
        c.check(f"k8s: {secret} comes from a Secret",
                "secretKeyRef" in ((env.get(secret) or {}).get("valueFrom") or {})
                and "value" not in (env.get(secret) or {}))
    workers = int(env_value(env, "WORKERS", "0"))
    cpu_limit = cpu_cores(((ct.get("resources") or {}).get("limits") or {}).get("cpu", "0"))
    c.check("k8s: WORKERS is set and fits the CPU limit (0 would count the node's cores)",
            0 < workers <= max(1, math.ceil(cpu_limit)), f"WORKERS={workers}, cpu {cpu_limit}")

    # Secret placeholders.
    for sname, sec in secrets.items():
        c.check(f"k8s: Secret {sname} uses stringData", "stringData" in sec)
    gw_secret_names = {((e.get("valueFrom") or {}).get("secretKeyRef") or {}).get("name")
                       for e in env.values()} - {None}
    for sname in gw_secret_names:
        keys = set((secrets.get(sname) or {}).get("stringData") or {})
        c.check(f"k8s: Secret {sname} has JWT_SECRET_KEY, ADMIN_TOKEN and MYSQL_PASSWORD",
                {"JWT_SECRET_KEY", "ADMIN_TOKEN", "MYSQL_PASSWORD"} <= keys, f"{sorted(keys)}")

    # Service, HPA, PDB select or target the gateway.
    gw_services = [s for s in services.values()
                   if labels_match((s.get("spec") or {}).get("selector") or {}, labels)]
    if c.check("k8s: a Service selects the gateway pods", len(gw_services) > 0):
        for p in gw_services[0]["spec"].get("ports", []):
            c.check(f"k8s: Service port {p.get('port')} targets the listener",
                    resolve_port(ct, p.get("targetPort", p.get("port"))) == port, f"{p}")
    hpa = next(iter(hpas.values()), None)
    if hpa:
        target = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
        c.check("k8s: HPA targets Deployment gatewayd",
                target == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "gatewayd"},
                f"{target}")
        lo, hi = hpa["spec"].get("minReplicas", 1), hpa["spec"].get("maxReplicas", 0)
        c.check("k8s: HPA 2 <= minReplicas <= maxReplicas", 2 <= lo <= hi, f"{lo}..{hi}")
        c.check("k8s: Deployment replicas equal HPA minReplicas", replicas == lo,
                f"{replicas} vs {lo}")
        c.check("k8s: HPA metrics are set", len(hpa["spec"].get("metrics") or []) > 0)
        expected = int(env_value(env, "RATE_LIMIT_EXPECTED_REPLICAS", "1"))
        c.check("k8s: RATE_LIMIT_EXPECTED_REPLICAS equals minReplicas", expected == lo,
                f"{expected} vs {lo}")
    pdb = next(iter(pdbs.values()), None)
    if pdb:
        ps = pdb.get("spec") or {}
        c.check("k8s: PDB selector matches the gateway pods",
                labels_match((ps.get("selector") or {}).get("matchLabels") or {}, labels))
        floor = (hpa or {}).get("spec", {}).get("minReplicas", replicas)
        if "maxUnavailable" in ps:
            mu = ps["maxUnavailable"]
            c.check("k8s: PDB allows one disruption but not all",
                    isinstance(mu, int) and 1 <= mu < floor, f"maxUnavailable {mu}")
        else:
            ma = ps.get("minAvailable")
            c.check("k8s: PDB allows one disruption but not all",
                    isinstance(ma, int) and 1 <= ma < floor, f"minAvailable {ma}")


def known_setting_names(root):
    path = os.path.join(root, ".env.example")
    if not os.path.isfile(path):
        return None
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", read(path), re.M))


# ------------------------------------------------------------------------------------------------
# The binary (optional)


def check_binary_libraries(c, gatewayd, installed):
    if not (shutil.which("ldd") and shutil.which("dpkg")):
        print("skip shared-library check: ldd or dpkg missing")
        return
    out = subprocess.run(["ldd", gatewayd], capture_output=True, text=True).stdout
    for lib in re.findall(r"=>\s+(/\S+)", out):
        # dpkg records one spelling of a path; with merged /usr the loader may report the other.
        pkg = None
        for p in (lib, os.path.realpath(lib)):
            for cand in (p, p[4:] if p.startswith("/usr/") else "/usr" + p):
                owner = subprocess.run(["dpkg", "-S", cand], capture_output=True, text=True)
                if owner.returncode == 0 and pkg is None:
                    pkg = owner.stdout.split(":")[0].strip()
        c.check(f"binary: {os.path.basename(lib)} comes from a runtime-stage package",
                pkg in installed or pkg in SLIM_BASE_PACKAGES, f"package {pkg}")


def run(root, gatewayd=None):
    """Runs every rule on the tree at root; returns the Checks tally (lines go to stdout)."""
    root = os.path.abspath(root)
    c = Checks()
    known = known_setting_names(root)
    if known is None:
        print("skip setting-name checks: .env.example missing")

    dockerfile_info = check_dockerfile(c, root)
    cfg = os.path.join(root, "docker", "config")
    config_info = None
    if c.check("docker/config has routes.yaml and services.yaml",
               all(os.path.isfile(os.path.join(cfg, f)) for f in ("routes.yaml", "services.yaml"))):
        routes_text = read(os.path.join(cfg, "routes.yaml"))
        services_text = read(os.path.join(cfg, "services.yaml"))
        config_info = check_gateway_config(c, "docker/config", routes_text, services_text)
        if gatewayd:
            run_check_config(c, "docker/config", gatewayd, routes_text, services_text)
    compose_info = check_compose(c, root, config_info, known)
    check_kubernetes(c, root, dockerfile_info, config_info, compose_info, known)
    if gatewayd and dockerfile_info:
        check_binary_libraries(c, gatewayd, dockerfile_info["installed"])
    return c


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?",
                        default=os.path.normpath(os.path.join(os.path.dirname(__file__), "..",
                                                              "..")))
    parser.add_argument("--gatewayd", help="built gatewayd binary for --check-config and ldd")
    opts = parser.parse_args()
    if opts.gatewayd and not os.path.isfile(opts.gatewayd):
        print(f"FAIL --gatewayd {opts.gatewayd}: no such file")
        return 1
    c = run(opts.root, opts.gatewayd)
    print(f"deploy checks: {c.passed} passed, {c.failed} failed")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
