#!/usr/bin/env python3
"""Checks rendered manifests for what SCIR promises beyond the schema: every
SCIR Deployment runs non-root on a read-only root filesystem without extra
capabilities, serves mutual TLS with its own certificate Secret, has readiness
and liveness probes that speak it (scir-probe: a kubelet gRPC probe cannot
present a client certificate) and resource limits, and comes with a Service, a
HorizontalPodAutoscaler and a PodDisruptionBudget; the namespace denies all
traffic by default.

usage: check.py rendered.yaml
"""

import sys

import yaml

SERVICES = ["scir-culture", "scir-insights", "scir-intake", "scir-learning", "scir-review", "scir-scoring", "scir-web"]


def main():
    docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
    problems = []
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
    deployments = {n: d for n, d in by_kind.get("Deployment", {}).items() if n.startswith("scir-")}
    if sorted(deployments) != SERVICES:
        problems.append(f"expected the SCIR Deployments {SERVICES}, found {sorted(deployments)}")
    for name, d in deployments.items():
        pod = d["spec"]["template"]["spec"]
        if not pod.get("securityContext", {}).get("runAsNonRoot"):
            problems.append(f"{name}: pod does not require a non-root user")
        for c in pod["containers"]:
            sc = c.get("securityContext", {})
            if not sc.get("readOnlyRootFilesystem"):
                problems.append(f"{name}: root filesystem is writable")
            if sc.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{name}: privilege escalation allowed")
            if sc.get("capabilities", {}).get("drop") != ["ALL"]:
                problems.append(f"{name}: capabilities not dropped")
            for probe in ("readinessProbe", "livenessProbe"):
                command = c.get(probe, {}).get("exec", {}).get("command", [])
                if command[:1] != ["/usr/local/bin/scir-probe"]:
                    problems.append(f"{name}: {probe} does not run scir-probe")
            if not c.get("resources", {}).get("limits"):
                problems.append(f"{name}: no resource limits")
            mounts = {m["name"]: m for m in c.get("volumeMounts", [])}
            if mounts.get("tls", {}).get("mountPath") != "/etc/scir/tls":
                problems.append(f"{name}: no TLS certificate mounted at /etc/scir/tls")
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        if volumes.get("tls", {}).get("secret", {}).get("secretName") != f"{name}-tls":
            problems.append(f"{name}: TLS volume is not the Secret {name}-tls")
        for policy in (f"{name}-ingress", f"{name}-egress"):
            if policy not in by_kind.get("NetworkPolicy", {}):
                problems.append(f"{name}: no NetworkPolicy {policy}")
        for kind in ("Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"):
            if name not in by_kind.get(kind, {}):
                problems.append(f"{name}: no {kind}")
    common = by_kind.get("ConfigMap", {}).get("scir-common", {}).get("data", {})
    for key in ("SCIR_TLS_CERT", "SCIR_TLS_KEY", "SCIR_TLS_CA"):
        if not common.get(key, "").startswith("/etc/scir/tls/"):
            problems.append(f"scir-common: {key} does not name a file in /etc/scir/tls")
    deny = by_kind.get("NetworkPolicy", {}).get("scir-default-deny")
    if not deny or deny["spec"].get("podSelector") != {}:
        problems.append("no default-deny NetworkPolicy")
    for p in problems:
        print(f"check.py: {p}", file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
