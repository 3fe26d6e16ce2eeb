"""What the browser tests share: a headless Chromium (optionally without
JavaScript, optionally at a phone's width), waiting for a page by its heading,
screenshots to SCREENSHOTS when set, and an axe-core audit that fails on any
serious or critical violation."""

import os

from axe_selenium_python import Axe
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait


def browser(javascript: bool, width: int) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     f"--window-size={width},900"):
        options.add_argument(argument)
    if width < 500:
        # Below Chrome's smallest window: a phone's viewport, emulated.
        options.add_experimental_option(
            "mobileEmulation", {"deviceMetrics": {"width": width, "height": 800, "pixelRatio": 1}})
    if not javascript:
        options.add_experimental_option(
            "prefs", {"profile.managed_default_content_settings.javascript": 2})
    service = Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    return webdriver.Chrome(options=options, service=service)


def heading(driver: webdriver.Chrome, expected: str) -> None:
    """Waits for the page whose heading is `expected` (a form sent navigates)."""
    def shown(d: webdriver.Chrome) -> bool:
        try:
            return d.find_element(By.TAG_NAME, "h1").text == expected
        except Exception:  # the old page went away mid-read
            return False
    WebDriverWait(driver, 10).until(shown, f"a page headed {expected!r}")


def shot(driver: webdriver.Chrome, name: str) -> None:
    directory = os.environ.get("SCREENSHOTS")
    if directory:
        os.makedirs(directory, exist_ok=True)
        driver.execute_script("window.scrollTo(0, 0)")
        driver.save_screenshot(os.path.join(directory, f"{name}.png"))


def audit(driver: webdriver.Chrome, page: str) -> None:
    axe = Axe(driver)
    axe.inject()
    results = axe.run()
    bad = [v for v in results["violations"] if v.get("impact") in ("serious", "critical")]
    assert not bad, f"{page}: {[(v['id'], v['impact'], v['help']) for v in bad]}"
    print(f"axe {page}: {len(results['passes'])} rules pass, "
          f"{len(results['violations'])} minor or moderate violations "
          f"{[v['id'] for v in results['violations']]}")


def sign_in(driver: webdriver.Chrome, base: str, subject: str, jurisdiction: str,
            roles: list) -> None:
    """The development sign-in, filled in as a person would."""
    driver.get(f"{base}/sign-in")
    heading(driver, "Sign in")
    field = driver.find_element(By.ID, "subject")
    field.clear()
    field.send_keys(subject)
    Select(driver.find_element(By.ID, "jurisdiction")).select_by_value(jurisdiction)
    for role in roles:
        driver.find_element(By.CSS_SELECTOR, f"label[for=role-{role}]").click()
    driver.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]").click()


def session_cookie(driver: webdriver.Chrome) -> dict:
    return {c["name"]: c["value"] for c in driver.get_cookies()}
