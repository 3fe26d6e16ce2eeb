#!/usr/bin/env bash
# CI: renders each Kubernetes overlay with the real tool (`kubectl kustomize`,
# kustomize v5) and validates the result against the Kubernetes schemas
# with kubernetes-validate (strict: unknown fields are errors), then checks
# SCIR's own promises (deploy/k8s/check.py).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${TMPDIR:-/tmp}/scir-k8s-venv"
[ -x "$venv/bin/kubernetes-validate" ] || {
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q kubernetes-validate==1.37.0
}
out="$(mktemp -d /tmp/scir-k8s.XXXXXX)"
trap 'rm -rf "$out"' EXIT
bash deploy/k8s/overlays/development/make-secrets.sh >/dev/null
for overlay in production development; do
  # The rule sets, the instrument and the member directory are the
  # repository's own files, outside the base directory.
  kubectl kustomize --load-restrictor LoadRestrictionsNone "deploy/k8s/overlays/$overlay" >"$out/$overlay.yaml"
  for version in 1.29.0 1.33.0; do
    "$venv/bin/kubernetes-validate" -k "$version" --strict --quiet "$out/$overlay.yaml"
  done
  "$venv/bin/python" deploy/k8s/check.py "$out/$overlay.yaml"
  echo "$overlay: $(grep -c '^kind:' "$out/$overlay.yaml") resources valid for Kubernetes 1.29 and 1.33"
done
