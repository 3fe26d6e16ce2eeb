"""Any bytes over HTTP/JSON: schemathesis generates requests from each port's
own OpenAPI document (valid and invalid: wrong types, missing and extra
fields, odd strings, path segments) and every answer must be a deliberate one,
never a server error.

Usage: fuzz_http.py ADDRESS [ADDRESS ...]  (token in TOKEN: a caller holding
every person role, so requests get past authorisation to the parsers)
"""

import os
import shutil
import subprocess
import sys
import tempfile

# Beside this interpreter (a virtualenv, pyenv), else wherever pip put scripts.
ST = next(
    path
    for path in [os.path.join(os.path.dirname(sys.executable), "st"), shutil.which("st")]
    if path and os.path.exists(path)
)


def run(address: str, token: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            ST, "run", f"http://{address}/openapi.json",
            "-H", f"Authorization: Bearer {token}",
            "--checks", "not_a_server_error",
            "--max-examples", os.environ.get("EXAMPLES", "8"),
            "--seed", "20261204",
            "--workers", "2",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        # schemathesis keeps a cache where it runs; not in the checkout.
        cwd=tempfile.mkdtemp(prefix="scir-fuzz-"),
    )


def tool_crashed(result: subprocess.CompletedProcess) -> bool:
    """Whether the run failed only because schemathesis itself crashed (its
    threads can trip CPython's own compiler: "AST constructor recursion depth
    mismatch"), with no check failing against the server."""
    out = result.stdout
    return "Runtime Error" in out and "FAILURES" not in out and "Server error" not in out


def main() -> None:
    token = os.environ["TOKEN"]
    for address in sys.argv[1:]:
        result = run(address, token)
        if result.returncode != 0 and tool_crashed(result):
            print(f"{address}: schemathesis crashed without a failed check; running it again")
            result = run(address, token)
        summary = [line for line in result.stdout.splitlines() if "generated" in line]
        if result.returncode != 0:
            print(result.stdout[-6000:], result.stderr[-2000:])
            raise SystemExit(f"{address}: schemathesis found server errors")
        print(f"{address}: {summary[-1].strip() if summary else 'ok'}")
    print("fuzz ok")


if __name__ == "__main__":
    main()
