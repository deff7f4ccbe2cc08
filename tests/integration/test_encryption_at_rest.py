"""Nothing identifying or clinical lies in plaintext at rest: a unique marker written into names,
identifiers, phone numbers, notes and codes is found in no file of the data directory (database,
WAL, journal), for SQLite and for the PostgreSQL cluster's own files. Also: erasure and rotation."""
import os
import unittest

from kavach_harness import NodeTestCase, create_postgres_database, require_postgres, run_cli

MARKER = "Qzmarkerqz"


def marked_resources():
    patient = {"resourceType": "Patient",
               "identifier": [{"system": "https://healthid.ndhm.gov.in", "value": f"{MARKER}-id"}],
               "name": [{"family": MARKER, "given": [f"{MARKER}given"], "text": f"{MARKER} text"}],
               "telecom": [{"system": "phone", "value": "+91 98765 43210"}],
               "address": [{"city": f"{MARKER}pur"}]}
    observation = {"resourceType": "Observation", "status": "final",
                   "code": {"coding": [{"system": "http://loinc.org", "code": f"{MARKER}code",
                                        "display": f"{MARKER} display"}]},
                   "note": [{"text": f"{MARKER} clinical note"}],
                   "valueString": f"{MARKER} result"}
    return patient, observation


def files_containing(root, needles):
    hits = []
    for directory, _, files in os.walk(root):
        for name in files:
            path = os.path.join(directory, name)
            try:
                with open(path, "rb") as f:
                    content = f.read()
            except OSError:
                continue
            for needle in needles:
                if needle in content:
                    hits.append((path, needle))
    return hits


class PlaintextScan(NodeTestCase):
    def write_marked_data(self, node):
        patient, observation = marked_resources()
        created = node.request("POST", "/fhir/R4/Patient", body=patient)
        self.assertEqual(created.status, 201)
        observation["subject"] = {"reference": f"Patient/{created.json()['id']}"}
        self.assertEqual(node.request("POST", "/fhir/R4/Observation", body=observation).status, 201)
        # The data are really there and searchable through the blind indexes.
        found = node.request("GET", f"/fhir/R4/Patient?family={MARKER}")
        self.assertEqual(len(found.json()["entry"]), 1)
        found = node.request("GET", f"/fhir/R4/Observation?code=http://loinc.org|{MARKER}code")
        self.assertEqual(len(found.json()["entry"]), 1)
        found = node.request("GET", "/fhir/R4/Patient?phone=9876543210")
        self.assertEqual(len(found.json()["entry"]), 1)
        return created.json()["id"]

    def needles(self):
        return [MARKER.encode(), MARKER.lower().encode(), b"9876543210", b"98765 43210"]

    def test_sqlite_data_directory_holds_no_plaintext(self):
        node = self.make_node()
        node.start()
        self.write_marked_data(node)
        run_cli("seed", *node.node_args(), "--patients", "5")
        node.kill()  # leave the WAL and shared-memory files in place, as a crash would
        names = os.listdir(node.data_dir)
        self.assertIn("kavach.db", names)
        self.assertTrue(any(name.endswith("-wal") for name in names), names)
        self.assertEqual(files_containing(node.data_dir, self.needles()), [])
        # The scan itself works: the same marker is found where it is deliberately in plaintext.
        with open(os.path.join(node.data_dir, "control.txt"), "wb") as f:
            f.write(MARKER.encode())
        self.assertEqual(len(files_containing(node.data_dir, self.needles())), 1)

    def test_postgresql_cluster_files_hold_no_plaintext(self):
        require_postgres(self)
        url, drop = create_postgres_database()
        self.addCleanup(drop)
        node = self.make_node(store_url=url)
        node.start()
        self.write_marked_data(node)
        node.kill()
        cluster = os.path.join(os.environ["KAVACH_TEST_POSTGRES_HOST"], "data")
        self.assertTrue(os.path.isdir(os.path.join(cluster, "pg_wal")))
        self.assertEqual(files_containing(cluster, self.needles()), [])


class ErasureAndRotation(NodeTestCase):
    def test_erased_patient_reads_as_gone_and_others_stay_readable(self):
        node = self.make_node()
        node.start()
        first = node.request("POST", "/fhir/R4/Patient", body={"resourceType": "Patient"}).json()["id"]
        second = node.request("POST", "/fhir/R4/Patient", body={"resourceType": "Patient"}).json()["id"]
        result = run_cli("patient", "erase", first, *node.node_args())
        self.assertIn("erased", result.stdout)
        self.assertEqual(node.request("GET", f"/fhir/R4/Patient/{first}").status, 410)
        self.assertEqual(node.request("GET", f"/fhir/R4/Patient/{second}").status, 200)
        again = run_cli("patient", "erase", first, *node.node_args(), check=False)
        self.assertEqual(again.returncode, 1)
        self.assertEqual(len(again.stderr.strip().splitlines()), 1)

    def test_rotation_rewraps_keys_and_records_survive_a_restart(self):
        node = self.make_node()
        node.start()
        created = node.request("POST", "/fhir/R4/Patient", body={"resourceType": "Patient",
                                                                 "name": [{"family": "Iyer"}]})
        patient_id = created.json()["id"]
        node.stop()
        with open(node.key_file) as f:
            old_key_line = f.read().splitlines()[1]
        result = run_cli("keys", "rotate", *node.node_args())
        self.assertIn("re-wrapped", result.stdout)
        with open(node.key_file) as f:
            lines = f.read().splitlines()
        self.assertEqual(len(lines), 2)
        self.assertNotEqual(lines[1], old_key_line)
        self.assertEqual(os.stat(node.key_file).st_mode & 0o777, 0o600)
        node.start()
        node._token = None
        read = node.request("GET", f"/fhir/R4/Patient/{patient_id}")
        self.assertEqual(read.status, 200)
        self.assertEqual(read.json()["name"][0]["family"], "Iyer")


if __name__ == "__main__":
    unittest.main()
