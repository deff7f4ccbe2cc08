#!/usr/bin/env python3
"""Kavach beside the peer FHIR server (../shared/bench/peer: Medplum's router on Node.js) and beside
a minimal Beast server (the ceiling), driven by wrk in the same run, as issue 3 asks.

Each scenario starts a fresh server, seeds the same data (11 Patients, then 1,000 Observations in
10 transaction Bundles of 100, cycling through 10 patients and 5 LOINC codes, as the peer's own
seed.mjs does), warms up, then measures with `wrk -t2 -c32`:
  read    GET /Patient/{id}
  create  POST /Patient (validated on both servers)
  search  GET /Observation?subject=Patient/{id} (100 matches, a page of 20)
  ingest  POST a transaction Bundle of 100 Observations (resources/s = requests/s x 100)
Kavach runs with everything on: bearer-token authentication, per-patient encryption at rest,
blind indexes, the audit log, durable commits (SQLite, synchronous=FULL). Every scenario runs
--runs times; the table holds medians. The results go to bench/RESULTS.md between markers.

Usage: bench/fhir_bench.py [--runs 3] [--duration 10] [--warmup 3]
Needs: build/release (make release; it builds bench/ceiling_server too), wrk, node and npm.
"""
import argparse
import base64
import json
import os
import pathlib
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parent.parent
KAVACH = ROOT / "build/release/kavach"
CEILING = ROOT / "build/release/bench/ceiling_server"
PEER_SOURCE = ROOT.parent / "shared/bench/peer"
PEER_DIR = ROOT / "build/bench-peer"  # a copy of the peer with its node_modules (shared/ is read-only)
RESULTS = ROOT / "bench/RESULTS.md"
LOINC = ["8867-4", "8310-5", "8480-6", "8462-4", "29463-7"]
PATIENT = {"resourceType": "Patient", "active": True, "name": [{"family": "Bench", "given": ["Load"]}],
           "gender": "male", "birthDate": "1970-01-01"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(method, url, body=None, token=None, content_type="application/fhir+json"):
    data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", content_type)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def observation(i, patient):
    return {"resourceType": "Observation", "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                      "code": "vital-signs"}]}],
            "code": {"coding": [{"system": "http://loinc.org", "code": LOINC[i % len(LOINC)]}]},
            "subject": {"reference": f"Patient/{patient}"},
            "effectiveDateTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(1704067200 + i * 60)),
            "valueQuantity": {"value": 60 + i % 40, "unit": "/min", "system": "http://unitsofmeasure.org",
                              "code": "/min"}}


def transaction(observations):
    return {"resourceType": "Bundle", "type": "transaction",
            "entry": [{"resource": o, "request": {"method": "POST", "url": "Observation"}} for o in observations]}


def seed(base, token):
    """The peer's seed.mjs, over HTTP: returns (patient to read, patient to search)."""
    status, body = call("POST", f"{base}/Patient", {"resourceType": "Patient", "active": True,
                                                     "name": [{"family": "Reader", "given": ["Rita"]}],
                                                     "gender": "female", "birthDate": "1980-01-02"}, token)
    assert status == 201, body
    read_patient = json.loads(body)["id"]
    patients = []
    for i in range(10):
        status, body = call("POST", f"{base}/Patient", {"resourceType": "Patient", "name": [{"family": f"Obs{i}"}]}, token)
        assert status == 201, body
        patients.append(json.loads(body)["id"])
    for start in range(0, 1000, 100):
        status, body = call("POST", base, transaction([observation(i, patients[i % 10]) for i in range(start, start + 100)]),
                            token)
        assert status == 200, body[:300]
    return read_patient, patients[0]


class Server:
    def __init__(self, kind, work):
        self.kind, self.work, self.process, self.token = kind, work, None, None
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}/fhir/R4"

    def start(self):
        if self.kind == "kavach":
            key, data = self.work / "node.key", self.work / "data"
            subprocess.run([KAVACH, "keys", "init", "--key-file", key], check=True, capture_output=True)
            added = subprocess.run([KAVACH, "client", "add", "--data", data, "--key-file", key, "--name", "bench",
                                    "--scopes", "system/*.cruds", "--json"], check=True, capture_output=True, text=True)
            client = json.loads(added.stdout)
            self.process = subprocess.Popen([KAVACH, "serve", "--data", data, "--key-file", key, "--listen",
                                             f"127.0.0.1:{self.port}"], stdout=subprocess.PIPE,
                                            stderr=open(self.work / "server.log", "w"), text=True)
            assert self.process.stdout.readline().startswith("listening on ")
            basic = base64.b64encode(f"{client['client_id']}:{client['client_secret']}".encode()).decode()
            request = urllib.request.Request(f"http://127.0.0.1:{self.port}/oauth2/token",
                                             data=b"grant_type=client_credentials", method="POST")
            request.add_header("Authorization", f"Basic {basic}")
            request.add_header("Content-Type", "application/x-www-form-urlencoded")
            with urllib.request.urlopen(request) as response:
                self.token = json.loads(response.read())["access_token"]
        else:
            self.process = subprocess.Popen(["node", "server.mjs"], cwd=PEER_DIR,
                                            env=dict(os.environ, PORT=str(self.port), HOST="127.0.0.1"),
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(300):
                try:
                    if call("GET", f"{self.base}/metadata")[0] == 200:
                        break
                except OSError:
                    time.sleep(0.05)

    def peak_rss_mb(self):
        for line in open(f"/proc/{self.process.pid}/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)


def wrk(url, token, duration, lua=None):
    args = ["wrk", "-t2", "-c32", f"-d{duration}s", "--latency", "--timeout", "10s"]
    if token:
        args += ["-H", f"Authorization: Bearer {token}"]
    if lua:
        args += ["-s", str(lua)]
    out = subprocess.run(args + [url], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    latency = {p: to_ms(v) for p, v in re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M)}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rate": rate, "p50": latency.get("50"), "p99": latency.get("99"),
            "errors": int(errors.group(1)) if errors else 0}


def to_ms(text):
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def lua_post(path, body, work, name):
    script = work / f"{name}.lua"
    script.write_text(f'wrk.method = "POST"\nwrk.path = "{path}"\n'
                      f'wrk.headers["Content-Type"] = "application/fhir+json"\n'
                      f"wrk.body = {json.dumps(json.dumps(body))}\n")
    return script


def run_scenario(kind, scenario, args):
    with tempfile.TemporaryDirectory(prefix="kavach-bench-") as temp:
        work = pathlib.Path(temp)
        server = Server(kind, work)
        server.start()
        try:
            read_patient, search_patient = seed(server.base, server.token)
            lua = None
            if scenario == "read":
                url = f"{server.base}/Patient/{read_patient}"
            elif scenario == "search":
                url = f"{server.base}/Observation?subject=Patient/{search_patient}"
            elif scenario == "create":
                url = f"{server.base}/Patient"
                lua = lua_post("/fhir/R4/Patient", PATIENT, work, "create")
            else:  # ingest
                url = server.base
                lua = lua_post("/fhir/R4", transaction([observation(i, search_patient) for i in range(100)]), work, "ingest")
            if scenario in ("read", "search"):
                status, body = call("GET", url, token=server.token)
                assert status == 200, body[:300]
            wrk(url, server.token, args.warmup, lua)
            result = wrk(url, server.token, args.duration, lua)
            result["rss_mb"] = server.peak_rss_mb()
            if scenario == "read":
                result["body_bytes"] = len(call("GET", url, token=server.token)[1])
            return result
        finally:
            server.stop()


def run_ceiling(body_bytes, args):
    with tempfile.TemporaryDirectory(prefix="kavach-ceiling-") as temp:
        body = pathlib.Path(temp) / "body.json"
        body.write_text('{"resourceType":"Patient","padding":"' + "x" * max(0, body_bytes - 40) + '"}')
        port = free_port()
        process = subprocess.Popen([CEILING, str(port), body], stdout=subprocess.PIPE, text=True)
        assert process.stdout.readline().startswith("listening on ")
        try:
            url = f"http://127.0.0.1:{port}/fhir/R4/Patient/x"
            wrk(url, None, args.warmup)
            return wrk(url, None, args.duration)
        finally:
            process.kill()
            process.wait()


def median(results, key):
    values = [r[key] for r in results if r.get(key) is not None]
    return statistics.median(values) if values else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    for tool in (KAVACH, CEILING):
        if not tool.exists():
            sys.exit(f"{tool} is missing: run `make release` first")
    if not (PEER_DIR / "node_modules").exists():
        shutil.copytree(PEER_SOURCE, PEER_DIR, dirs_exist_ok=True)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=PEER_DIR, check=True)

    scenarios = ["read", "create", "search", "ingest"]
    table = {}
    for scenario in scenarios:
        for kind in ("kavach", "peer"):
            runs = [run_scenario(kind, scenario, args) for _ in range(args.runs)]
            table[(kind, scenario)] = {key: median(runs, key) for key in runs[0]}
            print(scenario, kind, table[(kind, scenario)], flush=True)
    body_bytes = int(table[("kavach", "read")]["body_bytes"])
    ceiling_runs = [run_ceiling(body_bytes, args) for _ in range(args.runs)]
    ceiling = {key: median(ceiling_runs, key) for key in ceiling_runs[0]}
    print("ceiling", ceiling, flush=True)
    write_results(table, ceiling, body_bytes, args)


