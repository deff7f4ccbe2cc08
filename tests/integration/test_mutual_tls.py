"""Mutual TLS between nodes: the consent manager and a HIP serve HTTPS with certificates from one
CA, require a client certificate from that CA on every route other nodes call, and present their
own when they call each other. The consent flow runs unchanged over it; a call between nodes
without a client certificate is refused, while patients (whose browsers have none) still reach
their routes."""
import ssl
import unittest

from test_consent import ConsentTest, TestCa


class MutualTlsConsentTest(ConsentTest):
    mutual_tls = True

    def test_calls_between_nodes_need_a_client_certificate(self):
        for node in (self.cm, self.hip):
            node.tls_context = self.ca.client_context(with_certificate=False)
        refused = self.hip.request("POST", "/v0.5/consents/hip/notify", token=False,
                                   body={"requestId": "x", "notification": {}})
        self.assertEqual(refused.status, 403, refused.body)
        self.assertIn("mutual TLS", refused.json()["issue"][0]["diagnostics"])
        refused = self.post("/v0.5/consent-requests/init", {"consent": {}}, self.hiu_token)
        self.assertEqual(refused.status, 403, refused.body)
        # Nor is a certificate from another CA good enough.
        stranger = TestCa()
        self.addCleanup(stranger.close)
        context = ssl.create_default_context(cafile=self.ca.cert)
        context.load_cert_chain(stranger.client_cert, stranger.client_key)
        self.hip.tls_context = context
        refused = self.hip.request("POST", "/v0.5/consents/hip/notify", token=False,
                                   body={"requestId": "x", "notification": {}})
        self.assertEqual(refused.status, 403, refused.body)
        # A patient's route needs no certificate.
        started = self.post("/cm/v1/sessions/otp", {"healthId": "asha.devi@sbx"}, False)
        self.assertEqual(started.status, 202, started.body)


def load_tests(loader, tests, pattern):
    """The mutual-TLS case and the consent flow's main tests, run over mutual TLS."""
    suite = unittest.TestSuite()
    for name in ("test_calls_between_nodes_need_a_client_certificate",
                 "test_grant_reaches_the_hip_and_revocation_takes_effect_within_a_second",
                 "test_a_revocation_made_while_the_hip_was_down_holds_before_any_data_leaves",
                 "test_a_doctor_reads_consented_records_at_the_hip_until_revocation"):
        suite.addTest(MutualTlsConsentTest(name))
    return suite


if __name__ == "__main__":
    unittest.main()
