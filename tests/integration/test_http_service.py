"""The HTTP service of a real `kavach serve` process: probes, authentication, limits, timeouts,
the connection cap, TLS and the drain on SIGTERM."""
import base64
import json
import os
import socket
import ssl
import subprocess
import threading
import time
import unittest

from kavach_harness import NodeTestCase

PATIENT = {"resourceType": "Patient", "name": [{"family": "Rao", "given": ["Meera"]}]}


class ProbesAndAuthentication(NodeTestCase):
    @classmethod
    def setUpClass(cls):
        from kavach_harness import Node
        cls.node = Node()
        cls.node.start()

    @classmethod
    def tearDownClass(cls):
        cls.node.close()

    def test_probes_answer_without_a_token(self):
        self.assertEqual(self.node.request("GET", "/healthz", token=False).status, 200)
        self.assertEqual(self.node.request("GET", "/readyz", token=False).status, 200)
        metadata = self.node.request("GET", "/fhir/R4/metadata", token=False)
        self.assertEqual(metadata.status, 200)
        self.assertEqual(metadata.json()["resourceType"], "CapabilityStatement")

    def test_api_without_a_token_is_401_with_an_operation_outcome(self):
        response = self.node.request("GET", "/fhir/R4/Patient?family=rao", token=False)
        self.assertOperationOutcome(response, 401)
        self.assertIn("Bearer", response.headers["www-authenticate"])
        for bad in ["Bearer nonsense", "Basic dXNlcjpwYXNz", "Bearer kv1.AAAA.BBBB", "Bearer "]:
            response = self.node.request("GET", "/fhir/R4/Patient/x", token=False,
                                         headers={"Authorization": bad})
            self.assertOperationOutcome(response, 401)
        self.assertOperationOutcome(self.node.request("GET", "/metrics", token=False), 401)

    def test_scopes_outside_the_grant_are_403(self):
        client_id, secret = self.node.add_client("reader", "system/Patient.rs")
        token = self.node.fetch_token(client_id, secret).json()["access_token"]
        created = self.node.request("POST", "/fhir/R4/Patient", body=PATIENT)
        self.assertEqual(created.status, 201)
        patient_id = created.json()["id"]
        self.assertEqual(self.node.request("GET", f"/fhir/R4/Patient/{patient_id}", token=token).status, 200)
        self.assertOperationOutcome(
            self.node.request("POST", "/fhir/R4/Patient", body=PATIENT, token=token), 403)
        self.assertOperationOutcome(
            self.node.request("GET", "/fhir/R4/Observation?code=x", token=token), 403)
        self.assertOperationOutcome(self.node.request("GET", "/metrics", token=token), 403)

    def test_token_endpoint_errors(self):
        self.assertEqual(self.node.fetch_token(client_secret="wrong").status, 401)
        self.assertEqual(self.node.fetch_token(client_id="c-000000000000000000000000").status, 401)
        narrowed = self.node.fetch_token(scope="system/*.cruds")
        self.assertEqual(narrowed.status, 200)
        self.assertEqual(narrowed.json()["scope"], "system/*.cruds")
        self.assertEqual(narrowed.json()["token_type"], "Bearer")
        self.assertEqual(self.node.fetch_token(scope="system/Patient.rs").status, 400)
        no_auth = self.node.request("POST", "/oauth2/token", body="grant_type=client_credentials",
                                    token=False,
                                    headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(no_auth.status, 401)
        self.assertEqual(no_auth.json()["error"], "invalid_client")

    def test_metrics_report_routes_and_store_latency(self):
        self.node.request("GET", "/healthz", token=False)
        metrics = self.node.request("GET", "/metrics")
        self.assertEqual(metrics.status, 200)
        self.assertIn('kavach_http_request_duration_seconds_count{route="/healthz",status="200"}',
                      metrics.body)
        self.assertIn('kavach_store_operation_duration_seconds_bucket{backend="sqlite"', metrics.body)

    def test_search_pages_through_next_links(self):
        for given in ["Anu", "Bina", "Chitra", "Devi", "Esha"]:
            body = {"resourceType": "Patient", "name": [{"family": "Pager Family", "given": [given]}]}
            self.assertEqual(self.node.request("POST", "/fhir/R4/Patient", body=body).status, 201)
        seen, url = [], "/fhir/R4/Patient?family=pager%20family&_count=2"
        while url:
            page = self.node.request("GET", url)
            self.assertEqual(page.status, 200, page.body)
            bundle = page.json()
            seen += [entry["resource"]["name"][0]["given"][0] for entry in bundle["entry"]]
            links = [link["url"] for link in bundle.get("link", []) if link["relation"] == "next"]
            url = links[0] if links else None
            if url:
                self.assertEqual(url.count("_cursor="), 1)
                self.assertEqual(url.count("_count="), 1)
        self.assertEqual(sorted(seen), ["Anu", "Bina", "Chitra", "Devi", "Esha"])

    def test_search_grammar_sort_total_elements_include_and_post(self):
        node = self.node
        patient = node.request("POST", "/fhir/R4/Patient", body={
            "resourceType": "Patient", "name": [{"family": "Grammar", "given": ["Gita"]}]}).json()
        subject = f"Patient/{patient['id']}"
        for day, value in (("2024-03-01", 110), ("2024-01-01", 90), ("2024-02-01", 100)):
            created = node.request("POST", "/fhir/R4/Observation", body={
                "resourceType": "Observation", "status": "final", "subject": {"reference": subject},
                "code": {"coding": [{"system": "http://loinc.org", "code": "2345-7"}]},
                "effectiveDateTime": day, "valueQuantity": {"value": value, "unit": "mg/dL"}})
            self.assertEqual(created.status, 201, created.body)

        # Newest first, two to a page, with the total; the next link keeps the sort.
        seen, url, totals = [], f"/fhir/R4/Observation?subject={subject}&_sort=-date&_count=2&_total=accurate", []
        while url:
            page = node.request("GET", url)
            self.assertEqual(page.status, 200, page.body)
            bundle = page.json()
            totals.append(bundle.get("total"))
            seen += [entry["resource"]["effectiveDateTime"] for entry in bundle["entry"]]
            self.assertTrue(all(entry["search"]["mode"] == "match" for entry in bundle["entry"]))
            links = {link["relation"]: link["url"] for link in bundle["link"]}
            self.assertIn("self", links)
            url = links.get("next")
            if url:
                self.assertIn("_sort=-date", url)
        self.assertEqual(seen, ["2024-03-01", "2024-02-01", "2024-01-01"])
        self.assertEqual(totals, [3, 3])

        # A date range, and only the elements asked for, marked as a subset.
        ranged = node.request(
            "GET", f"/fhir/R4/Observation?patient={patient['id']}&date=ge2024-02&date=lt2024-03-01"
                   "&_elements=effectiveDateTime").json()
        self.assertEqual(len(ranged["entry"]), 1)
        resource = ranged["entry"][0]["resource"]
        self.assertEqual(resource["effectiveDateTime"], "2024-02-01")
        self.assertNotIn("valueQuantity", resource)
        self.assertIn("SUBSETTED", [tag["code"] for tag in resource["meta"]["tag"]])

        # The count alone.
        counted = node.request("GET", f"/fhir/R4/Observation?subject={subject}&_summary=count").json()
        self.assertEqual(counted["total"], 3)
        self.assertFalse(counted.get("entry"))

        # The patient comes along once, marked as included; a chain finds the same records.
        included = node.request(
            "GET", f"/fhir/R4/Observation?subject:Patient.family=grammar&_include=Observation:subject").json()
        modes = sorted(entry["search"]["mode"] for entry in included["entry"])
        self.assertEqual(modes, ["include", "match", "match", "match"])

        # Search by POST, with a form.
        posted = node.request("POST", "/fhir/R4/Observation/_search",
                              body=f"subject={subject}&date=2024-01-01",
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(posted.status, 200, posted.body)
        self.assertEqual(len(posted.json()["entry"]), 1)

        # What is not supported is refused by name.
        refused = node.request("GET", "/fhir/R4/Observation?date=ap2024")
        self.assertEqual(refused.status, 400)
        self.assertIn("ap", refused.json()["issue"][0]["diagnostics"])
        self.assertEqual(node.request("GET", "/fhir/R4/Spaceship?name=x").status, 404)

        # The CapabilityStatement advertises what the search accepts.
        statement = node.request("GET", "/fhir/R4/metadata", token=False).json()
        observation = next(r for r in statement["rest"][0]["resource"] if r["type"] == "Observation")
        self.assertIn({"name": "date", "type": "date"}, observation["searchParam"])
        self.assertIn("Observation:subject", observation["searchInclude"])

    def test_resources_are_validated_against_r4_and_refused_whole(self):
        node = self.node
        before = node.request("GET", "/fhir/R4/Observation?_summary=count").json()["total"]
        bad = {"resourceType": "Observation", "status": "final", "code": {"text": "glucose"},
               "effectiveDateTime": "10/01/2024"}
        refused = node.request("POST", "/fhir/R4/Observation", body=bad)
        self.assertOperationOutcome(refused, 422)
        self.assertIn("Observation.effectiveDateTime", refused.json()["issue"][0]["diagnostics"])
        unknown = dict(bad, effectiveDateTime="2024-01-10", colour="red")
        refused = node.request("POST", "/fhir/R4/Observation", body=unknown)
        self.assertOperationOutcome(refused, 422)
        self.assertIn("Observation.colour", refused.json()["issue"][0]["diagnostics"])
        duplicate = '{"resourceType":"Observation","status":"final","status":"cancelled","code":{"text":"x"}}'
        refused = node.request("POST", "/fhir/R4/Observation", body=duplicate,
                               headers={"Content-Type": "application/fhir+json"})
        self.assertOperationOutcome(refused, 400)
        self.assertIn("appears twice", refused.json()["issue"][0]["diagnostics"])
        # A transaction with one invalid entry writes nothing.
        transaction = {"resourceType": "Bundle", "type": "transaction", "entry": [
            {"resource": dict(bad, effectiveDateTime="2024-01-10"), "request": {"method": "POST", "url": "Observation"}},
            {"resource": bad, "request": {"method": "POST", "url": "Observation"}}]}
        self.assertEqual(node.request("POST", "/fhir/R4", body=transaction).status, 422)
        after = node.request("GET", "/fhir/R4/Observation?_summary=count").json()["total"]
        self.assertEqual(before, after)

    def test_conditional_interactions_and_json_patch(self):
        node = self.node
        body = {"resourceType": "Patient", "identifier": [{"system": "urn:test:mrn", "value": "MRN-77"}]}
        criteria = "identifier=urn:test:mrn|MRN-77"
        first = node.request("POST", "/fhir/R4/Patient", body, headers={"If-None-Exist": criteria})
        self.assertEqual(first.status, 201, first.body)
        again = node.request("POST", "/fhir/R4/Patient", body, headers={"If-None-Exist": criteria})
        self.assertEqual(again.status, 200, again.body)
        self.assertEqual(again.json()["id"], first.json()["id"])
        updated = node.request("PUT", f"/fhir/R4/Patient?{criteria}", dict(body, gender="other"))
        self.assertEqual(updated.status, 200, updated.body)
        self.assertEqual(updated.headers["etag"], 'W/"2"')
        pid = first.json()["id"]

        patch = [{"op": "replace", "path": "/gender", "value": "female"}]
        self.assertOperationOutcome(node.request("PATCH", f"/fhir/R4/Patient/{pid}", patch), 415)
        patched = node.request("PATCH", f"/fhir/R4/Patient/{pid}", json.dumps(patch),
                               headers={"Content-Type": "application/json-patch+json", "If-Match": 'W/"2"'})
        self.assertEqual(patched.status, 200, patched.body)
        self.assertEqual(patched.json()["gender"], "female")
        failed = node.request("PATCH", f"/fhir/R4/Patient/{pid}",
                              json.dumps([{"op": "test", "path": "/gender", "value": "male"}]),
                              headers={"Content-Type": "application/json-patch+json"})
        self.assertOperationOutcome(failed, 422)

        self.assertOperationOutcome(node.request("DELETE", "/fhir/R4/Patient"), 400)  # no criteria
        self.assertEqual(node.request("DELETE", f"/fhir/R4/Patient?{criteria}").status, 204)
        self.assertOperationOutcome(node.request("GET", f"/fhir/R4/Patient/{pid}"), 410)
        self.assertEqual(node.request("DELETE", f"/fhir/R4/Patient?{criteria}").status, 204)

    def test_type_history_and_patient_everything(self):
        node = self.node
        pid = node.request("POST", "/fhir/R4/Patient", {"resourceType": "Patient"}).json()["id"]
        for _ in range(3):
            created = node.request("POST", "/fhir/R4/Encounter", {
                "resourceType": "Encounter", "status": "finished",
                "class": {"code": "AMB"}, "subject": {"reference": f"Patient/{pid}"}})
            self.assertEqual(created.status, 201, created.body)
        everything = node.request("GET", f"/fhir/R4/Patient/{pid}/$everything?_count=2")
        self.assertEqual(everything.status, 200, everything.body)
        bundle = everything.json()
        self.assertEqual(len(bundle["entry"]), 2)
        next_url = bundle["link"][0]["url"]
        rest = node.request("GET", next_url).json()
        types = [e["resource"]["resourceType"] for e in bundle["entry"] + rest["entry"]]
        self.assertEqual(sorted(types), ["Encounter"] * 3 + ["Patient"])
        history = node.request("GET", "/fhir/R4/Encounter/_history?_count=2")
        self.assertEqual(history.status, 200, history.body)
        self.assertEqual(history.json()["type"], "history")
        self.assertEqual(len(history.json()["entry"]), 2)
        self.assertIn("_cursor=", history.json()["link"][0]["url"])
        self.assertOperationOutcome(node.request("GET", "/fhir/R4/Patient/nobody/$everything"), 404)

    def test_transaction_and_batch_bundles(self):
        node = self.node
        transaction = {"resourceType": "Bundle", "type": "transaction", "entry": [
            {"fullUrl": "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a",
             "resource": {"resourceType": "Patient", "gender": "male"},
             "request": {"method": "POST", "url": "Patient"}},
            {"resource": {"resourceType": "Encounter", "status": "finished", "class": {"code": "AMB"},
                          "subject": {"reference": "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"}},
             "request": {"method": "POST", "url": "Encounter"}}]}
        response = node.request("POST", "/fhir/R4", transaction)
        self.assertEqual(response.status, 200, response.body)
        result = response.json()
        self.assertEqual(result["type"], "transaction-response")
        self.assertEqual([e["response"]["status"] for e in result["entry"]], ["201 Created"] * 2)
        encounter = node.request("GET", "/fhir/R4/" + result["entry"][1]["response"]["location"].split("/_history")[0])
        patient_ref = "Patient/" + result["entry"][0]["response"]["location"].split("/")[1]
        self.assertEqual(encounter.json()["subject"]["reference"], patient_ref)

        broken = {"resourceType": "Bundle", "type": "transaction", "entry": [
            {"resource": {"resourceType": "Patient"}, "request": {"method": "POST", "url": "Patient"}},
            {"resource": {"resourceType": "Encounter", "subject": {"reference": "urn:uuid:missing"}},
             "request": {"method": "POST", "url": "Encounter"}}]}
        self.assertOperationOutcome(node.request("POST", "/fhir/R4", broken), 400)

        batch = {"resourceType": "Bundle", "type": "batch", "entry": [
            {"resource": {"resourceType": "Patient"}, "request": {"method": "POST", "url": "Patient"}},
            {"request": {"method": "GET", "url": "Patient/not-there"}}]}
        result = node.request("POST", "/fhir/R4", batch).json()
        self.assertEqual(result["type"], "batch-response")
        self.assertEqual(result["entry"][0]["response"]["status"], "201 Created")
        self.assertEqual(result["entry"][1]["response"]["status"], "404")
        self.assertEqual(result["entry"][1]["response"]["outcome"]["resourceType"], "OperationOutcome")

    def test_unknown_route_and_wrong_method(self):
        self.assertOperationOutcome(self.node.request("GET", "/nowhere"), 404)
        self.assertOperationOutcome(self.node.request("DELETE", "/healthz"), 405)

    def test_body_over_the_limit_is_413(self):
        big = '{"resourceType":"Patient","text":"' + "x" * (17 * 1024 * 1024) + '"}'
        response = self.node.request("POST", "/fhir/R4/Patient", body=big,
                                     headers={"Content-Type": "application/fhir+json"})
        self.assertOperationOutcome(response, 413)

    def test_large_binaries_and_documents_are_stored_and_read_whole(self):
        # Several megabytes, read on a worker thread (not the connection's I/O thread, where a
        # large record would hold up its other connections), come back byte for byte.
        data = base64.b64encode(os.urandom(6 * 1024 * 1024)).decode()
        binary = {"resourceType": "Binary", "contentType": "application/pdf", "data": data}
        created = self.node.request("POST", "/fhir/R4/Binary", body=binary)
        self.assertEqual(created.status, 201, created.raw[:200])
        binary_id = created.json()["id"]
        read = self.node.request("GET", f"/fhir/R4/Binary/{binary_id}")
        self.assertEqual(read.status, 200)
        self.assertEqual(read.json()["data"], data)
        document = {"resourceType": "DocumentReference", "status": "current",
                    "content": [{"attachment": {"contentType": "application/pdf", "data": data[:1 << 20]}}]}
        created = self.node.request("POST", "/fhir/R4/DocumentReference", body=document)
        self.assertEqual(created.status, 201, created.raw[:200])
        read = self.node.request("GET", f"/fhir/R4/DocumentReference/{created.json()['id']}")
        self.assertEqual(read.status, 200)
        self.assertEqual(read.json()["content"][0]["attachment"]["data"], data[:1 << 20])
        # A small record is answered as before.
        patient = self.node.request("POST", "/fhir/R4/Patient", body=PATIENT).json()["id"]
        self.assertEqual(self.node.request("GET", f"/fhir/R4/Patient/{patient}").status, 200)

    def test_headers_over_the_limit_are_413(self):
        response = self.node.request("GET", "/healthz", token=False, headers={"X-Big": "y" * 20000})
        self.assertOperationOutcome(response, 413)

    def test_hostile_input_gets_a_4xx_and_writes_nothing(self):
        node = self.node

        def stored():
            return node.request("GET", "/fhir/R4/Patient?_summary=count").json()["total"]

        before = stored()
        raw = {"Content-Type": "application/fhir+json"}
        cases = [
            ('{"resourceType":"Patient","name":' + "[" * 200 + "]" * 200 + "}", 400),  # too deep
            ('{"resourceType":"Patient","multipleBirthInteger":1e999}', 400),         # huge number
            (b'{"resourceType":"Patient","gender":"' + bytes([0xFF, 0xFE]) + b'"}', 400),  # bad UTF-8
            ('{"resourceType":"Patient","gender":"male","gender":"female"}', 400),   # duplicate key
            ('{"resourceType":"Patient","name":[{"text":"' + "x" * (10 << 20) + '"}]}', 422),  # 10 MB
            ('{"resourceType":"Patient","multipleBirthInteger":99999999999}', 422),  # not 32-bit
        ]
        for body, status in cases:
            if isinstance(body, str):
                body = body.encode()
            response = node.request("POST", "/fhir/R4/Patient", body=body, headers=raw)
            self.assertEqual(response.status, status, f"{body[:80]!r}: {response.body[:200]}")
            self.assertEqual(response.json()["resourceType"], "OperationOutcome")
        # SQL and path syntax in parameters and ids are only data: no match, or a clear 4xx.
        for query in ("family=x'%20OR%20'1'='1", "family=%22%3B%20DROP%20TABLE%20records%3B--",
                      "_id=..%2F..%2Fetc%2Fpasswd", "identifier=a%7Cb%7Cc%27"):
            response = node.request("GET", f"/fhir/R4/Patient?{query}")
            self.assertEqual(response.status, 200, query)
            self.assertFalse(response.json().get("entry"), query)
        for path in ("/fhir/R4/Patient/..%2F..%2Fetc%2Fpasswd", "/fhir/R4/Patient/a%27%20OR%201=1"):
            self.assertIn(node.request("GET", path).status, (400, 404), path)
        self.assertEqual(stored(), before)

    def test_garbage_is_400(self):
        with socket.create_connection(("127.0.0.1", self.node.port), timeout=10) as raw:
            raw.sendall(b"NOT HTTP AT ALL\r\n\r\n")
            self.assertIn(b"400", raw.recv(4096).split(b"\r\n")[0])

    def test_keep_alive_serves_several_requests_on_one_connection(self):
        connection = self.node.connection()
        for _ in range(5):
            self.assertEqual(self.node.request("GET", "/healthz", token=False, connection=connection).status, 200)
        connection.close()

    def test_logs_never_contain_tokens_or_patient_data(self):
        marker = "Zqxlogmarker"
        self.node.request("POST", "/fhir/R4/Patient", body={"resourceType": "Patient", "name": [{"family": marker}]})
        self.node.request("GET", f"/fhir/R4/Patient?family={marker}")
        log = self.node.server_log()
        self.assertNotIn(marker, log)
        self.assertNotIn(self.node.token(), log)
        self.assertNotIn(self.node.client_secret, log)


class Timeouts(NodeTestCase):
    def test_a_stalled_request_gets_408_and_an_idle_connection_is_closed(self):
        node = self.make_node(config_text="[http]\nread_timeout_ms = 1000\nidle_timeout_ms = 1500\n")
        node.start()
        with socket.create_connection(("127.0.0.1", node.port), timeout=10) as stalled:
            stalled.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # the header never ends
            started = time.monotonic()
            reply = stalled.recv(4096)
            self.assertIn(b"408", reply.split(b"\r\n")[0])
            self.assertLess(time.monotonic() - started, 5)
        with socket.create_connection(("127.0.0.1", node.port), timeout=10) as idle:
            started = time.monotonic()
            self.assertEqual(idle.recv(4096), b"")  # closed quietly, no 408 for an idle client
            self.assertGreater(time.monotonic() - started, 1.0)


class ConnectionLimit(NodeTestCase):
    def test_connections_beyond_the_limit_get_503(self):
        node = self.make_node(config_text="[http]\nmax_connections = 2\n")
        node.start()
        held = [socket.create_connection(("127.0.0.1", node.port)) for _ in range(2)]
        time.sleep(0.3)
        try:
            with socket.create_connection(("127.0.0.1", node.port), timeout=10) as extra:
                self.assertIn(b"503", extra.recv(4096).split(b"\r\n")[0])
        finally:
            for connection in held:
                connection.close()


class Tls(NodeTestCase):
    def make_certificate(self, root):
        cert, key = os.path.join(root, "cert.pem"), os.path.join(root, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", key, "-out", cert], check=True, capture_output=True)
        return cert, key

    def test_https_with_tls_1_2_or_newer_only(self):
        node = self.make_node()
        cert, key = self.make_certificate(node.root)
        node.extra_args = ["--tls-cert", cert, "--tls-key", key]
        node.start()
        self.assertEqual(node.scheme, "https")
        node.tls_context = ssl.create_default_context(cafile=cert)
        self.assertEqual(node.request("GET", "/healthz", token=False).status, 200)
        self.assertEqual(node.request("GET", "/fhir/R4/Patient/x").status, 404)
        old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        old.check_hostname = False
        old.verify_mode = ssl.CERT_NONE
        try:
            old.minimum_version = ssl.TLSVersion.TLSv1
            old.maximum_version = ssl.TLSVersion.TLSv1_1
        except (ValueError, ssl.SSLError):
            self.skipTest("this OpenSSL cannot even offer TLS 1.1")
        with socket.create_connection(("127.0.0.1", node.port), timeout=10) as raw:
            with self.assertRaises(ssl.SSLError):
                old.wrap_socket(raw).do_handshake()

    def test_plain_http_off_loopback_is_refused_without_the_flag(self):
        node = self.make_node()
        exit_code = node.start(listen="0.0.0.0:0", expect_failure=True)
        self.assertEqual(exit_code, 2)
        self.assertIn("not a loopback address", node.server_log())
        self.assertEqual(len(node.server_log().strip().splitlines()), 1)
        node.extra_args = ["--insecure-http"]
        node.start(listen="0.0.0.0:0")
        self.assertEqual(node.request("GET", "/healthz", token=False).status, 200)


class Drain(NodeTestCase):
    def test_sigterm_finishes_in_flight_work_and_exits_cleanly(self):
        node = self.make_node()
        node.start()
        results = []

        def writer():
            for _ in range(20):
                try:
                    results.append(node.request("POST", "/fhir/R4/Patient", body=PATIENT).status)
                except OSError:
                    results.append("refused")

        node.token()
        thread = threading.Thread(target=writer)
        thread.start()
        time.sleep(0.2)
        exit_code = node.stop(timeout=30)
        thread.join()
        self.assertEqual(exit_code, 0)
        self.assertIn("drain_finished", node.server_log())
        # Every request either completed normally or was refused at the door; none got a 5xx.
        self.assertTrue(all(status in (201, "refused") for status in results), results)


if __name__ == "__main__":
    unittest.main()
