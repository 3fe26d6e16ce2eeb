"""A whole review in the web console, from opened to final, by an SCR lead and
two reviewers, each in a browser of their own (headless Chromium):

1. the lead sees what the next stage still needs (the guard's own checklist),
   is refused, staffs the team through the form, and advances;
2. reviewer one records an episode (a date error lands beside its field; a
   script typed into every text field comes back as text; hindsight wording
   gets advice beside it), reviewer two a debriefing with notes and a key
   observation linking both;
3. SSIT: reviewer one rates every item and sees only their own ratings;
   reviewer two's page shows nothing of reviewer one's until they submit;
   then the lead sees both, the agreement, and records the consensus;
4. a systems map edited as tables and drawn, a learning opportunity in the
   seed's two columns, a recommendation; each stage advanced by the lead;
5. the review finalised, and its 90-day summary downloaded;
6. axe-core audits every page: no serious or critical violation.

Usage: web_review_journey.py BASE_URL REVIEW_ID DAY (a day in the period)
"""

import datetime
import sys

import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from browser import audit, browser, heading, session_cookie, shot, sign_in

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'
LEAD, ONE, TWO = "web-lead-wi", "web-reviewer-one", "web-reviewer-two"


def no_injection(driver) -> None:
    assert not driver.find_elements(By.TAG_NAME, "script"), "a script element"
    assert not driver.find_elements(By.CSS_SELECTOR, "img[src=x]"), "an injected image"


def fill(driver, field: str, text: str) -> None:
    element = driver.find_element(By.ID, field)
    element.clear()
    element.send_keys(text)


def set_date(driver, field: str, day: str) -> None:
    # A date input's typing order follows the browser's locale; its value
    # does not.
    driver.execute_script("arguments[0].value = arguments[1]",
                          driver.find_element(By.ID, field), day)


def tick(driver, group: str, text: str) -> None:
    driver.find_element(
        By.XPATH, f"//fieldset[@id='{group}']//label[normalize-space(.)='{text}']").click()


def choose(driver, field: str, text: str) -> None:
    Select(driver.find_element(By.ID, field)).select_by_visible_text(text)


def save(driver, title: str) -> None:
    driver.find_element(By.XPATH, "//button[.='Save']").click()
    heading(driver, title)


def stage(driver) -> str:
    return driver.find_element(By.XPATH, "//dt[.='Stage']/following-sibling::dd[1]").text


def advance(driver, page: str, title: str, expected: str) -> None:
    driver.get(page)
    heading(driver, title)
    driver.find_element(By.XPATH, "//button[.='Advance to the next stage']").click()
    heading(driver, title)
    problems = driver.find_elements(By.CSS_SELECTOR, ".problems li")
    assert not problems, [p.text for p in problems]
    assert stage(driver) == expected, stage(driver)
    print(f"advanced to {expected}")


def rate(driver, level_of, why: str) -> int:
    """Chooses a level for every item of the form shown and gives the reason;
    the number of items."""
    items = driver.find_elements(By.CSS_SELECTOR, "div.item fieldset")
    for n, item in enumerate(items):
        code = item.get_attribute("id").removeprefix("level-")
        level = level_of(n)
        if level is not None:
            driver.find_element(By.CSS_SELECTOR, f"label[for='level-{code}-{level}']").click()
        area = driver.find_element(By.ID, f"rationale-{code}")
        area.clear()
        area.send_keys(f"{why} {code}")
    return len(items)


