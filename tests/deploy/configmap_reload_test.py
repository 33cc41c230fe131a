#!/usr/bin/python3
"""A Kubernetes ConfigMap update reaches a running gatewayd through its file watcher.

The kubelet never rewrites a mounted ConfigMap file in place. The volume holds a timestamped folder
with the real files, a `..data` symlink to that folder, and one symlink per key through `..data`
(`routes.yaml -> ..data/routes.yaml`). An update writes a new timestamped folder, points a
temporary symlink at it, renames that symlink over `..data` (the atomic step) and removes the old
folder; the per-key symlinks never change. This test lays out a config directory the same way,
starts the real gatewayd and demo upstream on free loopback ports, performs such swaps and
observes the routing table through real requests:

1. a swap that replaces route /one/** with /two/** is picked up without a restart;
2. a swap to an invalid routes.yaml is rejected (the failure counter rises) and /two/** keeps
   serving;
3. a later valid swap is picked up again.

Usage: configmap_reload_test.py --gatewayd PATH --demo-upstream PATH
"""

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

DEADLINE_SECONDS = 30


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, path):
    """Returns (status, body); status 0 when the connection fails."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return 0, ""


def wait_for(what, predicate, deadline=DEADLINE_SECONDS):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class AtomicConfigMapVolume:
    """Writes a directory the way the kubelet's atomic writer does."""

    def __init__(self, directory):
        self.directory = directory
        self.generation = 0
        os.makedirs(directory)

    def publish(self, files):
        self.generation += 1
        stamp = f"..2024_01_01_00_00_{self.generation:02d}.{os.getpid()}"
        folder = os.path.join(self.directory, stamp)
        os.mkdir(folder)
        for name, text in files.items():
            with open(os.path.join(folder, name), "w", encoding="utf-8") as f:
                f.write(text)
        data = os.path.join(self.directory, "..data")
        old = os.readlink(data) if os.path.islink(data) else None
        tmp = os.path.join(self.directory, "..data_tmp")
        os.symlink(stamp, tmp)
        os.rename(tmp, data)  # the atomic swap
        for name in files:
            link = os.path.join(self.directory, name)
            if not os.path.islink(link):
                os.symlink(os.path.join("..data", name), link)
        if old:
            shutil.rmtree(os.path.join(self.directory, old))


def routes(prefix):
    return ("routes:\n"
            f"  - path: /{prefix}/**\n"
            "    service: demo\n"
            "    methods: [GET]\n"
            "    auth_required: false\n")


def services(port):
    return ("services:\n"
            "  demo:\n"
            "    instances:\n"
            f"      - url: http://127.0.0.1:{port}\n")


def reload_failures(port):
    status, body = http_get(port, "/metrics")
    if status != 200:
        return None
    m = re.search(r'^gatewayd_config_reloads_total\{result="failure"\}\s+(\d+(?:\.\d+)?)', body,
                  re.M)
    return float(m.group(1)) if m else 0.0


def start_demo(binary, tmp):
    port = free_port()
    log = open(os.path.join(tmp, "demo.log"), "w")
    proc = subprocess.Popen([binary, "--host", "127.0.0.1", "--port", str(port), "--name", "demo"],
                            stdout=log, stderr=subprocess.STDOUT)
    wait_for("the demo upstream", lambda: http_get(port, "/health")[0] == 200)
    return proc, port


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=DEADLINE_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--gatewayd", required=True)
    parser.add_argument("--demo-upstream", required=True)
    opts = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="gatewayd-configmap-")
    demo = gateway = None
    ok = False
    try:
        demo, demo_port = start_demo(opts.demo_upstream, tmp)
        volume = AtomicConfigMapVolume(os.path.join(tmp, "config"))
        volume.publish({"routes.yaml": routes("one"), "services.yaml": services(demo_port)})

        port, admin_port = free_port(), free_port()
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": tmp,
               "PORT": str(port), "HOST": "127.0.0.1", "ADMIN_PORT": str(admin_port),
               "WORKERS": "1", "CONFIG_DIR": os.path.join(tmp, "config"), "CONFIG_WATCH": "true",
               "LOG_DIRECTORY": os.path.join(tmp, "logs"),
               "DATA_DIRECTORY": os.path.join(tmp, "data"), "MYSQL_ENABLED": "false",
               "REDIS_ENABLED": "false", "SHUTDOWN_GRACE_SECONDS": "5",
               # The polling below sends more requests than the default per-client limit allows.
               "RATE_LIMIT_ENABLED": "false"}
        out = open(os.path.join(tmp, "gatewayd.out"), "w")
        gateway = subprocess.Popen([opts.gatewayd], cwd=tmp, env=env, stdout=out,
                                   stderr=subprocess.STDOUT)
        wait_for("gatewayd /ready", lambda: gateway.poll() is None
                 and http_get(port, "/ready")[0] == 200)
        assert gateway.poll() is None, "gatewayd exited"
        assert http_get(port, "/one/x")[0] == 200, "initial route /one/** not served"
        assert http_get(port, "/two/x")[0] == 404, "/two/** served before the update"
        print("ok   initial ConfigMap generation serves /one/**")

        volume.publish({"routes.yaml": routes("two"), "services.yaml": services(demo_port)})
        wait_for("/two/** after the ..data swap", lambda: http_get(port, "/two/x")[0] == 200)
        assert http_get(port, "/one/x")[0] == 404, "/one/** still served after the update"
        print("ok   a ..data swap replacing the routes is picked up without a restart")

        before = reload_failures(port)
        volume.publish({"routes.yaml": "routes:\n  - path: /three/**\n    service: nowhere\n",
                        "services.yaml": services(demo_port)})
        wait_for("the rejected reload to be counted",
                 lambda: (reload_failures(port) or 0) > (before or 0))
        assert http_get(port, "/two/x")[0] == 200, "/two/** lost after a rejected update"
        assert http_get(port, "/three/x")[0] == 404, "an invalid update was applied"
        print("ok   an invalid ConfigMap generation is rejected and the previous routes keep serving")

        volume.publish({"routes.yaml": routes("four"), "services.yaml": services(demo_port)})
        wait_for("/four/** after a later swap", lambda: http_get(port, "/four/x")[0] == 200)
        print("ok   a later valid generation is picked up again")

        code = stop(gateway)
        assert code == 0, f"gatewayd exited with {code} after SIGTERM"
        print("ok   gatewayd drains and exits 0")
        ok = True
    except AssertionError as e:
        print(f"FAIL {e}")
    finally:
        for proc in (gateway, demo):
            if proc is not None:
                stop(proc)
        if not ok:
            for name in ("gatewayd.out", "demo.log"):
                path = os.path.join(tmp, name)
                if os.path.exists(path):
                    print(f"--- {name}\n{open(path, encoding='utf-8', errors='replace').read()}")
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"configmap reload: {'passed' if ok else 'failed'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
