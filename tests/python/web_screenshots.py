"""Screenshots of the web console's main pages over a deployment filled by
`scir demo`, for docs/screenshots (docs/web.md says how to run it).

Usage: web_screenshots.py BASE_URL OUT_DIR
"""

import os
import sys

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from browser import browser, heading, sign_in


def save(driver, out: str, name: str) -> None:
    driver.save_screenshot(os.path.join(out, f"{name}.png"))
    print(f"{name}.png")


def main() -> None:
    base, out = sys.argv[1:3]
    os.makedirs(out, exist_ok=True)
    driver = browser(javascript=True, width=1280)
    try:
        sign_in(driver, base, "demo-lead", "us-wi", ["scr_lead", "admin"])
        heading(driver, "Reviews")
        save(driver, out, "web-reviews")
        driver.find_element(By.CSS_SELECTOR, "tbody tr a").click()
        driver.find_element(By.TAG_NAME, "dl")
        save(driver, out, "web-review")
        # A finalised review's parts, as its team recorded them.
        driver.get(f"{base}/")
        heading(driver, "Reviews")
        final = driver.find_element(
            By.XPATH, "//table[caption[starts-with(., 'Reviews')]]//tr[td[.='Finalised']]//a")
        review = final.get_attribute("href")
        driver.set_window_size(1280, 1300)
        for part, title, name in (("episodes", "Key practice episodes", "web-episodes"),
                                  ("maps", "Systems maps", "web-systems-map"),
                                  ("learning", "Learning opportunities", "web-learning")):
            driver.get(f"{review}/{part}")
            heading(driver, title)
            save(driver, out, name)
        driver.get(f"{review}/ssit")
        heading(driver, "SSIT scoring")
        driver.find_element(By.XPATH, "//table//a").click()
        driver.find_element(By.XPATH, "//h2[.='Agreement']")
        save(driver, out, "web-ssit")
        driver.set_window_size(1280, 900)
        driver.find_element(By.XPATH, "//button[.='Sign out']").click()
        heading(driver, "Sign in")
        save(driver, out, "web-sign-in")
        sign_in(driver, base, "demo-analyst", "us-wi", ["analyst"])
        heading(driver, "Reviews")
        driver.get(f"{base}/insights")
        Select(driver.find_element(By.ID, "question")).select_by_visible_text("Domain prevalence")
        Select(driver.find_element(By.ID, "breakdown")).select_by_visible_text("Cause")
        driver.find_element(By.XPATH, "//button[.='Ask']").click()
        heading(driver, "Insights")
        driver.find_element(By.CSS_SELECTOR, "figure img")
        driver.set_window_size(1280, 1400)
        save(driver, out, "web-insights")
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
