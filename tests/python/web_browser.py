"""The web console as the people in the process meet it, in a real headless
Chromium:

1. the development sign-in, with a script typed as the name: refused, shown
   back escaped, never run;
2. an SCR lead of Wisconsin: the reviews (overdue first), a review whose
   guard refuses to advance (what it still needs, as a list), staffed through
   the team form until the guard passes, and another that advances;
3. the same pages by keyboard (a skip link first) and at 320 px wide (the
   page never scrolls sideways; tables scroll in their own region);
4. forms posted without their token, or with another session's, refused;
5. a reviewer of Tennessee sees nothing of Wisconsin's review;
6. a partner asks insights: pooled answer, its chart, CSV, and the protection
   explained; an analyst's incomplete question shows the service's error
   beside the field;
7. sign-out ends the session;
8. axe-core audits every page: no serious or critical violation.

Screenshots of the main pages go to SCREENSHOTS, when set.

Usage: web_browser.py BASE_URL REFUSED_REVIEW_ID ADVANCING_REVIEW_ID LEAD_SUBJECT
(the SCR lead on the advancing review's team)
"""

import sys

import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from browser import audit, browser, heading, session_cookie, shot, sign_in

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def lead(base: str, refused: str, advancing: str, subject: str) -> None:
    driver = browser(javascript=True, width=1100)
    try:
        driver.get(f"{base}/")
        heading(driver, "Sign in")  # no session: sent to sign in
        shot(driver, "web-sign-in")
        audit(driver, "sign-in")

        # A script as the name: refused, echoed escaped, not run.
        sign_in(driver, base, XSS, "us-wi", ["scr_lead"])
        heading(driver, "Sign in")
        assert "Please check the form" in driver.page_source
        assert not driver.find_elements(By.TAG_NAME, "script"), "a script element"
        assert not driver.find_elements(By.CSS_SELECTOR, "img[src=x]"), "an injected image"
        assert driver.find_element(By.ID, "subject").get_attribute("value") == XSS
        audit(driver, "sign-in refused")
        print("a script typed as the name: refused, shown back as text")

        sign_in(driver, base, subject, "us-wi", ["scr_lead"])
        heading(driver, "Reviews")
        text = driver.find_element(By.TAG_NAME, "main").text
        for review in (refused, advancing):
            assert review[-8:] in text, f"{review[-8:]} listed"
        shot(driver, "web-reviews")
        audit(driver, "reviews")

        # A guard refuses: what the review still needs, as a list.
        driver.find_element(By.LINK_TEXT, refused[-8:]).click()
        heading(driver, f"Review {refused[-8:]}")
        audit(driver, "review")
        driver.find_element(By.XPATH, "//button[.='Advance to the next stage']").click()
        heading(driver, f"Review {refused[-8:]}")
        problems = driver.find_element(By.CSS_SELECTOR, ".problems")
        items = problems.find_elements(By.TAG_NAME, "li")
        assert items, "the guard's violations listed"
        shot(driver, "web-review-refused")
        audit(driver, "review refused")
        print(f"the guard refused: {len(items)} thing(s) still needed")

        # Staffed through the team form, the same review passes its guard.
        for member, role in ((subject, "SCR lead"), ("reviewer-a", "Reviewer")):
            field = driver.find_element(By.ID, "member-subject")
            field.send_keys(member)
            Select(driver.find_element(By.ID, "member-role")).select_by_visible_text(role)
            driver.find_element(By.XPATH, "//button[.='Add to the team']").click()
            heading(driver, f"Review {refused[-8:]}")
            team = driver.find_element(By.XPATH, "//h2[.='Team']/following-sibling::ul[1]").text
            assert f"{member} – {role}" in team, team
        driver.find_element(By.XPATH, "//button[.='Advance to the next stage']").click()
        heading(driver, f"Review {refused[-8:]}")
        stage = driver.find_element(By.XPATH, "//dt[.='Stage']/following-sibling::dd[1]").text
        assert stage == "Case record review", stage
        assert not driver.find_elements(By.CSS_SELECTOR, ".problems")
        audit(driver, "review staffed")
        print("staffed through the form, the refused review passed its guard")

        # A staffed review advances.
        driver.get(f"{base}/reviews/{advancing}")
        heading(driver, f"Review {advancing[-8:]}")
        driver.find_element(By.XPATH, "//button[.='Advance to the next stage']").click()
        heading(driver, f"Review {advancing[-8:]}")
        stage = driver.find_element(By.XPATH, "//dt[.='Stage']/following-sibling::dd[1]").text
        assert stage == "Case record review", stage
        assert not driver.find_elements(By.CSS_SELECTOR, ".problems")
        shot(driver, "web-review")
        print(f"the staffed review advanced to {stage}")

        # Forms need their own session's token.
        cookies = session_cookie(driver)
        for path, form in (
            ("/sign-out", {}),
            (f"/reviews/{advancing}/advance", {"etag": "1", "csrf": "0" * 64}),
        ):
            answer = requests.post(f"{base}{path}", data=form, cookies=cookies,
                                   allow_redirects=False, timeout=10)
            assert answer.status_code == 403, f"{path}: {answer.status_code}"
        print("forms without their token: 403")

        # By keyboard: the skip link comes first and lands on the content.
        driver.get(f"{base}/")
        heading(driver, "Reviews")
        driver.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
        active = driver.switch_to.active_element
        assert active.text == "Skip to the content", active.text
        active.send_keys(Keys.ENTER)
        assert driver.switch_to.active_element.get_attribute("id") == "main"
        print("keyboard: skip link first, to the content")

        # A safety notice from another member: answered for Wisconsin.
        driver.find_element(By.LINK_TEXT, "Safety notices").click()
        heading(driver, "Safety notices")
        driver.find_element(By.LINK_TEXT, "Safe sleep: share the guidance").click()
        heading(driver, "Safe sleep: share the guidance")
        Select(driver.find_element(By.ID, "kind")).select_by_visible_text("Action taken")
        driver.find_element(By.ID, "detail").send_keys("Shared with every home visit team")
        driver.find_element(By.XPATH, "//button[.='Send the response']").click()
        heading(driver, "Safe sleep: share the guidance")
        answered = driver.find_element(By.XPATH, "//h2[.='Responses']/following-sibling::div[1]").text
        assert "Action taken" in answered and "Shared with every home visit team" in answered, answered
        audit(driver, "notice")
        print("a notice from Tennessee answered for Wisconsin")

        # An aggregate mapping being scoped: its team and what it still needs.
        driver.find_element(By.LINK_TEXT, "Aggregate mappings").click()
        heading(driver, "Aggregate mappings")
        audit(driver, "mappings")
        driver.find_element(By.LINK_TEXT, "Safe sleep across cases").click()
        heading(driver, "Safe sleep across cases")
        text = driver.find_element(By.TAG_NAME, "main").text
        assert "Scoping" in text and "public health nurse – health" in text, text
        assert driver.find_elements(By.CSS_SELECTOR, "ul.checklist li"), "what scoping still needs"
        audit(driver, "mapping")
        print("an aggregate mapping: its seats and what scoping still needs")

        # Sign out: the session ends, and the old cookie opens nothing.
        driver.find_element(By.XPATH, "//button[.='Sign out']").click()
        heading(driver, "Sign in")
        again = requests.get(f"{base}/", cookies=cookies, allow_redirects=False, timeout=10)
        assert again.status_code == 303 and again.headers["location"] == "/sign-in", again.status_code
        print("signed out: the old session cookie opens nothing")
    finally:
        driver.quit()


