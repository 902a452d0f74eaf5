"""Validates Kubernetes manifests against the schemas of one Kubernetes version (kubernetes-validate).

usage: validate.py VERSION FILE...

Strict: unknown fields are errors, and so is a document whose kind has no schema in that version
(kubernetes-validate itself only warns then). Prints one line per failure and a summary; exits 1 on any
failure.
"""

import sys

import kubernetes_validate
import yaml


def main():
    version, paths = sys.argv[1], sys.argv[2:]
    checked = 0
    failures = []
    for path in paths:
        with open(path) as stream:
            documents = [document for document in yaml.safe_load_all(stream) if document]
        for index, document in enumerate(documents):
            checked += 1
            name = "%s/%s" % (document.get("kind"), (document.get("metadata") or {}).get("name"))
            where = "%s document %d (%s)" % (path, index, name)
            try:
                kubernetes_validate.validate(document, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                field = ".".join(str(part) for part in error.path)
                failures.append("%s: %s: %s" % (where, field, error.message))
            except kubernetes_validate.SchemaNotFoundError as error:
                failures.append("%s: %s" % (where, error.message))
    for failure in failures:
        print("FAIL " + failure)
    print("validated %d documents against Kubernetes %s: %d failed" % (checked, version, len(failures)))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
