"""A web service in another language than cutover's own, for test/examples/newcomer.test.ts.

cutover starts it as `python3 server.py --port ${PORT}` with APP_VERSION in its environment; it answers
/health with 200 and every other path with {"version": ...} as JSON, on kept-alive HTTP/1.1 connections.
On SIGTERM (cutover stops a release after draining it) it stops accepting and exits.
"""

import argparse
import json
import os
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VERSION = os.environ.get("APP_VERSION", "dev")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if self.path == "/health":
            body = b"ok\n"
            kind = "text/plain"
        else:
            body = json.dumps({"version": VERSION, "language": "python"}).encode()
            kind = "application/json"
        self.send_response(200)
        self.send_header("content-type", kind)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    port = parser.parse_args().port
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"listening on 127.0.0.1:{port}, version {VERSION}", flush=True)
    server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()
