"""Helpers for integration tests: start real `kavach` processes on loopback and talk to them.

Every test gets its own temporary node (key file, data directory, a client with broad scopes).
The binary comes from KAVACH_BINARY (set by CTest); PostgreSQL, when a test needs it, from the
KAVACH_TEST_POSTGRES_* variables that scripts/with-postgres.sh exports.
"""
import base64
import http.client
import http.server
import json
import os
import random
import shutil
import signal
import ssl
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse

BINARY = os.environ.get("KAVACH_BINARY", "build/debug/kavach")
START_TIMEOUT_S = 60


def run_cli(*args, check=True, input=None):
    """Runs a kavach subcommand; returns the CompletedProcess."""
    result = subprocess.run([BINARY, *args], capture_output=True, text=True, input=input, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"kavach {' '.join(args)} failed ({result.returncode}): {result.stderr}")
    return result


def postgres_configured():
    return all(os.environ.get(name) for name in
               ("KAVACH_TEST_POSTGRES_HOST", "KAVACH_TEST_POSTGRES_PORT", "KAVACH_TEST_POSTGRES_USER"))


def require_postgres(test):
    if postgres_configured():
        return
    if os.environ.get("KAVACH_REQUIRE_POSTGRES") == "1":
        test.fail("KAVACH_REQUIRE_POSTGRES=1 but no test PostgreSQL server is configured")
    test.skipTest("no test PostgreSQL server configured")


def create_postgres_database():
    """Creates a fresh database and returns (store URL, drop function)."""
    host = os.environ["KAVACH_TEST_POSTGRES_HOST"]
    port = os.environ["KAVACH_TEST_POSTGRES_PORT"]
    user = os.environ["KAVACH_TEST_POSTGRES_USER"]
    name = f"kavach_it_{os.getpid()}_{random.randrange(10**9)}"
    psql = ["psql", "-h", host, "-p", port, "-U", user, "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-q"]
    subprocess.run(psql + ["-c", f"CREATE DATABASE {name}"], check=True, capture_output=True)

    def drop():
        subprocess.run(psql + ["-c", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], capture_output=True)

    return f"postgresql://{user}@/{name}?host={host}&port={port}", drop


class Response:
    def __init__(self, status, headers, raw):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers}
        self.raw = raw  # the body's bytes
        self.body = raw.decode(errors="replace")

    def json(self):
        return json.loads(self.body)


class Node:
    """One kavach node: its files, its server process and a client to call it."""

    def __init__(self, store_url=None, config_text=None, extra_args=(), key_file=None):
        """A new node with a fresh key and a broad client; or, given `key_file`, a node over an
        existing store and key (with no client added)."""
        self._dir = tempfile.TemporaryDirectory(prefix="kavach-it-")
        self.root = self._dir.name
        self.key_file = os.path.join(self.root, "node.key")
        self.data_dir = os.path.join(self.root, "data")
        self.store_url = store_url
        self.config_text = config_text
        self.extra_args = list(extra_args)
        self.process = None
        self.port = None
        self.scheme = "http"
        self.tls_context = None
        self._token = None
        self._token_at = 0.0
        if key_file:
            shutil.copy(key_file, self.key_file)
            self.client_id = self.client_secret = None
            return
        run_cli("keys", "init", "--key-file", self.key_file)
        self.client_id, self.client_secret = self.add_client("test suite", "system/*.cruds kavach/metrics")

    def node_args(self):
        args = ["--data", self.data_dir, "--key-file", self.key_file]
        if self.store_url:
            args += ["--store", self.store_url]
        return args

    def add_client(self, name, scopes):
        out = run_cli("client", "add", *self.node_args(), "--name", name, "--scopes", scopes, "--json")
        created = json.loads(out.stdout)
        return created["client_id"], created["client_secret"]

    def start(self, listen="127.0.0.1:0", expect_failure=False):
        args = [BINARY, "serve", *self.node_args(), "--listen", listen, *self.extra_args]
        if self.config_text is not None:
            config_path = os.path.join(self.root, "kavach.toml")
            with open(config_path, "w") as f:
                f.write(self.config_text)
            args += ["--config", config_path]
        self.stderr_path = os.path.join(self.root, "server.log")
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=open(self.stderr_path, "a"),
                                        text=True)
        line = self.process.stdout.readline()
        if expect_failure:
            return self.process.wait(timeout=START_TIMEOUT_S)
        if not line.startswith("listening on "):
            self.process.wait(timeout=10)
            raise AssertionError(f"server did not start: {line!r} {self.server_log()}")
        url = urllib.parse.urlparse(line.split()[-1])
        self.scheme, self.port = url.scheme, url.port
        return None

    def server_log(self):
        with open(self.stderr_path) as f:
            return f.read()

    def kill(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self, timeout=30):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            return self.process.wait(timeout=timeout)
        return self.process.returncode if self.process else None

    def close(self):
        self.kill()
        self._dir.cleanup()

    def connection(self, timeout=30):
        if self.scheme == "https":
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                               context=self.tls_context)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, token=True, connection=None):
        headers = dict(headers or {})
        if token is True:
            headers["Authorization"] = f"Bearer {self.token()}"
        elif token:
            headers["Authorization"] = f"Bearer {token}"
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            headers.setdefault("Content-Type", "application/fhir+json")
        own = connection is None
        conn = connection or self.connection()
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return Response(response.status, response.getheaders(), response.read())
        finally:
            if own:
                conn.close()

    def fetch_token(self, client_id=None, client_secret=None, scope=None):
        basic = base64.b64encode(f"{client_id or self.client_id}:{client_secret or self.client_secret}"
                                 .encode()).decode()
        form = {"grant_type": "client_credentials"}
        if scope:
            form["scope"] = scope
        return self.request("POST", "/oauth2/token", body=urllib.parse.urlencode(form), token=False,
                            headers={"Authorization": f"Basic {basic}",
                                     "Content-Type": "application/x-www-form-urlencoded"})

    def token(self):
        # Access tokens expire (the node's default lifetime is minutes); a long test, or one on a
        # loaded machine, asks for a fresh one well before that.
        if self._token is None or time.monotonic() - self._token_at > 60:
            response = self.fetch_token()
            assert response.status == 200, response.body
            self._token = response.json()["access_token"]
            self._token_at = time.monotonic()
        return self._token


class QuietHandler(http.server.BaseHTTPRequestHandler):
    """A request handler that keeps the test output free of access logs."""

    def log_message(self, *args):
        pass


class LoopbackServer(http.server.ThreadingHTTPServer):
    """A test's own HTTP endpoint: a free loopback port, served on a background thread."""

    def __init__(self, handler):
        super().__init__(("127.0.0.1", 0), handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"


class NodeTestCase(unittest.TestCase):
    """A test case that closes every node it made."""

    def make_node(self, **kwargs):
        node = Node(**kwargs)
        self.addCleanup(node.close)
        return node

    def assertOperationOutcome(self, response, status):
        self.assertEqual(response.status, status, response.body)
        self.assertTrue(response.headers.get("content-type", "").startswith("application/fhir+json"))
        outcome = response.json()
        self.assertEqual(outcome["resourceType"], "OperationOutcome")
        self.assertTrue(outcome["issue"][0]["diagnostics"])
        return outcome
