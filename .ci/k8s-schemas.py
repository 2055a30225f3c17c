#!/usr/bin/env python3
"""Kubernetes JSON schemas for kubeconform, made offline from the kubernetes-validate wheel (PyPI).

The wheel's schemas point at a shared definitions file by an absolute path that kubeconform
cannot follow, so each kind's schema gets the definitions inlined, in the directory layout
kubeconform expects (`<dir>/v<version>-standalone-strict/<kind>-<group>-<version>.json`).

usage: k8s-schemas.py WHEEL KUBERNETES_VERSION OUTPUT_DIR
"""

import json
import os
import sys
import zipfile


def main(wheel: str, version: str, output: str) -> None:
    source = f"kubernetes_validate/kubernetes-json-schema/v{version}-local-strict/"
    target = os.path.join(output, f"v{version}-standalone-strict")
    os.makedirs(target, exist_ok=True)
    with zipfile.ZipFile(wheel) as archive:
        names = [n for n in archive.namelist() if n.startswith(source) and n.endswith(".json")]
        if not names:
            sys.exit(f"{wheel} has no schemas for Kubernetes {version}")
        definitions = json.loads(archive.read(source + "_definitions.json"))["$defs"]
        for name in names:
            kind = os.path.basename(name)
            if kind.startswith("_"):
                continue
            text = archive.read(name).decode().replace('"/api/_definitions.json#/', '"#/')
            schema = json.loads(text)
            schema["$defs"] = definitions
            with open(os.path.join(target, kind), "w") as out:
                json.dump(schema, out)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
