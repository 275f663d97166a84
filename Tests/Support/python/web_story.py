#!/usr/bin/env python3
"""The staff web app driven in a real browser (Selenium + Debian's chromium and chromedriver).

    web_story.py WEB_URL SCREENSHOT_DIR REQUEST_ID STAFF:SECRET [STAFF:SECRET ...]

The seed's transformer story through the pages only, on a 390x844 phone viewport: the grid
worker signs in, finds the request in her inbox, claims it and escalates it; the street officer
claims it and summons power supply (吹哨报到); the department's duty officer acknowledges and
resolves; the grid worker records the on-site check and the resident's verdict. Then a forged
(CSRF-less) post is refused and a description with a script shows as text. Screenshots of each
page at phone and desktop width go to SCREENSHOT_DIR. Prints one line per step; exits 1 with
the reason at the first step that fails.
"""
import os
import sys
import time
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

WEB, SHOTS, REQUEST = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
ACCOUNTS = dict(pair.split(":", 1) for pair in sys.argv[4:])


def fail(message):
    print(f"FAIL {message}", flush=True)
    sys.exit(1)


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=390,844", "--lang=zh-CN"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(30)
    return driver


def shot(driver, name):
    """The page at phone width (390) and desktop width (1280), full height."""
    for width, label in ((390, "phone"), (1280, "desktop")):
        driver.set_window_size(width, 844)
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(width, max(844, min(height + 40, 4000)))
        driver.save_screenshot(os.path.join(SHOTS, f"{name}-{label}.png"))
    driver.set_window_size(390, 844)
    # Usable at 360 px: nothing wider than the viewport.
    driver.set_window_size(360, 800)
    wide = driver.execute_script("return document.documentElement.scrollWidth")
    driver.set_window_size(390, 844)
    if wide > 362:
        fail(f"{name}: the page is {wide} px wide at a 360-px viewport")


def sign_in(driver, staff):
    driver.delete_all_cookies()
    driver.get(WEB + "/signin")
    driver.find_element(By.NAME, "staff").send_keys(staff)
    driver.find_element(By.NAME, "secret").send_keys(ACCOUNTS[staff])
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    WebDriverWait(driver, 15).until(EC.url_contains("/inbox"))
    print(f"ok {staff} signed in", flush=True)


def open_request(driver, staff, attempts=40):
    """Finds REQUEST in the inbox (it may still be on its way) and opens it."""
    for _ in range(attempts):
        driver.get(WEB + "/inbox")
        links = driver.find_elements(By.CSS_SELECTOR, f'a[href="/requests/{REQUEST}"]')
        if links:
            links[0].click()
            WebDriverWait(driver, 15).until(EC.url_contains(f"/requests/{REQUEST}"))
            return
        time.sleep(0.5)
    fail(f"{staff}: the request never showed in the inbox")


def act(driver, action, fields=None, expect_inbox=False):
    forms = driver.find_elements(By.CSS_SELECTOR, f"form.action-{action}")
    if not forms:
        offered = [f.get_attribute("class") for f in driver.find_elements(By.CSS_SELECTOR, "form[class*=action-]")]
        fail(f"no '{action}' offered here (offered: {offered})")
    form = forms[0]
    # Folded actions open under their names first (a <details> around the form).
    folded = form.find_elements(By.XPATH, "ancestor::details[not(@open)]")
    if folded:
        folded[0].find_element(By.TAG_NAME, "summary").click()
    for name, value in (fields or {}).items():
        element = form.find_element(By.NAME, name)
        if element.tag_name == "select":
            chooser = Select(element)
            for option in value if isinstance(value, list) else [value]:
                chooser.select_by_value(option)
        else:
            element.send_keys(value)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(driver, 15).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".notice, .error"))
    errors = driver.find_elements(By.CSS_SELECTOR, ".error")
    if errors:
        fail(f"{action}: {errors[0].text}")
    if expect_inbox and "/inbox" not in driver.current_url:
        fail(f"{action}: expected the inbox, at {driver.current_url}")
    print(f"ok {action}", flush=True)


def main():
    os.makedirs(SHOTS, exist_ok=True)
    driver = browser()
    try:
        driver.get(WEB + "/signin")
        shot(driver, "signin")
        wrong = driver.find_element(By.NAME, "staff")
        wrong.send_keys("cui-chunhua")
        driver.find_element(By.NAME, "secret").send_keys("not-the-secret")
        driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        message = WebDriverWait(driver, 10).until(EC.presence_of_element_located((By.CSS_SELECTOR, ".error"))).text
        if "工号或登录密码不对" not in message:
            fail(f"a wrong secret says: {message!r}")
        print("ok a wrong secret is refused in words", flush=True)

        sign_in(driver, "cui-chunhua")
        shot(driver, "inbox")
        open_request(driver, "cui-chunhua")
        if "<script>" not in driver.find_element(By.CSS_SELECTOR, ".description").text:
            fail("the description's markup was not shown as text")
        if driver.execute_script("return window.__injected === true"):
            fail("a script in the description ran")
        print("ok a script in the description shows as text", flush=True)
        shot(driver, "request")
        act(driver, "claim")
        act(driver, "escalate", {"note": "共用原水泥厂变压器，负载不过来"}, expect_inbox=True)

        sign_in(driver, "xu-chunfeng")
        open_request(driver, "xu-chunfeng")
        act(driver, "claim")
        shot(driver, "request-street")
        act(driver, "summon", {"departments": ["power-supply"], "note": "商量重新建个变压器"})

        sign_in(driver, "power-officer-1")
        open_request(driver, "power-officer-1")
        act(driver, "claim")
        act(driver, "resolve", {"note": "新变压器已投运"})

        sign_in(driver, "cui-chunhua")
        for _ in range(40):
            open_request(driver, "cui-chunhua")
            if driver.find_elements(By.CSS_SELECTOR, "form.action-feedback"):
                break
            time.sleep(0.5)
        act(driver, "feedback", {"note": "现场查看，电压正常", "satisfaction": "satisfied"})
        shot(driver, "request-closed")

        # A forged post without the CSRF token (another site's form) changes nothing.
        cookies = "; ".join(f"{c['name']}={c['value']}" for c in driver.get_cookies() if c["name"] != "gridloop_csrf")
        forged = urllib.request.Request(
            f"{WEB}/requests/{REQUEST}/act", data=urllib.parse.urlencode({"action": "claim"}).encode(),
            headers={"Cookie": cookies, "Content-Type": "application/x-www-form-urlencoded"}, method="POST",
        )
        try:
            status = urllib.request.urlopen(forged).status
        except urllib.error.HTTPError as error:
            status = error.code
        if status != 403:
            fail(f"a forged post answered {status}, not 403")
        print("ok a forged post is refused (403)", flush=True)

        driver.get(WEB + "/inbox?lang=en")
        if "Inbox" not in driver.find_element(By.TAG_NAME, "h1").text:
            fail("the English inbox is not in English")
        shot(driver, "inbox-en")
        print("ok English", flush=True)
    finally:
        driver.quit()
    print("PASS", flush=True)


main()
