"""The survey answer page as respondents meet it, in a real headless Chromium:

1. with JavaScript switched off, a respondent types their code on /survey,
   answers by clicking labels, sends, and reads the confirmation;
2. by keyboard alone at 320 px wide: Tab to each group, arrows to choose,
   Enter to send; the page never scrolls sideways;
3. axe-core audits every page (code entry, form, confirmation, a code that
   cannot be used): no serious or critical violation.

Screenshots of each page go to SCREENSHOTS (a directory), when set.

Usage: survey_browser.py BASE_URL CODE_TYPED CODE_KEYBOARD CODE_AUDITED
"""

import sys

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from browser import audit, browser, heading, shot


def without_javascript(base: str, code: str) -> None:
    driver = browser(javascript=False, width=1024)
    try:
        driver.get(f"{base}/survey")
        assert driver.find_element(By.TAG_NAME, "h1").text == "Safety culture survey"
        field = driver.find_element(By.ID, "code")
        label = driver.find_element(By.CSS_SELECTOR, "label[for=code]")
        assert label.text == "Invitation code"
        field.send_keys(code.lower().replace("-", " "))
        field.submit()
        heading(driver, "Spring survey, Dane County")
        groups = driver.find_elements(By.TAG_NAME, "fieldset")
        assert len(groups) == 18, len(groups)
        for group in groups:
            # A label is the click target, as a person clicks it.
            group.find_element(By.XPATH, ".//label[contains(., 'Agree') or contains(., 'Most of the time')]").click()
        shot(driver, "form-answered")
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        heading(driver, "Thank you: your answers were recorded")
        print("without JavaScript: code typed, 18 answers clicked, sent, confirmed")
    finally:
        driver.quit()


def by_keyboard(base: str, code: str) -> None:
    driver = browser(javascript=True, width=320)
    try:
        driver.get(f"{base}/survey?code={code}")
        viewport = driver.execute_script("return window.innerWidth")
        assert viewport == 320, f"the viewport is {viewport} px"
        width = driver.execute_script("return document.documentElement.scrollWidth")
        assert width <= 320, f"the page is {width} px wide at 320"
        shot(driver, "form-320px")
        body = driver.find_element(By.TAG_NAME, "body")
        body.send_keys(Keys.TAB)
        chosen = 0
        for _ in range(60):
            active = driver.switch_to.active_element
            kind = active.get_attribute("type")
            if kind == "radio":
                # Arrow keys move the choice within the group.
                active.send_keys(Keys.ARROW_DOWN)
                chosen += 1
            elif kind == "submit":
                active.send_keys(Keys.ENTER)
                break
            driver.switch_to.active_element.send_keys(Keys.TAB)
        assert chosen == 18, f"{chosen} groups reached by Tab"
        heading(driver, "Thank you: your answers were recorded")
        shot(driver, "confirmation")
        print("by keyboard at 320 px: 18 groups by Tab, chosen by arrows, sent by Enter")
    finally:
        driver.quit()


def accessibility(base: str, code: str) -> None:
    driver = browser(javascript=True, width=1024)
    try:
        driver.get(f"{base}/survey")
        shot(driver, "code-entry")
        audit(driver, "code entry")
        driver.get(f"{base}/survey?code={code}")
        audit(driver, "form")
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        heading(driver, "Thank you: your answers were recorded")
        audit(driver, "confirmation")
        driver.get(f"{base}/survey?code={code}")
        heading(driver, "This code cannot be used")
        shot(driver, "code-used")
        audit(driver, "code that cannot be used")
    finally:
        driver.quit()


def main() -> None:
    base, typed, keyboard, audited = sys.argv[1:5]
    without_javascript(base, typed)
    by_keyboard(base, keyboard)
    accessibility(base, audited)


if __name__ == "__main__":
    main()
