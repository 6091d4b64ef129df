#!/usr/bin/env python3
"""A webhook receiver for the tests: listens on 127.0.0.1 (a free port, printed as
"listening PORT"), appends every POST or PUT it gets (webhooks, chat posts, a Matrix
homeserver's send endpoint) to --log as one JSON line (its method, path, headers,
lower-cased, and its body exactly as received, base64), and answers --status for the first
--fail-first requests, then 204. It does not verify anything itself: tests/support/
webhook_verify.py does, with the Standard Webhooks reference library. Exits when its stdin
closes (the test process died)."""
import argparse, base64, json, os, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ap = argparse.ArgumentParser()
ap.add_argument("--log", required=True)
ap.add_argument("--fail-first", type=int, default=0)
ap.add_argument("--status", type=int, default=500)
args = ap.parse_args()
lock = threading.Lock()
seen = [0]


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(n)
        with lock:
            seen[0] += 1
            status = args.status if seen[0] <= args.fail_first else 204
            rec = {
                "method": self.command,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": base64.b64encode(body).decode(),
                "status": status,
            }
            with open(args.log, "a") as f:
                f.write(json.dumps(rec) + "\n")
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()

    do_PUT = do_POST

    def log_message(self, *a):
        pass


srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"listening {srv.server_address[1]}", flush=True)


def watch_stdin():
    sys.stdin.read()
    os._exit(0)


threading.Thread(target=watch_stdin, daemon=True).start()
srv.serve_forever()
