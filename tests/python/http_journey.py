"""A whole journey over HTTP/JSON with nothing but `requests`, as an agency's
integration would make it: report an incident, find the review it opened,
staff it, advance it, ask insights (a table, and a CSV stream as NDJSON).
Errors are google.rpc.Status JSON with their details and the HTTP status
Google's mapping gives; every port serves a valid OpenAPI 3.1 document.

Usage: http_journey.py  (addresses and tokens in the environment:
SCIR_INTAKE, SCIR_REVIEW, SCIR_SCORING, SCIR_INSIGHTS as host:port;
TOKEN_REPORTER, TOKEN_LEAD, TOKEN_ANALYST, TOKEN_OTHER_STATE)
"""

import json
import os
import time
import uuid

import requests
from openapi_spec_validator import validate

INTAKE, REVIEW, SCORING, INSIGHTS = (
    "http://" + os.environ[name]
    for name in ["SCIR_INTAKE", "SCIR_REVIEW", "SCIR_SCORING", "SCIR_INSIGHTS"]
)
TIMEOUT = 10


def bearer(name: str) -> dict:
    return {"Authorization": f"Bearer {os.environ[name]}"}


REPORTER, LEAD, ANALYST, OTHER = (
    bearer(n) for n in ["TOKEN_REPORTER", "TOKEN_LEAD", "TOKEN_ANALYST", "TOKEN_OTHER_STATE"]
)

INCIDENT = {
    "jurisdiction": "us-wi",
    "reportingAgency": "Dane County Department of Human Services",
    "incidentType": "INCIDENT_TYPE_DEATH",
    "causeCategory": "CAUSE_CATEGORY_SUID",
    "incidentDate": {"year": 2025, "month": 3, "day": 10},
    "learnedDate": {"year": 2025, "month": 3, "day": 11},
    "childAgeMonths": 4,
    "sex": "SEX_FEMALE",
    "raceEthnicity": ["RACE_ETHNICITY_BLACK"],
    "tribalStatus": "TRIBAL_STATUS_NOT_TRIBAL",
    "placement": {"setting": "PLACEMENT_SETTING_IN_HOME"},
    "maltreatmentSuspected": "ANSWER_YES",
    # A name from before the values took their prefix: still accepted.
    "maltreatmentTypes": ["MALTREATMENT_NEGLECT"],
    "hadPriorContact": "ANSWER_YES",
    "priorContacts": [
        {
            "kind": "CONTACT_KIND_REPORT",
            "date": {"year": 2024, "month": 12, "day": 1},
            "outcome": "CONTACT_OUTCOME_SCREENED_OUT",
        }
    ],
    "inCustody": "ANSWER_NO",
    "substantiated": "ANSWER_UNKNOWN",
    "lawEnforcementAgency": "Example City Police Department",
}


def expect(response: requests.Response, status: int) -> dict:
    assert response.status_code == status, (
        f"{response.request.method} {response.url}: {response.status_code} {response.text}"
    )
    assert response.headers["content-type"].startswith("application/json"), response.headers
    return response.json()


def error(response: requests.Response, status: int, code: int) -> dict:
    body = expect(response, status)
    assert body["code"] == code, body
    assert body["message"], body
    return body


def violations(body: dict) -> list:
    return [
        v["field"]
        for d in body.get("details", [])
        if d["@type"] == "type.googleapis.com/google.rpc.BadRequest"
        for v in d["fieldViolations"]
    ]


def openapi() -> None:
    for base in [INTAKE, REVIEW, SCORING, INSIGHTS]:
        document = expect(requests.get(f"{base}/openapi.json", timeout=TIMEOUT), 200)
        assert document["openapi"] == "3.1.0"
        validate(document)
        assert document["paths"], base
    print("openapi: four valid documents")


def report() -> dict:
    url = f"{INTAKE}/v1/incidents:report"
    request_id = str(uuid.uuid4())
    body = {"requestId": request_id, "incident": INCIDENT}

    error(requests.post(url, json=body, timeout=TIMEOUT), 401, 16)
    bad = dict(body, incident=dict(INCIDENT, incidentType="NO_SUCH_TYPE"))
    refused = error(requests.post(url, json=bad, headers=REPORTER, timeout=TIMEOUT), 400, 3)
    assert violations(refused) == ["incident.incident_type"], refused
    future = dict(body, incident=dict(INCIDENT, incidentDate={"year": 2999, "month": 1, "day": 1}))
    refused = error(requests.post(url, json=future, headers=REPORTER, timeout=TIMEOUT), 400, 3)
    assert any("incident_date" in f for f in violations(refused)), refused

    incident = expect(requests.post(url, json=body, headers=REPORTER, timeout=TIMEOUT), 200)
    assert incident["name"].startswith("jurisdictions/us-wi/incidents/"), incident
    assert incident["decision"]["outcome"] == "ELIGIBILITY_OUTCOME_PRACTICE_REVIEW", incident["decision"]
    again = expect(requests.post(url, json=body, headers=REPORTER, timeout=TIMEOUT), 200)
    assert again["name"] == incident["name"], "a retried report is the same incident"

    read = expect(
        requests.get(f"{INTAKE}/v1/{incident['name']}", headers=REPORTER, timeout=TIMEOUT), 200
    )
    assert read["name"] == incident["name"] and read["etag"] == incident["etag"]
    # The old name went in; the answer names the value as the contract does now.
    assert read["facts"]["maltreatmentTypes"] == ["MALTREATMENT_TYPE_NEGLECT"], read["facts"]
    error(requests.get(f"{INTAKE}/v1/{incident['name']}", headers=OTHER, timeout=TIMEOUT), 403, 7)
    listed = expect(
        requests.get(
            f"{INTAKE}/v1/jurisdictions/us-wi/incidents",
            params={"pageSize": 50, "outcomes": "ELIGIBILITY_OUTCOME_PRACTICE_REVIEW"},
            headers=REPORTER,
            timeout=TIMEOUT,
        ),
        200,
    )
    assert incident["name"] in [i["name"] for i in listed["incidents"]], listed
    print(f"intake: reported {incident['name']}")
    return incident


