#!/usr/bin/env python3
"""A stand-in for llama-server, for tokbench-backend's launch tests.

Understands --help, --version, --list-devices, and `-m M --host H --port P --parallel N`.
Behaviour is set through the environment:
  FAKE_MODE=ok|fail|never_ready|ignore_term
  FAKE_READY_AFTER=SECONDS   /health answers 503 until then
  FAKE_CHILD_PID_FILE=PATH   start a child that ignores SIGTERM, write its pid
"""
import http.server
import json
import os
import signal
import subprocess
import sys
import time

argv = sys.argv[1:]
if "--help" in argv:
    print("usage: fake-llama-server [options]")
    print("--metrics                 enable prometheus metrics")
    print("--webui, --no-webui       web UI")
    sys.exit(0)
if "--list-devices" in argv:
    print("Available devices:\n  (none)")
    sys.exit(0)
if "--version" in argv:
    sys.stderr.write("version: 42 (fakec0de)\nbuilt with fakecc 1.0 for test-linux\n")
    sys.exit(0)


def opt(name):
    return argv[argv.index(name) + 1]


mode = os.environ.get("FAKE_MODE", "ok")
print(f"fake server starting on port {opt('--port')}", flush=True)
if mode == "fail":
    print("llama_model_load: error loading model: fake corrupt file", file=sys.stderr, flush=True)
    sys.exit(3)

pid_file = os.environ.get("FAKE_CHILD_PID_FILE")
if pid_file:
    # The child writes its pid only once SIGTERM is ignored, so a test that
    # has read the pid knows that only SIGKILL can end it.
    code = (
        "import os, signal, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "path = sys.argv[1]\n"
        "with open(path + '.tmp', 'w') as f:\n"
        "    f.write(str(os.getpid()))\n"
        "os.rename(path + '.tmp', path)\n"
        "time.sleep(600)\n"
    )
    subprocess.Popen([sys.executable, "-c", code, pid_file])

if mode == "ignore_term":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)

ready_after = float(os.environ.get("FAKE_READY_AFTER", "0"))
start = time.monotonic()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        ready = mode != "never_ready" and time.monotonic() - start >= ready_after
        if self.path == "/health":
            code, body = (200, {"status": "ok"}) if ready else (503, {"error": "Loading model"})
        elif self.path == "/props":
            code, body = 200, {
                "build_info": "b42-fakec0de",
                "total_slots": int(opt("--parallel")),
                "default_generation_settings": {"n_ctx": 256},
                "model_path": opt("-m"),
            }
        else:
            code, body = 404, {"error": "not found"}
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        sys.stderr.write("request: " + (fmt % args) + "\n")
        sys.stderr.flush()


http.server.HTTPServer((opt("--host"), int(opt("--port"))), Handler).serve_forever()
