#!/usr/bin/env python3
"""Drives the operator console of a running `archiver serve` in headless Chromium (selenium).

Usage: console_browser.py BASE_URL ADMIN_TOKEN XSS_STREAM CUT_NAME ARTIFACT_DIR

Checks, each printed as `ok NAME` or `FAIL NAME: why`; exits 1 when any failed:
  - without a token every page answers 401;
  - sign-in through the form, then every page loads with no console errors;
  - the figures on the pages equal the JSON API's (/ready, /streams/{s}, /cuts);
  - the XSS stream name renders as text (no alert, no script element);
  - a cut created through the form is listed by /cuts;
  - the first Tab focuses the skip link (keyboard navigation);
  - the overview's three charts are drawn from samples (serve runs with --console-sample-interval 1);
and saves a screenshot of each page in ARTIFACT_DIR.
"""
import json
import math
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

BASE, TOKEN, XSS, CUT, ARTIFACTS = sys.argv[1:6]
PAGES = ["/ui", "/ui/cuts", "/ui/streams?name=" + urllib.parse.quote(XSS, safe=""), "/ui/log"]
failures = []


def check(name, condition, why=""):
    print(("ok " if condition else "FAIL ") + name + ("" if condition else ": " + why), flush=True)
    if not condition:
        failures.append(name)


def api(path):
    request = urllib.request.Request(BASE + path, headers={"Authorization": "Bearer " + TOKEN})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def status_without_token(path):
    try:
        with urllib.request.urlopen(BASE + path, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def console_errors(driver):
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def text(driver, element_id):
    return driver.find_element(By.ID, element_id).text.strip()


def charts_with_data(driver):
    """The overview's charts that have a line, reloading until all three have one (samples come every second)."""
    deadline = time.monotonic() + 15
    while True:
        drawn = driver.find_elements(By.CSS_SELECTOR, ".charts figure svg polyline")
        if len(drawn) == 3 or time.monotonic() > deadline:
            return drawn
        time.sleep(1)
        driver.get(BASE + "/ui")


def visit(driver, path, shot):
    driver.get(BASE + path)
    errors = console_errors(driver)
    check("no console errors on " + path, not errors, repr(errors))
    driver.save_screenshot(os.path.join(ARTIFACTS, shot + ".png"))


for path in PAGES:
    status = status_without_token(path)
    check("401 without a token: " + path, status == 401, "got %d" % status)

options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for argument in ["--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,1000"]:
    options.add_argument(argument)
options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
try:
    driver.get(BASE + "/ui/login")
    driver.save_screenshot(os.path.join(ARTIFACTS, "console-login.png"))
    driver.find_element(By.ID, "token").send_keys(TOKEN)
    driver.find_element(By.CSS_SELECTOR, "form[action='/ui/login'] button").click()
    check("sign-in lands on the overview", driver.current_url == BASE + "/ui", driver.current_url)
    check("no console errors at sign-in", not console_errors(driver))

    driver.get(BASE + "/ui")
    drawn = charts_with_data(driver)
    check("the overview draws three charts from samples", len(drawn) == 3, "%d charts drawn" % len(drawn))
    charts = driver.find_element(By.CLASS_NAME, "charts").text
    check("no chart is still collecting samples", "Collecting samples" not in charts, charts)
    points = [line.get_attribute("points").split() for line in drawn]
    check("every chart has several points", all(len(p) >= 2 for p in points), repr([len(p) for p in points]))
    lag_values = {p.split(",")[1] for p in points[1]} if len(points) > 1 else set()
    check("the lag chart shows the lag changing", len(lag_values) >= 2, repr(lag_values))
    asked = time.monotonic()
    visit(driver, "/ui", "console-overview")
    ready = api("/ready")
    between = math.ceil(time.monotonic() - asked)
    check("lag (events) equals /ready", text(driver, "unflushed-events") == str(ready["unflushed_events"]),
          "%s vs %s" % (text(driver, "unflushed-events"), ready["unflushed_events"]))
    # Whole seconds that keep growing while events wait: /ready, asked after the page, may be ahead by the seconds
    # that passed between the two (and one for rounding).
    page_lag = text(driver, "lag-seconds")
    check("lag (seconds) equals /ready",
          page_lag.isdigit() and 0 <= ready["lag_seconds"] - int(page_lag) <= between + 1,
          "%s vs %s, %d s apart" % (page_lag, ready["lag_seconds"], between))
    body = driver.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    focused = driver.switch_to.active_element
    check("the first Tab focuses the skip link", focused.text.strip() == "Skip to content", focused.text)

    visit(driver, PAGES[2], "console-stream")
    try:
        driver.switch_to.alert
        check("the XSS stream name raises no alert", False, "an alert opened")
    except NoAlertPresentException:
        check("the XSS stream name raises no alert", True)
    check("the XSS stream name renders as text", text(driver, "stream-title") == XSS, text(driver, "stream-title"))
    scripts = [s.get_attribute("src") for s in driver.find_elements(By.TAG_NAME, "script")]
    check("no script element but the console's own", all(s and s.endswith("/ui/assets/console.js") for s in scripts) or not scripts, repr(scripts))
    stream = api("/streams/" + urllib.parse.quote(XSS, safe=""))
    check("the stream's version equals the API's", text(driver, "stream-version") == str(stream["version"]))

    visit(driver, "/ui/cuts", "console-cuts-before")
    driver.find_element(By.ID, "cut-name").send_keys(CUT)
    driver.find_element(By.CSS_SELECTOR, "form[action='/ui/cuts'] button").click()
    check("the form reports the new cut", CUT in text(driver, "cut-created"))
    check("no console errors after the form post", not console_errors(driver))
    driver.save_screenshot(os.path.join(ARTIFACTS, "console-cuts.png"))
    names = [cut["name"] for cut in api("/cuts")["cuts"]]
    check("/cuts lists the cut made through the form", CUT in names, repr(names))
    rows = driver.find_elements(By.CSS_SELECTOR, "#cuts tbody tr")
    check("the page lists as many cuts as /cuts", len(rows) == len(names), "%d vs %d" % (len(rows), len(names)))

    visit(driver, "/ui/log", "console-log")
    check("the log lists the refused requests", "refused request" in driver.find_element(By.ID, "log").text)
finally:
    driver.quit()

sys.exit(1 if failures else 0)
