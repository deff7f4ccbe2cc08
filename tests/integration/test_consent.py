"""The consent manager end to end, with real processes: a CM node and a HIP node on loopback.

A patient enrols with a one-time code (read from the CM's SMS outbox file), an HIU asks for consent
through ABDM's consent-requests/init, the patient grants a narrowed version, the HIP receives the
signed artefact through the CM's outbox, and a revocation reaches the HIP within a second. Error
cases answer with clear messages. A HIP that is down when a consent is granted receives it when it
comes back.
"""
import json
import ssl
import subprocess
import tempfile
import os
import socket
import time
import unittest
import uuid
from datetime import datetime, timedelta, timezone

from kavach_harness import LoopbackServer, NodeTestCase, QuietHandler, run_cli


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TestCa:
    """A throw-away certificate authority for nodes' server and client certificates."""

    def __init__(self):
        self._dir = tempfile.TemporaryDirectory(prefix="kavach-ca-")
        self.cert = os.path.join(self._dir.name, "ca.pem")
        self.key = os.path.join(self._dir.name, "ca.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-days", "1", "-subj", "/CN=Kavach test CA", "-keyout", self.key,
                        "-out", self.cert], check=True, capture_output=True)
        # The test itself calls the nodes as another node would, with a certificate of its own.
        self.client_cert, self.client_key = issue_certificate(self, self._dir.name, "test-client")

    def client_context(self, with_certificate=True):
        context = ssl.create_default_context(cafile=self.cert)
        if with_certificate:
            context.load_cert_chain(self.client_cert, self.client_key)
        return context

    def close(self):
        self._dir.cleanup()


def issue_certificate(ca, directory, name):
    """A certificate for 127.0.0.1 signed by `ca`, good for TLS servers and clients."""
    cert, key, csr = (os.path.join(directory, f"{name}.{ext}") for ext in ("pem", "key", "csr"))
    extensions = os.path.join(directory, f"{name}.ext")
    with open(extensions, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n")
    subprocess.run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-subj", "/CN=127.0.0.1", "-keyout", key, "-out", csr], check=True, capture_output=True)
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key,
                    "-CAcreateserial", "-days", "1", "-extfile", extensions, "-out", cert],
                   check=True, capture_output=True)
    return cert, key


class Receiver(LoopbackServer):
    """An HIU's callback endpoint: keeps every notice it is sent."""

    def __init__(self):
        self.notices = []

        class Handler(QuietHandler):
            def do_POST(handler):
                body = handler.rfile.read(int(handler.headers["Content-Length"]))
                self.notices.append((handler.path, json.loads(body),
                                     handler.headers.get("X-Kavach-Signature")))
                handler.send_response(202)
                handler.send_header("Content-Length", "0")
                handler.end_headers()

        super().__init__(Handler)


