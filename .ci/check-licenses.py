#!/usr/bin/env python3
"""Fails when any dependency can only be used under a GPL-family licence.

Reads `cargo metadata`; an SPDX expression passes when at least one of its OR-alternatives
contains no GPL/AGPL/LGPL term. Packages without a licence field are reported and fail too.
"""
import json
import re
import subprocess
import sys

metadata = json.loads(
    subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--locked"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
)
workspace = set(metadata["workspace_members"])
problems = []
for package in metadata["packages"]:
    if package["id"] in workspace:
        continue
    expression = package.get("license")
    if not expression:
        if package.get("license_file"):
            problems.append(f'{package["name"]} {package["version"]}: licence only in a file; review it')
        else:
            problems.append(f'{package["name"]} {package["version"]}: no licence declared')
        continue
    alternatives = re.split(r"\s+OR\s+|/", expression.replace("(", " ").replace(")", " "))
    if all(re.search(r"\b(A|L)?GPL", alt) for alt in alternatives):
        problems.append(f'{package["name"]} {package["version"]}: {expression}')

if problems:
    print("licence check failed:")
    for problem in problems:
        print("  " + problem)
    sys.exit(1)
print(f'licence check: {len(metadata["packages"]) - len(workspace)} dependencies, none GPL-only')
