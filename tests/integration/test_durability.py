"""Durability proof: a concurrent write storm against a real `kavach serve`, killed with SIGKILL at
random points, restarted, and checked: every write the client saw acknowledged is there and reads
back exactly, and nothing half-written is visible. Runs against SQLite and PostgreSQL."""
import os
import random
import threading
import time
import unittest

from kavach_harness import NodeTestCase, create_postgres_database, require_postgres

# The storm rewrites and re-reads patients far faster than clinical use: the anomaly guard
# (docs/guard.md) would rightly lock its client, so this node's budgets are raised.
STORM_CONFIG = "[guard]\npatients_read_per_hour = 10000000\nrewrites_per_ten_minutes = 10000000\n"

ROUNDS = int(os.environ.get("KAVACH_DURABILITY_ROUNDS", "20"))
WRITERS = 6


class Ledger:
    """What the client saw acknowledged: (type, id) -> {version: marker}."""

    def __init__(self):
        self.lock = threading.Lock()
        self.acknowledged = {}

    def record(self, resource_id, version, marker):
        with self.lock:
            self.acknowledged.setdefault(resource_id, {})[version] = marker


def storm(node, ledger, stop, round_number, writer_number, rng):
    """Creates patients and updates them in chains until the server dies or `stop` is set."""
    connection = None
    sequence = 0
    mine = []
    while not stop.is_set():
        sequence += 1
        marker = f"r{round_number}w{writer_number}s{sequence}"
        try:
            connection = connection or node.connection(timeout=10)
            if mine and rng.random() < 0.5:
                resource_id, version = rng.choice(mine)
                body = {"resourceType": "Patient", "id": resource_id,
                        "name": [{"family": marker, "given": ["Durable"]}]}
                response = node.request("PUT", f"/fhir/R4/Patient/{resource_id}", body=body,
                                        headers={"If-Match": f'W/"{version}"'}, connection=connection)
                if response.status == 200:
                    new_version = int(response.json()["meta"]["versionId"])
                    ledger.record(resource_id, new_version, marker)
                    mine[mine.index((resource_id, version))] = (resource_id, new_version)
                elif response.status in (409, 412):
                    mine.remove((resource_id, version))  # lost a race we cannot see; let it go
                else:
                    raise AssertionError(f"update answered {response.status}: {response.body}")
            else:
                body = {"resourceType": "Patient", "name": [{"family": marker, "given": ["Durable"]}]}
                response = node.request("POST", "/fhir/R4/Patient", body=body, connection=connection)
                if response.status != 201:
                    raise AssertionError(f"create answered {response.status}: {response.body}")
                created = response.json()
                ledger.record(created["id"], 1, marker)
                mine.append((created["id"], 1))
        except (OSError, ConnectionError, ValueError, __import__("http.client").client.HTTPException):
            # The server died mid-request: this write was not acknowledged, so it may or may not exist.
            if connection:
                connection.close()
            connection = None
            if node.process.poll() is not None:
                return
            time.sleep(0.01)


class DurabilityUnderKill(NodeTestCase):
    def run_rounds(self, node):
        ledger = Ledger()
        rng = random.Random(int(os.environ.get("KAVACH_DURABILITY_SEED", "20221123")))
        for round_number in range(ROUNDS):
            node.start()
            node.token()
            stop = threading.Event()
            writers = [threading.Thread(target=storm, args=(node, ledger, stop, round_number, w,
                                                            random.Random(rng.random())))
                       for w in range(WRITERS)]
            for writer in writers:
                writer.start()
            time.sleep(rng.uniform(0.3, 1.2))
            node.kill()
            stop.set()
            for writer in writers:
                writer.join(timeout=30)
        node.start()
        self.verify(node, ledger)
        node.stop()

    def verify(self, node, ledger):
        total = sum(len(versions) for versions in ledger.acknowledged.values())
        self.assertGreater(total, ROUNDS * 5, "the storm acknowledged too few writes to prove anything")
        connection = node.connection()
        for resource_id, versions in ledger.acknowledged.items():
            for version, marker in versions.items():
                response = node.request("GET", f"/fhir/R4/Patient/{resource_id}/_history/{version}",
                                        connection=connection)
                self.assertEqual(response.status, 200, f"acknowledged {resource_id} v{version} is lost")
                self.assertEqual(response.json()["name"][0]["family"], marker)
            # Nothing half-written: history is contiguous from 1 and every version opens.
            history = node.request("GET", f"/fhir/R4/Patient/{resource_id}/_history", connection=connection)
            self.assertEqual(history.status, 200)
            seen = sorted(int(entry["resource"]["meta"]["versionId"]) for entry in history.json()["entry"])
            self.assertEqual(seen, list(range(1, len(seen) + 1)))
            current = node.request("GET", f"/fhir/R4/Patient/{resource_id}", connection=connection)
            self.assertEqual(current.status, 200)
            self.assertGreaterEqual(int(current.json()["meta"]["versionId"]), max(versions))
        # Every patient the index knows opens and names a writer's marker (no torn rows anywhere).
        page = node.request("GET", "/fhir/R4/Patient?given=Durable&_count=1000", connection=connection)
        self.assertEqual(page.status, 200, page.body)
        for entry in page.json().get("entry", []):
            self.assertTrue(entry["resource"]["name"][0]["family"].startswith("r"))
        connection.close()
        print(f"\n  durability: {ROUNDS} kills, {total} acknowledged writes verified", flush=True)

    def test_sqlite_keeps_every_acknowledged_write(self):
        self.run_rounds(self.make_node(config_text=STORM_CONFIG))

    def test_postgresql_keeps_every_acknowledged_write(self):
        require_postgres(self)
        url, drop = create_postgres_database()
        self.addCleanup(drop)
        self.run_rounds(self.make_node(store_url=url, config_text=STORM_CONFIG))


if __name__ == "__main__":
    unittest.main()
