#!/usr/bin/python3
"""Shows that check_manifests.py catches broken deployment files.

Copies the files the checker reads into a temporary tree, confirms the untouched copy passes, then
breaks one rule at a time (restoring the file afterwards) and requires the checker to fail naming
that rule. A mutation whose
original text is no longer in the file fails too, so this list follows the files it guards.

Usage: test_check_manifests.py [REPO_ROOT]
"""

import contextlib
import importlib.util
import io
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKER = os.path.join(HERE, "check_manifests.py")

COPIED_FILES = ["README.md", "Dockerfile", ".dockerignore", "CMakeLists.txt", ".env.prod",
                ".env.example"]
COPIED_DIRS = ["docker", "scripts", "config", "cmake"]

# (file, original text, broken text, expected failing rule (a prefix of its line after "FAIL "))
MUTATIONS = [
    # Dockerfile against the quick start
    ("Dockerfile", "RUN bash scripts/build.sh release gatewayd gatewayd-demo-upstream",
     "RUN bash scripts/build.sh release gatewayd",
     "build stage RUNs exactly the quick start's setup and build commands"),
    ("Dockerfile", "RUN bash scripts/setup-deps.sh build", "RUN bash scripts/setup-deps.sh all",
     "build stage RUNs exactly the quick start's setup and build commands"),
    ("scripts/run-dev.sh", "bash scripts/build.sh release gatewayd gatewayd-demo-upstream",
     "bash scripts/build.sh release gatewayd gatewayd-demo-upstream gatewayd-tools",
     "build stage RUNs exactly the quick start's setup and build commands"),
    ("Dockerfile", "RUN bash scripts/setup-deps.sh build",
     "RUN bash scripts/setup-deps.sh build\nRUN apt-get install -y libgtest-dev",
     "extra build-stage RUN does not install or compile on its own"),
    ("README.md", "bash scripts/run-dev.sh", "bash scripts/start.sh",
     "README quick start runs `bash scripts/run-dev.sh`"),
    ("Dockerfile", "FROM debian:12-slim AS runtime", "FROM ubuntu:24.04 AS runtime",
     "runtime stage is FROM debian:12-slim"),
    # Dockerfile runtime stage
    ("Dockerfile", "USER 10001:10001", "USER root", "runtime USER is the numeric non-root uid"),
    ("Dockerfile", '/health" || exit 1', '/healthz" || exit 1', "HEALTHCHECK probes /health"),
    ("Dockerfile", 'CMD ["--env", "prod"]', 'CMD ["--env", "dev"]', 'CMD ["--env", "prod"]'),
    ("Dockerfile", 'ENTRYPOINT ["gatewayd"]', 'ENTRYPOINT ["/bin/sh", "-c", "gatewayd"]',
     'ENTRYPOINT ["gatewayd"]'),
    ("Dockerfile", "EXPOSE 8001 9901", "EXPOSE 8001", "EXPOSE 8001 and 9901"),
    ("Dockerfile", "libhiredis0.14 libmariadb3", "libhiredis0.14",
     "runtime stage installs libmariadb3"),
    ("Dockerfile", "ca-certificates curl", "ca-certificates curl libssl-dev",
     "runtime stage installs no -dev package"),
    ("Dockerfile", "COPY .env.prod /app/.env.prod", "",
     "runtime stage copies .env.prod into /app"),
    ("Dockerfile", "chown 10001:10001 /app/logs /app/data", "chown 10001:10001 /app/logs",
     "/app/data is created and owned by uid"),
    ("scripts/setup-deps.sh", "libspdlog-dev", "libspdlog-dev libcurl4-openssl-dev",
     "runtime package of libcurl4-openssl-dev is known"),
    (".dockerignore", "build-*\n", "", ".dockerignore excludes build-release"),
    (".dockerignore", ".git\n", "", ".dockerignore excludes .git"),
    (".dockerignore", "**/.env\n", "**/.env\n.env*\n", "COPY source .env.prod is not excluded"),
    # docker-compose.yml
    ("docker/docker-compose.yml", "stop_grace_period: 30s", "stop_grace_period: 10s",
     "compose: stop_grace_period > SHUTDOWN_GRACE_SECONDS"),
    ("docker/docker-compose.yml", "      mysql:\n        condition: service_healthy",
     "      mysql:\n        condition: service_started",
     "compose: gatewayd waits for mysql to be healthy"),
    ("docker/docker-compose.yml", "      MYSQL_DATABASE: gateway_db\n      MYSQL_USER",
     "      MYSQL_DATABASE: other_db\n      MYSQL_USER",
     "compose: MYSQL_DATABASE agrees between gatewayd, mysql and the schema file"),
    ("docker/docker-compose.yml", "JWT_SECRET_KEY: ${JWT_SECRET_KEY:?set JWT_SECRET_KEY}",
     "JWT_SECRET_KEY: not-so-secret",
     "compose: JWT_SECRET_KEY comes from the environment, not the file"),
    ("docker/docker-compose.yml", '"127.0.0.1:9901:9901"', '"9901:9901"',
     "compose: the admin port is published on the host's loopback only"),
    ("docker/docker-compose.yml", "REDIS_HOST: redis", "REDIS_HOST: localhost",
     "compose: REDIS_HOST names the redis service"),
    ("docker/docker-compose.yml", 'entrypoint: ["gatewayd-demo-upstream"]',
     'entrypoint: ["gatewayd"]', "compose: demo-upstream entrypoint"),
    ("docker/docker-compose.yml", "http://127.0.0.1:8002/health", "http://127.0.0.1:8001/health",
     "compose: demo-upstream's healthcheck probes its own port"),
    ("docker/docker-compose.yml", "image: mysql:8.0", "image: mysql:5.7",
     "compose: mysql is mysql:8.0"),
    # Deployment
    ("docker/k8s/deployment.yaml", "terminationGracePeriodSeconds: 40",
     "terminationGracePeriodSeconds: 20",
     "k8s: terminationGracePeriodSeconds > preStop + SHUTDOWN_GRACE_SECONDS"),
    ("docker/k8s/deployment.yaml", '- name: SHUTDOWN_GRACE_SECONDS\n              value: "20"',
     '- name: SHUTDOWN_GRACE_SECONDS\n              value: "60"',
     "k8s: terminationGracePeriodSeconds > preStop + SHUTDOWN_GRACE_SECONDS"),
    ("docker/k8s/deployment.yaml",
     "              port: http\n            periodSeconds: 10\n            timeoutSeconds: 2\n"
     "            failureThreshold: 3",
     "              port: http\n            periodSeconds: 5\n            timeoutSeconds: 2\n"
     "            failureThreshold: 3",
     "k8s: liveness tolerates a drain"),
    ("docker/k8s/deployment.yaml", 'command: ["sleep", "5"]', 'command: ["true"]',
     "k8s: gatewayd has a preStop sleep"),
    ("docker/k8s/deployment.yaml", "path: /ready", "path: /health",
     "k8s: gatewayd readinessProbe is GET /ready"),
    ("docker/k8s/deployment.yaml",
     "livenessProbe:\n            httpGet:\n              path: /health\n              port: http",
     "livenessProbe:\n            httpGet:\n              path: /health\n              port: 9901",
     "k8s: gatewayd livenessProbe is GET /health"),
    ("docker/k8s/deployment.yaml", "readOnlyRootFilesystem: true",
     "readOnlyRootFilesystem: false", "k8s: gatewayd/gatewayd readOnlyRootFilesystem"),
    ("docker/k8s/deployment.yaml", "allowPrivilegeEscalation: false",
     "allowPrivilegeEscalation: true", "k8s: gatewayd/gatewayd allowPrivilegeEscalation false"),
    ("docker/k8s/deployment.yaml", 'drop: ["ALL"]', 'drop: ["NET_RAW"]',
     "k8s: gatewayd/gatewayd drops ALL capabilities"),
    ("docker/k8s/deployment.yaml", "            runAsUser: 10001\n            runAsGroup",
     "            runAsUser: 0\n            runAsGroup",
     "k8s: gatewayd/gatewayd runAsUser 10001"),
    ("docker/k8s/deployment.yaml", "- name: spool\n              mountPath: /app/data",
     "- name: spool-data\n              mountPath: /app/data",
     "k8s: gatewayd/gatewayd mount /app/data uses a declared volume"),
    ("docker/k8s/deployment.yaml", "              mountPath: /app/logs\n",
     "              mountPath: /app/logs\n              readOnly: true\n",
     "k8s: LOG_DIRECTORY (/app/logs) is a writable volume"),
    ("docker/k8s/deployment.yaml", "              mountPath: /app/config\n",
     "              mountPath: /app/config/routes.yaml\n              subPath: routes.yaml\n",
     "k8s: a ConfigMap is mounted at CONFIG_DIR"),
    ("docker/k8s/deployment.yaml", "            sizeLimit: 1Gi", "            sizeLimit: 100Mi",
     "k8s: the spool volume holds SPOOL_MAX_BYTES"),
    ("docker/k8s/deployment.yaml", "  replicas: 3", "  replicas: 1", "k8s: gatewayd replicas >= 2"),
    ("docker/k8s/deployment.yaml", "      maxUnavailable: 0", "      maxUnavailable: 1",
     "k8s: rolling update keeps capacity"),
    ("docker/k8s/deployment.yaml", '- name: WORKERS\n              value: "2"',
     '- name: WORKERS\n              value: "0"', "k8s: WORKERS is set and fits the CPU limit"),
    ("docker/k8s/deployment.yaml", "      enableServiceLinks: false",
     "      enableServiceLinks: true",
     "k8s: Deployment gatewayd does not inject service-link variables"),
    ("docker/k8s/deployment.yaml", "fieldPath: metadata.name", "fieldPath: spec.nodeName",
     "k8s: CLUSTER_NODE_ID is the pod name"),
    ("docker/k8s/deployment.yaml", "              memory: 256Mi", "              memory: 1Gi",
     "k8s: gatewayd/gatewayd memory request <= limit"),
    ("docker/k8s/deployment.yaml",
     "    matchLabels:\n      app.kubernetes.io/name: gatewayd\n      app.kubernetes.io/component: gateway\n  strategy",
     "    matchLabels:\n      app.kubernetes.io/name: gatewayd\n      app.kubernetes.io/component: api\n  strategy",
     "k8s: Deployment gatewayd selector matches its template labels"),
    ("docker/k8s/deployment.yaml", "                  key: ADMIN_TOKEN",
     "                  key: ADMIN_TOKEN_V2",
     "k8s: gatewayd/gatewayd env ADMIN_TOKEN refers to an existing secret key"),
    ("docker/k8s/deployment.yaml", "            - name: JWT_SECRET_KEY\n              valueFrom:\n"
     "                secretKeyRef:\n                  name: gatewayd-secrets\n"
     "                  key: JWT_SECRET_KEY\n",
     '            - name: JWT_SECRET_KEY\n              value: "inline"\n',
     "k8s: JWT_SECRET_KEY comes from a Secret"),
    ("docker/k8s/deployment.yaml", "image: gatewayd:0.1.0", "image: gatewayd:latest",
     "k8s: gatewayd uses the image compose builds"),
    # Other objects
    ("docker/k8s/configmap.yaml", "  routes.yaml: |", "  routes.yml: |",
     "k8s: ConfigMap holds routes.yaml and services.yaml"),
    ("docker/k8s/configmap.yaml", "    routes:\n", "    route:\n",
     "ConfigMap: routes.yaml has a `routes` list"),
    ("docker/k8s/configmap.yaml", "url: http://demo-upstream:8002",
     "url: http://demo-upstream:8003",
     "k8s: ConfigMap routes/services equal docker/config/*.yaml"),
    ("docker/k8s/configmap.yaml", "        service: demo\n", "        service: dmeo\n",
     "ConfigMap: routes[0] names a declared service"),
    ("docker/k8s/secret.yaml", '  ADMIN_TOKEN: "REPLACE-ME-admin-bearer-token"\n', "",
     "k8s: Secret gatewayd-secrets has JWT_SECRET_KEY, ADMIN_TOKEN and MYSQL_PASSWORD"),
    ("docker/k8s/service.yaml", "targetPort: http", "targetPort: 8080",
     "k8s: Service port 80 targets the listener"),
    ("docker/k8s/hpa.yaml", "    name: gatewayd", "    name: gateway",
     "k8s: HPA targets Deployment gatewayd"),
    ("docker/k8s/hpa.yaml", "minReplicas: 3", "minReplicas: 2",
     "k8s: Deployment replicas equal HPA minReplicas"),
    ("docker/k8s/pdb.yaml", "app.kubernetes.io/component: gateway",
     "app.kubernetes.io/component: gw", "k8s: PDB selector matches the gateway pods"),
    ("docker/k8s/pdb.yaml", "maxUnavailable: 1", "maxUnavailable: 3",
     "k8s: PDB allows one disruption but not all"),
    ("docker/k8s/pdb.yaml", "apiVersion: policy/v1", "apiVersion: policy/v1beta1",
     "k8s: pdb.yaml PodDisruptionBudget/gatewayd: apiVersion policy/v1beta1 fits kind"),
    ("docker/k8s/kustomization.yaml", "  - pdb.yaml\n", "",
     "k8s: kustomization lists every manifest"),
    ("docker/k8s/demo-upstream.yaml", "  name: demo-upstream\n  labels:\n    app.kubernetes.io/name: gatewayd-demo-upstream\n    app.kubernetes.io/part-of: gatewayd\nspec:\n  type",
     "  name: demo\n  labels:\n    app.kubernetes.io/name: gatewayd-demo-upstream\n    app.kubernetes.io/part-of: gatewayd\nspec:\n  type",
     "k8s: upstream http://demo-upstream:8002 is a Service of these manifests"),
]

