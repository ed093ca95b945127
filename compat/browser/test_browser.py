"""The browser view in a real headless Chromium, on the real GNU Health database.

A person opens a patient's address: the server sends the browser to the sign-in form,
which returns it to the patient's page once the GNU Health login succeeds. From there
the person follows the links the page offers (a search of the patient's Observations,
the next page of it, an entry) and signs out. Screenshots of each page go to
SCREENSHOTS. The page must obey its own Content-Security-Policy: Chromium reports any
violation in its console log, which the test reads.

Environment: FHIR_BASE (https), FHIR_CA (its certificate), FHIR_USER, FHIR_PASSWORD,
SCREENSHOTS (a directory).
"""

import os
import pathlib
import urllib.parse

import pytest
import requests
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

BASE = os.environ["FHIR_BASE"]
CA = os.environ["FHIR_CA"]
USER = os.environ["FHIR_USER"]
PASSWORD = os.environ["FHIR_PASSWORD"]
SHOTS = pathlib.Path(os.environ["SCREENSHOTS"])


def api(path):
    """The FHIR JSON answer, as an API client gets it."""
    r = requests.get(
        BASE + path,
        auth=(USER, PASSWORD),
        headers={"Accept": "application/fhir+json"},
        verify=CA,
        timeout=30,
    )
    r.raise_for_status()
    return r.json()


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in (
        "--headless=new",
        "--no-sandbox",  # as root, in CI
        "--disable-dev-shm-usage",
        # the test's own self-signed certificate
        "--ignore-certificate-errors",
        "--window-size=1280,1600",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def shot(driver, name):
    path = SHOTS / f"browser-{name}.png"
    assert driver.save_screenshot(str(path)), path
    # A page that rendered: a PNG of some substance, not a blank one.
    assert path.stat().st_size > 10_000, (path, path.stat().st_size)


def console_problems(driver):
    """Messages of the page's console that say something was refused or failed."""
    return [
        e["message"]
        for e in driver.get_log("browser")
        if e["level"] in ("SEVERE", "WARNING") and "favicon.ico" not in e["message"]
    ]


def follow(driver, element):
    """Click a link or button and wait until the next page has replaced this one (a
    click returns before the navigation it starts)."""
    page = driver.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(driver, 30).until(expected_conditions.staleness_of(page))
    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )


def heading(driver):
    return driver.find_element(By.TAG_NAME, "h1").text


def path_of(url):
    parts = urllib.parse.urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


@pytest.fixture(scope="module")
def patient_id():
    """A patient with Observations, so that its links lead somewhere."""
    bundle = api("/Observation?_count=1")
    assert bundle.get("entry"), bundle
    reference = bundle["entry"][0]["resource"]["subject"]["reference"]
    assert reference.startswith("Patient/"), reference
    return reference.split("/", 1)[1]


def test_sign_in_open_a_patient_follow_its_links_and_sign_out(browser, patient_id):
    patient = api(f"/Patient/{patient_id}")
    browser.get(f"{BASE}/Patient/{patient_id}")
    # Sent to the sign-in form, which knows where to return.
    assert path_of(browser.current_url) == "/auth/login?next=" + urllib.parse.quote(
        f"/Patient/{patient_id}", safe=""
    ), browser.current_url
    assert heading(browser) == "Sign in"
    shot(browser, "1-sign-in")
    browser.find_element(By.NAME, "login").send_keys(USER)
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    follow(browser, browser.find_element(By.CSS_SELECTOR, "button[type=submit]"))

    # Back on the patient's page: its narrative, its JSON.
    assert browser.current_url == f"{BASE}/Patient/{patient_id}", browser.current_url
    assert heading(browser) == f"Patient/{patient_id}"
    narrative = browser.find_element(By.CSS_SELECTOR, "body > div").text
    family = patient["name"][0].get("family", "")
    assert family and family in narrative, (family, narrative)
    shown = browser.find_element(By.TAG_NAME, "pre").text
    assert f'"id": "{patient_id}"' in shown, shown[:500]
    shot(browser, "2-patient")

    # The page's link to the patient's Observations.
    follow(browser, browser.find_element(By.LINK_TEXT, "Observation"))
    assert heading(browser) == "Observation search (searchset)"
    expected = api(f"/Observation?patient=Patient/{patient_id}")
    entries = browser.find_elements(By.CSS_SELECTOR, "section h2 a")
    assert [e.text for e in entries] == [
        f"Observation/{e['resource']['id']}" for e in expected.get("entry", [])
    ]
    shot(browser, "3-observations")

    # A next page, where there is one, then an entry's own page.
    nexts = browser.find_elements(By.CSS_SELECTOR, "a[rel=next]")
    if nexts:
        follow(browser, nexts[0])
        assert heading(browser) == "Observation search (searchset)"
        assert "_cursor=" in browser.current_url
    first = browser.find_elements(By.CSS_SELECTOR, "section h2 a")[0]
    name = first.text
    follow(browser, first)
    assert heading(browser) == name
    observation = api("/" + name)
    subject = browser.find_element(
        By.CSS_SELECTOR, f'pre a[href="/{observation["subject"]["reference"]}"]'
    )
    shot(browser, "4-observation")
    # The reference back to the patient, from the JSON.
    follow(browser, subject)
    assert heading(browser) == f"Patient/{patient_id}"

    assert console_problems(browser) == []

    # Signing out ends the session: the patient's page asks for the sign-in again.
    browser.get(f"{BASE}/auth/home")
    follow(browser, browser.find_element(By.CSS_SELECTOR, "form[action='/auth/logout'] button"))
    assert heading(browser) == "Sign in"
    browser.get(f"{BASE}/Patient/{patient_id}")
    assert heading(browser) == "Sign in"
