"""hunter-alembic's web app: the endpoints Rewind's gate and tests read, on Python's stdlib.

/healthz/live   the process answers
/healthz/ready  the database answers
/version        {"version": APP_VERSION}
/items          the rows of items (id, name, and slug once revision 0002 added it)

Listens on PORT (Rewind gives each replica its own) with DATABASE_URL from the environment.
"""
import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg2

VERSION = os.environ.get("APP_VERSION", "0.0.0")
DATABASE_URL = os.environ.get("DATABASE_URL", "")


def query(sql):
    with psycopg2.connect(DATABASE_URL, connect_timeout=3) as conn:
        with conn.cursor() as cur:
            cur.execute(sql)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row)) for row in cur.fetchall()]


class Handler(BaseHTTPRequestHandler):
    def send_json(self, status, body):
        text = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json; charset=utf-8")
        self.send_header("content-length", str(len(text)))
        self.send_header("cache-control", "no-store")
        self.end_headers()
        self.wfile.write(text)

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/healthz/live":
            self.send_json(200, {"status": "live"})
        elif path == "/version":
            self.send_json(200, {"version": VERSION})
        elif path in ("/healthz/ready", "/items"):
            try:
                rows = query("SELECT 1 AS ok" if path == "/healthz/ready" else "SELECT * FROM items ORDER BY id")
            except psycopg2.Error as error:
                self.send_json(503, {"error": str(error).strip()})
                return
            self.send_json(200, {"status": "ready"} if path == "/healthz/ready" else rows)
        else:
            self.send_json(404, {"error": "not found"})

    def log_message(self, format, *args):
        return


def main():
    server = ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "8000"))), Handler)
    # docker stop sends SIGTERM: finish the request in flight, then exit 0.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"hunter-alembic {VERSION} listening on {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