class ConsentTest(NodeTestCase):
    # Subclasses set this to run the same tests with mutual TLS between the nodes.
    mutual_tls = False

    def tls_config(self, node):
        """[tls] for a node with its own certificate from the test CA, which it also presents as a
        client, and which it requires of other nodes; "" without mutual TLS."""
        if not self.mutual_tls:
            return ""
        cert, key = issue_certificate(self.ca, node.root, "tls")
        node.tls_context = self.ca.client_context()
        return (f'[tls]\ncert = "{cert}"\nkey = "{key}"\nclient_ca = "{self.ca.cert}"\n'
                f'client_cert = "{cert}"\nclient_key = "{key}"\n')

    def setUp(self):
        self.scheme = "https" if self.mutual_tls else "http"
        if self.mutual_tls:
            self.ca = TestCa()
            self.addCleanup(self.ca.close)
        self.hiu = Receiver()
        self.addCleanup(self.hiu.shutdown)
        self.cm = self.make_node()
        ca_file = f'ca_file = "{self.ca.cert}"\n' if self.mutual_tls else ""
        self.cm.config_text = (f'roles = ["cm"]\n{self.tls_config(self.cm)}'
                               f'[consent]\ncm_id = "sbx"\n{ca_file}')
        self.admin_id, self.admin_secret = self.cm.add_client("hospital IT", "kavach/admin")
        cm_key = self.cm_key = [line.split()[1] for line in
                  run_cli("consent", "key", *self.cm.node_args()).stdout.splitlines()
                  if line.startswith("cm_key:")][0]
        self.cm.start()
        self.hip_port = free_port()
        self.hip = self.make_node()
        self.hip.config_text = (
            f'roles = ["hip"]\n{self.tls_config(self.hip)}[consent]\nfacility_id = "aiims-delhi"\n'
            f'cm_key = "{cm_key}"\ncm_url = "{self.scheme}://127.0.0.1:{self.cm.port}"\n{ca_file}')
        self.hip_admin_id, self.hip_admin_secret = self.hip.add_client("HIP IT", "kavach/admin")
        self.hip.start(listen=f"127.0.0.1:{self.hip_port}")
        self.hip_admin_token = self.hip.fetch_token(self.hip_admin_id,
                                                    self.hip_admin_secret).json()["access_token"]
        args = self.cm.node_args()
        run_cli("registry", "facility", "add", *args, "--id", "aiims-delhi", "--name", "AIIMS New Delhi",
                "--roles", "hip", "--callback-url", f"{self.scheme}://127.0.0.1:{self.hip_port}")
        hiu = json.loads(run_cli("registry", "facility", "add", *args, "--id", "apollo-chennai",
                                 "--name", "Apollo Chennai", "--roles", "hiu", "--callback-url",
                                 self.hiu.url(), "--with-client", "--json").stdout)
        run_cli("registry", "professional", "add", *args, "--id", "dr-manju", "--name", "Dr. Manju",
                "--facility", "apollo-chennai", "--registration", "MH1001")
        self.hiu_client = hiu
        self.hiu_token = self.cm.fetch_token(hiu["client_id"], hiu["client_secret"]).json()["access_token"]
        self.patient_token = self.enrol_and_sign_in()

    # --- helpers -------------------------------------------------------------------------------

    def last_code(self, mobile):
        with open(os.path.join(self.cm.data_dir, "notifications.jsonl")) as f:
            notices = [json.loads(line) for line in f if line.strip()]
        text = [n for n in notices if n["to"] == mobile][-1]["text"]
        return next(word for word in text.split() if word.isdigit() and len(word) == 6)

    @staticmethod
    def abdm(body):
        """An ABDM message: a fresh requestId and the current timestamp."""
        return dict(body, requestId=str(uuid.uuid4()), timestamp=iso(datetime.now(timezone.utc)))

    def post(self, path, body, token):
        return self.cm.request("POST", path, body=body, token=token,
                               headers={"Content-Type": "application/json"})

    def enrol_and_sign_in(self):
        started = self.post("/cm/v1/enrolment", {"name": "Asha Devi", "yearOfBirth": 1985, "gender": "F",
                                                "mobile": "9876543210", "abhaAddress": "asha.devi"}, False)
        self.assertEqual(started.status, 202, started.body)
        confirmed = self.post("/cm/v1/enrolment/confirm",
                              {"ticket": started.json()["ticket"], "code": self.last_code("9876543210")}, False)
        self.assertEqual(confirmed.status, 201, confirmed.body)
        self.account = confirmed.json()
        self.assertEqual(self.account["abhaAddress"], "asha.devi@sbx")
        ticket = self.post("/cm/v1/sessions/otp", {"healthId": "asha.devi@sbx"}, False).json()["ticket"]
        session = self.post("/cm/v1/sessions/otp/confirm",
                            {"ticket": ticket, "code": self.last_code("9876543210")}, False)
        self.assertEqual(session.status, 201, session.body)
        return session.json()["token"]

    def ask(self, hi_types=("Prescription", "DiagnosticReport"), request_id=None):
        now = datetime.now(timezone.utc)
        body = {"requestId": request_id or str(uuid.uuid4()), "timestamp": iso(now), "consent": {
            "purpose": {"text": "Care Management", "code": "CAREMGT"},
            "patient": {"id": "asha.devi@sbx"},
            "hip": {"id": "aiims-delhi"},
            "hiu": {"id": "apollo-chennai"},
            "requester": {"name": "Dr. Manju", "identifier": {"type": "REGNO", "value": "MH1001"}},
            "hiTypes": list(hi_types),
            "permission": {"accessMode": "VIEW",
                           "dateRange": {"from": iso(now - timedelta(days=365)), "to": iso(now)},
                           "dataEraseAt": iso(now + timedelta(days=30)),
                           "frequency": {"unit": "HOUR", "value": 1, "repeats": 0}}}}
        reply = self.post("/v0.5/consent-requests/init", body, self.hiu_token)
        reply.request_body = json.dumps(body)
        return reply

    def hip_lab_result(self):
        """Asha at the HIP (by her ABHA address) with one lab result from two days ago; its id."""
        hmis = self.hip.token()
        patient = self.hip.request("POST", "/fhir/R4/Patient", token=hmis, body={
            "resourceType": "Patient",
            "identifier": [{"system": "https://healthid.ndhm.gov.in/abha-address", "value": "asha.devi@sbx"}]})
        self.assertEqual(patient.status, 201, patient.body)
        lab = self.hip.request("POST", "/fhir/R4/Observation", token=hmis, body={
            "resourceType": "Observation", "status": "final", "code": {"text": "HbA1c"},
            "category": [{"coding": [{"code": "laboratory"}]}],
            "subject": {"reference": f"Patient/{patient.json()['id']}"},
            "effectiveDateTime": iso(datetime.now(timezone.utc) - timedelta(days=2))})
        self.assertEqual(lab.status, 201, lab.body)
        return lab.json()["id"]

    def hip_consent(self, consent_id):
        return self.hip.request("GET", f"/hip/v1/consents/{consent_id}", token=self.hip_admin_token)

    def wait_for_hip_status(self, consent_id, status, timeout_s):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            held = self.hip_consent(consent_id)
            if held.status == 200 and held.json()["status"] == status:
                return True
            time.sleep(0.02)
        return False

    # --- tests ---------------------------------------------------------------------------------

    def test_grant_reaches_the_hip_and_revocation_takes_effect_within_a_second(self):
        asked = self.ask()
        self.assertEqual(asked.status, 202, asked.body)
        request_id = asked.json()["consentRequest"]["id"]
        listed = self.cm.request("GET", "/cm/v1/patients/me/consent-requests", token=self.patient_token)
        self.assertEqual(listed.status, 200, listed.body)
        pending = listed.json()["requests"][0]
        self.assertEqual(pending["status"], "REQUESTED")
        self.assertIn("Dr. Manju of Apollo Chennai asks to view your prescriptions", pending["summary"])

        widened = self.post(f"/cm/v1/patients/me/consent-requests/{request_id}/grant",
                            {"hiTypes": ["OPConsultation"]}, self.patient_token)
        self.assertEqual(widened.status, 422, widened.body)
        self.assertIn("cannot add HI types", widened.body)

        granted = self.post(f"/cm/v1/patients/me/consent-requests/{request_id}/grant",
                            {"hiTypes": ["DiagnosticReport"]}, self.patient_token)
        self.assertEqual(granted.status, 200, granted.body)
        consent_id = granted.json()["consentArtefacts"][0]
        self.assertTrue(self.wait_for_hip_status(consent_id, "GRANTED", 10), self.cm.server_log())
        held = self.hip_consent(consent_id).json()
        self.assertEqual(held["consentDetail"]["hiTypes"], ["DiagnosticReport"])
        self.assertEqual(held["consentDetail"]["patient"]["id"], "asha.devi@sbx")

        # The HIU was told, with signed bodies, and can fetch the artefact.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(p.endswith("/hiu/notify") for p, _, _ in self.hiu.notices):
            time.sleep(0.02)
        paths = [path for path, _, _ in self.hiu.notices]
        self.assertIn("/v0.5/consent-requests/on-init", paths)
        self.assertIn("/v0.5/consents/hiu/notify", paths)
        self.assertTrue(all(signature for _, _, signature in self.hiu.notices))
        fetched = self.post("/v0.5/consents/fetch", self.abdm({"consentId": consent_id}), self.hiu_token)
        self.assertEqual(fetched.status, 202, fetched.body)
        self.assertEqual(fetched.json()["consent"]["status"], "GRANTED")

        started = time.monotonic()
        revoked = self.post(f"/cm/v1/patients/me/consent-requests/{request_id}/revoke", None,
                            self.patient_token)
        self.assertEqual(revoked.status, 200, revoked.body)
        self.assertTrue(self.wait_for_hip_status(consent_id, "REVOKED", 1.0),
                        "the revocation did not reach the HIP within one second")
        self.assertLess(time.monotonic() - started, 1.0)

    def test_a_doctor_reads_consented_records_at_the_hip_until_revocation(self):
        # The HIP's own records for Asha, written by its HMIS, and the HIU's client at the HIP.
        hmis = self.hip.token()
        patient = self.hip.request("POST", "/fhir/R4/Patient", token=hmis, body={
            "resourceType": "Patient", "name": [{"family": "Devi"}],
            "identifier": [{"system": "https://healthid.ndhm.gov.in/abha-address", "value": "asha.devi@sbx"}]})
        self.assertEqual(patient.status, 201, patient.body)
        patient_id = patient.json()["id"]
        now = datetime.now(timezone.utc)

        def observation(category, when):
            reply = self.hip.request("POST", "/fhir/R4/Observation", token=hmis, body={
                "resourceType": "Observation", "status": "final", "code": {"text": "HbA1c"},
                "category": [{"coding": [{"code": category}]}],
                "subject": {"reference": f"Patient/{patient_id}"}, "effectiveDateTime": iso(when)})
            self.assertEqual(reply.status, 201, reply.body)
            return reply.json()["id"]

        labs = [observation("laboratory", now - timedelta(days=i + 1)) for i in range(30)]
        vitals = observation("vital-signs", now - timedelta(days=3))
        hiu_id, hiu_secret = self.hip.add_client("Apollo at AIIMS", "abdm/hiu facility:apollo-chennai")
        doctor = self.hip.fetch_token(hiu_id, hiu_secret).json()["access_token"]

        asked = self.ask()
        request_id = asked.json()["consentRequest"]["id"]
        granted = self.post(f"/cm/v1/patients/me/consent-requests/{request_id}/grant",
                            {"hiTypes": ["DiagnosticReport"]}, self.patient_token)
        consent_id = granted.json()["consentArtefacts"][0]
        self.assertTrue(self.wait_for_hip_status(consent_id, "GRANTED", 10))

        def read(path):
            return self.hip.request("GET", path, token=doctor, headers={"X-Kavach-Consent": consent_id})

        self.assertEqual(read(f"/fhir/R4/Observation/{labs[0]}").status, 200)
        self.assertEqual(read(f"/fhir/R4/Observation/{vitals}").status, 404)  # not a granted type
        self.assertEqual(self.hip.request("GET", f"/fhir/R4/Observation/{labs[0]}", token=doctor).status, 403)
        page = read(f"/fhir/R4/Observation?patient=Patient/{patient_id}&_count=50")
        self.assertEqual(page.status, 200, page.body)
        served = {entry["resource"]["id"] for entry in page.json().get("entry", [])}
        self.assertEqual(served, set(labs))

        # Revoke while the doctor pages through the records: reads stop within a second.
        pages_before = 0
        next_url = f"/fhir/R4/Observation?patient=Patient/{patient_id}&_count=2"
        while pages_before < 3:
            reply = read(next_url)
            self.assertEqual(reply.status, 200, reply.body)
            links = {link["relation"]: link["url"] for link in reply.json().get("link", [])}
            next_url = links["next"][links["next"].index("/fhir/R4"):]
            pages_before += 1
        revoked_at = time.monotonic()
        revoked = self.post(f"/cm/v1/patients/me/consent-requests/{request_id}/revoke", None,
                            self.patient_token)
        self.assertEqual(revoked.status, 200, revoked.body)
        stopped = None
        while time.monotonic() - revoked_at < 5:
            reply = read(next_url)
            if reply.status == 403:
                stopped = time.monotonic() - revoked_at
                break
            self.assertEqual(reply.status, 200, reply.body)
        self.assertIsNotNone(stopped, "reads continued after the revocation")
        self.assertLess(stopped, 1.0)
        self.assertIn("not granted", read(f"/fhir/R4/Observation/{labs[0]}").body)

    def test_break_the_glass_opens_records_and_tells_the_patient(self):
        hmis = self.hip.token()
        patient = self.hip.request("POST", "/fhir/R4/Patient", token=hmis, body={
            "resourceType": "Patient",
            "identifier": [{"system": "https://healthid.ndhm.gov.in/abha-address", "value": "asha.devi@sbx"}]})
        patient_id = patient.json()["id"]
        allergy = self.hip.request("POST", "/fhir/R4/AllergyIntolerance", token=hmis, body={
            "resourceType": "AllergyIntolerance", "patient": {"reference": f"Patient/{patient_id}"},
            "code": {"text": "Penicillin"}, "recordedDate": "2020-05-01T10:00:00Z"})
        self.assertEqual(allergy.status, 201, allergy.body)
        hiu_id, hiu_secret = self.hip.add_client("Apollo at AIIMS", "abdm/hiu facility:apollo-chennai")
        doctor = self.hip.fetch_token(hiu_id, hiu_secret).json()["access_token"]

        no_reason = self.post("/v0.5/break-glass", self.abdm({
            "patient": {"id": "asha.devi@sbx"}, "hip": {"id": "aiims-delhi"}, "reason": "now",
            "requester": {"name": "Dr. Manju", "identifier": {"type": "REGNO", "value": "MH1001"}}}),
            self.hiu_token)
        self.assertEqual(no_reason.status, 400, no_reason.body)
        self.assertIn("reason", no_reason.json()["error"]["message"])
        opened = self.post("/v0.5/break-glass", self.abdm({
            "patient": {"id": "asha.devi@sbx"}, "hip": {"id": "aiims-delhi"},
            "reason": "Unconscious after a road accident; checking allergies", "durationMinutes": 60,
            "requester": {"name": "Dr. Manju", "identifier": {"type": "REGNO", "value": "MH1001"}}}),
            self.hiu_token)
        self.assertEqual(opened.status, 201, opened.body)
        consent_id = opened.json()["consentArtefacts"][0]["id"]
        with open(os.path.join(self.cm.data_dir, "notifications.jsonl")) as f:
            last = [json.loads(line) for line in f if line.strip()][-1]
        self.assertEqual(last["to"], "9876543210")
        self.assertIn("EMERGENCY ACCESS", last["text"])
        self.assertTrue(self.wait_for_hip_status(consent_id, "GRANTED", 10))
        read = self.hip.request("GET", f"/fhir/R4/AllergyIntolerance/{allergy.json()['id']}", token=doctor,
                                headers={"X-Kavach-Consent": consent_id})
        self.assertEqual(read.status, 200, read.body)
        self.assertIn("Penicillin", read.body)
        # The patient's access log at the CM shows the emergency access, tagged for review, with
        # inclusion proofs once checkpointed; a stranger cannot read it.
        deadline = time.monotonic() + 5
        while True:
            log = self.cm.request("GET", "/cm/v1/patients/me/audit-events?_count=200", token=self.patient_token)
            self.assertEqual(log.status, 200, log.body)
            events = [e["resource"] for e in log.json()["entry"]]
            flagged = [e for e in events if e.get("meta", {}).get("tag", [{}])[0].get("code") == "break-the-glass"]
            if flagged and all("extension" in e for e in flagged) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertTrue(flagged)
        self.assertTrue(all("extension" in e for e in flagged), "no inclusion proof after 5 s")
        other = self.cm.request("GET", f"/cm/v1/patients/{self.account['abhaNumber'].replace('-', '')}/audit-events",
                                token="kps1.forged")
        self.assertEqual(other.status, 401)

    def test_a_revocation_made_while_the_hip_was_down_holds_before_any_data_leaves(self):
        lab = self.hip_lab_result()
        hiu_id, hiu_secret = self.hip.add_client("Apollo at AIIMS", "abdm/hiu facility:apollo-chennai")
        doctor = self.hip.fetch_token(hiu_id, hiu_secret).json()["access_token"]
        request_id = self.ask().json()["consentRequest"]["id"]
        consent_id = self.post(f"/cm/v1/patients/me/consent-requests/{request_id}/grant", {},
                               self.patient_token).json()["consentArtefacts"][0]
        self.assertTrue(self.wait_for_hip_status(consent_id, "GRANTED", 10))
        self.hip.stop()
        revoked = self.post(f"/cm/v1/patients/me/consent-requests/{request_id}/revoke", None,
                            self.patient_token)
        self.assertEqual(revoked.status, 200, revoked.body)
        time.sleep(4.0)  # the notice fails and backs off: its next try is seconds after the restart
        self.hip.start(listen=f"127.0.0.1:{self.hip_port}")
        # At once after the restart, before the CM's retry can arrive: nothing leaves.
        read = self.hip.request("GET", f"/fhir/R4/Observation/{lab}", token=doctor,
                                headers={"X-Kavach-Consent": consent_id})
        self.assertEqual(read.status, 403, read.body)
        self.assertIn("not granted", read.body)

    def test_a_hip_that_was_down_receives_the_grant_when_it_returns(self):
        self.hip.stop()
        asked = self.ask(request_id="while-down")
        request_id = asked.json()["consentRequest"]["id"]
        granted = self.post(f"/cm/v1/patients/me/consent-requests/{request_id}/grant", {}, self.patient_token)
        self.assertEqual(granted.status, 200, granted.body)
        consent_id = granted.json()["consentArtefacts"][0]
        time.sleep(1.5)  # the CM tries and backs off
        self.hip.start(listen=f"127.0.0.1:{self.hip_port}")
        self.assertTrue(self.wait_for_hip_status(consent_id, "GRANTED", 30), self.cm.server_log())

    def test_errors_are_clear(self):
        # A wrong one-time code says how many tries are left.
        ticket = self.post("/cm/v1/sessions/otp", {"healthId": "asha.devi@sbx"}, False).json()["ticket"]
        code = self.last_code("9876543210")
        wrong = self.post("/cm/v1/sessions/otp/confirm",
                          {"ticket": ticket, "code": "000000" if code != "000000" else "111111"}, False)
        self.assertOperationOutcome(wrong, 401)
        self.assertIn("2 tries left", wrong.body)
        # A typo in a health ID is caught by its check digit.
        digits = self.account["abhaNumber"].replace("-", "")
        typo = digits[:-1] + str((int(digits[-1]) + 1) % 10)
        typo_reply = self.post("/cm/v1/sessions/otp", {"healthId": typo}, False)
        self.assertOperationOutcome(typo_reply, 400)
        self.assertIn("check digit", typo_reply.body)
        # Patient routes need a session; HIU routes need an HIU client.
        self.assertEqual(self.cm.request("GET", "/cm/v1/me", token=False).status, 401)
        self.assertEqual(self.cm.request("GET", "/cm/v1/me", token="kps1.forged").status, 401)
        not_hiu = self.post("/v0.5/consent-requests/init", {"requestId": "x"}, self.cm.token())
        self.assertEqual(not_hiu.status, 403, not_hiu.body)
        self.assertIn("error", not_hiu.json())
        # A locked ID receives no new requests.
        self.assertEqual(self.post("/cm/v1/me/lock", None, self.patient_token).status, 200)
        locked = self.ask()
        self.assertEqual(locked.status, 403, locked.body)
        self.assertIn("locked", locked.json()["error"]["message"])
        self.assertEqual(self.post("/cm/v1/me/unlock", None, self.patient_token).status, 200)
        self.assertEqual(self.ask().status, 202)
        # A requestId is used once, and a stale timestamp is refused.
        once = self.ask(request_id=str(uuid.uuid4()))
        self.assertEqual(once.status, 202, once.body)
        replayed = self.post("/v0.5/consent-requests/init", json.loads(once.request_body), self.hiu_token)
        self.assertEqual(replayed.status, 409, replayed.body)
        stale = json.loads(once.request_body)
        stale.update(requestId=str(uuid.uuid4()), timestamp=iso(datetime.now(timezone.utc) - timedelta(minutes=5)))
        self.assertEqual(self.post("/v0.5/consent-requests/init", stale, self.hiu_token).status, 401)
        # A malformed consent names its field.
        bad = self.ask(hi_types=("XRay",))
        self.assertEqual(bad.status, 400)
        self.assertIn("hiTypes", bad.json()["error"]["message"])

    def test_a_kavach_hiu_node_follows_its_requests(self):
        hiu_port = free_port()
        hiu_node = self.make_node(config_text=(
            'roles = ["hiu"]\n[consent]\nfacility_id = "apollo-chennai"\n'
            f'cm_key = "{self.cm_key}"\n'))
        it_id, it_secret = hiu_node.add_client("Apollo IT", "kavach/admin")
        hiu_node.start(listen=f"127.0.0.1:{hiu_port}")
        it_token = hiu_node.fetch_token(it_id, it_secret).json()["access_token"]
        run_cli("registry", "facility", "update", *self.cm.node_args(), "--id", "apollo-chennai",
                "--callback-url", f"http://127.0.0.1:{hiu_port}")
        request_id = self.ask().json()["consentRequest"]["id"]

        def status():
            reply = hiu_node.request("GET", f"/hiu/v1/consent-requests/{request_id}", token=it_token)
            return reply.json()["status"] if reply.status == 200 else None

        def wait_for(expected):
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and status() != expected:
                time.sleep(0.02)
            return status()

        self.assertEqual(wait_for("REQUESTED"), "REQUESTED")
        self.post(f"/cm/v1/patients/me/consent-requests/{request_id}/grant", {}, self.patient_token)
        self.assertEqual(wait_for("GRANTED"), "GRANTED")
        self.post(f"/cm/v1/patients/me/consent-requests/{request_id}/revoke", None, self.patient_token)
        self.assertEqual(wait_for("REVOKED"), "REVOKED")
        # Notices not signed by the CM are refused.
        forged = hiu_node.request("POST", "/v0.5/consents/hiu/notify", token=False,
                                  body={"requestId": "x", "timestamp": iso(datetime.now(timezone.utc)),
                                        "notification": {"consentRequestId": request_id, "status": "GRANTED"}})
        self.assertEqual(forged.status, 401, forged.body)
        self.assertEqual(status(), "REVOKED")

    def test_registry_admin_api(self):
        admin = self.cm.fetch_token(self.admin_id, self.admin_secret).json()["access_token"]
        facility = {"id": "cmc-vellore", "name": "CMC Vellore", "roles": ["HIP"],
                    "callbackUrl": "https://cmc.example/abdm"}
        self.assertEqual(self.post("/cm/v1/admin/facilities", facility, self.hiu_token).status, 403)
        bad = self.post("/cm/v1/admin/facilities", dict(facility, callbackUrl="http://cmc.example"), admin)
        self.assertOperationOutcome(bad, 400)
        self.assertIn("callback URL", bad.body)
        self.assertEqual(self.post("/cm/v1/admin/facilities", dict(facility, roles=["XYZ"]), admin).status, 400)
        self.assertEqual(self.post("/cm/v1/admin/facilities", facility, admin).status, 201)
        self.assertOperationOutcome(self.post("/cm/v1/admin/facilities", facility, admin), 409)
        listed = self.cm.request("GET", "/cm/v1/admin/facilities", token=admin).json()["facilities"]
        self.assertIn("cmc-vellore", [f["id"] for f in listed])
        updated = self.cm.request("PUT", "/cm/v1/admin/facilities/cmc-vellore", token=admin,
                                  body=dict(facility, active=False), headers={"Content-Type": "application/json"})
        self.assertEqual(updated.status, 200, updated.body)
        self.assertFalse(updated.json()["active"])
        doctor = {"id": "dr-rao", "name": "Dr. Rao", "facilityId": "nowhere",
                  "registration": {"type": "REGNO", "value": "KA77"}}
        self.assertOperationOutcome(self.post("/cm/v1/admin/professionals", doctor, admin), 404)
        created = self.post("/cm/v1/admin/professionals", dict(doctor, facilityId="apollo-chennai"), admin)
        self.assertEqual(created.status, 201, created.body)
        # The CLI refuses bad input with an exit code and a message.
        failed = run_cli("registry", "facility", "add", *self.cm.node_args(), "--id", "x", "--name", "X",
                         "--roles", "lab", check=False)
        self.assertNotEqual(failed.returncode, 0)
        self.assertIn("unknown role", failed.stderr)

    def test_patient_account_routes(self):
        me = self.cm.request("GET", "/cm/v1/me", token=self.patient_token)
        self.assertEqual(me.status, 200, me.body)
        self.assertTrue(me.json()["abhaNumberMasked"].startswith("XX-XXXX-XXXX-"))
        self.assertEqual(me.json()["mobileMasked"], "XXXXXX3210")
        put = lambda path, body: self.cm.request("PUT", path, token=self.patient_token, body=body,
                                                 headers={"Content-Type": "application/json"})
        self.assertOperationOutcome(put("/cm/v1/me/nominee", {"healthId": "nobody.here@sbx"}), 404)
        self.assertOperationOutcome(put("/cm/v1/me/password", {"password": "short"}), 400)
        self.assertEqual(put("/cm/v1/me/password", {"password": "a long pass phrase"}).status, 204)
        signed_in = self.post("/cm/v1/sessions/password",
                              {"healthId": "asha.devi@sbx", "password": "a long pass phrase"}, False)
        self.assertEqual(signed_in.status, 201, signed_in.body)
        second = signed_in.json()["token"]
        wrong = self.post("/cm/v1/sessions/password", {"healthId": "asha.devi@sbx", "password": "nope nope"}, False)
        self.assertOperationOutcome(wrong, 401)
        sessions = self.cm.request("GET", "/cm/v1/me/sessions", token=self.patient_token).json()["sessions"]
        self.assertEqual(len(sessions), 2)
        other = [s["id"] for s in sessions if not s["current"]][0]
        ended = self.cm.request("DELETE", f"/cm/v1/me/sessions/{other}", token=self.patient_token)
        self.assertEqual(ended.status, 204, ended.body)
        self.assertEqual(self.cm.request("GET", "/cm/v1/me", token=second).status, 401)
        minor = self.post("/cm/v1/me/minors", {"name": "Chhotu", "yearOfBirth": 2019, "gender": "M"},
                          self.patient_token)
        self.assertEqual(minor.status, 201, minor.body)
        number = minor.json()["abhaNumber"].replace("-", "")
        as_guardian = self.cm.request("GET", f"/cm/v1/patients/{number}/consent-requests",
                                      token=self.patient_token)
        self.assertEqual(as_guardian.status, 200, as_guardian.body)

    def test_a_gateway_session_works_at_every_node(self):
        bad = self.post("/v0.5/sessions", {"clientId": self.hiu_client["client_id"], "clientSecret": "wrong",
                                           "grantType": "client_credentials"}, False)
        self.assertEqual(bad.status, 401, bad.body)
        self.assertEqual(self.post("/v0.5/sessions", {"clientId": "x", "grantType": "password"}, False).status, 400)
        session = self.post("/v0.5/sessions", {"clientId": self.hiu_client["client_id"],
                                               "clientSecret": self.hiu_client["client_secret"],
                                               "grantType": "client_credentials"}, False)
        self.assertEqual(session.status, 200, session.body)
        jwt = session.json()["accessToken"]
        self.assertEqual(session.json()["tokenType"], "bearer")
        # The same JWT asks the CM for consent and reads at the HIP, which only knows the CM's key.
        lab = self.hip_lab_result()
        self.hiu_token = jwt
        request_id = self.ask().json()["consentRequest"]["id"]
        consent_id = self.post(f"/cm/v1/patients/me/consent-requests/{request_id}/grant", {},
                               self.patient_token).json()["consentArtefacts"][0]
        self.assertTrue(self.wait_for_hip_status(consent_id, "GRANTED", 10))
        read = self.hip.request("GET", f"/fhir/R4/Observation/{lab}", token=jwt,
                                headers={"X-Kavach-Consent": consent_id})
        self.assertEqual(read.status, 200, read.body)
        forged = jwt[:-4] + ("AAAA" if not jwt.endswith("AAAA") else "BBBB")
        self.assertEqual(self.hip.request("GET", f"/fhir/R4/Observation/{lab}", token=forged,
                                          headers={"X-Kavach-Consent": consent_id}).status, 401)

    def test_keys_are_published(self):
        for path in ("/v0.5/certs", "/.well-known/jwks.json"):
            reply = self.cm.request("GET", path, token=False)
            self.assertEqual(reply.status, 200, reply.body)
            key = reply.json()["keys"][0]
            self.assertEqual((key["kty"], key["crv"], key["alg"]), ("OKP", "Ed25519", "EdDSA"))


if __name__ == "__main__":
    unittest.main()
