"""An actor host in plain Python 3, with nothing but the standard library.

It serves the Counter actor of the SDK examples to its sidecar, speaking Dapr's app
callback contract over HTTP, and keeps the actor's state through the sidecar's HTTP API:

    APP_PORT=8080 DAPR_HTTP_PORT=3500 IDLE_TIMEOUT=10s python3 host.py
"""

import json
import os
import re
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ACTOR_TYPE = "Counter"
APP_PORT = int(os.environ.get("APP_PORT", "8080"))
SIDECAR = "http://127.0.0.1:%s/v1.0" % os.environ.get("DAPR_HTTP_PORT", "3500")
IDLE_TIMEOUT = os.environ.get("IDLE_TIMEOUT", "1h")

METHOD = re.compile(r"^/actors/([^/]+)/([^/]+)/method/(?:(timer|remind)/)?([^/]+)$")
ACTOR = re.compile(r"^/actors/([^/]+)/([^/]+)$")

# The methods callers may invoke; each takes the elements of the JSON array it is sent.
METHODS = {"greet", "increment", "startTicking", "stopTicking", "fired"}

# turns counts each active actor's increments. The sidecar runs one call per actor at a
# time, but calls to different actors arrive on different threads.
turns = {}
turns_lock = threading.Lock()


def sidecar(method, path, body=None):
    """Calls the sidecar's actor API and returns the decoded answer, or None if empty."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(SIDECAR + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        raw = resp.read()
    return json.loads(raw) if raw else None


class Counter:
    """One call to the Counter actor with the given id."""

    def __init__(self, actor_id):
        self.id = actor_id
        self.path = "/actors/%s/%s" % (ACTOR_TYPE, actor_id)

    def greet(self, name):
        return "hello %s, from %s/%s" % (name, ACTOR_TYPE, self.id)

    def increment(self):
        value = self.read("count") + 1
        self.write("count", value)
        with turns_lock:
            turns[self.id] = turns.get(self.id, 0) + 1
            return {"value": value, "activation": turns[self.id]}

    def startTicking(self, due_seconds, period_seconds):
        schedule = {"dueTime": "%ds" % due_seconds, "period": "%ds" % period_seconds}
        sidecar("POST", self.path + "/timers/tick",
                dict(schedule, callback="tick", data="timer"))
        sidecar("POST", self.path + "/reminders/remind", dict(schedule, data="reminder"))
        return {"dueSeconds": due_seconds, "periodSeconds": period_seconds}

    def stopTicking(self):
        sidecar("DELETE", self.path + "/timers/tick")
        sidecar("DELETE", self.path + "/reminders/remind")
        return self.fired()

    def fired(self):
        return {"timer": self.read("timer-fired"), "reminder": self.read("reminder-fired")}

    def timer(self, callback, data):
        """A timer fired: the sidecar names the callback it was registered with."""
        if callback == "tick":
            print("%s/%s: timer fired with %s" % (ACTOR_TYPE, self.id, data), flush=True)
            self.write("timer-fired", self.read("timer-fired") + 1)

    def remind(self, data):
        print("%s/%s: reminder fired with %s" % (ACTOR_TYPE, self.id, data), flush=True)
        self.write("reminder-fired", self.read("reminder-fired") + 1)

    def read(self, key):
        return sidecar("GET", "%s/state/%s" % (self.path, key)) or 0

    def write(self, key, value):
        op = {"operation": "upsert", "request": {"key": key, "value": value}}
        sidecar("POST", self.path + "/state", [op])


class Handler(BaseHTTPRequestHandler):
    """The app callback contract: what the sidecar calls."""

    def do_GET(self):
        if self.path == "/dapr/config":
            self.reply(200, {"entities": [ACTOR_TYPE], "actorIdleTimeout": IDLE_TIMEOUT})
        elif self.path == "/healthz":
            self.reply(200, "ok")
        else:
            self.reply(404, {"error": "no route " + self.path})

    def do_PUT(self):
        match = METHOD.match(self.path)
        if not match or match.group(1) != ACTOR_TYPE:
            self.reply(404, {"error": "no actor route " + self.path})
            return
        _, actor_id, kind, name = match.groups()
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"null")
        counter = Counter(actor_id)

        try:
            if kind == "timer":
                self.reply(200, counter.timer(body["callback"], body.get("data")))
            elif kind == "remind":
                self.reply(200, counter.remind(body.get("data")))
            elif name not in METHODS:
                self.reply(404, {"error": "no method " + name})
            else:
                self.reply(200, getattr(counter, name)(*(body or [])))
        except (urllib.error.URLError, TypeError, KeyError) as err:
            self.reply(500, {"error": str(err)})

    def do_DELETE(self):
        match = ACTOR.match(self.path)
        if match:
            with turns_lock:
                turns.pop(match.group(2), None)
        self.reply(200, None)

    def reply(self, status, value):
        data = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass  # one line per call is too many


if __name__ == "__main__":
    print("serving actor type %s on port %d" % (ACTOR_TYPE, APP_PORT), flush=True)
    ThreadingHTTPServer(("127.0.0.1", APP_PORT), Handler).serve_forever()
