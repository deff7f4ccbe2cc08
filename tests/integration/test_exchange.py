"""The health-information exchange across separate nodes: a consent manager, two hospitals (HIPs)
and a doctor's node (HIU), each its own `kavach` process with its own data directory, talking
ABDM's v0.5 data flow over loopback."""
import json
import os
import time
import unittest
import uuid
from datetime import datetime, timedelta, timezone

import http.client
import subprocess
import tempfile
import threading

from kavach_harness import LoopbackServer, NodeTestCase, QuietHandler, run_cli
from test_consent import free_port, iso

ABHA_ADDRESS = "https://healthid.ndhm.gov.in/abha-address"
CONFORMANCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "conformance")
# Kavach's additions to the protocol, documented in docs/exchange.md and docs/consent.md: a HIP
# confirming a consent after a restart, emergency access (break-glass), and the CM passing a HIP's final notice on to the HIU (shaped like ABDM's
# health-information/notify, and checked as one).
KAVACH_ONLY = {"/v0.5/consents/hip/status", "/v0.5/break-glass"}
# A HIP's pages for the CM's patient locker are ABDM's data push, to the locker's URL.
SHAPED_LIKE = {"/v0.5/health-information/hiu/notify": "/v0.5/health-information/notify",
               "/cm/v1/locker/transfer": "/v0.5/health-information/transfer"}
FIDELIUS_TOOL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fidelius_tool.mjs")


class RecordingProxy(LoopbackServer):
    """Stands in front of one node: forwards every request to it unchanged and records each
    message (path and JSON body) a Kavach node sent, for the ABDM schema check."""

    def __init__(self, messages, lock):
        self.target_port = None

        class Handler(QuietHandler):
            def forward(handler, method):
                length = int(handler.headers.get("Content-Length") or 0)
                body = handler.rfile.read(length) if length else b""
                if method == "POST" and handler.path.startswith("/v0.5/"):
                    with lock:
                        messages.append({"path": handler.path, "body": json.loads(body)})
                headers = {k: v for k, v in handler.headers.items()
                           if k.lower() not in ("host", "connection", "content-length")}
                conn = http.client.HTTPConnection("127.0.0.1", self.target_port, timeout=60)
                try:
                    conn.request(method, handler.path, body=body or None, headers=headers)
                    reply = conn.getresponse()
                    data = reply.read()
                    handler.send_response(reply.status)
                    for name, value in reply.getheaders():
                        if name.lower() not in ("connection", "content-length", "transfer-encoding"):
                            handler.send_header(name, value)
                    handler.send_header("Content-Length", str(len(data)))
                    handler.end_headers()
                    handler.wfile.write(data)
                except OSError:
                    handler.send_response(502)
                    handler.send_header("Content-Length", "0")
                    handler.end_headers()
                finally:
                    conn.close()

            def do_POST(handler):
                handler.forward("POST")

            def do_GET(handler):
                handler.forward("GET")

        super().__init__(Handler)


def node_key(node):
    """The node's signing key, which the CM's registry holds for its facility."""
    out = run_cli("consent", "key", *node.node_args()).stdout
    return [line.split()[1] for line in out.splitlines() if line.startswith("cm_key:")][0]


