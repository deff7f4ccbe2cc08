"""Every Synthea bundle in ../shared/data/synthea loads through POST /fhir/R4 (the two batch bundles
of organisations and practitioners first, then the 80 patient transactions, about 59,000
resources); the stored counts per type match the bundles, and searches return what the bundles
contain."""
import bz2
import collections
import datetime
import glob
import json
import os
import unittest

from kavach_harness import NodeTestCase

SYNTHEA_DIR = os.environ.get(
    "KAVACH_SYNTHEA_DIR",
    os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "synthea"))
SYNTHEA_SYSTEM = "https://github.com/synthetichealth/synthea"


def load_bundles():
    files = sorted(glob.glob(os.path.join(SYNTHEA_DIR, "*.json.bz2")))
    # The organisation and practitioner batches come first: the patients' bundles refer to them.
    files.sort(key=lambda path: not os.path.basename(path).startswith("0-"))
    return [(os.path.basename(path), bz2.open(path).read()) for path in files]


def expected_counts(bundles):
    counts = collections.Counter()
    seen_conditions = set()
    for _, raw in bundles:
        bundle = json.loads(raw)
        for entry in bundle["entry"]:
            kind = entry["resource"]["resourceType"]
            condition = entry["request"].get("ifNoneExist")
            if condition:
                if (kind, condition) in seen_conditions:
                    continue
                seen_conditions.add((kind, condition))
            counts[kind] += 1
    return counts


@unittest.skipUnless(glob.glob(os.path.join(SYNTHEA_DIR, "*.json.bz2")), "no Synthea data")
class SyntheaLoad(NodeTestCase):
    @classmethod
    def setUpClass(cls):
        from kavach_harness import Node
        cls.node = Node()
        cls.node.start()
        cls.bundles = load_bundles()
        cls.responses = {}
        for name, raw in cls.bundles:
            response = cls.node.request("POST", "/fhir/R4", raw,
                                        headers={"Content-Type": "application/fhir+json"})
            cls.responses[name] = response

    @classmethod
    def tearDownClass(cls):
        cls.node.close()

    def count_stored(self, kind):
        count, url = 0, f"/fhir/R4/{kind}/_history?_count=999"
        while url:
            page = self.node.request("GET", url)
            self.assertEqual(page.status, 200, page.body)
            page = page.json()
            count += len(page.get("entry", []))
            url = next((link["url"] for link in page.get("link", []) if link["relation"] == "next"), None)
        return count

    def search_all(self, path):
        found, url = [], path
        while url:
            page = self.node.request("GET", url)
            self.assertEqual(page.status, 200, page.body)
            page = page.json()
            found += [entry["resource"] for entry in page.get("entry", [])]
            url = next((link["url"] for link in page.get("link", []) if link["relation"] == "next"), None)
        return found

    def test_every_bundle_loads_without_error(self):
        self.assertEqual(len(self.bundles), 82)
        for name, response in self.responses.items():
            self.assertEqual(response.status, 200, f"{name}: {response.body[:500]}")
            statuses = {entry["response"]["status"] for entry in response.json()["entry"]}
            self.assertLessEqual(statuses, {"201 Created", "200 OK"}, name)

    def test_stored_counts_match_the_bundles(self):
        expected = expected_counts(self.bundles)
        self.assertGreater(sum(expected.values()), 58_000)
        stored = {kind: self.count_stored(kind) for kind in expected}
        self.assertEqual(stored, dict(expected))

    def test_searches_return_what_the_bundles_contain(self):
        patient_bundles = [json.loads(raw) for name, raw in self.bundles if not name.startswith("0-")]
        for bundle in patient_bundles[:3]:
            patient_entry = next(e for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
            synthea_id = next(i["value"] for i in patient_entry["resource"]["identifier"]
                              if i.get("system") == SYNTHEA_SYSTEM)
            found = self.search_all(f"/fhir/R4/Patient?identifier={SYNTHEA_SYSTEM}|{synthea_id}")
            self.assertEqual(len(found), 1)
            patient_id = found[0]["id"]
            for kind in ("Observation", "Encounter", "Condition"):
                expected = sum(1 for e in bundle["entry"] if e["resource"]["resourceType"] == kind)
                stored = self.search_all(f"/fhir/R4/{kind}?subject=Patient/{patient_id}&_count=500")
                self.assertEqual(len(stored), expected, kind)
                for resource in stored:
                    self.assertEqual(resource["subject"]["reference"], f"Patient/{patient_id}")
            # Token, date and sorted searches over the loaded data agree with the bundle.
            observations = [e["resource"] for e in bundle["entry"]
                            if e["resource"]["resourceType"] == "Observation"]
            if observations:
                coding = observations[0]["code"]["coding"][0]
                with_code = sum(1 for o in observations
                                if any(c.get("system") == coding["system"] and c.get("code") == coding["code"]
                                       for c in o["code"]["coding"]))
                found = self.search_all(f"/fhir/R4/Observation?patient={patient_id}"
                                        f"&code={coding['system']}%7C{coding['code']}&_count=500")
                self.assertEqual(len(found), with_code)
                year = observations[0]["effectiveDateTime"][:4]
                in_year = sum(1 for o in observations if o.get("effectiveDateTime", "").startswith(year))
                counted = self.node.request(
                    "GET", f"/fhir/R4/Observation?patient={patient_id}&date={year}&_summary=count").json()
                self.assertEqual(counted["total"], in_year)
            encounters = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Encounter"]
            # Newest first sorts by where each period ends.
            latest = max(datetime.datetime.fromisoformat(e["period"]["end"]) for e in encounters)
            newest = self.node.request(
                "GET", f"/fhir/R4/Encounter?patient={patient_id}&_sort=-date&_count=1").json()["entry"][0]
            self.assertEqual(datetime.datetime.fromisoformat(newest["resource"]["period"]["end"]), latest)
            # References to the organisations and practitioners loaded first were resolved.
            encounter = self.search_all(f"/fhir/R4/Encounter?subject=Patient/{patient_id}&_count=1")[0]
            self.assertTrue(encounter["serviceProvider"]["reference"].startswith("Organization/"))
            self.assertNotIn("?", encounter["serviceProvider"]["reference"])


if __name__ == "__main__":
    unittest.main()
