#!/usr/bin/env python3
"""Renders a kustomization the way `kustomize build --load-restrictor
LoadRestrictionsNone` does, for the features SCIR's manifests use, where no
kustomize binary is available (CI validates the output with kubernetes-validate).

Supported: resources (files and directories with a kustomization), namespace,
labels (includeSelectors false) and commonLabels, images, replicas,
configMapGenerator and secretGenerator (literals, files, envs) with
generatorOptions.disableNameSuffixHash true, and patches given by path
(strategic merge: maps merge, lists of maps merge by `name`, other lists are
replaced, null deletes). Any other key is an error, so nothing is silently
ignored.

usage: render.py DIR > out.yaml
"""

import base64
import copy
import os
import sys

import yaml

KNOWN = {
    "apiVersion", "kind", "resources", "namespace", "labels", "commonLabels", "images",
    "replicas", "configMapGenerator", "secretGenerator", "generatorOptions", "patches",
}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}


def fail(message):
    sys.exit(f"render.py: {message}")


def load_docs(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def merge(base, patch):
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for key, value in patch.items():
            if value is None:
                out.pop(key, None)
            elif key in out:
                out[key] = merge(out[key], value)
            else:
                out[key] = copy.deepcopy(value)
        return out
    if isinstance(base, list) and isinstance(patch, list):
        if all(isinstance(x, dict) and "name" in x for x in base + patch):
            out = [copy.deepcopy(x) for x in base]
            for item in patch:
                for i, existing in enumerate(out):
                    if existing["name"] == item["name"]:
                        out[i] = merge(existing, item)
                        break
                else:
                    out.append(copy.deepcopy(item))
            return out
        return copy.deepcopy(patch)
    return copy.deepcopy(patch)


def generated(kind, spec, root, options):
    if not options.get("disableNameSuffixHash"):
        fail("generators need generatorOptions.disableNameSuffixHash: true")
    data = {}
    for literal in spec.get("literals", []):
        key, _, value = literal.partition("=")
        data[key] = value
    for path in spec.get("files", []):
        key, _, file = path.partition("=") if "=" in path else (os.path.basename(path), "", path)
        with open(os.path.join(root, file)) as f:
            data[key] = f.read()
    for path in spec.get("envs", []):
        with open(os.path.join(root, path)) as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#"):
                    key, _, value = line.partition("=")
                    data[key] = value
    doc = {"apiVersion": "v1", "kind": kind, "metadata": {"name": spec["name"]}}
    if kind == "Secret":
        doc["type"] = spec.get("type", "Opaque")
        doc["data"] = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    else:
        doc["data"] = data
    return doc


def set_image(doc, images):
    spec = doc.get("spec", {}).get("template", {}).get("spec", {})
    for container in spec.get("containers", []) + spec.get("initContainers", []):
        name = container["image"].split(":")[0]
        for image in images:
            if image["name"] == name:
                container["image"] = f"{image.get('newName', name)}:{image.get('newTag', 'latest')}"


def add_labels(doc, pairs):
    doc.setdefault("metadata", {}).setdefault("labels", {}).update(pairs)
    template = doc.get("spec", {}).get("template")
    if isinstance(template, dict):
        template.setdefault("metadata", {}).setdefault("labels", {}).update(pairs)


def build(root):
    path = os.path.join(root, "kustomization.yaml")
    if not os.path.exists(path):
        fail(f"{root} has no kustomization.yaml")
    k = load_docs(path)[0]
    unknown = set(k) - KNOWN
    if unknown:
        fail(f"{path}: unsupported keys {sorted(unknown)}")
    docs = []
    for resource in k.get("resources", []):
        full = os.path.join(root, resource)
        docs.extend(build(full) if os.path.isdir(full) else load_docs(full))
    options = k.get("generatorOptions", {})
    for spec in k.get("configMapGenerator", []):
        docs.append(generated("ConfigMap", spec, root, options))
    for spec in k.get("secretGenerator", []):
        docs.append(generated("Secret", spec, root, options))
    for patch in k.get("patches", []):
        if set(patch) != {"path"}:
            fail(f"{path}: only patches with a path are supported")
        for p in load_docs(os.path.join(root, patch["path"])):
            targets = [
                i for i, d in enumerate(docs)
                if d["kind"] == p["kind"] and d["metadata"]["name"] == p["metadata"]["name"]
            ]
            if not targets:
                fail(f"{patch['path']}: no {p['kind']} {p['metadata']['name']} to patch")
            for i in targets:
                docs[i] = merge(docs[i], p)
    for replica in k.get("replicas", []):
        for d in docs:
            if d["kind"] in ("Deployment", "StatefulSet") and d["metadata"]["name"] == replica["name"]:
                d["spec"]["replicas"] = replica["count"]
    for d in docs:
        set_image(d, k.get("images", []))
    for entry in k.get("labels", []):
        if entry.get("includeSelectors"):
            fail("labels with includeSelectors are not supported")
        for d in docs:
            add_labels(d, entry["pairs"])
    if k.get("commonLabels"):
        fail("commonLabels changes selectors; use labels with includeSelectors: false")
    if "namespace" in k:
        for d in docs:
            if d["kind"] not in CLUSTER_SCOPED:
                d["metadata"]["namespace"] = k["namespace"]
    return docs


def main():
    if len(sys.argv) != 2:
        fail("usage: render.py DIR")
    docs = build(sys.argv[1])
    yaml.safe_dump_all(docs, sys.stdout, sort_keys=False)


if __name__ == "__main__":
    main()
