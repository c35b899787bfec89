#!/usr/bin/python3
"""Check compose files against the Compose Specification's JSON schema.

    check-compose.py SCHEMA FILE...

SCHEMA: the spec's compose-spec.json (Debian's docker-compose ships it as
/usr/lib/python3/dist-packages/compose/config/compose_spec.json). Each FILE is read as YAML
(merge keys resolved, variables left as written) and validated whole; every violation is
printed with its path, and the exit status is 1 if any.
"""
import json
import sys

import jsonschema
import yaml


def main(schema_path, files):
    with open(schema_path) as f:
        schema = json.load(f)
    validator = jsonschema.Draft7Validator(schema)
    bad = 0
    for path in files:
        with open(path) as f:
            doc = yaml.safe_load(f)
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
        for e in errors:
            where = "/".join(str(p) for p in e.absolute_path) or "(top)"
            print(f"{path}: {where}: {e.message}")
        bad += len(errors)
        if not errors:
            print(f"{path}: valid")
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2:]))