def write_results(table, ceiling, body_bytes, args):
    def rate(kind, scenario):
        value = table[(kind, scenario)]["rate"]
        return value * 100 if scenario == "ingest" else value

    targets = {"read": ("≥ 5× peer, ≥ 0.5× ceiling, p99 < 10 ms", 5), "create": ("≥ 5× peer", 5),
               "search": ("≥ 50× peer", 50), "ingest": ("≥ 20,000 resources/s", None)}
    lines = [
        "<!-- fhir_bench: begin (written by bench/fhir_bench.py) -->",
        f"## FHIR API beside the peer server and the ceiling, {time.strftime('%Y-%m-%d')}",
        "",
        f"`bench/fhir_bench.py --runs {args.runs} --duration {args.duration}`: medians of {args.runs} runs of "
        f"`wrk -t2 -c32 -d{args.duration}s` after a {args.warmup} s warm-up, each on a fresh server seeded with "
        "11 Patients and 1,000 Observations. Kavach: release build, SQLite, token authentication, "
        "per-patient encryption, blind indexes, validation, the audit log and durable commits on. "
        "Peer: ../shared/bench/peer (Medplum 5.2.13 router, in memory, validating). Ceiling: "
        f"bench/ceiling_server.cc answering a fixed {body_bytes}-byte body. Server, wrk and seeding share "
        "the 2-core machine.",
        "",
        "| scenario | Kavach | peer | Kavach/peer | Kavach p50 / p99 | peer p50 / p99 | Kavach peak RSS | target |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for scenario in ("read", "create", "search", "ingest"):
        k, p = table[("kavach", scenario)], table[("peer", scenario)]
        unit = "resources/s" if scenario == "ingest" else "req/s"
        ratio = rate("kavach", scenario) / rate("peer", scenario) if rate("peer", scenario) else float("nan")
        target, factor = targets[scenario]
        met = (ratio >= factor) if factor else (rate("kavach", scenario) >= 20000)
        if scenario == "read":
            met = met and rate("kavach", "read") >= 0.5 * ceiling["rate"] and (k["p99"] or 1e9) < 10
        lines.append(
            f"| {scenario} | {rate('kavach', scenario):,.0f} {unit} | {rate('peer', scenario):,.0f} {unit} | "
            f"{ratio:.1f}× | {k['p50']:.2f} / {k['p99']:.2f} ms | {p['p50']:.2f} / {p['p99']:.2f} ms | "
            f"{k['rss_mb']:.0f} MB | {target} {'✔' if met else '✘'} |")
    lines += [
        "",
        f"Ceiling (fixed body, no work): {ceiling['rate']:,.0f} req/s, p50 {ceiling['p50']:.2f} ms, "
        f"p99 {ceiling['p99']:.2f} ms. Kavach read / ceiling: {rate('kavach', 'read') / ceiling['rate']:.2f}×.",
        "Non-2xx answers during the runs (should be 0): "
        + ", ".join(f"{kind} {scenario} {table[(kind, scenario)]['errors']:.0f}"
                    for scenario in ("read", "create", "search", "ingest") for kind in ("kavach", "peer")) + ".",
        "<!-- fhir_bench: end -->",
    ]
    text = RESULTS.read_text()
    section = "\n".join(lines) + "\n"
    if "<!-- fhir_bench: begin" in text:
        text = re.sub(r"<!-- fhir_bench: begin.*?<!-- fhir_bench: end -->\n", section, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text)
    print(section)


if __name__ == "__main__":
    main()
