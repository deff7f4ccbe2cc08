"""Bulk Data Access ($export) on a real node: kick-off, status polling, NDJSON files, the three
levels (system, Patient, Group), _type and _since, and the limits: the client's scopes, another
client's job, cancellation, and an audit entry for every record exported."""
import json
import time
import unittest

from kavach_harness import Node, NodeTestCase

ASYNC = {"Prefer": "respond-async", "Accept": "application/fhir+json"}


class BulkExport(NodeTestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = Node()
        cls.node.start()
        node = cls.node
        cls.patients = []
        for family in ("Export", "Export", "Outsider"):
            created = node.request("POST", "/fhir/R4/Patient", body={
                "resourceType": "Patient", "name": [{"family": family}]})
            assert created.status == 201, created.body
            cls.patients.append(created.json()["id"])
        for patient in cls.patients:
            for day in (1, 2):
                created = node.request("POST", "/fhir/R4/Observation", body={
                    "resourceType": "Observation", "status": "final", "code": {"text": "pulse"},
                    "subject": {"reference": f"Patient/{patient}"},
                    "effectiveDateTime": f"2024-05-0{day}"})
                assert created.status == 201, created.body
        cls.organization = node.request("POST", "/fhir/R4/Organization", body={
            "resourceType": "Organization", "name": "AIIMS"}).json()["id"]
        cls.group = node.request("POST", "/fhir/R4/Group", body={
            "resourceType": "Group", "type": "person", "actual": True,
            "member": [{"entity": {"reference": f"Patient/{p}"}} for p in cls.patients[:2]]}).json()["id"]

    @classmethod
    def tearDownClass(cls):
        cls.node.close()

    def run_export(self, path, token=True, keep=False):
        """Runs an export to the end and reads every file; deletes the job unless `keep`."""
        kick_off = self.node.request("GET", path, headers=ASYNC, token=token)
        self.assertEqual(kick_off.status, 202, kick_off.body)
        status_url = kick_off.headers["content-location"]
        self.assertIn("/fhir/R4/$export-status/", status_url)
        for _ in range(200):
            status = self.node.request("GET", status_url, token=token)
            if status.status != 202:
                break
            self.assertTrue(status.headers.get("x-progress"))
            time.sleep(0.05)
        self.assertEqual(status.status, 200, status.body)
        manifest = status.json()
        self.assertTrue(manifest["requiresAccessToken"])
        self.assertTrue(manifest["request"].endswith(path.split("/fhir/R4")[1]))
        records = {}
        for output in manifest["output"]:
            file = self.node.request("GET", output["url"], token=token)
            self.assertEqual(file.status, 200, file.body)
            self.assertEqual(file.headers["content-type"], "application/fhir+ndjson")
            lines = [json.loads(line) for line in file.body.splitlines()]
            self.assertEqual(len(lines), output["count"])
            for resource in lines:
                self.assertEqual(resource["resourceType"], output["type"])
                records.setdefault(output["type"], set()).add(resource["id"])
        if not keep:
            self.assertEqual(self.node.request("DELETE", status_url, token=token).status, 202)
        return status_url, records

    def test_system_export_of_chosen_types(self):
        _, records = self.run_export("/fhir/R4/$export?_type=Patient,Observation,Organization")
        self.assertEqual(records["Patient"], set(self.patients))
        self.assertEqual(len(records["Observation"]), 6)
        self.assertEqual(records["Organization"], {self.organization})

    def test_patient_export_is_every_patient_compartment(self):
        _, records = self.run_export("/fhir/R4/Patient/$export")
        self.assertEqual(records["Patient"], set(self.patients))
        self.assertEqual(len(records["Observation"]), 6)
        self.assertNotIn("Organization", records)  # in no patient's compartment
        self.assertNotIn("Group", records)

    def test_group_export_is_its_members_only(self):
        _, records = self.run_export(f"/fhir/R4/Group/{self.group}/$export?_type=Patient,Observation")
        self.assertEqual(records["Patient"], set(self.patients[:2]))
        self.assertEqual(len(records["Observation"]), 4)

    def test_since_exports_what_changed_after_it(self):
        # _since has whole seconds here: the marker is the next second boundary, after every
        # earlier write (the current second, truncated, could be before some of them), and the
        # change comes after it.
        boundary = int(time.time()) + 1
        marker = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(boundary)) + "Z"
        time.sleep(boundary - time.time() + 0.1)
        changed = self.node.request("GET", f"/fhir/R4/Patient/{self.patients[2]}").json()
        changed["active"] = True
        self.assertEqual(self.node.request("PUT", f"/fhir/R4/Patient/{self.patients[2]}", body=changed).status, 200)
        _, records = self.run_export(f"/fhir/R4/$export?_type=Patient&_since={marker}")
        self.assertEqual(records, {"Patient": {self.patients[2]}})

    def test_every_exported_record_is_in_the_patients_audit_trail(self):
        auditor_id, secret = self.node.add_client("auditor", "kavach/audit")
        token = self.node.fetch_token(auditor_id, secret).json()["access_token"]

        def exports_of(patient):
            events = self.node.request("GET", f"/fhir/R4/AuditEvent?patient={patient}&_count=500",
                                       token=token)
            self.assertEqual(events.status, 200, events.body)
            # Records named: an entry lists each record of the patient in one file, by version.
            return sum(1 for entry in events.json().get("entry", [])
                       if entry["resource"]["type"]["code"] == "record.export"
                       for entity in entry["resource"]["entity"]
                       if "/_history/" in entity["what"]["reference"])

        before = exports_of(self.patients[0])
        self.run_export(f"/fhir/R4/Group/{self.group}/$export?_type=Patient,Observation")
        # The patient and their two observations, each logged when the file was fetched.
        self.assertEqual(exports_of(self.patients[0]), before + 3)

    def test_refusals(self):
        node = self.node
        # Prefer: respond-async is required, and only NDJSON is offered.
        self.assertOperationOutcome(node.request("GET", "/fhir/R4/$export"), 400)
        self.assertOperationOutcome(
            node.request("GET", "/fhir/R4/$export?_outputFormat=text/csv", headers=ASYNC), 400)
        self.assertOperationOutcome(
            node.request("GET", "/fhir/R4/$export?_typeFilter=x", headers=ASYNC), 400)
        # Only the types the client may read.
        reader_id, secret = node.add_client("patients only", "system/Patient.rs")
        reader = node.fetch_token(reader_id, secret).json()["access_token"]
        self.assertOperationOutcome(
            node.request("GET", "/fhir/R4/$export?_type=Observation", headers=ASYNC, token=reader), 403)
        _, records = self.run_export("/fhir/R4/$export", token=reader)
        self.assertEqual(set(records), {"Patient"})
        # Another client cannot see a job, its files, or cancel it.
        status_url, _ = self.run_export("/fhir/R4/$export?_type=Organization", keep=True)
        self.assertOperationOutcome(node.request("GET", status_url, token=reader), 404)
        self.assertOperationOutcome(node.request("DELETE", status_url, token=reader), 404)
        files = node.request("GET", status_url).json()["output"]
        self.assertOperationOutcome(node.request("GET", files[0]["url"], token=reader), 404)
        # The owner can delete it; then it is gone.
        self.assertEqual(node.request("DELETE", status_url).status, 202)
        self.assertOperationOutcome(node.request("GET", status_url), 404)
        # The capability statement says so.
        statement = node.request("GET", "/fhir/R4/metadata", token=False).json()
        self.assertIn("export", [op["name"] for op in statement["rest"][0]["operation"]])


if __name__ == "__main__":
    unittest.main()
