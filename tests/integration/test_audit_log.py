"""The audit log end to end: every action on patient data is one entry, no entry holds a name or
a clinical value, the served checkpoints, tiles and proofs verify with an independent verifier,
and `kavach audit verify` names each kind of tampering in each store backend."""
import base64
import json
import os
import shutil
import subprocess
import time
import unittest

import rfc9162
from kavach_harness import NodeTestCase, create_postgres_database, require_postgres, run_cli

PATIENT_NAME = ("Ananya", "Krishnamurthy")
CLINICAL_TEXT = "Glycated haemoglobin"
CLINICAL_VALUE = "7.93"


def parse_checkpoint(note):
    origin, size, root = note.split("\n")[:3]
    return origin, int(size), base64.b64decode(root)


def split_bundle(raw):
    entries, at = [], 0
    while at < len(raw):
        length = int.from_bytes(raw[at:at + 2], "big")
        entries.append(raw[at + 2:at + 2 + length])
        at += 2 + length
    return entries


def export_entries(node):
    out = os.path.join(node.root, f"export-{time.monotonic_ns()}")
    run_cli("audit", "export", *node.node_args(), "--out", out)
    with open(os.path.join(out, "entries.jsonl")) as f:
        return [json.loads(line) for line in f]


class MixedWorkloadTest(NodeTestCase):
    def setUp(self):
        self.node = self.make_node()
        self.narrow_id, self.narrow_secret = self.node.add_client("reception desk", "system/Patient.r")
        self.auditor_id, self.auditor_secret = self.node.add_client("auditor", "kavach/audit")
        self.node.start()

    def token_for(self, client_id, secret):
        response = self.node.fetch_token(client_id, secret)
        self.assertEqual(response.status, 200, response.body)
        return response.json()["access_token"]

    def observation(self, patient_id):
        return {"resourceType": "Observation", "status": "final",
                "subject": {"reference": f"Patient/{patient_id}"},
                "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}],
                         "text": CLINICAL_TEXT},
                "valueQuantity": {"value": float(CLINICAL_VALUE), "unit": "%"}}

    def run_workload(self):
        """Returns the (action, outcome, type, id) of each access to the patient's data, in order."""
        node, expected = self.node, []
        patient = node.request("POST", "/fhir/R4/Patient", {
            "resourceType": "Patient", "name": [{"family": PATIENT_NAME[1], "given": [PATIENT_NAME[0]]}],
            "gender": "female", "birthDate": "1987-04-12"}).json()
        pid = patient["id"]
        expected.append(("record.create", "allowed", "Patient", pid))
        first = node.request("POST", "/fhir/R4/Observation", self.observation(pid)).json()
        expected.append(("record.create", "allowed", "Observation", first["id"]))
        second = node.request("POST", "/fhir/R4/Observation", self.observation(pid)).json()
        expected.append(("record.create", "allowed", "Observation", second["id"]))
        self.assertEqual(node.request("GET", f"/fhir/R4/Patient/{pid}").status, 200)
        expected.append(("record.read", "allowed", "Patient", pid))
        self.assertEqual(node.request("GET", f"/fhir/R4/Observation/{first['id']}/_history/1").status, 200)
        expected.append(("record.read", "allowed", "Observation", first["id"]))
        updated = dict(self.observation(pid), id=first["id"], status="amended")
        self.assertEqual(node.request("PUT", f"/fhir/R4/Observation/{first['id']}", updated).status, 200)
        expected.append(("record.update", "allowed", "Observation", first["id"]))
        found = node.request("GET", f"/fhir/R4/Observation?subject=Patient/{pid}").json()
        # One entry for the page, listing every record it returned.
        expected.append(("record.search", "allowed", "Observation",
                         tuple(entry["resource"]["id"] for entry in found["entry"])))
        self.assertEqual(node.request("GET", f"/fhir/R4/Observation/{first['id']}/_history").status, 200)
        expected.append(("record.history", "allowed", "Observation", first["id"]))
        self.assertEqual(node.request("DELETE", f"/fhir/R4/Observation/{second['id']}").status, 204)
        expected.append(("record.delete", "allowed", "Observation", second["id"]))
        narrow = self.token_for(self.narrow_id, self.narrow_secret)
        self.assertEqual(node.request("GET", f"/fhir/R4/Observation/{first['id']}", token=narrow).status, 403)
        expected.append(("record.read", "denied", "Observation", first["id"]))
        self.assertEqual(node.request("GET", f"/fhir/R4/Patient/{pid}", token=narrow).status, 200)
        expected.append(("record.read", "allowed", "Patient", pid))
        # Neither of these touches a patient's data: a refused search names no patient, and a
        # record that does not exist belongs to no one.
        self.assertEqual(node.request("GET", "/fhir/R4/Observation?code=4548-4", token=narrow).status, 403)
        self.assertEqual(node.request("GET", "/fhir/R4/Observation/does-not-exist").status, 404)
        # A refused create (answered on the I/O thread, its entry queued) names no patient either:
        # it is refused before its body is read.
        self.assertEqual(node.request("POST", "/fhir/R4/Observation", self.observation(pid),
                                      token=narrow).status, 403)
        return pid, expected

    def wait_for_checkpoint(self, size):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            response = self.node.request("GET", "/audit/log/checkpoint", token=False)
            if response.status == 200 and parse_checkpoint(response.body)[1] >= size:
                return response.body
            time.sleep(0.1)
        self.fail(f"no checkpoint of size {size} within 30 s")

    def test_each_action_on_patient_data_is_exactly_one_entry_without_content(self):
        pid, expected = self.run_workload()
        entries = export_entries(self.node)
        about_patient = [e["view"] for e in entries if e["view"].get("patient") == pid]
        def named(view):
            if "further_resources" not in view:
                return view["resource"]["id"]
            return (view["resource"]["id"], *(r["id"] for r in view["further_resources"]))
        actual = [(v["action"], v["outcome"], v["resource"]["type"], named(v)) for v in about_patient]
        self.assertEqual(actual, expected)
        others = [e["view"] for e in entries if e["view"].get("patient") != pid]
        self.assertEqual(sorted(v["action"] for v in others),
                         ["client.register"] * 3 + ["record.create", "record.search"])
        for refused in (v for v in others if v["action"] in ("record.create", "record.search")):
            self.assertEqual(refused["outcome"], "denied")
            self.assertEqual(refused["actor"]["id"], self.narrow_id)
        for e in entries:
            raw = base64.b64decode(e["entry"])
            for forbidden in (*PATIENT_NAME, CLINICAL_TEXT, CLINICAL_VALUE, "1987-04-12"):
                self.assertNotIn(forbidden.encode(), raw, e["view"])

    def test_served_checkpoint_tiles_and_proofs_verify_independently(self):
        pid, expected = self.run_workload()
        total = len(export_entries(self.node))
        note = self.wait_for_checkpoint(total)
        origin, size, root = parse_checkpoint(note)
        key = self.node.request("GET", "/audit/log/key", token=False).body.strip()
        self.assertTrue(key.startswith(origin + "+"))
        self.assertIn(f"\n\u2014 {origin} ", note)

        tile = f"000.p/{size}" if size < 256 else "000"
        auditor = self.token_for(self.auditor_id, self.auditor_secret)
        self.assertEqual(self.node.request("GET", f"/audit/log/tile/entries/{tile}", token=False).status, 401)
        self.assertEqual(self.node.request("GET", f"/audit/log/tile/entries/{tile}").status, 403)
        bundle = self.node.request("GET", f"/audit/log/tile/entries/{tile}", token=auditor)
        self.assertEqual(bundle.status, 200, bundle.body)
        leaves = [rfc9162.leaf_hash(e) for e in split_bundle(bundle.raw)]
        self.assertEqual(len(leaves), size)
        self.assertEqual(rfc9162.root_of(leaves), root)
        hashes = self.node.request("GET", f"/audit/log/tile/0/{tile}", token=False)
        self.assertEqual(hashes.status, 200)
        self.assertEqual(hashes.raw, b"".join(leaves))

        for index in (0, size // 2, size - 1):
            proof = self.node.request("GET", f"/audit/proof/inclusion?index={index}&size={size}",
                                      token=False).json()
            elements = [base64.b64decode(p) for p in proof["proof"]]
            self.assertTrue(rfc9162.verify_inclusion(index, size, leaves[index], elements, root))
            self.assertFalse(rfc9162.verify_inclusion(index, size, leaves[(index + 1) % size], elements, root))
        old = size // 2
        proof = self.node.request("GET", f"/audit/proof/consistency?from={old}&to={size}", token=False).json()
        elements = [base64.b64decode(p) for p in proof["proof"]]
        self.assertTrue(rfc9162.verify_consistency(old, size, elements, rfc9162.root_of(leaves[:old]), root))

        # The patient's accesses as FHIR AuditEvents, each with a proof against the Bundle's checkpoint.
        self.assertEqual(self.node.request("GET", f"/fhir/R4/AuditEvent?patient={pid}").status, 403)
        bundle = self.node.request("GET", f"/fhir/R4/AuditEvent?patient=Patient/{pid}", token=auditor)
        self.assertEqual(bundle.status, 200, bundle.body)
        bundle = bundle.json()
        events = [e["resource"] for e in bundle["entry"]]
        # The workload's entries, then the refused read of the log a moment ago (logged too, and
        # perhaps not yet in a checkpoint).
        self.assertEqual(len(events), len(expected) + 1)
        self.assertEqual(events[-1]["outcome"], "4")
        _, signed_size, signed_root = parse_checkpoint(bundle["meta"]["extension"][0]["valueString"])
        searched = [ids for action, _, _, ids in expected if action == "record.search"][0]
        search_events = [e for e in events if e["type"]["code"] == "record.search"]
        self.assertEqual(len(search_events), 1)
        self.assertEqual([e["what"]["reference"].split("/_history")[0] for e in search_events[0]["entity"]
                          if e["what"]["reference"].startswith("Observation/")],
                         [f"Observation/{i}" for i in searched])
        for event in events[:-1]:
            self.assertEqual(event["resourceType"], "AuditEvent")
            self.assertIn({"what": {"reference": f"Patient/{pid}"},
                           "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1"}},
                          event["entity"])
            parts = event["extension"][0]["extension"]
            entry = base64.b64decode(parts[0]["valueBase64Binary"])
            index, tree_size = int(parts[1]["valueString"]), int(parts[2]["valueString"])
            proof = [base64.b64decode(p["valueBase64Binary"]) for p in parts[3:]]
            self.assertEqual(tree_size, signed_size)
            self.assertTrue(rfc9162.verify_inclusion(index, tree_size, rfc9162.leaf_hash(entry), proof, signed_root))

        for bad in ("/audit/proof/inclusion?index=x&size=1", f"/audit/proof/inclusion?index=0&size={size + 10**6}",
                    "/audit/proof/consistency?from=5&to=2", "/audit/log/tile/0/x000/001",
                    "/audit/log/tile/0/999"):
            response = self.node.request("GET", bad, token=False)
            self.assertIn(response.status, (400, 404), bad)
            self.assertOperationOutcome(response, response.status)