def narrow(base: str) -> None:
    driver = browser(javascript=True, width=320)
    try:
        sign_in(driver, base, "reviewer-wi", "us-wi", ["reviewer"])
        heading(driver, "Reviews")
        width = driver.execute_script("return document.documentElement.scrollWidth")
        assert width <= 320, f"the page is {width} px wide at 320"
        shot(driver, "web-reviews-320px")
        audit(driver, "reviews at 320 px")
        print("at 320 px: no sideways scrolling")
    finally:
        driver.quit()


def other_jurisdiction(base: str, review: str) -> None:
    driver = browser(javascript=True, width=1100)
    try:
        sign_in(driver, base, "reviewer-tn", "us-tn", ["reviewer", "scr_lead"])
        heading(driver, "Reviews")
        assert review[-8:] not in driver.find_element(By.TAG_NAME, "main").text
        driver.get(f"{base}/reviews/{review}")
        heading(driver, "Not found")
        audit(driver, "not found")
        print("a reviewer of another jurisdiction: not found")
    finally:
        driver.quit()


def insights(base: str) -> None:
    driver = browser(javascript=True, width=1300)
    try:
        # A partnership member: pooled answers, with the protection explained.
        sign_in(driver, base, "partner-tn", "us-tn", ["partner"])
        heading(driver, "Reviews")
        driver.find_element(By.LINK_TEXT, "Insights").click()
        heading(driver, "Insights")
        Select(driver.find_element(By.ID, "question")).select_by_visible_text("Domain prevalence")
        driver.find_element(By.XPATH, "//button[.='Ask']").click()
        heading(driver, "Insights")
        assert driver.find_element(By.TAG_NAME, "h2").text == "Domain prevalence"
        assert "How these counts are protected" in driver.page_source
        image = driver.find_element(By.CSS_SELECTOR, "figure img")
        drawn = driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth", image)
        assert drawn and drawn > 0, "the chart was drawn"
        shot(driver, "web-insights")
        audit(driver, "insights")
        link = driver.find_element(By.LINK_TEXT, "Download as CSV").get_attribute("href")
        csv = requests.get(link, cookies=session_cookie(driver), timeout=10)
        assert csv.status_code == 200 and csv.text.startswith("domain,count"), csv.text[:80]
        print("a partner: pooled domain prevalence, its chart and CSV, protection explained")
    finally:
        driver.quit()
    driver = browser(javascript=True, width=1100)
    try:
        # An analyst's trend without its code: the service's error beside the field.
        sign_in(driver, base, "analyst-wi", "us-wi", ["analyst"])
        heading(driver, "Reviews")
        driver.get(f"{base}/insights?question=QUESTION_TREND")
        heading(driver, "Insights")
        error = driver.find_element(By.ID, "code-error")
        assert error.text, "the code's error shown"
        described = driver.find_element(By.ID, "code").get_attribute("aria-describedby")
        assert described == "code-error", described
        audit(driver, "insights refused")
        print(f"an analyst's incomplete question: {error.text!r} beside the field")
        driver.find_element(By.LINK_TEXT, "The operational view of us-wi").click()
        heading(driver, "Operational view")
        rows = driver.find_elements(By.CSS_SELECTOR, "tbody tr")
        assert len(rows) >= 8, f"{len(rows)} stages"
        audit(driver, "operational view")
        print(f"the operational view: {len(rows)} stages")
        driver.find_element(By.LINK_TEXT, "Safety culture").click()
        heading(driver, "Safety culture surveys")
        driver.find_element(By.LINK_TEXT, "Console survey").click()
        heading(driver, "Console survey")
        cells = [c.text for c in driver.find_elements(By.CSS_SELECTOR, "tbody tr td")]
        assert cells[:2] == ["team-a", "6/6 (100%)"], cells[:4]
        image = driver.find_element(By.CSS_SELECTOR, "figure img")
        drawn = driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth", image)
        assert drawn and drawn > 0, "the survey chart was drawn"
        shot(driver, "web-culture")
        audit(driver, "culture")
        print("survey results: team-a 6/6, chart drawn")
        link = driver.find_element(By.PARTIAL_LINK_TEXT, "(CSV)").get_attribute("href")
        csv = requests.get(link, cookies=session_cookie(driver), timeout=10)
        assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
        assert "team-a" in csv.text, csv.text[:300]
        driver.get(f"{base}/culture")
        heading(driver, "Safety culture surveys")
        driver.find_element(By.LINK_TEXT, "Each unit across waves").click()
        heading(driver, "Survey trend")
        audit(driver, "culture trend")
        print("survey results as CSV, and the trend page")
    finally:
        driver.quit()


def main() -> None:
    base, refused, advancing, subject = sys.argv[1:5]
    lead(base, refused, advancing, subject)
    narrow(base)
    other_jurisdiction(base, refused)
    insights(base)


if __name__ == "__main__":
    main()
