"""Backups against a real `kavach backup-server`: a node's own credentials (all that ransomware on
the node would hold) cannot delete, overwrite, truncate or prune anything, nor shorten retention;
continuous backup keeps the recovery point within seconds; a restored node serves the same records
with a verified audit log."""
import hashlib
import http.client
import json
import os
import queue
import secrets
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse

from kavach_harness import BINARY, NodeTestCase, run_cli


class BackupServer:
    """A backup server over its own repository directory, with a client token and an admin key."""

    def __init__(self):
        self._dir = tempfile.TemporaryDirectory(prefix="kavach-backup-")
        self.root = self._dir.name
        self.repo = os.path.join(self.root, "repo")
        self.token_file = os.path.join(self.root, "client.token")
        self.token = secrets.token_hex(32)
        with open(os.open(self.token_file, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(self.token + "\n")
        self.admin_key = os.path.join(self.root, "admin.key")
        self.admin_verifier = run_cli("backup", "admin-key", "--out", self.admin_key).stdout.strip()
        self.backup_key = os.path.join(self.root, "backup.key")
        run_cli("backup", "key", "--out", self.backup_key)
        self.process = subprocess.Popen(
            [BINARY, "backup-server", "--repo", self.repo, "--listen", "127.0.0.1:0",
             "--token-file", self.token_file, "--admin-verifier-key", self.admin_verifier],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.process.stdout.readline()
        assert "listening on " in line, line
        self.url = line.split()[-1]
        self.port = urllib.parse.urlparse(self.url).port

    def repo_flags(self):
        return ["--repo", self.url, "--token-file", self.token_file, "--backup-key", self.backup_key]

    def request(self, method, path, body=None, token=True):
        headers = {"Authorization": f"Bearer {self.token}"} if token else {}
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def snapshots(self):
        status, body = self.request("GET", "/v1/snapshots")
        assert status == 200, body
        return json.loads(body)["snapshots"]

    def fingerprint(self):
        """A hash of every file in the repository, to show an attack changed nothing."""
        digest = hashlib.sha256()
        for directory, _, files in sorted(os.walk(self.repo)):
            for name in sorted(files):
                path = os.path.join(directory, name)
                digest.update(path.encode())
                with open(path, "rb") as f:
                    digest.update(f.read())
        return digest.hexdigest()

    def close(self):
        self.process.terminate()
        self.process.wait(timeout=30)
        self._dir.cleanup()


class BackupTest(NodeTestCase):
    def make_backup_server(self):
        server = BackupServer()
        self.addCleanup(server.close)
        return server

    def seeded_node(self, patients=5):
        node = self.make_node()
        run_cli("seed", *node.node_args(), "--patients", str(patients))
        return node

    def test_the_nodes_credentials_cannot_destroy_or_shorten_the_backups(self):
        node = self.seeded_node()
        server = self.make_backup_server()
        out = run_cli("backup", *node.node_args(), *server.repo_flags()).stdout
        self.assertIn("(full)", out)
        [snapshot] = server.snapshots()
        object_id = snapshot["objects"][0]
        status, original = server.request("GET", f"/v1/objects/{object_id}")
        self.assertEqual(status, 200)
        before = server.fingerprint()

        attacks = {
            "delete an object": ("DELETE", f"/v1/objects/{object_id}", None),
            "overwrite an object (PUT)": ("PUT", f"/v1/objects/{object_id}", b"encrypted by ransomware"),
            "overwrite an object": ("POST", f"/v1/objects/{object_id}", b"encrypted by ransomware"),
            "truncate an object": ("POST", f"/v1/objects/{object_id}", original[: len(original) // 2]),
            "write past the object store": ("POST", "/v1/objects/..%2Fsnapshots.jsonl", b"[]"),
            "delete the snapshot list": ("DELETE", "/v1/snapshots", None),
            "list a snapshot of nothing": ("POST", "/v1/snapshots", json.dumps(
                {"id": "0" * 64, "parent": "", "objects": ["0" * 64]}).encode()),
            "shorten retention with the node's token": ("POST", "/v1/admin/retention", b"retention 0"),
            "prune with the node's token": ("POST", "/v1/admin/prune", b"prune 99999999999999"),
        }
        for name, (method, path, body) in attacks.items():
            with self.subTest(attack=name):
                status, answer = server.request(method, path, body)
                self.assertGreaterEqual(status, 400, answer)
        # A request signed by a key that is not the admin key (say, one made on the node).
        forged_key = os.path.join(server.root, "forged.key")
        run_cli("backup", "admin-key", "--out", forged_key)
        for command in (["retention", "--days", "0"], ["prune", "--before", "2100-01-01"]):
            with self.subTest(forged=command[0]):
                result = run_cli("backup", command[0], "--repo", server.url, "--token-file",
                                 server.token_file, "--admin-key", forged_key, *command[1:],
                                 check=False)
                self.assertEqual(result.returncode, 1)
                self.assertIn("403", result.stderr)
        # No token at all: nothing is served.
        self.assertEqual(server.request("GET", "/v1/snapshots", token=False)[0], 401)
        self.assertEqual(server.request("GET", f"/v1/objects/{object_id}", token=False)[0], 401)

        self.assertEqual(server.fingerprint(), before)
        self.assertEqual(server.request("GET", f"/v1/objects/{object_id}")[1], original)
        verified = run_cli("backup", "verify", *server.repo_flags())
        self.assertIn("OK:", verified.stdout)

        # The admin key can: inside retention, prune is still refused; after shortening, it runs.
        result = run_cli("backup", "prune", "--repo", server.url, "--admin-key", server.admin_key,
                         "--before", "2100-01-01", check=False)
        self.assertEqual(result.returncode, 1)
        self.assertIn("keeps every snapshot for 30 days", result.stderr)
        run_cli("backup", "retention", "--repo", server.url, "--admin-key", server.admin_key,
                "--days", "0")
        time.sleep(1.1)  # --before has whole seconds; the snapshot is listed before this one
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        pruned = json.loads(run_cli("backup", "prune", "--repo", server.url, "--admin-key",
                                    server.admin_key, "--before", now).stdout)
        self.assertEqual(pruned["snapshots_removed"], 1)
        self.assertEqual(server.snapshots(), [])

    def test_continuous_backup_then_restore_serves_the_same_records(self):
        node = self.seeded_node(patients=3)
        server = self.make_backup_server()
        node.start()
        node.token()  # the client's token request is audited before the backup starts
        backup = subprocess.Popen(
            [BINARY, "backup", *node.node_args(), *server.repo_flags(), "--continuous",
             "--interval", "1000ms"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: backup.poll() is None and backup.kill())

        written = {}
        for n in range(5):
            body = {"resourceType": "Patient", "name": [{"family": f"Backed{n}", "given": ["Up"]}]}
            response = node.request("POST", "/fhir/R4/Patient", body=body)
            self.assertEqual(response.status, 201, response.body)
            written[response.json()["id"]] = response.body
        acknowledged_at = time.monotonic()
        last_id = list(written)[-1]
        lines = queue.Queue()
        threading.Thread(target=lambda: [lines.put((time.monotonic(), line)) for line in backup.stdout],
                         daemon=True).start()
        # The recovery point: the first snapshot that holds the last acknowledged write, found by
        # restoring each snapshot listed after it.
        restored_root = tempfile.mkdtemp(prefix="kavach-restored-")
        self.addCleanup(lambda: subprocess.run(["rm", "-rf", restored_root]))
        restored = result = None
        attempt = 0
        while restored is None and time.monotonic() < acknowledged_at + 10:
            try:
                seen_at, line = lines.get(timeout=1)
            except queue.Empty:
                continue
            if not line.startswith("snapshot ") or seen_at < acknowledged_at:
                continue
            attempt += 1
            target = os.path.join(restored_root, str(attempt))
            result = run_cli("restore", *server.repo_flags(), "--to", os.path.join(target, "data"),
                             "--key-file", os.path.join(target, "node.key"))
            count = subprocess.run(
                ["sqlite3", os.path.join(target, "data", "kavach.db"),
                 f"SELECT count(*) FROM records WHERE type = 'Patient' AND id = '{last_id}'"],
                capture_output=True, text=True, check=True).stdout.strip()
            if count == "1":
                restored = target
                self.assertLess(seen_at - acknowledged_at, 10)
        self.assertIsNotNone(restored, "no snapshot held the last write within 10 s")
        self.assertIn("each read back equal to the snapshot", result.stdout)
        self.assertIn("recovery time", result.stdout)
        backup.terminate()
        self.assertEqual(backup.wait(timeout=30), 0, backup.stderr.read())

        # The restored node, under its new key file, serves the records with the old credentials.
        restored_node = self.make_node(key_file=os.path.join(restored, "node.key"))
        restored_node.data_dir = os.path.join(restored, "data")
        restored_node.client_id, restored_node.client_secret = node.client_id, node.client_secret
        restored_node.start()
        for resource_id in written:
            response = restored_node.request("GET", f"/fhir/R4/Patient/{resource_id}")
            self.assertEqual(response.status, 200, response.body)
            original = json.loads(written[resource_id])
            self.assertEqual(response.json()["name"], original["name"])
            self.assertEqual(response.json()["meta"]["versionId"], original["meta"]["versionId"])
        search = restored_node.request("GET", "/fhir/R4/Patient?family=Backed3")
        self.assertEqual(search.json()["total"] if "total" in search.json() else
                         len(search.json().get("entry", [])), 1)
        restored_node.stop()
        verified = run_cli("audit", "verify", *restored_node.node_args())
        self.assertIn("OK", verified.stdout)

    def test_the_scheduled_verification_alerts_on_a_damaged_repository(self):
        node = self.seeded_node(patients=2)
        backup_key = os.path.join(node.root, "backup.key")
        run_cli("backup", "key", "--out", backup_key)
        repo = os.path.join(node.root, "repo")
        run_cli("backup", *node.node_args(), "--repo", repo, "--backup-key", backup_key)
        # Someone changes an object on the backup disk.
        objects = [os.path.join(d, f) for d, _, files in os.walk(os.path.join(repo, "objects"))
                   for f in files]
        victim = max(objects, key=os.path.getsize)
        os.chmod(victim, 0o644)
        with open(victim, "r+b") as f:
            f.seek(100)
            f.write(b"\x00" * 16)
        backup = subprocess.Popen(
            [BINARY, "backup", *node.node_args(), "--repo", repo, "--backup-key", backup_key,
             "--continuous", "--interval", "500ms", "--verify-every", "500ms", "--verify-shares", "1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: backup.poll() is None and backup.kill())
        spool = os.path.join(node.data_dir, "alerts.jsonl")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not os.path.exists(spool):
            time.sleep(0.2)
        backup.terminate()
        backup.wait(timeout=30)
        with open(spool) as f:
            alert = json.loads(f.readline())
        self.assertEqual(alert["rule"], "backup-verification")
        self.assertIn(os.path.basename(victim), alert["detail"])
        self.assertIn("backup-verification", run_cli("guard", "alerts", *node.node_args()).stdout)

    def test_restore_refuses_a_wrong_backup_key_and_a_used_directory(self):
        node = self.seeded_node(patients=2)
        server = self.make_backup_server()
        run_cli("backup", *node.node_args(), *server.repo_flags())
        other_key = os.path.join(server.root, "other-backup.key")
        run_cli("backup", "key", "--out", other_key)
        target = tempfile.mkdtemp(prefix="kavach-restored-")
        result = run_cli("restore", "--repo", server.url, "--token-file", server.token_file,
                         "--backup-key", other_key, "--to", os.path.join(target, "a"),
                         "--key-file", os.path.join(target, "a.key"), check=False)
        self.assertEqual(result.returncode, 1)
        self.assertIn("failed authentication", result.stderr)
        result = run_cli("restore", *server.repo_flags(), "--to", node.data_dir,
                         "--key-file", node.key_file, check=False)
        self.assertEqual(result.returncode, 1)
        self.assertIn("needs an empty store", result.stderr)
        subprocess.run(["rm", "-rf", target])


if __name__ == "__main__":
    unittest.main()