def main(base: str, review: str, day: str) -> None:
    page = f"{base}/reviews/{review}"
    title = f"Review {review[-8:]}"
    before = (datetime.date.fromisoformat(day) - datetime.timedelta(days=1)).isoformat()
    lead, one, two = (browser(javascript=True, width=1100) for _ in range(3))
    try:
        sign_in(lead, base, LEAD, "us-wi", ["scr_lead"])
        sign_in(one, base, ONE, "us-wi", ["reviewer"])
        sign_in(two, base, TWO, "us-wi", ["reviewer"])
        for driver in (lead, one, two):
            heading(driver, "Reviews")

        # 1. What the next stage needs, a refusal, the team, the advance.
        lead.get(page)
        heading(lead, title)
        checklist = lead.find_element(By.CSS_SELECTOR, "ul.checklist").text
        assert "the team needs an SCR lead" in checklist, checklist
        assert "the team needs at least one reviewer" in checklist, checklist
        audit(lead, "review opened")
        lead.find_element(By.XPATH, "//button[.='Advance to the next stage']").click()
        heading(lead, title)
        assert lead.find_elements(By.CSS_SELECTOR, ".problems li"), "the guard refused"
        print("the guard refused an unstaffed review")
        for member, role in ((LEAD, "SCR lead"), (ONE, "Reviewer"), (TWO, "Reviewer")):
            fill(lead, "member-subject", member)
            choose(lead, "member-role", role)
            lead.find_element(By.XPATH, "//button[.='Add to the team']").click()
            heading(lead, title)
        assert "Nothing is missing" in lead.find_element(By.TAG_NAME, "main").text
        advance(lead, page, title, "Case record review")
        # The reviewers find it among their own reviews.
        for driver in (one, two):
            driver.get(f"{base}/")
            heading(driver, "Reviews")
            mine = driver.find_element(
                By.XPATH, "//table[caption[starts-with(., 'My reviews')]]").text
            assert review[-8:] in mine, mine
        print("each reviewer finds the review under My reviews")

        # 2. An episode by reviewer one: a date error beside its field, then
        # saved with a script in every text field and hindsight wording.
        one.get(f"{page}/episodes")
        heading(one, "Key practice episodes")
        fill(one, "title", XSS)
        set_date(one, "start_date", day)
        set_date(one, "end_date", before)
        fill(one, "what_happened", XSS + " The worker should have seen the bruise.")
        choose(one, "assessment", "Problematic")
        fill(one, "source_documents", XSS)
        tick(one, "contributory_factors", "Conditions of work")
        save(one, "Key practice episodes")
        error = one.find_element(By.ID, "end_date-error").text
        assert "start_date" in error, error
        assert one.find_element(By.ID, "end_date").get_attribute("aria-describedby") == "end_date-error"
        assert one.find_element(By.ID, "title").get_attribute("value") == XSS, "the form kept"
        no_injection(one)
        print(f"the episode refused, beside its field: {error}")
        set_date(one, "end_date", day)
        save(one, "Key practice episodes")
        article = one.find_element(By.CSS_SELECTOR, "article.part")
        assert article.find_element(By.TAG_NAME, "h3").text == XSS, "the title shown as text"
        advice = article.find_element(By.CSS_SELECTOR, ".advice").text
        assert "should have" in advice and "hindsight" in advice, advice
        no_injection(one)
        shot(one, "web-episodes")
        audit(one, "episodes")
        print("an episode recorded: the script shown as text, hindsight advice beside it")
        # Edited in place: the advice goes with the wording it was about.
        one.find_element(By.CSS_SELECTOR, "article.part a.edit").click()
        heading(one, "Edit: Key practice episodes")
        assert one.find_element(By.ID, "title").get_attribute("value") == XSS, "the form filled"
        assert one.find_element(By.ID, "end_date").get_attribute("value") == day
        fill(one, "what_happened", "The visit was cut short; the bruise was not seen at the time.")
        one.find_element(By.XPATH, "//button[.='Save changes']").click()
        heading(one, "Key practice episodes")
        article = one.find_element(By.CSS_SELECTOR, "article.part")
        assert "cut short" in article.text, article.text
        assert not article.find_elements(By.CSS_SELECTOR, ".advice"), "no advice left"
        audit(one, "episode edited")
        print("the episode edited in place; its advice gone with the wording")

        # Attacks with valid sessions and their own form tokens: a partner of
        # Wisconsin (the weakest role) and a reviewer of Tennessee post a
        # delete and a new episode straight at this review. Nothing changes.
        action = one.find_element(By.CSS_SELECTOR, "article.part form.inline").get_attribute("action")
        etag = one.find_element(
            By.CSS_SELECTOR, "article.part form.inline input[name=etag]").get_attribute("value")
        for who, jurisdiction, role in (("web-partner-wi", "us-wi", "partner"),
                                        ("web-reviewer-tn", "us-tn", "reviewer")):
            attacker = browser(javascript=True, width=1100)
            try:
                sign_in(attacker, base, who, jurisdiction, [role])
                heading(attacker, "Reviews")
                token = attacker.find_element(By.NAME, "csrf").get_attribute("value")
                cookies = session_cookie(attacker)
            finally:
                attacker.quit()
            deleted = requests.post(action, data={"csrf": token, "etag": etag},
                                    cookies=cookies, allow_redirects=False, timeout=10)
            created = requests.post(f"{page}/episodes", cookies=cookies, allow_redirects=False,
                                    timeout=10, data={"csrf": token, "title": "planted",
                                                      "start_date": day, "end_date": day,
                                                      "what_happened": "planted",
                                                      "assessment": "GOOD"})
            # The partner is turned away by role (403); the other
            # jurisdiction's reviewer finds no such review (404).
            assert {deleted.status_code, created.status_code} <= {403, 404}, (
                who, deleted.status_code, created.status_code)
            print(f"{who}: delete {deleted.status_code}, create {created.status_code}")
        one.get(f"{page}/episodes")
        heading(one, "Key practice episodes")
        articles = one.find_elements(By.CSS_SELECTOR, "article.part")
        assert len(articles) == 1 and "planted" not in articles[0].text, [a.text for a in articles]
        print("a partner and another jurisdiction's reviewer changed nothing")
        advance(lead, page, title, "Debriefing")

        # A debriefing with notes, and a key observation linking both parts.
        two.get(f"{page}/debriefings")
        heading(two, "Debriefings")
        set_date(two, "date", day)
        fill(two, "participant_roles", "intake worker\nsupervisor")
        fill(two, "decision_context", XSS + " Forty reports were waiting in the queue.")
        fill(two, "notes", XSS + " Sealed note.")
        save(two, "Debriefings")
        assert "Sealed note." in two.find_element(By.TAG_NAME, "main").text, "the team reads notes"
        no_injection(two)
        audit(two, "debriefings")
        two.get(f"{page}/observations")
        heading(two, "Key observations")
        fill(two, "title", "Screening under a full queue " + XSS)
        fill(two, "description", XSS + " Screening decisions were made with a long queue.")
        for group in ("episodes", "debriefings"):
            two.find_element(By.CSS_SELECTOR, f"fieldset#{group} input[type=checkbox]").click()
        tick(two, "themes", "Workload and staffing")
        save(two, "Key observations")
        article = two.find_element(By.CSS_SELECTOR, "article.part").text
        assert XSS in article and "Workload and staffing" in article, article
        no_injection(two)
        audit(two, "key observations")
        advance(lead, page, title, "SSIT scoring")

        # 3. SSIT, blind until both have rated.
        one.get(f"{page}/ssit")
        heading(one, "SSIT scoring")
        one.find_element(By.XPATH, "//table//a").click()
        heading(one, "SSIT: Screening under a full queue " + XSS)
        items = rate(one, lambda n: 2 if n % 3 else 1, "Reviewer one's reason for")
        audit(one, "ssit rating")
        one.find_element(By.XPATH, "//button[.='Submit my ratings']").click()
        heading(one, "SSIT: Screening under a full queue " + XSS)
        text = one.find_element(By.TAG_NAME, "main").text
        assert "1 of 2 raters have submitted" in text, text
        assert "Your submitted ratings" in text, text
        print(f"reviewer one rated {items} items")
        two.get(one.current_url)
        heading(two, "SSIT: Screening under a full queue " + XSS)
        assert "Reviewer one's reason" not in two.page_source, "ratings are blind"
        assert not two.find_elements(By.XPATH, f"//th[.='{ONE}']"), "ratings are blind"
        audit(two, "ssit blind")
        print("reviewer two sees nothing of reviewer one's ratings before submitting")
        # An item left without a level is named beside it; nothing is sent.
        rate(two, lambda n: None if n == 0 else 2, "Reviewer two's reason for")
        two.find_element(By.XPATH, "//button[.='Submit my ratings']").click()
        heading(two, "SSIT: Screening under a full queue " + XSS)
        first = two.find_element(By.CSS_SELECTOR, "div.item fieldset").get_attribute("id")
        assert two.find_element(By.ID, f"{first}-error").text == "Choose a level."
        rate(two, lambda n: 2, "Reviewer two's reason for")
        two.find_element(By.XPATH, "//button[.='Submit my ratings']").click()
        heading(two, "SSIT: Screening under a full queue " + XSS)
        text = two.find_element(By.TAG_NAME, "main").text
        assert "Reviewer one's reason" in text and "Percent agreement" in text, text
        lead.get(one.current_url)
        heading(lead, "SSIT: Screening under a full queue " + XSS)
        assert lead.find_element(By.XPATH, f"//th[.='{ONE}']") and lead.find_element(
            By.XPATH, f"//th[.='{TWO}']"), "both raters' columns"
        audit(lead, "ssit consensus")
        shot(lead, "web-ssit-consensus")
        rate(lead, lambda n: None, "Agreed in calibration:")
        lead.find_element(By.XPATH, "//button[.='Record the consensus']").click()
        heading(lead, "SSIT: Screening under a full queue " + XSS)
        assert "Recorded by " + LEAD in lead.find_element(By.TAG_NAME, "main").text
        print("both raters in, agreement shown, the consensus recorded")
        advance(lead, page, title, "Systems mapping")

        # 4. A systems map as tables, drawn.
        one.get(f"{page}/maps")
        heading(one, "Systems maps")
        choose(one, "key_observation", "Screening under a full queue " + XSS)
        for i, (node, label, kind) in enumerate((
                ("queue", "Queue of forty reports " + XSS, "Conditions of work"),
                ("policy", "Screening guidance unclear", "Organisation"),
                ("supervision", "No supervisor on call", "Team"))):
            fill(one, f"nodes[{i}].id", node)
            fill(one, f"nodes[{i}].label", label)
            choose(one, f"nodes[{i}].factor", kind)
        for i, (a, b, how) in enumerate((("policy", "queue", "slows"),
                                         ("supervision", "queue", XSS))):
            fill(one, f"edges[{i}].from", a)
            fill(one, f"edges[{i}].to", b)
            fill(one, f"edges[{i}].label", how)
        # A link to a factor that is not on the map, in the form's fourth row.
        fill(one, "edges[3].from", "queue")
        fill(one, "edges[3].to", "nowhere")
        save(one, "Systems maps")
        error = one.find_element(By.ID, "edges[3].to-error").text
        assert "not a node" in error, error
        print(f"a link to a missing factor refused beside its row: {error}")
        fill(one, "edges[3].from", "")
        fill(one, "edges[3].to", "")
        save(one, "Systems maps")
        svg = one.find_element(By.CSS_SELECTOR, "svg.map")
        assert len(svg.find_elements(By.TAG_NAME, "rect")) == 3
        assert len(svg.find_elements(By.TAG_NAME, "line")) == 2
        # Shapes hold nothing (an unclosed shape would swallow the labels).
        assert not svg.find_elements(By.CSS_SELECTOR, "rect > *, line > *")
        labels = [t.text for t in svg.find_elements(By.TAG_NAME, "text") if t.is_displayed()]
        assert "No supervisor on call" in labels, labels
        no_injection(one)
        shot(one, "web-systems-map")
        audit(one, "systems maps")
        print("the map drawn: 3 factors, 2 links")
        advance(lead, page, title, "Learning opportunities")

        # A learning opportunity in the seed's two columns.
        two.get(f"{page}/learning")
        heading(two, "Learning opportunities")
        fill(two, "family_need", XSS + " A safe sleep assessment at the first visit.")
        fill(two, "action_taken", XSS + " The visit was rescheduled twice.")
        choose(two, "status", "Unmet")
        choose(two, "practice_function", "Assessment")
        two.find_element(By.CSS_SELECTOR, "fieldset#key_observations input").click()
        save(two, "Learning opportunities")
        headers = [th.text for th in two.find_elements(By.CSS_SELECTOR, "table.two thead th")]
        assert headers[:2] == ["What the family needed",
                               "What action did or did not take place"], headers
        no_injection(two)
        shot(two, "web-learning")
        audit(two, "learning opportunities")
        advance(lead, page, title, "Recommendations")

        # A recommendation, then final.
        one.get(f"{page}/recommendations")
        heading(one, "Recommendations")
        fill(one, "description", XSS + " Cap the screening queue per worker.")
        choose(one, "category", "Workforce support")
        fill(one, "owner", "Intake programme " + XSS)
        set_date(one, "due_date", (datetime.date.today() + datetime.timedelta(days=90)).isoformat())
        choose(one, "strength", "Stronger")
        choose(one, "status", "Accepted")
        one.find_element(By.CSS_SELECTOR, "fieldset#learning_opportunities input").click()
        save(one, "Recommendations")
        assert "Cap the screening queue" in one.find_element(By.TAG_NAME, "main").text
        no_injection(one)
        audit(one, "recommendations")
        advance(lead, page, title, "Finalised")
        assert not lead.find_elements(By.XPATH, "//button[.='Advance to the next stage']")
        audit(lead, "review final")
        shot(lead, "web-review-final")

        # 5. The summaries, generated and downloaded.
        texts = {}
        for link_text, expected in (("The 90-day summary", "Screening under a full queue"),
                                    ("The 6-month summary", "Cap the screening queue")):
            link = lead.find_element(By.LINK_TEXT, link_text).get_attribute("href")
            summary = requests.get(link, cookies=session_cookie(lead), timeout=10)
            assert summary.status_code == 200, summary.text
            assert summary.headers["content-type"].startswith("text/markdown"), summary.headers
            assert "attachment" in summary.headers["content-disposition"]
            assert expected in summary.text, summary.text
            texts[link_text] = summary.text
        for driver in (one, two):
            driver.get(page)
            heading(driver, title)
            assert stage(driver) == "Finalised"
            assert not driver.find_elements(By.XPATH, "//button[.='Save']")
        print(f"finalised by the console; summaries of {[len(t) for t in texts.values()]} characters")
    finally:
        for driver in (lead, one, two):
            driver.quit()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