class ExchangeTest(NodeTestCase):
    def proxy_for(self, node):
        """Every node is reached through a recording proxy: what one node sends another is
        checked against ABDM's schemas when the test ends."""
        proxy = RecordingProxy(self.messages, self.messages_lock)
        self.addCleanup(proxy.shutdown)
        node.proxy = proxy
        return proxy

    def setUp(self):
        self.messages = []
        self.messages_lock = threading.Lock()
        self.addCleanup(self.check_conformance)
        self.cm = self.make_node(config_text='roles = ["cm"]\n[consent]\ncm_id = "sbx"\n')
        self.cm_key = node_key(self.cm)
        # Its public URL (where HIPs push a patient's own records) is its proxy's.
        self.cm.config_text += f'public_url = "{self.proxy_for(self.cm).url()}"\n'
        self.cm.start()
        self.cm.proxy.target_port = self.cm.port
        cm_url = self.cm.proxy.url()
        args = self.cm.node_args()

        self.hips = {}
        for hip_id, name in (("aiims-delhi", "AIIMS New Delhi"), ("kem-mumbai", "KEM Mumbai")):
            port = free_port()
            # KEM sends every document as a link entry, which the HIU fetches with a one-time token.
            hip = self.make_node(config_text=(
                f'roles = ["hip"]\n[consent]\nfacility_id = "{hip_id}"\n'
                f'cm_key = "{self.cm_key}"\ncm_url = "{cm_url}"\n'
                + ("link_entry_bytes = 1\n" if hip_id == "kem-mumbai" else "")))
            hip.listen = f"127.0.0.1:{port}"
            proxy = self.proxy_for(hip)
            proxy.target_port = port
            hip.config_text += f'public_url = "{proxy.url()}"\n'
            run_cli("registry", "facility", "add", *args, "--id", hip_id, "--name", name, "--roles", "hip",
                    "--callback-url", proxy.url(), "--public-key", node_key(hip))
            hip.start(listen=hip.listen)
            self.hips[hip_id] = hip

        hiu_port = free_port()
        self.hiu = self.make_node(config_text=(
            'roles = ["hiu"]\n[consent]\nfacility_id = "apollo-chennai"\n'
            f'cm_key = "{self.cm_key}"\ncm_url = "{cm_url}"\n'))
        self.hiu.listen = f"127.0.0.1:{hiu_port}"
        hiu_proxy = self.proxy_for(self.hiu)
        hiu_proxy.target_port = hiu_port
        self.hiu.config_text += f'public_url = "{hiu_proxy.url()}"\n'
        hiu = json.loads(run_cli("registry", "facility", "add", *args, "--id", "apollo-chennai",
                                 "--name", "Apollo Chennai", "--roles", "hiu", "--callback-url",
                                 hiu_proxy.url(), "--public-key", node_key(self.hiu),
                                 "--with-client", "--json").stdout)
        run_cli("registry", "professional", "add", *args, "--id", "dr-manju", "--name", "Dr. Manju",
                "--facility", "apollo-chennai", "--registration", "MH1001")
        self.doctor = self.hiu.add_client("Dr. Manju", "professional:MH1001")
        self.other_doctor = self.hiu.add_client("Dr. Rao", "professional:KA2002")
        self.hiu_it = self.hiu.add_client("Apollo IT", "kavach/admin")
        self.hiu.start(listen=self.hiu.listen)
        self.hiu_cm_token = self.cm.fetch_token(hiu["client_id"], hiu["client_secret"]).json()["access_token"]

        self.records = {hip_id: self.seed_hip(hip) for hip_id, hip in self.hips.items()}
        self.patient_token = self.enrol_and_sign_in()
        for hip_id in self.hips:
            self.link_at(hip_id)

    # --- helpers -------------------------------------------------------------------------------

    def check_conformance(self):
        """Every ABDM message the nodes sent one another validates against ABDM's OpenAPI schemas
        (tests/conformance/abdm_conformance.mjs, with Ajv from npm)."""
        with self.messages_lock:
            messages = [dict(m, path=SHAPED_LIKE.get(m["path"], m["path"])) for m in self.messages
                        if m["path"] not in KAVACH_ONLY]
        if not messages:
            return
        self.assertTrue(os.path.isdir(os.path.join(CONFORMANCE, "node_modules")),
                        "run `npm ci` in tests/conformance (make test does)")
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
            f.writelines(json.dumps(m) + "\n" for m in messages)
        self.addCleanup(os.unlink, f.name)
        checked = subprocess.run(["node", os.path.join(CONFORMANCE, "abdm_conformance.mjs"), "validate",
                                  f.name], capture_output=True, text=True)
        self.assertEqual(checked.returncode, 0, checked.stdout + checked.stderr)
        self.assertIn(f"{len(messages)} messages conform", checked.stdout)

    def seed_hip(self, hip):
        """Asha at a HIP with one visit holding a lab result and a prescription; their ids."""
        token = hip.token()
        # The hospital knows her by name, sex, birth date and mobile; linking adds her ABHA address.
        patient = hip.request("POST", "/fhir/R4/Patient", token=token, body={
            "resourceType": "Patient", "name": [{"given": ["Asha"], "family": "Devi"}],
            "gender": "female", "birthDate": "1986-04-02",
            "telecom": [{"system": "phone", "value": "+91 98765 43210"}]})
        self.assertEqual(patient.status, 201, patient.body)
        patient_id = patient.json()["id"]
        when = iso(datetime.now(timezone.utc) - timedelta(days=3))
        visit = hip.request("POST", "/fhir/R4/Encounter", token=token, body={
            "resourceType": "Encounter", "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "subject": {"reference": f"Patient/{patient_id}"}, "period": {"start": when}})
        self.assertEqual(visit.status, 201, visit.body)
        visit_id = visit.json()["id"]
        lab = hip.request("POST", "/fhir/R4/Observation", token=token, body={
            "resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}], "text": "HbA1c"},
            "category": [{"coding": [{"code": "laboratory"}]}],
            "subject": {"reference": f"Patient/{patient_id}"},
            "encounter": {"reference": f"Encounter/{visit_id}"},
            "effectiveDateTime": when, "valueQuantity": {"value": 6.1, "unit": "%"}})
        self.assertEqual(lab.status, 201, lab.body)
        prescription = hip.request("POST", "/fhir/R4/MedicationRequest", token=token, body={
            "resourceType": "MedicationRequest", "status": "active", "intent": "order",
            "medicationCodeableConcept": {"text": "Metformin 500 mg"},
            "subject": {"reference": f"Patient/{patient_id}"},
            "encounter": {"reference": f"Encounter/{visit_id}"}, "authoredOn": when})
        self.assertEqual(prescription.status, 201, prescription.body)
        return {"patient": patient_id, "visit": visit_id, "lab": lab.json()["id"],
                "prescription": prescription.json()["id"]}

    def last_code(self, mobile, node=None):
        with open(f"{(node or self.cm).data_dir}/notifications.jsonl") as f:
            notices = [json.loads(line) for line in f if line.strip()]
        text = [n for n in notices if n["to"] == mobile][-1]["text"]
        return next(word for word in text.split() if word.isdigit() and len(word) == 6)

    def cm_post(self, path, body, token):
        return self.cm.request("POST", path, body=body, token=token,
                               headers={"Content-Type": "application/json"})

    def enrol_and_sign_in(self):
        started = self.cm_post("/cm/v1/enrolment", {"name": "Asha Devi", "yearOfBirth": 1985, "gender": "F",
                                                   "mobile": "9876543210", "abhaAddress": "asha.devi"}, False)
        self.assertEqual(started.status, 202, started.body)
        confirmed = self.cm_post("/cm/v1/enrolment/confirm",
                                 {"ticket": started.json()["ticket"], "code": self.last_code("9876543210")},
                                 False)
        self.assertEqual(confirmed.status, 201, confirmed.body)
        ticket = self.cm_post("/cm/v1/sessions/otp", {"healthId": "asha.devi@sbx"}, False).json()["ticket"]
        session = self.cm_post("/cm/v1/sessions/otp/confirm",
                               {"ticket": ticket, "code": self.last_code("9876543210")}, False)
        self.assertEqual(session.status, 201, session.body)
        return session.json()["token"]

    def patient_api(self, method, path, body=None):
        return self.cm.request(method, f"/cm/v1/patients/me{path}", body=body, token=self.patient_token,
                               headers={"Content-Type": "application/json"})

    def discover(self, hip_id):
        started = self.patient_api("POST", "/discoveries", {"hipId": hip_id})
        self.assertEqual(started.status, 202, started.body)
        transaction = started.json()["transactionId"]
        self.assertTrue(self.wait(lambda: self.patient_api("GET", f"/discoveries/{transaction}")
                                  .json()["status"] != "DISCOVERING", 10))
        return self.patient_api("GET", f"/discoveries/{transaction}").json()

    def link_at(self, hip_id):
        """Asha finds her records at the HIP and links her visit with the code the HIP sends."""
        found = self.discover(hip_id)
        self.assertEqual(found["status"], "FOUND", found)
        self.assertEqual(found["patient"]["referenceNumber"], self.records[hip_id]["patient"])
        self.assertIn("MOBILE", found["patient"]["matchedBy"])
        visits = [c["referenceNumber"] for c in found["patient"]["careContexts"]]
        self.assertEqual(visits, [self.records[hip_id]["visit"]])
        transaction = found["transactionId"]
        linking = self.patient_api("POST", f"/discoveries/{transaction}/link", {"careContexts": visits})
        self.assertEqual(linking.status, 202, linking.body)
        self.assertTrue(self.wait(lambda: self.patient_api("GET", f"/discoveries/{transaction}")
                                  .json()["status"] == "AWAITING_CODE", 10))
        self.assertEqual(self.patient_api("GET", f"/discoveries/{transaction}").json()["codeSentTo"],
                         "XXXXXX3210")
        code = self.last_code("9876543210", self.hips[hip_id])
        confirmed = self.patient_api("POST", f"/discoveries/{transaction}/confirm", {"code": code})
        self.assertEqual(confirmed.status, 202, confirmed.body)
        self.assertTrue(self.wait(lambda: self.patient_api("GET", f"/discoveries/{transaction}")
                                  .json()["status"] == "LINKED", 10),
                        self.patient_api("GET", f"/discoveries/{transaction}").body)

    def ask_and_grant(self, erase_in=timedelta(days=30)):
        """The doctor asks for lab reports and prescriptions from any HIP; Asha grants lab reports
        only, from both HIPs. Returns the artefact ids by HIP."""
        now = datetime.now(timezone.utc)
        asked = self.cm_post("/v0.5/consent-requests/init", {
            "requestId": str(uuid.uuid4()), "timestamp": iso(now), "consent": {
                "purpose": {"text": "Care Management", "code": "CAREMGT"},
                "patient": {"id": "asha.devi@sbx"}, "hiu": {"id": "apollo-chennai"},
                "requester": {"name": "Dr. Manju", "identifier": {"type": "REGNO", "value": "MH1001"}},
                "hiTypes": ["Prescription", "DiagnosticReport"],
                "permission": {"accessMode": "VIEW",
                               "dateRange": {"from": iso(now - timedelta(days=365)), "to": iso(now)},
                               "dataEraseAt": iso(now + timedelta(days=30)),
                               "frequency": {"unit": "HOUR", "value": 1, "repeats": 5}}}},
            self.hiu_cm_token)
        self.assertEqual(asked.status, 202, asked.body)
        request_id = asked.json()["consentRequest"]["id"]
        granted = self.cm_post(f"/cm/v1/patients/me/consent-requests/{request_id}/grant", {
            "hiTypes": ["DiagnosticReport"], "hips": list(self.hips),
            "dataEraseAt": iso(now + erase_in)}, self.patient_token)
        self.assertEqual(granted.status, 200, granted.body)
        artefacts = granted.json()["consentArtefacts"]
        self.assertEqual(len(artefacts), 2)
        by_hip = {}
        for artefact_id in artefacts:
            for hip_id, hip in self.hips.items():
                admin_id, admin_secret = getattr(hip, "admin", (None, None)) or (None, None)
                if admin_id is None:
                    hip.admin = hip.add_client("HIP IT", "kavach/admin")
                    admin_id, admin_secret = hip.admin
                if not hasattr(hip, "admin_token"):
                    hip.admin_token = hip.fetch_token(admin_id, admin_secret).json()["access_token"]
                if self.wait(lambda: hip.request("GET", f"/hip/v1/consents/{artefact_id}",
                                                 token=hip.admin_token).status == 200, 2):
                    by_hip[hip_id] = artefact_id
        self.assertEqual(set(by_hip), set(self.hips))
        self.request_id = request_id
        self.wait_for_hiu_status(request_id, "GRANTED")
        return by_hip

    def hiu_token(self, client):
        key = f"_token_{client[0]}"
        if not hasattr(self, key):
            setattr(self, key, self.hiu.fetch_token(*client).json()["access_token"])
        return getattr(self, key)

    def wait_for_hiu_status(self, request_id, expected, timeout_s=10):
        token = self.hiu_token(self.hiu_it)
        self.assertTrue(self.wait(lambda: self.hiu.request(
            "GET", f"/hiu/v1/consent-requests/{request_id}", token=token).json().get("status") == expected,
            timeout_s), f"the HIU never saw {expected}")

    @staticmethod
    def wait(condition, timeout_s):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.05)
        return False

    def fetch(self, artefact_id, client=None):
        return self.hiu.request("POST", f"/hiu/v1/consents/{artefact_id}/health-information",
                                token=self.hiu_token(client or self.doctor))

    def received(self, artefact_id, client=None):
        return self.hiu.request("GET", f"/hiu/v1/consents/{artefact_id}/health-information",
                                token=self.hiu_token(client or self.doctor))

    def wait_for_transfer(self, artefact_id, timeout_s=20):
        if os.environ.get("KAVACH_SHOW_LOGS"):  # when debugging: the HIU's log after the test
            self.addCleanup(lambda: print(self.hiu.server_log()[-6000:]))

        def done():
            reply = self.received(artefact_id)
            return reply.status == 200 and reply.json()["transfers"] and all(
                t["status"] in ("RECEIVED", "FAILED") for t in reply.json()["transfers"])
        self.assertTrue(self.wait(done, timeout_s), self.received(artefact_id).body)
        return self.received(artefact_id).json()

    @staticmethod
    def resources(received):
        return [(entry["resource"]["resourceType"], entry["resource"]["id"])
                for document in received["documents"] for entry in document["bundle"]["entry"]]

    # --- tests ---------------------------------------------------------------------------------

    def test_a_doctor_receives_exactly_the_granted_records_from_both_hospitals_until_revocation(self):
        artefacts = self.ask_and_grant()
        for hip_id, artefact_id in artefacts.items():
            started = self.fetch(artefact_id)
            self.assertEqual(started.status, 202, started.body)
            self.assertEqual(started.json()["status"], "REQUESTED")
        for hip_id, artefact_id in artefacts.items():
            received = self.wait_for_transfer(artefact_id)
            self.assertEqual([t["status"] for t in received["transfers"]], ["RECEIVED"], received)
            self.assertEqual(received["hipId"], hip_id)
            # One document (the visit's lab reports): its Composition, the patient and the result.
            self.assertEqual(len(received["documents"]), 1)
            document = received["documents"][0]
            records = self.records[hip_id]
            self.assertEqual(document["careContextReference"], records["visit"])
            bundle = document["bundle"]
            self.assertEqual(bundle["type"], "document")
            composition = bundle["entry"][0]["resource"]
            self.assertEqual(composition["type"]["coding"][0]["code"], "721981007")
            self.assertEqual(sorted(self.resources(received)), sorted([
                ("Composition", composition["id"]), ("Patient", records["patient"]),
                ("Observation", records["lab"])]))
            # The prescription was asked for but not granted: it never left the hospital.
            self.assertNotIn(records["prescription"], json.dumps(received))
        # Asha sees, through the CM, what each hospital logged about her records: the reads that
        # served this transfer, under this consent, each with its proof of inclusion.
        gathered = self.patient_api("GET", "/audit-events/providers")
        self.assertEqual(gathered.status, 200, gathered.body)
        providers = {p["hip"]["id"]: p for p in gathered.json()["providers"]}
        self.assertEqual(set(providers), set(self.hips))
        for hip_id, artefact_id in artefacts.items():
            events = [e["resource"] for e in providers[hip_id]["bundle"].get("entry", [])]
            self.assertTrue(events, providers[hip_id])
            self.assertIn(artefact_id, json.dumps(events))
        # And what the doctor's node logged about the copies it received: the pages that arrived
        # and each time Dr. Manju opened them.
        users = {u["hiu"]["id"]: u for u in gathered.json()["users"]}
        self.assertEqual(set(users), {"apollo-chennai"})
        by_consent = {c["consentId"]: c["bundle"] for c in users["apollo-chennai"]["consents"]}
        for artefact_id in artefacts.values():
            events = [e["resource"] for e in by_consent[artefact_id].get("entry", [])]
            self.assertTrue(events, by_consent[artefact_id])
            self.assertIn(self.doctor[0], json.dumps(events))  # her views, by her client
        # Only the professional the consent names sees them.
        other = self.received(artefacts["aiims-delhi"], self.other_doctor)
        self.assertEqual(other.status, 404, other.body)
        other_fetch = self.fetch(artefacts["aiims-delhi"], self.other_doctor)
        self.assertEqual(other_fetch.status, 403, other_fetch.body)

        revoked = self.cm_post(f"/cm/v1/patients/me/consent-requests/{self.request_id}/revoke", None,
                               self.patient_token)
        self.assertEqual(revoked.status, 200, revoked.body)
        # The HIU's copy is erased once it hears of the revocation, and nothing more is sent.
        for artefact_id in artefacts.values():
            self.assertTrue(self.wait(lambda: self.received(artefact_id).status == 410, 10),
                            self.received(artefact_id).body)
            again = self.fetch(artefact_id)
            self.assertEqual(again.status, 403, again.body)

    def test_a_patient_fetches_her_own_records_from_both_hospitals_encrypted_for_her_key_only(self):
        # The test plays her browser, with the web app's own Fidelius (web/src/fidelius.js).
        key = json.loads(subprocess.run(["node", FIDELIUS_TOOL, "generate"], capture_output=True,
                                        text=True, check=True).stdout)
        expiry = iso(datetime.now(timezone.utc) + timedelta(hours=1))
        asked = self.patient_api("POST", "/records-requests", {"keyMaterial": {
            "cryptoAlg": "ECDH", "curve": "Curve25519", "nonce": key["nonce"],
            "dhPublicKey": {"expiry": expiry, "parameters": "Curve25519/32byte random key",
                            "keyValue": key["publicKey"]}}})
        self.assertEqual(asked.status, 201, asked.body)
        request = asked.json()
        self.assertEqual(sorted(t["hip"]["id"] for t in request["transfers"]), sorted(self.hips))

        def status():
            return self.patient_api("GET", f"/records-requests/{request['id']}").json()

        def complete():
            return all(t["status"] == "TRANSFERRED" and len(t["pages"]) == t["pageCount"] > 0
                       for t in status()["transfers"])
        self.assertTrue(self.wait(complete, 30), status())
        pages = []
        for transfer in status()["transfers"]:
            for number in transfer["pages"]:
                page = self.patient_api(
                    "GET", f"/records-requests/{request['id']}/transfers/{transfer['transactionId']}"
                           f"/pages/{number}")
                self.assertEqual(page.status, 200, page.body)
                # Ciphertext only, link entries (KEM sends every document as one) fetched inline.
                self.assertNotRegex(page.body, "HbA1c|Metformin|Asha|4548-4")
                self.assertTrue(all("content" in e and "link" not in e for e in page.json()["entries"]))
                pages.append(page.json())
        opened = subprocess.run(["node", FIDELIUS_TOOL, "open"], capture_output=True, text=True,
                                input=json.dumps({"privateKey": key["privateKey"], "nonce": key["nonce"],
                                                  "pages": pages}))
        self.assertEqual(opened.returncode, 0, opened.stderr)
        resources = {(entry["resource"]["resourceType"], entry["resource"]["id"])
                     for text in json.loads(opened.stdout) for entry in json.loads(text)["entry"]}
        for records in self.records.values():
            self.assertIn(("Observation", records["lab"]), resources)
            self.assertIn(("MedicationRequest", records["prescription"]), resources)
        # Without her session, nothing.
        stranger = self.cm.request("GET", f"/cm/v1/patients/me/records-requests/{request['id']}",
                                   token=None)
        self.assertEqual(stranger.status, 401)

    def test_a_doctor_finds_asks_and_breaks_the_glass_through_their_own_node(self):
        """The desk the web app's clinician screens use: the doctor's node (not the hospital's
        software) speaks to the CM for them, in signed ABDM messages that the recording proxy
        checks against ABDM's schemas (patients/find, consent-requests/init)."""
        token = self.hiu_token(self.doctor)
        found = self.hiu.request("GET", "/hiu/v1/patients/asha.devi@sbx", token=token)
        self.assertEqual(found.status, 200, found.body)
        self.assertEqual(found.json(), {"id": "asha.devi@sbx", "name": "Asha Devi"})
        unknown = self.hiu.request("GET", "/hiu/v1/patients/nobody@sbx", token=token)
        self.assertEqual(unknown.status, 404, unknown.body)
        now = datetime.now(timezone.utc)
        asked = self.hiu.request("POST", "/hiu/v1/consent-requests", token=token,
                                 headers={"Content-Type": "application/json"}, body={
                                     "patient": {"id": "asha.devi@sbx"}, "purpose": {"code": "CAREMGT"},
                                     "hiTypes": ["DiagnosticReport", "Prescription"],
                                     "dateRange": {"from": iso(now - timedelta(days=365)), "to": iso(now)},
                                     "dataEraseAt": iso(now + timedelta(days=7))})
        self.assertEqual(asked.status, 201, asked.body)
        request_id = asked.json()["id"]
        self.assertEqual(asked.json()["status"], "REQUESTED")
        # Asha sees it from Dr. Manju of Apollo and grants lab reports from AIIMS only.
        inbox = self.patient_api("GET", "/consent-requests").json()["requests"]
        mine = [r for r in inbox if r["id"] == request_id]
        self.assertEqual(len(mine), 1)
        self.assertIn("Dr. Manju of Apollo Chennai", mine[0]["summary"])
        granted = self.patient_api("POST", f"/consent-requests/{request_id}/grant",
                                   {"hiTypes": ["DiagnosticReport"], "hips": ["aiims-delhi"]})
        self.assertEqual(granted.status, 200, granted.body)

        def listed():
            reply = self.hiu.request("GET", "/hiu/v1/consent-requests", token=token)
            self.assertEqual(reply.status, 200, reply.body)
            return {r["id"]: r for r in reply.json()["requests"]}
        self.assertTrue(self.wait(lambda: listed()[request_id]["status"] == "GRANTED", 10), listed())
        artefact_id = listed()[request_id]["consentArtefacts"][0]["id"]
        self.assertEqual(self.fetch(artefact_id).status, 202)
        received = self.wait_for_transfer(artefact_id)
        self.assertIn(("Observation", self.records["aiims-delhi"]["lab"]), self.resources(received))
        # Another doctor of the same hospital sees none of it, and a client that is no
        # professional has no desk.
        other = self.hiu.request("GET", "/hiu/v1/consent-requests", token=self.hiu_token(self.other_doctor))
        self.assertEqual(other.json()["requests"], [])
        it = self.hiu.request("GET", "/hiu/v1/consent-requests", token=self.hiu_token(self.hiu_it))
        self.assertEqual(it.status, 403, it.body)

        emergency = self.hiu.request("POST", "/hiu/v1/break-glass", token=token,
                                     headers={"Content-Type": "application/json"}, body={
                                         "patient": {"id": "asha.devi@sbx"}, "hip": {"id": "kem-mumbai"},
                                         "reason": "Unconscious in casualty, no family present",
                                         "durationMinutes": 30})
        self.assertEqual(emergency.status, 201, emergency.body)
        self.assertTrue(emergency.json()["breakGlass"])
        self.assertEqual(emergency.json()["status"], "GRANTED")
        artefact_id = emergency.json()["consentArtefacts"][0]["id"]
        self.assertEqual(self.fetch(artefact_id).status, 202)
        received = self.wait_for_transfer(artefact_id)
        # Every record type: the prescription too.
        self.assertIn(("MedicationRequest", self.records["kem-mumbai"]["prescription"]),
                      self.resources(received))

    def test_the_copy_is_erased_at_data_erase_at(self):
        # Long enough for the transfer to land first on a loaded 2-core CI machine (8 s was not:
        # the copy was erased before the test saw it), short enough to wait for.
        artefacts = self.ask_and_grant(erase_in=timedelta(seconds=20))
        artefact_id = artefacts["kem-mumbai"]
        self.assertEqual(self.fetch(artefact_id).status, 202)
        received = self.wait_for_transfer(artefact_id)
        self.assertEqual(len(received["documents"]), 1)
        self.assertTrue(self.wait(lambda: self.received(artefact_id).status == 410, 40))
        self.assertIn("erased", self.received(artefact_id).json()["issue"][0]["diagnostics"])

    def test_a_hospital_killed_mid_transfer_resumes_and_delivers_every_page_once(self):
        artefacts = self.ask_and_grant()
        artefact_id = artefacts["aiims-delhi"]
        hip = self.hips["aiims-delhi"]
        # The HIU goes down just after asking: the HIP's pushes fail and wait to be retried ...
        self.hiu.kill()
        self.hiu.start(listen=self.hiu.listen)
        self.assertEqual(self.fetch(artefact_id).status, 202)
        self.hiu.kill()
        time.sleep(1.5)
        # ... the HIP is killed outright with the page still queued, and comes back ...
        hip.kill()
        hip.start(listen=hip.listen)
        self.hiu.start(listen=self.hiu.listen)
        # ... and the transfer completes, each page exactly once.
        received = self.wait_for_transfer(artefact_id, timeout_s=60)
        self.assertEqual([t["status"] for t in received["transfers"]], ["RECEIVED"], received)
        ids = self.resources(received)
        self.assertEqual(len(ids), len(set(ids)))
        self.assertIn(("Observation", self.records["aiims-delhi"]["lab"]), ids)

    def test_linking_is_listed_and_strangers_are_not_found(self):
        links = self.patient_api("GET", "/links")
        self.assertEqual(links.status, 200, links.body)
        listed = {link["hip"]["id"]: link for link in links.json()["links"]}
        self.assertEqual(set(listed), set(self.hips))
        self.assertEqual([c["referenceNumber"] for c in listed["kem-mumbai"]["careContexts"]],
                         [self.records["kem-mumbai"]["visit"]])
        # The HIP now carries her ABHA address, which consents are matched on.
        hip = self.hips["aiims-delhi"]
        patient = hip.request("GET", f"/fhir/R4/Patient/{self.records['aiims-delhi']['patient']}",
                              token=hip.token()).json()
        self.assertIn({"system": ABHA_ADDRESS, "value": "asha.devi@sbx"}, patient["identifier"])
        # A new visit at a hospital she linked reaches her list without her asking (links/context/notify).
        hip = self.hips["kem-mumbai"]
        visit = hip.request("POST", "/fhir/R4/Encounter", token=hip.token(), body={
            "resourceType": "Encounter", "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "subject": {"reference": f"Patient/{self.records['kem-mumbai']['patient']}"},
            "period": {"start": iso(datetime.now(timezone.utc))}})
        self.assertEqual(visit.status, 201, visit.body)

        def kem_visits():
            links = self.patient_api("GET", "/links").json()["links"]
            return {c["referenceNumber"] for link in links if link["hip"]["id"] == "kem-mumbai"
                    for c in link["careContexts"]}
        self.assertTrue(self.wait(lambda: visit.json()["id"] in kem_visits(), 15), kem_visits())
        # A patient the hospital does not know is told so; a wrong code does not link.
        started = self.cm_post("/cm/v1/enrolment", {"name": "Ravi Kumar", "yearOfBirth": 1970, "gender": "M",
                                                   "mobile": "9123456780", "abhaAddress": "ravi.k"}, False)
        confirmed = self.cm_post("/cm/v1/enrolment/confirm",
                                 {"ticket": started.json()["ticket"], "code": self.last_code("9123456780")},
                                 False)
        self.assertEqual(confirmed.status, 201, confirmed.body)
        ticket = self.cm_post("/cm/v1/sessions/otp", {"healthId": "ravi.k@sbx"}, False).json()["ticket"]
        self.patient_token = self.cm_post("/cm/v1/sessions/otp/confirm",
                                          {"ticket": ticket, "code": self.last_code("9123456780")},
                                          False).json()["token"]
        found = self.discover("aiims-delhi")
        self.assertEqual(found["status"], "NOT_FOUND", found)
        self.assertIn("no patient", found["error"])
        # HIP-initiated linking: the desk records Ravi's ABHA address, hospital IT proposes his
        # visits to the CM, and they are linked once he accepts in his app.
        hip = self.hips["aiims-delhi"]
        ravi = hip.request("POST", "/fhir/R4/Patient", token=hip.token(), body={
            "resourceType": "Patient", "name": [{"text": "Ravi Kumar"}],
            "identifier": [{"system": ABHA_ADDRESS, "value": "ravi.k@sbx"}]}).json()["id"]
        visit = hip.request("POST", "/fhir/R4/Encounter", token=hip.token(), body={
            "resourceType": "Encounter", "status": "finished", "class": {"code": "AMB"},
            "subject": {"reference": f"Patient/{ravi}"},
            "period": {"start": iso(datetime.now(timezone.utc))}}).json()["id"]
        it = hip.fetch_token(*hip.add_client("AIIMS IT", "kavach/admin")).json()["access_token"]
        proposed = hip.request("POST", f"/hip/v1/patients/{ravi}/link-proposals", token=it)
        self.assertEqual(proposed.status, 202, proposed.body)
        self.assertTrue(self.wait(lambda: self.patient_api("GET", "/link-proposals").json()["proposals"], 10))
        proposal = self.patient_api("GET", "/link-proposals").json()["proposals"][0]
        self.assertEqual([c["referenceNumber"] for c in proposal["patient"]["careContexts"]], [visit])
        self.assertEqual(self.patient_api("GET", "/links").json()["links"], [])
        accepted = self.patient_api("POST", f"/link-proposals/{proposal['transactionId']}/accept")
        self.assertEqual(accepted.status, 200, accepted.body)
        self.assertEqual([link["hip"]["id"] for link in self.patient_api("GET", "/links").json()["links"]],
                         ["aiims-delhi"])

    def test_requests_the_artefact_does_not_allow_are_refused(self):
        artefacts = self.ask_and_grant()
        artefact_id = artefacts["aiims-delhi"]
        now = datetime.now(timezone.utc)
        # A push URL that is not the HIU's registered callback (no server-side request forgery).
        body = {"requestId": str(uuid.uuid4()), "timestamp": iso(now), "hiRequest": {
            "consent": {"id": artefact_id},
            "dateRange": {"from": iso(now - timedelta(days=30)), "to": iso(now - timedelta(days=1))},
            "dataPushUrl": "http://127.0.0.1:1/steal",
            "keyMaterial": {"cryptoAlg": "ECDH", "curve": "Curve25519", "dhPublicKey": {
                "expiry": iso(now + timedelta(hours=1)), "parameters": "Curve25519/32byte random key",
                "keyValue": "BAheD5rUqTy4V5xR4/6HWmYpopu5CO+KO8BECS0udNqUTSNo91TIqIIy1A4Vh+F94c+n9vAcwXU2bGcfsI5f69Y="},
                "nonce": "pk5xT1Xk+KUlf/LC1LZawKECPNvOvIzhZNEyIdh7oJE="}}}
        refused = self.cm_post("/v0.5/health-information/cm/request", body, self.hiu_cm_token)
        self.assertEqual(refused.status, 400, refused.body)
        self.assertIn("dataPushUrl", refused.json()["error"]["message"])
        # Dates outside the grant.
        body = json.loads(json.dumps(body))
        body["requestId"] = str(uuid.uuid4())
        body["hiRequest"]["dataPushUrl"] = f"{self.hiu.proxy.url()}/v0.5/health-information/transfer"
        body["hiRequest"]["dateRange"]["from"] = iso(now - timedelta(days=3650))
        refused = self.cm_post("/v0.5/health-information/cm/request", body, self.hiu_cm_token)
        self.assertEqual(refused.status, 403, refused.body)
        # A page for a transaction the HIU never started.
        stray = self.hiu.request("POST", "/v0.5/health-information/transfer", token=False, body={
            "pageNumber": 1, "pageCount": 1, "transactionId": str(uuid.uuid4()),
            "entries": [{"content": "AAAA", "media": "application/fhir+json", "checksum": "x",
                         "careContextReference": "v"}],
            "keyMaterial": body["hiRequest"]["keyMaterial"]})
        self.assertEqual(stray.status, 404, stray.body)
        # A data request not signed by the CM is refused at the HIP.
        forged = self.hips["aiims-delhi"].request("POST", "/v0.5/health-information/hip/request", token=False,
                                                 body={"requestId": str(uuid.uuid4()), "timestamp": iso(now),
                                                       "transactionId": str(uuid.uuid4()),
                                                       "hiRequest": body["hiRequest"]})
        self.assertEqual(forged.status, 401, forged.body)
        # A HIP gives a patient's access log only to its CM, signed.
        unsigned = self.hips["aiims-delhi"].request(
            "POST", "/hip/v1/patient-audit-events", token=False,
            body={"requestId": str(uuid.uuid4()), "timestamp": iso(now),
                  "patient": {"id": "asha.devi@sbx", "referenceNumber": self.records["aiims-delhi"]["patient"]}})
        self.assertEqual(unsigned.status, 401, unsigned.body)
        # A message addressed to another HIP (ABDM's X-HIP-ID) is refused as such.
        misrouted = self.hips["aiims-delhi"].request(
            "POST", "/v0.5/health-information/hip/request", token=False,
            headers={"X-HIP-ID": "kem-mumbai"}, body={"transactionId": str(uuid.uuid4())})
        self.assertEqual(misrouted.status, 404, misrouted.body)
        self.assertIn("kem-mumbai", misrouted.json()["issue"][0]["diagnostics"])


if __name__ == "__main__":
    unittest.main()
