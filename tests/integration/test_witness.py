"""Witnessing between two real nodes: one node's checkpoints are cosigned by another (C2SP
tlog-witness over HTTP), and a node that shows the witness a second history under the same key
is refused and raises an alarm."""
import os
import shutil
import time
import unittest

from kavach_harness import NodeTestCase, run_cli

COSIGNATURE_PREFIX = "\u2014 kavach-witness/"


class WitnessingTest(NodeTestCase):
    def witness_config(self, witness, witness_key):
        return ("[audit]\n[[audit.witnesses]]\n"
                f'url = "http://127.0.0.1:{witness.port}/audit/witness/add-checkpoint"\n'
                f'key = "{witness_key}"\n')

    def create_patients(self, node, count):
        for _ in range(count):
            response = node.request("POST", "/fhir/R4/Patient", {"resourceType": "Patient"})
            self.assertEqual(response.status, 201, response.body)

    def wait_for(self, predicate, what, timeout_s=30):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.2)
        self.fail(f"timed out waiting for {what}")

    def test_checkpoints_are_cosigned_and_a_second_history_raises_an_alarm(self):
        witness = self.make_node()
        hip = self.make_node()
        log_key = run_cli("audit", "key", *hip.node_args()).stdout.strip()
        run_cli("witness", "add-log", *witness.node_args(), "--key", log_key)
        witness_key = run_cli("witness", "key", *witness.node_args()).stdout.strip()
        witness.start()
        # A copy of the node as it is now: later it will grow a different history.
        twin_data = os.path.join(hip.root, "twin-data")
        shutil.copytree(hip.data_dir, twin_data)

        hip.config_text = self.witness_config(witness, witness_key)
        hip.start()
        self.create_patients(hip, 5)

        def cosigned_checkpoint():
            note = hip.request("GET", "/audit/log/checkpoint", token=False).body
            lines = note.split("\n")
            return note if int(lines[1]) >= 6 and COSIGNATURE_PREFIX in note else None

        note = self.wait_for(cosigned_checkpoint, "a cosigned checkpoint")
        self.assertIn(f"\u2014 {log_key.split('+')[0]} ", note)
        status = run_cli("witness", "status", *witness.node_args())
        self.assertIn(f"log {log_key.split('+')[0]}: cosigned up to size", status.stdout)
        self.assertIn("no alarms", status.stdout)
        hip.stop()

        twin = self.make_node(key_file=hip.key_file)
        shutil.copytree(twin_data, twin.data_dir)
        twin.client_id, twin.client_secret = twin.add_client("twin", "system/*.cruds")
        twin.config_text = self.witness_config(witness, witness_key)
        twin.start()
        self.create_patients(twin, 30)

        def alarm():
            result = run_cli("witness", "status", *witness.node_args(), check=False)
            return result if result.returncode == 1 else None

        result = self.wait_for(alarm, "the witness's alarm")
        self.assertIn("ALARM", result.stdout)
        self.assertIn("inconsistent with the cosigned checkpoint", result.stdout)
        self.assertIn("witness alarm", result.stderr)
        self.assertIn("audit.witness_alarm", witness.server_log())
        # The twin's checkpoints are never cosigned.
        self.assertNotIn(COSIGNATURE_PREFIX,
                         twin.request("GET", "/audit/log/checkpoint", token=False).body)

    def test_add_checkpoint_speaks_the_protocol(self):
        witness = self.make_node()
        witness.start()
        for body, status in (("garbage", 400), ("old 0\n\nkavach/unknown\n1\nAAAA\n\n\u2014 x y\n", 404)):
            response = witness.request("POST", "/audit/witness/add-checkpoint", body=body.encode(), token=False,
                                       headers={"Content-Type": "text/plain"})
            self.assertEqual(response.status, status, response.body)


if __name__ == "__main__":
    unittest.main()
