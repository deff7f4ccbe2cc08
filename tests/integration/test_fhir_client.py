"""An off-the-shelf FHIR client from npm (fhir-kit-client, tests/fhir_client) creates, reads,
updates, patches, searches, pages, posts a transaction and deletes against a running node, with the
library used as it is."""
import os
import pathlib
import subprocess
import unittest

from kavach_harness import Node, NodeTestCase

CLIENT_DIR = pathlib.Path(__file__).resolve().parent.parent / "fhir_client"


class FhirKitClient(NodeTestCase):
    def test_the_client_library_works_unchanged(self):
        if not (CLIENT_DIR / "node_modules" / "fhir-kit-client").exists():
            self.fail("run `npm ci` in tests/fhir_client (make build does)")
        node = Node()
        node.start()
        self.addCleanup(node.close)
        environment = dict(os.environ,
                           KAVACH_FHIR_BASE=f"http://127.0.0.1:{node.port}/fhir/R4",
                           KAVACH_TOKEN=node.token())
        run = subprocess.run(["node", "client_e2e.mjs"], cwd=CLIENT_DIR, env=environment,
                             capture_output=True, text=True, timeout=120)
        self.assertEqual(run.returncode, 0, f"{run.stdout}\n{run.stderr}\n{node.server_log()[-3000:]}")
        self.assertIn("fhir-kit-client: all passed", run.stdout)


if __name__ == "__main__":
    unittest.main()
