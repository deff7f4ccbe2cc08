"""The command-line contract operators' scripts rely on: help, exit codes, one-line errors."""
import json
import os
import re
import stat
import tempfile
import unittest

from kavach_harness import NodeTestCase, run_cli

SUBCOMMANDS = [["keys"], ["keys", "init"], ["keys", "rotate"], ["serve"], ["client"],
               ["client", "add"], ["patient"], ["patient", "erase"], ["seed"]]


class CommandLine(NodeTestCase):
    def assertOneLineFailure(self, result, exit_code, fragment):
        self.assertEqual(result.returncode, exit_code, result.stderr)
        lines = result.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, result.stderr)
        self.assertIn(fragment, lines[0])

    def test_every_command_describes_itself(self):
        top = run_cli("--help")
        for name in ("keys", "serve", "client", "patient", "seed"):
            self.assertIn(name, top.stdout)
        for words in SUBCOMMANDS:
            result = run_cli(*words, "--help")
            self.assertIn("Usage", result.stdout, words)

    def test_bad_flags_exit_2_with_one_line(self):
        self.assertOneLineFailure(run_cli("serve", "--no-such-flag", check=False), 2, "no-such-flag")
        self.assertOneLineFailure(run_cli("frobnicate", check=False), 2, "frobnicate")
        self.assertOneLineFailure(run_cli("keys", "init", check=False), 2, "key-file")

    def test_bad_configuration_names_the_key(self):
        node = self.make_node(config_text='listen = "127.0.0.1:0"\nlistne = "typo"\n')
        self.assertEqual(node.start(expect_failure=True), 2)
        self.assertIn("listne: unknown key", node.server_log())
        for text, fragment in [('[http]\nmax_connections = 0\n', "http.max_connections"),
                               ('roles = ["hip", "nurse"]\n', "roles"),
                               ('store = "mysql://x"\n', "store"),
                               ('[tls]\ncert = "/nonexistent"\n', "tls"),
                               ('listen = 5\n', "listen"),
                               ('this is not toml', "line 1")]:
            node.config_text = text
            self.assertEqual(node.start(expect_failure=True), 2, text)
            self.assertIn(fragment, node.server_log().strip().splitlines()[-1], text)

    def test_key_file_rules(self):
        node = self.make_node()
        self.assertOneLineFailure(run_cli("keys", "init", "--key-file", node.key_file, check=False),
                                  1, "refusing to overwrite")
        os.chmod(node.key_file, 0o644)
        self.assertOneLineFailure(run_cli("client", "add", *node.node_args(), "--name", "x",
                                          "--scopes", "system/Patient.rs", check=False),
                                  1, "readable by group or others")
        os.chmod(node.key_file, 0o600)
        inside = os.path.join(node.data_dir, "node.key")
        run_cli("keys", "init", "--key-file", inside)
        self.assertOneLineFailure(run_cli("client", "add", "--data", node.data_dir, "--key-file", inside,
                                          "--name", "x", "--scopes", "system/Patient.rs", check=False),
                                  1, "inside the data directory")

    def test_client_add_works_while_the_server_runs(self):
        node = self.make_node()
        node.start()
        client_id, secret = node.add_client("late client", "system/Patient.rs")
        token = node.fetch_token(client_id, secret)
        self.assertEqual(token.status, 200, token.body)
        self.assertEqual(token.json()["scope"], "system/Patient.rs")
        bad = run_cli("client", "add", *node.node_args(), "--name", "x", "--scopes", "system/Patient.qq",
                      "--json", check=False)
        self.assertOneLineFailure(bad, 1, "malformed SMART scope")

    def test_seed_is_deterministic(self):
        families = []
        for _ in range(2):
            node = self.make_node()
            run_cli("seed", *node.node_args(), "--patients", "4", "--seed", "7")
            node.start()
            bundle = node.request("GET", "/fhir/R4/Patient?gender=female&_count=50").json()
            bundle_m = node.request("GET", "/fhir/R4/Patient?gender=male&_count=50").json()
            names = sorted(e["resource"]["name"][0]["text"] for e in bundle.get("entry", []) + bundle_m.get("entry", []))
            self.assertEqual(len(names), 4)
            families.append(names)
            abha = (bundle.get("entry") or bundle_m.get("entry"))[0]["resource"]["identifier"][0]["value"]
            self.assertRegex(abha, r"^\d{2}-\d{4}-\d{4}-\d{4}$")
            node.stop()
        self.assertEqual(families[0], families[1])

    def test_seed_links_every_record_to_its_patient_and_encounter(self):
        node = self.make_node()
        seeded = run_cli("seed", *node.node_args(), "--patients", "12", "--seed", "3")
        match = re.search(r"seeded 12 patients with (\d+) records", seeded.stdout)
        self.assertIsNotNone(match, seeded.stdout)
        node.start()
        patients = node.request("GET", "/fhir/R4/Patient?_count=50").json().get("entry", [])
        self.assertEqual(len(patients), 12)
        records = 0
        for patient in patients:
            patient_id = patient["resource"]["id"]
            everything = node.request("GET", f"/fhir/R4/Patient/{patient_id}/$everything?_count=1000").json()
            resources = {(e["resource"]["resourceType"], e["resource"]["id"]): e["resource"]
                         for e in everything.get("entry", [])}
            self.assertIn(("Patient", patient_id), resources)
            for (kind, _), resource in resources.items():
                if kind == "Patient":
                    continue
                records += 1
                subject = (resource.get("subject") or resource.get("patient") or {}).get("reference")
                self.assertEqual(subject, f"Patient/{patient_id}", resource)
                encounter = (resource.get("encounter") or {}).get("reference")
                if encounter:
                    self.assertIn(tuple(encounter.split("/")), resources, encounter)
        self.assertEqual(records, int(match.group(1)))


if __name__ == "__main__":
    unittest.main()