# Needs .env.example (the generated list of settings) in the tree.
SETTINGS_MUTATIONS = [
    ("docker/k8s/deployment.yaml", "- name: REDIS_HOST\n", "- name: REDIS_HOSTNAME\n",
     "k8s: gatewayd/gatewayd env names are known settings"),
    ("docker/docker-compose.yml", "      LOG_TO_STDOUT:", "      LOG_STDOUT:",
     "compose: every gatewayd variable is a known setting"),
]


def copy_tree(root, dest):
    for f in COPIED_FILES:
        if os.path.exists(os.path.join(root, f)):
            shutil.copy2(os.path.join(root, f), os.path.join(dest, f))
    for d in COPIED_DIRS:
        if os.path.isdir(os.path.join(root, d)):
            shutil.copytree(os.path.join(root, d), os.path.join(dest, d))
        else:
            os.makedirs(os.path.join(dest, d))


def load_checker():
    spec = importlib.util.spec_from_file_location("check_manifests", CHECKER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CHECK_MANIFESTS = load_checker()


def run_checker(tree):
    """Runs the checker in this process (the rules, not a new interpreter, per mutation); returns
    (exit code the command line would give, printed lines)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        tally = CHECK_MANIFESTS.run(tree)
    return (1 if tally.failed else 0), out.getvalue()


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", ".."))
    failures = []
    mutations = list(MUTATIONS)
    if os.path.isfile(os.path.join(root, ".env.example")):
        mutations += SETTINGS_MUTATIONS
    else:
        print("skip setting-name mutations: .env.example missing")
    with tempfile.TemporaryDirectory() as base:
        clean = os.path.join(base, "clean")
        os.mkdir(clean)
        copy_tree(root, clean)
        code, out = run_checker(clean)
        if code != 0:
            print(out)
            print("FAIL the unmodified copy must pass")
            return 1
        print("ok   the unmodified copy passes")
        for rel, old, new, rule in mutations:
            path = os.path.join(clean, rel)
            with open(path, encoding="utf-8") as f:
                text = f.read()
            label = f"{rel}: {old.splitlines()[0].strip()[:50]!r} -> {rule}"
            if text.count(old) != 1:
                failures.append(label)
                print(f"FAIL {label}: original text found {text.count(old)} times")
                continue
            with open(path, "w", encoding="utf-8") as f:
                f.write(text.replace(old, new))
            try:
                code, out = run_checker(clean)
            finally:
                with open(path, "w", encoding="utf-8") as f:
                    f.write(text)
            caught = code == 1 and any(line.startswith("FAIL " + rule) for line in
                                       out.splitlines())
            if caught:
                print(f"ok   {label}")
            else:
                failures.append(label)
                print(f"FAIL {label}: exit {code}, rule not reported\n{out}")
    print(f"mutations: {len(mutations) - len(failures)} caught, {len(failures)} missed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
