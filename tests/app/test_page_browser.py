"""The shared care-plan page in a real browser: Debian's chromium driven by selenium with
Debian's chromedriver (nothing downloads a browser). A practitioner signs in through the
real login form, sees the demo person's goals by life domain, team and timeline as the FHIR
API has them, prints "my plan"; a practitioner of another structure sees nothing of that
person. Screenshots go to ``CM_FHIR_TEST_OUTPUT`` (default: a pytest temporary folder)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
PASSWORD = "correct horse battery staple"
DIEGO_CM = "https://rpps.esante.gouv.fr|10000000001"
LIFE_DOMAIN = "https://interop.cm-sante-mentale.fr/fhir/CodeSystem/cm-life-domain"

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
    pytest.skip("Debian's chromium and chromium-driver are not installed (apt-get install "
                "chromium chromium-driver; .ci/run does it)", allow_module_level=True)

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _system(app: Any, method: str, path: str, body: dict[str, Any] | None = None,
            query: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    from fhir_service.request import FhirRequest

    resp = app.state.router.dispatch(FhirRequest(
        method, path.split("/"), query=query or [], base_url="http://localhost/fhir",
        body=json.dumps(body).encode() if body else b"",
        headers={"content-type": "application/fhir+json"}))
    assert resp.status < 300, resp.body
    return json.loads(resp.body) if resp.body else {}


@pytest.fixture(scope="module")
def server(tmp_path_factory: Any, base_context: Any) -> Iterator[tuple[str, Any]]:
    """The service with the demo, two accounts, on 127.0.0.1 (a free port), stopped after."""
    import dataclasses

    import uvicorn

    from fhir_service.app import create_app
    from fhir_service.cli import install_conformance, load_demo
    from fhir_service.store.sqlstore import SqlRepository

    folder = tmp_path_factory.mktemp("page")
    settings = base_context.settings.replace(
        database_url=f"sqlite:///{folder / 'page.db'}", auth="embedded", keys_dir=folder / "k",
        audit_indexer="thread", rate_limit_per_second=0.0)
    ctx = dataclasses.replace(base_context, settings=settings, operations={},
                              repository=SqlRepository(settings.database_url))
    app = create_app(settings, ctx)
    install_conformance(app)
    load_demo(app, settings)
    launch = app.state.security.launch
    launch.accounts.add("ddurand", launch.directory.practitioner_id(DIEGO_CM), PASSWORD)
    org = _system(app, "POST", "Organization", {"resourceType": "Organization",
                                                "name": "Structure sans lien (exemple)"})
    prac = _system(app, "POST", "Practitioner", {"resourceType": "Practitioner",
                                                 "name": [{"family": "Autre", "given": ["Alex"]}]})
    _system(app, "POST", "PractitionerRole", {
        "resourceType": "PractitionerRole", "active": True,
        "practitioner": {"reference": f"Practitioner/{prac['id']}"},
        "organization": {"reference": f"Organization/{org['id']}"}})
    launch.accounts.add("autre", prac["id"], PASSWORD)
    port = _free_port()
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                       lifespan="off"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    ready = threading.Event()
    for _ in range(400):  # until the server says it started (at most 20 s)
        if uv.started:
            break
        ready.wait(0.05)
    assert uv.started, "the server did not start"
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        uv.should_exit = True
        thread.join(timeout=10)
        app.state.router.close()
        ctx.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: Any) -> Path:
    out = os.environ.get("CM_FHIR_TEST_OUTPUT")
    folder = Path(out) / "app" if out else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def browser() -> Iterator[Any]:
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1200,1000", "--lang=fr-FR"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def wait(driver: Any, condition: Any, seconds: float = 20) -> Any:
    return WebDriverWait(driver, seconds).until(condition)


def sign_in(driver: Any, base: str, username: str) -> None:
    driver.get(f"{base}/app/")
    wait(driver, ec.element_to_be_clickable((By.ID, "signin"))).click()
    wait(driver, ec.presence_of_element_located((By.ID, "username"))).send_keys(username)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(driver, ec.element_to_be_clickable(
        (By.CSS_SELECTOR, "button[value=approve]"))).click()
    wait(driver, lambda d: d.current_url.startswith(f"{base}/app/")
         and "code=" not in d.current_url)
    wait(driver, ec.presence_of_element_located((By.CSS_SELECTOR, "#caseload, #nobody")))


def serious_violations(driver: Any) -> list[str]:
    """What axe-core finds serious or critical on the current page (WCAG 2.x A and AA)."""
    from tests.app.axe import axe_script

    script, why = axe_script()
    if script is None:
        pytest.skip(why)
    driver.execute_script(script)
    driver.set_script_timeout(60)
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', "
        "'wcag21aa']}}).then((r) => done(r.violations.map((v) => [v.id, v.impact, "
        "v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')])));")
    return [f"{rule} ({impact}): {where}" for rule, impact, where in result
            if impact in ("serious", "critical")]


def test_the_pages_have_no_serious_accessibility_violations(server: Any, browser: Any) -> None:
    base, app = server
    browser.get(f"{base}/app/")
    wait(browser, ec.element_to_be_clickable((By.ID, "signin")))
    assert serious_violations(browser) == []
    browser.find_element(By.ID, "signin").click()
    wait(browser, ec.presence_of_element_located((By.ID, "username")))
    assert serious_violations(browser) == []  # the login form
    browser.find_element(By.ID, "username").send_keys("ddurand")
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(browser, ec.presence_of_element_located((By.CSS_SELECTOR, "button[value=approve]")))
    assert serious_violations(browser) == []  # the approval page
    browser.find_element(By.CSS_SELECTOR, "button[value=approve]").click()
    wait(browser, ec.presence_of_element_located((By.ID, "caseload")))
    assert serious_violations(browser) == []
    browser.get(f"{base}/app/#/person/{diego(app)['id']}")
    wait(browser, ec.presence_of_element_located((By.CSS_SELECTOR, "#goals .goal")))
    assert serious_violations(browser) == []
    browser.find_element(By.ID, "my-plan-link").click()
    wait(browser, ec.presence_of_element_located((By.ID, "my-plan")))
    assert serious_violations(browser) == []
    browser.get(f"{base}/app/#/indicators")
    wait(browser, ec.presence_of_element_located(
        (By.CSS_SELECTOR, '#indicators .measure[data-measure="cm-hospitalisations"]')))
    assert serious_violations(browser) == []


def diego(app: Any) -> dict[str, Any]:
    found = _system(app, "GET", "Patient", query=[("family", "Martin"), ("given", "Diego")])
    return dict(found["entry"][0]["resource"])


def test_the_case_manager_signs_in_and_sees_the_persons_plan(server: Any, browser: Any,
                                                             shots: Path) -> None:
    base, app = server
    sign_in(browser, base, "ddurand")
    person = diego(app)
    row = browser.find_element(By.CSS_SELECTOR, f'tr[data-patient="{person["id"]}"]')
    assert "Diego" in row.text
    assert "David Durand" in browser.find_element(By.ID, "who").text  # the id_token's name
    browser.save_screenshot(str(shots / "caseload.png"))
    row.find_element(By.TAG_NAME, "a").click()
    wait(browser, ec.presence_of_element_located((By.CSS_SELECTOR, "#goals .goal")))
    # goals by life domain, as the FHIR API has them
    goals = _system(app, "GET", "Goal", query=[("patient", person["id"])])["entry"]
    systems = _system(app, "GET", "CodeSystem", query=[("url", LIFE_DOMAIN)])["entry"]
    domains = {c["code"]: c["display"] for c in systems[0]["resource"]["concept"]}
    assert goals
    for entry in goals:
        goal = entry["resource"]
        code = next(c["code"] for cat in goal["category"] for c in cat["coding"]
                    if c["system"] == LIFE_DOMAIN)
        block = browser.find_element(By.CSS_SELECTOR, f'#goals .domain[data-domain="{code}"]')
        assert block.find_element(By.TAG_NAME, "h3").text == domains[code]
        assert goal["description"]["text"] in block.text
        if goal["expressedBy"]["reference"] == f"Patient/{person['id']}":
            assert "la personne elle-même" in block.text
    # the team across structures, with the case manager
    team = browser.find_element(By.ID, "team").text
    for name in ("David Durand", "Claire Lefebvre", "Lina Nguyen", "Julie Morel"):
        assert name in team
    assert "CMP Paris 14 (exemple)" in team
    # the pillars, the timeline (the referral's date), the agreement
    pillars = browser.find_element(By.ID, "pillars").text
    assert "Séance d'éducation thérapeutique sur le traitement" in pillars
    timeline = browser.find_element(By.ID, "timeline").text
    assert "8 janvier 2026" in timeline and "Demande d'accompagnement" in timeline
    assert "accord" in browser.find_element(By.ID, "agreement").text
    browser.save_screenshot(str(shots / "person.png"))
    browser.set_window_size(412, 915)  # a phone
    browser.save_screenshot(str(shots / "person-phone.png"))
    width = browser.execute_script("return document.documentElement.scrollWidth")
    assert width <= 412 + 1  # nothing wider than the screen
    browser.set_window_size(1200, 1000)
    # "my plan": plain words, no codes
    browser.find_element(By.ID, "my-plan-link").click()
    plan = wait(browser, ec.presence_of_element_located((By.ID, "my-plan"))).text
    assert "Mon plan — Diego" in plan and "Reprendre mes études" in plan
    for code in ("scolarite-formation", "in-progress", "case-manager", "Patient/", "urn:"):
        assert code not in plan
    browser.save_screenshot(str(shots / "my-plan.png"))
    # English
    browser.find_element(By.ID, "lang").click()
    wait(browser, lambda d: "My plan — Diego" in d.execute_script(
        "return document.getElementById('my-plan')?.innerText || ''"))


def test_a_practitioner_of_another_structure_sees_nothing_of_the_person(server: Any,
                                                                        browser: Any,
                                                                        shots: Path) -> None:
    base, app = server
    sign_in(browser, base, "autre")
    person = diego(app)
    assert browser.find_elements(By.ID, "nobody")
    assert "Diego" not in browser.find_element(By.ID, "main").text
    browser.get(f"{base}/app/#/person/{person['id']}")
    alert = wait(browser, ec.presence_of_element_located((By.CSS_SELECTOR, "[role=alert]")))
    assert "Impossible de charger" in alert.text
    text = browser.find_element(By.ID, "main").text
    assert "Diego" not in text and "Reprendre mes études" not in text
    browser.save_screenshot(str(shots / "other-structure.png"))


def test_data_is_shown_as_text_never_as_markup(server: Any, browser: Any) -> None:
    """A goal whose words are HTML (as a partner could write) shows those characters; no
    element or script comes of it."""
    base, app = server
    person = diego(app)
    words = '<img src="x" id="injected" onerror="document.title=\'pwned\'"><b>gras</b>'
    made = _system(app, "POST", "Goal", {
        "resourceType": "Goal", "lifecycleStatus": "active",
        "description": {"text": words}, "subject": {"reference": f"Patient/{person['id']}"},
        "expressedBy": {"reference": f"Patient/{person['id']}"}})
    try:
        sign_in(browser, base, "ddurand")
        browser.get(f"{base}/app/#/person/{person['id']}")
        wait(browser, lambda d: words in d.find_element(By.ID, "goals").text)
        assert browser.find_elements(By.ID, "injected") == []
        assert browser.find_elements(By.CSS_SELECTOR, "#goals b") == []
        assert browser.title != "pwned"
    finally:
        _system(app, "DELETE", f"Goal/{made['id']}")


def test_contacts_and_ruptures_show_in_the_caseload_and_the_timeline(server: Any,
                                                                     browser: Any) -> None:
    """The last contact is the latest Encounter that took place; an onhold period of the
    episode is a rupture in the timeline (as the ruptures indicator counts them)."""
    import datetime

    base, app = server
    person = diego(app)
    episode = _system(app, "GET", "EpisodeOfCare",
                      query=[("patient", person["id"])])["entry"][0]["resource"]
    before = json.loads(json.dumps(episode))
    day = (datetime.date.today() - datetime.timedelta(days=3)).isoformat()
    met = _system(app, "POST", "Encounter", {
        "resourceType": "Encounter", "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "HH"},
        "subject": {"reference": f"Patient/{person['id']}"}, "period": {"start": day}})
    planned = _system(app, "POST", "Encounter", {  # not a contact (yet)
        "resourceType": "Encounter", "status": "planned",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "HH"},
        "subject": {"reference": f"Patient/{person['id']}"},
        "period": {"start": (datetime.date.today() + datetime.timedelta(days=3)).isoformat()}})
    episode["statusHistory"] = [
        {"status": "planned", "period": {"start": "2026-01-08", "end": "2026-01-12"}},
        {"status": "active", "period": {"start": "2026-01-12", "end": "2026-03-02"}},
        {"status": "onhold", "period": {"start": "2026-03-02", "end": "2026-04-06"}},
        {"status": "active", "period": {"start": "2026-04-06"}}]
    _system(app, "PUT", f"EpisodeOfCare/{episode['id']}", episode)
    months = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
              "septembre", "octobre", "novembre", "décembre"]
    seen = datetime.date.fromisoformat(day)
    try:
        sign_in(browser, base, "ddurand")
        row = browser.find_element(By.CSS_SELECTOR, f'tr[data-patient="{person["id"]}"]')
        last = row.find_elements(By.TAG_NAME, "td")[3].text
        # the finished encounter, not the planned one
        assert f"{seen.day} {months[seen.month - 1]} {seen.year}" in last, last
        assert "sans contact" not in last
        browser.get(f"{base}/app/#/person/{person['id']}")
        timeline = wait(browser, ec.presence_of_element_located((By.CSS_SELECTOR,
                                                                 "#timeline li.rupture")))
        assert "2 mars 2026" in timeline.text and "Rupture" in timeline.text
        assert "Reprise" in browser.find_element(By.ID, "timeline").text
    finally:
        _system(app, "PUT", f"EpisodeOfCare/{episode['id']}", before)
        _system(app, "DELETE", f"Encounter/{met['id']}")
        _system(app, "DELETE", f"Encounter/{planned['id']}")


def test_recorded_ruptures_and_the_outcome_show_in_the_timeline(server: Any,
                                                                 browser: Any) -> None:
    """Ruptures recorded as events (Observation cm-rupture) show in the person's timeline with
    their kind and words, a resolved one with its end; an ended episode shows its outcome
    (the cm-episode-outcome extension); a rupture entered in error does not show."""
    base, app = server
    person = diego(app)
    ig = "https://interop.cm-sante-mentale.fr/fhir/"
    episode = _system(app, "GET", "EpisodeOfCare",
                      query=[("patient", person["id"])])["entry"][0]["resource"]
    before = json.loads(json.dumps(episode))

    def rupture(kind: str, effective: dict[str, Any], status: str = "final",
                note: str | None = None) -> dict[str, Any]:
        obs: dict[str, Any] = {
            "resourceType": "Observation", "status": status,
            "meta": {"profile": [ig + "StructureDefinition/cm-rupture"]},
            "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/workflow-episodeOfCare",
                           "valueReference": {"reference": f"EpisodeOfCare/{episode['id']}"}}],
            "code": {"coding": [{"system": ig + "CodeSystem/cm-rupture-kind", "code": kind}]},
            "subject": {"reference": f"Patient/{person['id']}"}, **effective}
        if note:
            obs["note"] = [{"text": note}]
        return _system(app, "POST", "Observation", obs)

    made = [rupture("logement", {"effectivePeriod": {"start": "2026-02-10", "end": "2026-03-15"}},
                    note="Expulsion du studio"),
            rupture("scolarite-formation", {"effectiveDateTime": "2026-04-20"}),
            rupture("emploi", {"effectiveDateTime": "2026-04-22"}, status="entered-in-error")]
    ended = {**episode, "status": "finished",
             "period": {**episode.get("period", {}), "end": "2026-05-30"},
             "extension": [*episode.get("extension", []), {
                 "url": ig + "StructureDefinition/cm-episode-outcome",
                 "valueCodeableConcept": {"coding": [{
                     "system": ig + "CodeSystem/cm-episode-outcome", "code": "relais"}]}}]}
    _system(app, "PUT", f"EpisodeOfCare/{episode['id']}", ended)
    try:
        sign_in(browser, base, "ddurand")
        browser.get(f"{base}/app/#/person/{person['id']}")
        # the timeline as one snapshot (text, kind, outcome of each item), read in one script
        # once the page has drawn both the ruptures and the outcome: the page re-renders as
        # its requests answer, so elements found earlier may be replaced (stale)
        snapshot = ("return [...document.querySelectorAll('#timeline li')].map(li => "
                    "[li.innerText, li.dataset.kind || '', li.dataset.outcome || ''])")

        def drawn(d: Any) -> Any:
            items = d.execute_script(snapshot)
            ready = any(k == "logement" for _, k, _ in items) and \
                any(o == "relais" for _, _, o in items)
            return items if ready else False

        items = wait(browser, drawn)
        texts = [text for text, _, _ in items]
        kinds = [kind for _, kind, _ in items if kind]
        assert kinds == ["logement", "scolarite-formation"], texts  # in date order, no error
        housing = next(t for t in texts if "Rupture de logement" in t)
        assert "10 février 2026" in housing and "Expulsion du studio" in housing
        assert any("15 mars 2026" in t and "Fin de la rupture" in t for t in texts), texts
        assert any("20 avril 2026" in t and "Rupture scolaire ou de formation" in t
                   for t in texts), texts
        assert not any("Rupture professionnelle" in t for t in texts), texts
        (end,) = [text for text, _, outcome in items if outcome == "relais"]
        assert "30 mai 2026" in end and "Relais vers un autre service" in end
        # in English, the kinds and the outcome in English
        browser.find_element(By.ID, "lang").click()
        english = wait(browser, lambda d: (text := d.execute_script(
            "return document.getElementById('timeline').innerText")) and
            "Handed over to another service" in text and text)
        assert "Housing rupture" in english
    finally:
        _system(app, "PUT", f"EpisodeOfCare/{episode['id']}", before)
        for obs in made:
            _system(app, "DELETE", f"Observation/{obs['id']}")


MEASURES = ("cm-caseload", "cm-referral-delay", "cm-goals-by-domain", "cm-ruptures",
            "cm-hospitalisations", "cm-episode-outcomes")


def _figure(part: dict[str, Any]) -> float:
    score = part.get("measureScore") or {}
    if isinstance(score.get("value"), (int, float)):
        return score["value"]
    pops = part.get("population") or []
    first = next((p for p in pops if any(c.get("code") == "initial-population"
                                         for c in p.get("code", {}).get("coding", []))),
                 pops[0] if pops else {})
    return first.get("count", 0)


def test_the_indicators_are_drawn_as_the_server_reports_them(server: Any, browser: Any,
                                                             shots: Path) -> None:
    """The indicators page draws, for the signed-in practitioner, each group's figure and one
    bar per stratum exactly as $evaluate-measure answers with the same token."""
    import datetime

    import requests

    base, _ = server
    sign_in(browser, base, "ddurand")
    browser.find_element(By.ID, "indicators-link").click()
    wait(browser, ec.presence_of_element_located(
        (By.CSS_SELECTOR, '#indicators .measure[data-measure="cm-hospitalisations"]')))
    token = browser.execute_script(
        "return JSON.parse(sessionStorage.getItem('cm-session')).token")
    today = datetime.datetime.now(datetime.UTC).date()
    period = {"periodStart": (today - datetime.timedelta(days=365)).isoformat(),
              "periodEnd": today.isoformat()}
    seen_bars = 0
    for measure in MEASURES:
        report = requests.get(
            f"{base}/fhir/Measure/$evaluate-measure", timeout=30,
            params={"measure": f"https://interop.cm-sante-mentale.fr/fhir/Measure/{measure}",
                    **period},
            headers={"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"})
        assert report.status_code == 200, report.text
        section = browser.find_element(By.CSS_SELECTOR, f'.measure[data-measure="{measure}"]')
        groups = report.json().get("group", [])
        assert groups
        for group in groups:
            code = group["code"]["coding"][0]["code"]
            block = section.find_element(By.CSS_SELECTOR, f'.group[data-group="{code}"]')
            total = block.find_element(By.CSS_SELECTOR, ".total").get_attribute("data-value")
            assert float(total) == float(_figure(group)), (measure, code)
            for k, stratifier in enumerate(group.get("stratifier", [])):
                drawn = block.find_elements(By.CSS_SELECTOR, ".stratifier")[k]
                values = [float(r.get_attribute("data-value"))
                          for r in drawn.find_elements(By.CSS_SELECTOR, "rect.bar")]
                assert values == [float(_figure(s)) for s in stratifier.get("stratum", [])], \
                    (measure, code, k)
                seen_bars += len(values)
    # the demo's case manager has people in his caseload: something is drawn
    caseload = browser.find_element(By.CSS_SELECTOR, '.group[data-group="caseload"] .total')
    assert float(caseload.get_attribute("data-value")) >= 1 and seen_bars >= 1
    assert "File active" in browser.find_element(By.ID, "indicators").text
    browser.save_screenshot(str(shots / "indicators.png"))
