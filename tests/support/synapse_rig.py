#!/usr/bin/env python3
"""A Matrix homeserver for the tests: Synapse (PyPI `matrix-synapse`, pinned in its own venv
by `scripts/rig install`) on 127.0.0.1 with SQLite, and what the tests do with it over the
client-server API (never Tidings' code).

  synapse_rig.py serve DIR PORT     config and keys in DIR, then Synapse on 127.0.0.1:PORT;
                                    exits (and deletes DIR) when its stdin closes
  synapse_rig.py setup BASE N       registers @tidingsN (the bot) and @readerN with the shared
                                    secret, the bot creates a room and the reader joins;
                                    prints {"bot_token", "reader_token", "room_id"}
  synapse_rig.py read BASE TOKEN ROOM
                                    prints the room's m.room.message events, oldest first
"""
import hashlib, hmac, json, os, shutil, subprocess, sys, threading, urllib.parse, urllib.request

SECRET = "tidings-test-registration-secret"
SERVER = "example.test"

CONFIG = """server_name: "{server}"
pid_file: "{dir}/homeserver.pid"
listeners:
  - port: {port}
    bind_addresses: ["127.0.0.1"]
    type: http
    tls: false
    x_forwarded: false
    resources:
      - names: [client]
        compress: false
database:
  name: sqlite3
  args:
    database: "{dir}/homeserver.db"
log_config: "{dir}/log.yaml"
media_store_path: "{dir}/media"
signing_key_path: "{dir}/signing.key"
registration_shared_secret: "{secret}"
macaroon_secret_key: "tidings-test-macaroon-secret"
form_secret: "tidings-test-form-secret"
report_stats: false
trusted_key_servers: []
suppress_key_server_warning: true
enable_metrics: false
url_preview_enabled: false
rc_message: {{per_second: 1000, burst_count: 1000}}
rc_registration: {{per_second: 1000, burst_count: 1000}}
rc_login:
  address: {{per_second: 1000, burst_count: 1000}}
  account: {{per_second: 1000, burst_count: 1000}}
  failed_attempts: {{per_second: 1000, burst_count: 1000}}
rc_joins:
  local: {{per_second: 1000, burst_count: 1000}}
  remote: {{per_second: 1000, burst_count: 1000}}
"""

LOG = """version: 1
formatters:
  plain: {{format: "%(asctime)s %(levelname)s %(name)s %(message)s"}}
handlers:
  file: {{class: logging.FileHandler, filename: "{dir}/synapse.log", formatter: plain}}
root: {{level: WARNING, handlers: [file]}}
disable_existing_loggers: false
"""


def serve(d, port):
    with open(f"{d}/homeserver.yaml", "w") as f:
        f.write(CONFIG.format(server=SERVER, dir=d, port=port, secret=SECRET))
    with open(f"{d}/log.yaml", "w") as f:
        f.write(LOG.format(dir=d))
    cfg = f"{d}/homeserver.yaml"
    subprocess.run([sys.executable, "-m", "synapse.app.homeserver", "-c", cfg, "--generate-keys"],
                   check=True, stdout=subprocess.DEVNULL)
    child = subprocess.Popen([sys.executable, "-m", "synapse.app.homeserver", "-c", cfg],
                             stdout=open(f"{d}/stdout.log", "w"), stderr=subprocess.STDOUT)

    def watch():
        try:
            while sys.stdin.buffer.read(4096):
                pass
        finally:
            child.kill()
            child.wait()
            shutil.rmtree(d, ignore_errors=True)
            os._exit(0)

    threading.Thread(target=watch, daemon=True).start()
    child.wait()
    sys.stderr.write(open(f"{d}/stdout.log").read()[-4000:])
    sys.stderr.write(open(f"{d}/synapse.log").read()[-4000:] if os.path.exists(f"{d}/synapse.log") else "")
    os._exit(1)


def call(base, method, path, body=None, token=None):
    req = urllib.request.Request(base + path, method=method,
                                 data=None if body is None else json.dumps(body).encode())
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)


def register(base, user):
    nonce = call(base, "GET", "/_synapse/admin/v1/register")["nonce"]
    password = f"{user}-password"
    mac = hmac.new(SECRET.encode(), digestmod=hashlib.sha1)
    mac.update(f"{nonce}\0{user}\0{password}\0notadmin".encode())
    r = call(base, "POST", "/_synapse/admin/v1/register",
             {"nonce": nonce, "username": user, "password": password, "admin": False,
              "mac": mac.hexdigest()})
    return r["access_token"]


def setup(base, n):
    bot = register(base, f"tidings{n}")
    reader = register(base, f"reader{n}")
    room = call(base, "POST", "/_matrix/client/v3/createRoom",
                {"preset": "private_chat", "name": "core stand-up", "invite": [f"@reader{n}:{SERVER}"]},
                bot)["room_id"]
    call(base, "POST", f"/_matrix/client/v3/join/{urllib.parse.quote(room)}", {}, reader)
    print(json.dumps({"bot_token": bot, "reader_token": reader, "room_id": room}))


def read(base, token, room):
    q = urllib.parse.urlencode({"dir": "f", "limit": "1000"})
    r = call(base, "GET", f"/_matrix/client/v3/rooms/{urllib.parse.quote(room)}/messages?{q}", None, token)
    print(json.dumps([e for e in r["chunk"] if e.get("type") == "m.room.message"]))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "serve":
        serve(sys.argv[2], int(sys.argv[3]))
    elif cmd == "setup":
        setup(sys.argv[2], sys.argv[3])
    elif cmd == "read":
        read(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(f"unknown command {cmd}")
