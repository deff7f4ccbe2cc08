"""Storage faults on a running node (issue 7, point 7): when the disk fills, writes fail cleanly
(503 OperationOutcome, nothing half-written), and so do reads, whose audit entries cannot be
written; the node recovers by itself when space returns; a torn or corrupted store file is refused at start-up with a pointer to
restore. The full disk is a file-size limit (RLIMIT_FSIZE, set with prlimit on the running
process), which needs no root and makes writes fail as ENOSPC does."""
import os
import shutil
import subprocess
import unittest

from kavach_harness import NodeTestCase, run_cli


def prlimit(pid, limit):
    subprocess.run(["prlimit", f"--pid={pid}", f"--fsize={limit}"], check=True)


@unittest.skipUnless(shutil.which("prlimit"), "prlimit (util-linux) is not installed")
class StorageFaultTest(NodeTestCase):
    def create(self, node, family):
        return node.request("POST", "/fhir/R4/Patient",
                            body={"resourceType": "Patient", "name": [{"family": family}]})

    def test_a_full_disk_fails_writes_cleanly_and_the_node_recovers(self):
        node = self.make_node()
        node.start()
        acknowledged = {}
        for n in range(20):
            response = self.create(node, f"Before{n}")
            self.assertEqual(response.status, 201)
            acknowledged[response.json()["id"]] = f"Before{n}"
        # The disk is now full: no file may grow.
        sizes = [os.path.getsize(os.path.join(node.data_dir, name))
                 for name in os.listdir(node.data_dir)]
        prlimit(node.process.pid, f"{max(sizes)}:")
        failures = 0
        for n in range(3000):
            response = self.create(node, f"During{n}")
            if response.status == 201:
                acknowledged[response.json()["id"]] = f"During{n}"
                continue
            self.assertOperationOutcome(response, 503)
            failures += 1
            if failures >= 5:
                break
        self.assertGreaterEqual(failures, 5, "writes never failed under the size limit")
        # Every read is audited before it is answered, and the audit entry cannot be written
        # either: reads are refused the same clean way rather than served unaudited.
        # A read's answer waits for its audit entry's commit (audit::QueuedEntries), and a
        # failed commit withholds it: nothing of the record is in the refusal.
        some_id = next(iter(acknowledged))
        refused = node.request("GET", f"/fhir/R4/Patient/{some_id}")
        self.assertOperationOutcome(refused, 503)
        self.assertNotIn(acknowledged[some_id], refused.body)
        searched = node.request("GET", f"/fhir/R4/Patient?_id={some_id}")
        self.assertOperationOutcome(searched, 503)
        self.assertNotIn(acknowledged[some_id], searched.body)
        # Space returns: writes succeed again without a restart.
        prlimit(node.process.pid, "unlimited:")
        response = self.create(node, "After")
        self.assertEqual(response.status, 201, response.body)
        acknowledged[response.json()["id"]] = "After"
        # Every acknowledged write is there exactly; nothing a failed write began is visible.
        node.stop()
        node.start()
        for resource_id, family in acknowledged.items():
            response = node.request("GET", f"/fhir/R4/Patient/{resource_id}")
            self.assertEqual(response.status, 200, resource_id)
            self.assertEqual(response.json()["name"][0]["family"], family)
        everything = node.request("GET", "/fhir/R4/Patient?_count=1000&_total=accurate").json()
        self.assertEqual(everything["total"], len(acknowledged))
        node.stop()
        self.assertIn("OK", run_cli("audit", "verify", *node.node_args()).stdout)
        self.assertIn("0 failed", run_cli("guard", "scrub", *node.node_args()).stdout)

    def damaged_node_refuses_to_start(self, damage):
        node = self.make_node()
        run_cli("seed", *node.node_args(), "--patients", "5")
        database = os.path.join(node.data_dir, "kavach.db")
        for leftover in ("kavach.db-wal", "kavach.db-shm"):
            path = os.path.join(node.data_dir, leftover)
            if os.path.exists(path):
                os.remove(path)
        damage(database)
        code = node.start(expect_failure=True)
        self.assertNotEqual(code, 0)
        log = node.server_log()
        self.assertIn("is damaged", log)
        self.assertIn("kavach restore", log)

    def test_a_torn_store_file_is_refused_with_a_pointer_to_restore(self):
        def tear(path):
            with open(path, "r+b") as f:
                f.truncate(os.path.getsize(path) // 2)
        self.damaged_node_refuses_to_start(tear)

    def test_a_corrupted_store_file_is_refused_with_a_pointer_to_restore(self):
        def corrupt(path):
            size = os.path.getsize(path)
            with open(path, "r+b") as f:
                for offset in range(4096, size, 8192):  # every other page past the header
                    f.seek(offset + 100)
                    f.write(os.urandom(64))
        self.damaged_node_refuses_to_start(corrupt)


if __name__ == "__main__":
    unittest.main()