def review_of(incident: dict) -> dict:
    deadline = time.monotonic() + 30
    while True:
        page = expect(
            requests.get(
                f"{REVIEW}/v1/jurisdictions/us-wi/reviews",
                params={"incident": incident["name"]},
                headers=LEAD,
                timeout=TIMEOUT,
            ),
            200,
        )
        if page.get("reviews"):
            return page["reviews"][0]
        assert time.monotonic() < deadline, "review never opened the review"
        time.sleep(0.2)


def staff_and_advance(review: dict) -> dict:
    name = review["name"]
    assert review["stage"] == "STAGE_OPENED", review
    members = [("lead-http", "TEAM_ROLE_SCR_LEAD"), ("rater-http-1", "TEAM_ROLE_REVIEWER"), ("rater-http-2", "TEAM_ROLE_REVIEWER")]
    for subject, role in members:
        member = expect(
            requests.post(
                f"{REVIEW}/v1/{name}/teamMembers",
                json={"subject": subject, "role": role},
                headers=LEAD,
                timeout=TIMEOUT,
            ),
            200,
        )
        assert member["name"].startswith(f"{name}/teamMembers/"), member
    again = requests.post(
        f"{REVIEW}/v1/{name}/teamMembers",
        json={"subject": "lead-http", "role": "TEAM_ROLE_SCR_LEAD"},
        headers=LEAD,
        timeout=TIMEOUT,
    )
    error(again, 409, 6)
    team = expect(requests.get(f"{REVIEW}/v1/{name}/teamMembers", headers=LEAD, timeout=TIMEOUT), 200)
    assert len(team["members"]) == 3, team

    error(requests.get(f"{REVIEW}/v1/{name}", headers=REPORTER, timeout=TIMEOUT), 403, 7)
    current = expect(requests.get(f"{REVIEW}/v1/{name}", headers=LEAD, timeout=TIMEOUT), 200)
    stale = requests.post(
        f"{REVIEW}/v1/{name}:advance", json={"etag": '"0000"'}, headers=LEAD, timeout=TIMEOUT
    )
    error(stale, 409, 10)
    advanced = expect(
        requests.post(
            f"{REVIEW}/v1/{name}:advance",
            json={"etag": current["etag"]},
            headers=LEAD,
            timeout=TIMEOUT,
        ),
        200,
    )
    assert advanced["stage"] == "STAGE_CASE_RECORD_REVIEW", advanced
    history = expect(requests.get(f"{REVIEW}/v1/{name}/history", headers=LEAD, timeout=TIMEOUT), 200)
    assert history, history
    print(f"review: {name} staffed and advanced to {advanced['stage']}")
    return advanced


def insights() -> None:
    ask = {"question": "QUESTION_THEME_PREVALENCE", "filters": {"quarterTo": "2024-Q4"}}
    refused = error(
        requests.post(f"{INSIGHTS}/v1/insights:ask", json={"question": "NO"}, headers=ANALYST, timeout=TIMEOUT),
        400,
        3,
    )
    assert violations(refused) == ["question"], refused
    table = expect(
        requests.post(f"{INSIGHTS}/v1/insights:ask", json=ask, headers=ANALYST, timeout=TIMEOUT), 200
    )
    assert "columns" in table or "rows" in table or table == {} or "question" in table, table

    view = expect(
        requests.get(
            f"{INSIGHTS}/v1/jurisdictions/us-wi/operationalView", headers=ANALYST, timeout=TIMEOUT
        ),
        200,
    )
    assert isinstance(view, dict)
    error(
        requests.get(f"{INSIGHTS}/v1/jurisdictions/us-wi/operationalView", headers=REPORTER, timeout=TIMEOUT),
        403,
        7,
    )

    stream = requests.post(
        f"{INSIGHTS}/v1/insights:exportCsv", json=ask, headers=ANALYST, timeout=TIMEOUT, stream=True
    )
    assert stream.status_code == 200, stream.text
    assert stream.headers["content-type"] == "application/x-ndjson", stream.headers
    lines = [json.loads(line) for line in stream.iter_lines() if line]
    assert lines and all("error" not in line for line in lines), lines
    print(f"insights: a table, the operational view, and {len(lines)} CSV chunks as NDJSON")


def routing() -> None:
    missing = error(requests.get(f"{INTAKE}/v1/nowhere", headers=REPORTER, timeout=TIMEOUT), 404, 5)
    assert "openapi.json" in missing["message"], missing
    # A route of another service is not on this port.
    error(requests.get(f"{INTAKE}/v1/jurisdictions/us-wi/reviews", headers=LEAD, timeout=TIMEOUT), 404, 5)
    wrong_type = requests.post(
        f"{INTAKE}/v1/incidents:report", data="x", headers={**REPORTER, "content-type": "text/plain"}, timeout=TIMEOUT
    )
    error(wrong_type, 400, 3)
    print("routing: unknown routes and bodies refused")


def main() -> None:
    openapi()
    routing()
    incident = report()
    review = review_of(incident)
    staff_and_advance(review)
    insights()
    print("http journey ok")


if __name__ == "__main__":
    main()
