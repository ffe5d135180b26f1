"""The run viewer in a real browser: Debian's chromium (``make browser``), driven headless by playwright (PyPI; it
downloads no browser of its own). Screenshots are saved in build/screenshots/ with the test's output."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from pipeline.flow import load_pipeline
from pipeline.store import AttemptEnd, Journal, NewAttempt, StepStatus
from tests.support import REPO, loom
from tests.support.serve import Served, served
from tests.support.wat import ECHO_BODY, LOG, rust_abi_module, wat_bytes

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = REPO / "build" / "screenshots"
HOSTILE = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>[bold]\x1b[31m\u202eevil'
# Chromium as root in a closed network: no sandbox (root), and none of its calls home (refused here, one by one).
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.is_file(), f"{CHROMIUM} is missing: run `make browser`"
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        try:
            yield launched
        finally:
            launched.close()


def logged_in(browser: Browser, server: Served) -> Page:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{server.url}/")
    assert page.url.endswith("/login")  # no cookie yet: the login page, not a JSON 401
    page.fill("input[name=key]", server.key)
    page.click("button")
    page.wait_for_url(f"{server.url}/")
    return page


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


@pytest.mark.slow  # the flagship's run (its proof kept between sessions by Loom's step cache)
def test_the_runs_page_and_the_flagships_run_page(browser: Browser, flagship_bundle: Path) -> None:
    home = flagship_bundle.parent / "home"
    with served(home, key_name="viewer") as server:
        page = logged_in(browser, server)
        assert "notarized-claim" in page.inner_text("table")
        screenshot(page, "runs")
        page.select_option("select[name=status]", "succeeded")
        page.click("button")
        page.click("table a")
        assert "/runs/" in page.url
        graph, timeline = page.locator("svg[aria-label='pipeline graph']"), page.locator("svg[aria-label=timeline]")
        steps = list(load_pipeline(REPO / "examples" / "notarized-claim.yaml").steps)
        assert graph.locator("rect").count() == len(steps)
        assert timeline.locator("rect").count() >= len(steps)  # a bar per attempt, cache hits included
        for name in steps:
            assert name[:21] in (graph.text_content() or "") and name[:23] in (timeline.text_content() or "")
        assert "verifies" in page.inner_text("body")
        assert page.evaluate("document.querySelectorAll('script').length") == 0
        shot = screenshot(page, "flagship-run")
        assert shot.stat().st_size > 10_000


def test_a_steps_error_with_markup_and_controls_shows_as_text(browser: Browser, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {"LOOM_HOME": str(home)}
    module = tmp_path / "rejecter.wasm"
    reason = HOSTILE.encode()
    module.write_bytes(
        rust_abi_module(
            f"(call $fail (i32.const 16) (i32.const {len(reason)})) (i64.const 0)",
            imports='(import "loom" "fail" (func $fail (param i32 i32)))',
            data=wat_bytes(reason),
        )
    )
    args = ("activity", "register", str(module), "--name", "rejecter", "--version", "1.0.0", "--runtime", "wasm")
    registered = loom(*args, env=env)
    assert registered.returncode == 0, registered.stderr
    said = f"said {HOSTILE}".encode()
    logger = tmp_path / "logger.wasm"
    logger.write_bytes(
        rust_abi_module(
            f"(call $log (i32.const 2) (i32.const 16) (i32.const {len(said)})) {ECHO_BODY}",
            imports=LOG,
            data=wat_bytes(said),
        )
    )
    args = ("activity", "register", str(logger), "--name", "logger", "--version", "1.0.0", "--runtime", "wasm")
    registered = loom(*args, "--grant", "loom_log", env=env)
    assert registered.returncode == 0, registered.stderr
    spec = tmp_path / "hostile.yaml"
    spec.write_text(
        "name: hostile\nsteps:\n  say:\n    activity: logger\n    input: {x: 1}\n"
        "  judge:\n    activity: rejecter\n    input: {x: '${steps.say.output.x}'}\noutput: {}\n"
    )
    ran = loom("run", str(spec), env=env)
    assert ran.returncode == 1, ran.stderr
    with served(home, key_name="viewer") as server:
        page = logged_in(browser, server)
        page.click("table a")
        shown = page.inner_text("body")
        assert '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>[bold]\\x1b[31m\\u202eevil' in shown
        assert 'warn said <img src=x onerror="window.pwned=1">' in shown  # the step's log, as text
        assert page.evaluate("typeof window.pwned") == "undefined"
        assert page.evaluate("document.querySelectorAll('script, img').length") == 0
        screenshot(page, "hostile-error")


def test_a_running_run_reloads_itself_and_its_bar_grows(browser: Browser, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    journal = Journal(home / "journal.sqlite")
    spec = {"name": "live", "steps": {"slow": {"activity": "echo", "input": {}}}, "output": {}}
    run_id = journal.start_run("live", json.dumps(spec), "0" * 64)
    lock = journal.lock(run_id)
    assert lock.acquire()  # held here: the run is live, as a runner in another process holds it
    try:
        journal.begin_attempts(run_id, [NewAttempt("slow", 1, "echo@1.0.0")])
        with served(home, key_name="viewer") as server:
            page = logged_in(browser, server)
            page.goto(f"{server.url}/runs/{run_id}")
            assert page.locator("meta[http-equiv=refresh]").count() == 1
            assert "so far" in (page.locator("svg[aria-label=timeline] title").first.text_content() or "")
            journal.end_attempts(run_id, [AttemptEnd("slow", 1, StepStatus.FAILED, error="stopped by the test")])
            journal.finish_run(run_id, "failed", error="stopped by the test")
            page.reload()
            assert page.locator("meta[http-equiv=refresh]").count() == 0
    finally:
        lock.release()


def test_the_cookie_opens_pages_never_the_api(tmp_path: Path) -> None:
    with served(tmp_path) as server:
        with httpx.Client(base_url=server.url, follow_redirects=False) as client:
            assert client.get("/").status_code == 303 and client.get("/").headers["location"] == "/login"
            flood = client.post("/login", content="&".join(f"f{i}=1" for i in range(50)))
            assert flood.status_code == 400 and "Traceback" not in flood.text
            refused = client.post("/login", data={"key": "loom_wrong"})
            assert refused.status_code == 401 and "not a live API key" in refused.text
            accepted = client.post("/login", data={"key": server.key})
            assert accepted.status_code == 303
            cookie = accepted.headers["set-cookie"].lower()
            assert "httponly" in cookie and "samesite=strict" in cookie
            assert client.get("/").status_code == 200
            assert "content-security-policy" in client.get("/").headers
            assert client.get("/v1/runs").status_code == 401  # the API wants the key itself
            assert client.post("/v1/runs", json={"pipeline": "x"}).status_code == 401
            assert client.get("/bonsai/version").status_code == 401


def test_a_journal_run_of_nonsense_is_shown_not_a_500(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite")
    run_id = journal.start_run(f"pipe{HOSTILE}", "{}", "0" * 64)  # no spec, no input blob
    step = f"step{HOSTILE}"
    journal.begin_attempts(run_id, [NewAttempt(step, 1, "act@1.0.0")])
    end = AttemptEnd(step, 1, StepStatus.SUCCEEDED, output_blob="f" * 64)
    journal.end_attempts(run_id, [end])
    journal.finish_run(run_id, "failed", error=f"{HOSTILE}\nsecond line")
    with served(tmp_path) as server, server.client() as client:
        for path in ("/", f"/runs/{run_id}", "/sessions"):
            page = client.get(path)
            assert page.status_code == 200, page.text
            assert "<script>" not in page.text and "\x1b" not in page.text and "\u202e" not in page.text
        shown = client.get(f"/runs/{run_id}").text
        assert "&lt;script&gt;window.pwned=2&lt;/script&gt;[bold]\\x1b[31m\\u202eevil" in shown
        assert "cannot be read" in shown
