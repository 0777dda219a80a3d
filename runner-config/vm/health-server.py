#!/usr/bin/env python3
"""The endpoint the MIG health check probes (GET on port 8080).

404 when the runner service is not active, 500 when checking took too long, otherwise 200 with `active` once
a job has started (the runner wrote a Worker_ diagnostic log) or `idle` before that. An unhealthy VM is
recreated by the MIG, which is what removes VMs whose runner never came up.
"""

import glob
import http.server
import os
import subprocess

BIND = os.environ.get("HEALTH_BIND", "")
PORT = int(os.environ.get("HEALTH_PORT", "8080"))
CHECK_TIMEOUT_SECONDS = float(os.environ.get("HEALTH_CHECK_TIMEOUT_SECONDS", "10"))
RUNNER_ROOT = os.environ.get("RUNNER_ROOT", "/runner-root")
SERVICE = "gh-runner"


class HealthHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        try:
            check = subprocess.run(
                ["systemctl", "is-active", "--quiet", SERVICE],
                timeout=CHECK_TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired:
            self.reply(500, f"checking {SERVICE} timed out")
            return
        if check.returncode != 0:
            self.reply(404, f"{SERVICE} is not active")
            return
        started = glob.glob(os.path.join(RUNNER_ROOT, "actions-runner", "_diag", "Worker_*"))
        self.reply(200, "active" if started else "idle")

    def reply(self, status, body):
        payload = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def main():
    server = http.server.ThreadingHTTPServer((BIND, PORT), HealthHandler)
    print(f"listening on port {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
