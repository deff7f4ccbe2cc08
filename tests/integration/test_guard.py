"""The anomaly guard on a running node: a client reading more patients than its budget is locked
out (403) until hospital IT releases it; canary patients alert on any read; rewrites with
ciphertext are refused; alerts reach the admin API, /metrics and the alert spool."""
import base64
import json
import os
import unittest

from kavach_harness import NodeTestCase, run_cli

CONFIG = """
[guard]
patients_read_per_hour = 3
random_rewrites_per_ten_minutes = 1
canary_patients = ["{canary}"]
"""


class GuardTest(NodeTestCase):
    def setUp(self):
        self.node = self.make_node()
        self.patients = []
        self.node.start()
        for n in range(6):
            response = self.node.request("POST", "/fhir/R4/Patient",
                                         body={"resourceType": "Patient", "name": [{"family": f"G{n}"}]})
            self.assertEqual(response.status, 201, response.body)
            self.patients.append(response.json()["id"])
        self.node.stop()
        self.canary = self.patients[-1]
        self.node.config_text = CONFIG.format(canary=self.canary)
        self.admin_id, self.admin_secret = self.node.add_client("hospital IT", "kavach/admin kavach/metrics")
        self.node.start()

    def admin(self, method, path):
        token = self.node.fetch_token(self.admin_id, self.admin_secret).json()["access_token"]
        return self.node.request(method, path, token=token)

    def read(self, patient_id):
        return self.node.request("GET", f"/fhir/R4/Patient/{patient_id}")

    def test_a_client_over_its_read_budget_is_locked_until_released(self):
        for patient_id in self.patients[:3]:
            self.assertEqual(self.read(patient_id).status, 200)
        self.assertEqual(self.read(self.patients[3]).status, 200)  # the read that crosses the budget
        locked = self.read(self.patients[0])
        self.assertOperationOutcome(locked, 403)
        self.assertIn("locked by the anomaly guard", locked.json()["issue"][0]["diagnostics"])

        alerts = self.admin("GET", "/admin/alerts").json()["alerts"]
        self.assertEqual(alerts[0]["rule"], "read-budget")
        self.assertEqual(alerts[0]["principal"], self.node.client_id)
        self.assertTrue(alerts[0]["locked"])
        locks = self.admin("GET", "/admin/locks").json()["locks"]
        self.assertEqual([lock["principal"] for lock in locks], [self.node.client_id])
        metrics = self.admin("GET", "/metrics").body
        self.assertIn("kavach_guard_locked_principals 1", metrics)
        with open(os.path.join(self.node.data_dir, "alerts.jsonl")) as spool:
            self.assertEqual(json.loads(spool.readline())["rule"], "read-budget")
        self.assertIn("read-budget", run_cli("guard", "alerts", *self.node.node_args()).stdout)

        # A client without the admin scope cannot release; hospital IT can.
        refused = self.node.request("POST", f"/admin/locks/{self.node.client_id}/release")
        self.assertEqual(refused.status, 403)
        released = self.admin("POST", f"/admin/locks/{self.node.client_id}/release")
        self.assertEqual(released.status, 200, released.body)
        self.assertEqual(self.read(self.patients[0]).status, 200)

    def test_reading_a_canary_patient_alerts_and_locks(self):
        self.assertEqual(self.read(self.canary).status, 200)
        self.assertEqual(self.read(self.patients[0]).status, 403)
        alerts = self.admin("GET", "/admin/alerts").json()["alerts"]
        self.assertEqual(alerts[0]["rule"], "canary")
        self.assertEqual(alerts[0]["subject"], self.canary)

    def test_rewriting_records_with_ciphertext_is_refused(self):
        for n, patient_id in enumerate(self.patients[:2]):
            noise = base64.b64encode(os.urandom(900)).decode()
            body = {"resourceType": "Patient", "id": patient_id, "name": [{"family": noise[:60]}],
                    "text": {"status": "generated",
                             "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{noise}</div>'}}
            response = self.node.request("PUT", f"/fhir/R4/Patient/{patient_id}", body=body)
            if n == 0:
                self.assertEqual(response.status, 200, response.body)
            else:
                self.assertOperationOutcome(response, 403)
        alerts = self.admin("GET", "/admin/alerts").json()["alerts"]
        self.assertEqual(alerts[0]["rule"], "random-rewrite")
        # The refused rewrite was not stored.
        self.node.stop()
        self.assertIn("random-rewrite", run_cli("guard", "alerts", *self.node.node_args()).stdout)
        run_cli("guard", "release", *self.node.node_args(), self.node.client_id)
        self.node.start()
        current = self.read(self.patients[1]).json()
        self.assertEqual(current["meta"]["versionId"], "1")

    def test_scrub_finds_a_record_changed_beneath_the_node(self):
        self.node.stop()
        database = os.path.join(self.node.data_dir, "kavach.db")
        import sqlite3
        connection = sqlite3.connect(database)
        connection.execute("DROP TRIGGER records_are_append_only_update")
        connection.execute("UPDATE records SET payload = randomblob(length(payload)) "
                           "WHERE type = 'Patient' AND id = ?", (self.patients[2],))
        connection.commit()
        connection.close()
        result = run_cli("guard", "scrub", *self.node.node_args(), check=False)
        self.assertEqual(result.returncode, 1)
        self.assertIn("1 failed", result.stdout)
        self.assertIn(f"Patient/{self.patients[2]}", run_cli("guard", "alerts", *self.node.node_args()).stdout)


if __name__ == "__main__":
    unittest.main()
