#!/usr/bin/env python3
"""Writes the demo hospital's record of Asha Devi into a running demo node through its FHIR API:
two visits, each with an HbA1c result, a blood pressure and a prescription. Called once by
scripts/demo.sh; the web app's walk-through has her enrol and link these visits.
Usage: demo-patient.py BASE_URL CLIENT_ID CLIENT_SECRET"""
import base64
import json
import sys
import time
import urllib.request
from datetime import datetime, timedelta, timezone

base, client_id, client_secret = sys.argv[1:4]


def call(method, path, body=None, token=None, form=None):
    headers = {}
    data = None
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if form is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        data = form.encode()
    if body is not None:
        headers["Content-Type"] = "application/fhir+json"
        data = json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as reply:
        return json.loads(reply.read() or b"null")


for _ in range(120):  # the node is starting
    try:
        call("GET", "/readyz")
        break
    except OSError:
        time.sleep(0.5)
token = call("POST", "/oauth2/token", form="grant_type=client_credentials")["access_token"]
patient = call("POST", "/fhir/R4/Patient", token=token, body={
    "resourceType": "Patient", "name": [{"given": ["Asha"], "family": "Devi"}], "gender": "female",
    "birthDate": "1986-04-02", "telecom": [{"system": "phone", "value": "+91 98765 43210"}]})["id"]
for days_ago, hba1c, systolic, medicine in ((60, 7.4, 148, "Metformin 500 mg"), (7, 6.6, 132, "Metformin 1000 mg")):
    when = (datetime.now(timezone.utc) - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
    subject = {"reference": f"Patient/{patient}"}
    visit = call("POST", "/fhir/R4/Encounter", token=token, body={
        "resourceType": "Encounter", "status": "finished", "subject": subject, "period": {"start": when},
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"}})["id"]
    common = {"subject": subject, "encounter": {"reference": f"Encounter/{visit}"}}
    category = "http://terminology.hl7.org/CodeSystem/observation-category"
    call("POST", "/fhir/R4/Observation", token=token, body={
        "resourceType": "Observation", "status": "final", **common, "effectiveDateTime": when,
        "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}], "text": "HbA1c"},
        "category": [{"coding": [{"system": category, "code": "laboratory"}]}],
        "valueQuantity": {"value": hba1c, "unit": "%"},
        "referenceRange": [{"low": {"value": 4}, "high": {"value": 5.6}}]})
    call("POST", "/fhir/R4/Observation", token=token, body={
        "resourceType": "Observation", "status": "final", **common, "effectiveDateTime": when,
        "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}], "text": "Systolic blood pressure"},
        "category": [{"coding": [{"system": category, "code": "vital-signs"}]}],
        "valueQuantity": {"value": systolic, "unit": "mm[Hg]"}})
    call("POST", "/fhir/R4/MedicationRequest", token=token, body={
        "resourceType": "MedicationRequest", "status": "active", "intent": "order", **common,
        "authoredOn": when, "medicationCodeableConcept": {"text": medicine}})
print(f"demo: the demo hospital holds Asha Devi's record (Patient/{patient})")