class TamperingTest(NodeTestCase):
    """Seeds a log, signs it, copies it once per attack, attacks the copy with SQL behind the
    node's back (as someone with the database would) and runs `kavach audit verify`."""

    ATTACKS = {
        "flipped byte": ("changed", 17),
        "deleted row": ("missing", 40),
        "reordered rows": ("moved", 50),
        "inserted row": ("inserted", 100),
    }

    def seed_and_sign(self, node):
        # One entry per patient's transaction: 400 fill a whole tile of 256 leaves, within which
        # verify names the index an attack changed (every attack's indexes are below 256).
        run_cli("seed", *node.node_args(), "--patients", "400")
        run_cli("audit", "checkpoint", *node.node_args())
        self.assertEqual(self.verify(node).returncode, 0)

    def verify(self, node):
        return run_cli("audit", "verify", *node.node_args(), "--json", check=False)

    def assert_reported(self, result, attack):
        kind, index = self.ATTACKS[attack]
        self.assertEqual(result.returncode, 1, f"{attack}: {result.stdout} {result.stderr}")
        report = json.loads(result.stdout)
        self.assertFalse(report["ok"])
        found = [(f["kind"], f.get("index")) for f in report["findings"]]
        self.assertIn((kind, index), found, f"{attack}: {found}")
        self.assertIn("failed verification", result.stderr)

    @staticmethod
    def sql_for(attack, table, flip_byte):
        return {
            "flipped byte": f"UPDATE {table} SET entry = {flip_byte} WHERE idx = 17",
            "deleted row": f"DELETE FROM {table} WHERE idx = 40",
            "reordered rows": (f"UPDATE {table} SET entry = (SELECT s.entry FROM {table} s WHERE s.idx = "
                               f"250 - {table}.idx) WHERE idx IN (50, 200)"),
            "inserted row": (f"UPDATE {table} SET idx = -idx - 1 WHERE idx >= 100; "
                             f"UPDATE {table} SET idx = -idx WHERE idx < 0; "
                             f"INSERT INTO {table} (idx, subject, entry) SELECT 100, subject, {flip_byte} "
                             f"FROM {table} WHERE idx = 7"),
        }[attack]

    def test_sqlite_store_tampering_is_reported_by_index(self):
        original = self.make_node()
        self.seed_and_sign(original)
        for attack in self.ATTACKS:
            with self.subTest(attack=attack):
                node = self.make_node(key_file=original.key_file)
                shutil.copytree(original.data_dir, node.data_dir)
                database = os.path.join(node.data_dir, "kavach.db")
                self.assertTrue(os.path.exists(database), os.listdir(node.data_dir))
                # SQLite evaluates the swap's subquery after the first row changed, so a temporary
                # copy carries the original entries.
                sql = self.sql_for(attack, "audit_entries",
                                   "substr(entry, 1, 5) || (CASE WHEN substr(entry, 6, 1) = X'00' "
                                   "THEN X'01' ELSE X'00' END) || substr(entry, 7)")
                if attack == "reordered rows":
                    sql = ("CREATE TEMP TABLE original AS SELECT idx, entry FROM audit_entries; "
                           "UPDATE audit_entries SET entry = (SELECT entry FROM original WHERE "
                           "original.idx = 250 - audit_entries.idx) WHERE idx IN (50, 200)")
                subprocess.run(["sqlite3", database,
                                "DROP TRIGGER audit_entries_are_append_only_update; "
                                "DROP TRIGGER audit_entries_are_append_only_delete; " + sql],
                               check=True, capture_output=True)
                self.assert_reported(self.verify(node), attack)

    def test_postgresql_store_tampering_is_reported_by_index(self):
        require_postgres(self)
        url, drop = create_postgres_database()
        self.addCleanup(drop)
        original = self.make_node(store_url=url)
        self.seed_and_sign(original)
        database = url.split("@/")[1].split("?")[0]
        host, port, user = (os.environ[f"KAVACH_TEST_POSTGRES_{n}"] for n in ("HOST", "PORT", "USER"))
        psql = ["psql", "-h", host, "-p", port, "-U", user, "-v", "ON_ERROR_STOP=1", "-q"]
        for number, attack in enumerate(self.ATTACKS):
            with self.subTest(attack=attack):
                copy = f"{database}_attack{number}"
                subprocess.run(psql + ["-d", "postgres", "-c", f"CREATE DATABASE {copy} TEMPLATE {database}"],
                               check=True, capture_output=True)
                self.addCleanup(subprocess.run, psql + ["-d", "postgres", "-c",
                                                        f"DROP DATABASE IF EXISTS {copy} WITH (FORCE)"],
                                capture_output=True)
                node = self.make_node(store_url=url.replace(f"/{database}?", f"/{copy}?"),
                                      key_file=original.key_file)
                flip = ("overlay(entry placing (CASE WHEN get_byte(entry, 5) = 0 THEN '\\x01' "
                        "ELSE '\\x00' END)::bytea from 6 for 1)")
                sql = ("ALTER TABLE kavach_audit_entries DISABLE TRIGGER USER; " +
                       self.sql_for(attack, "kavach_audit_entries", flip))
                result = subprocess.run(psql + ["-d", copy, "-c", sql], capture_output=True, text=True)
                self.assertEqual(result.returncode, 0, result.stderr)
                self.assert_reported(self.verify(node), attack)


if __name__ == "__main__":
    unittest.main()
