"""The whole console in headless Debian Chromium: what a trader sees, asserted on visible text.

A fresh data dir and the real clock, both brokers connected, the model in use named, the first-run help; Settings ->
Practice; an at-the-open order's card in full (total with thousands, time in force in words, when it executes),
Approve, a market order approved, the Portfolio with the position and no degenerate equity chart, the Orders blotter
grouped; "Jump to next open" fills the queued order and the Portfolio holds both, with an equity chart over the day. Screenshots go under the
test's tmp dir (printed at the end); look at them: truncated numbers, codes instead of words and empty charts are bugs.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FULL_TOTAL = re.compile(r"\$\d{1,3}(?:,\d{3})+\.\d{2}")
CODES = re.compile(r"\b(opg|cls|gtc)\b")
pytestmark = pytest.mark.e2e


@pytest.fixture
def console(tmp_path):
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is missing in CI (scripts/test.sh installs it)")
        pytest.skip("Debian chromium not installed")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env.pop("TRADING_NOW", None)  # the real clock, then the practice clock the test switches to
    env.update(TRADING_DATA_DIR=str(tmp_path / "data"), PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    log = open(tmp_path / "streamlit.log", "w")  # noqa: SIM115 (open for the life of the server, closed below)
    process = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                                "--server.address", "127.0.0.1", "--server.port", str(port)], cwd=ROOT, env=env,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):  # bounded readiness poll on the server's health endpoint
        try:
            urllib.request.urlopen(url + "/_stcore/health", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    yield url
    os.killpg(process.pid, signal.SIGTERM)  # streamlit and the broker subprocesses it started
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
    log.close()


def test_a_trader_orders_approves_and_sees_the_portfolio(console, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    shots = tmp_path / "shots"
    shots.mkdir()

    def shot(name: str) -> None:
        page.screenshot(path=str(shots / f"{name}.png"), full_page=True)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1500, "height": 950})
        page.goto(console)
        main = page.get_by_test_id("stMainBlockContainer")
        sidebar = page.get_by_test_id("stSidebar")

        # both brokers connected, the model in use on the page and in the sidebar, help on the empty chat
        expect(sidebar.get_by_text(re.compile(r"TradeSphere\s+connected"))).to_be_visible(timeout=60_000)
        expect(sidebar.get_by_text(re.compile(r"VelocityBrokers\s+connected"))).to_be_visible(timeout=60_000)
        expect(sidebar.get_by_text("Offline model (no key needed)")).to_be_visible()
        expect(main).to_contain_text(re.compile(r"Model in use: Offline model"))
        expect(main).to_contain_text(re.compile(r"Orders wait for your approval"))
        expect(main).to_contain_text(re.compile(r"Paper money"))
        chip = main.get_by_role("button", name="Buy 100 Apple shares through TradeSphere when the market opens")
        expect(chip).to_be_visible()
        assert "…" not in chip.inner_text()
        shot("01-empty-chat")

        # the practice clock: the market opens now, and moves only when jumped
        page.get_by_role("link", name="Settings").first.click()
        expect(main).to_contain_text(re.compile(r"In use now: Offline model"), timeout=60_000)
        main.get_by_text("Practice", exact=True).click()
        expect(sidebar).to_contain_text(re.compile(r"Practice clock · \w{3} \w{3} \d{1,2} 09:30 ET"), timeout=60_000)
        shot("02-settings-practice")
        page.get_by_role("link", name="Trade").first.click()
        expect(main).to_contain_text("Orders wait for your approval", timeout=60_000)

        # an at-the-open order while the market is open: queued for the next session, a full card in words
        page.get_by_test_id("stChatInputTextArea").fill("Buy 100 Apple shares through TradeSphere when the market opens")
        page.keyboard.press("Enter")
        approve = page.get_by_role("button", name="Approve", exact=True)
        expect(approve).to_be_visible(timeout=60_000)
        card = main.locator("[class*='st-key-card-']").first
        text = card.inner_text()
        shot("03-approval-card")
        assert "Apple Inc. (AAPL)" in text and "100 shares" in text and "TradeSphere" in text
        assert re.search(r"At the open · \w{3} \w{3} \d{1,2}, 09:30 ET", text), text
        assert re.search(r"Queued until \w{3} \w{3} \d{1,2}, 09:30 ET", text), text
        assert "Total" in text and FULL_TOTAL.search(text), text
        assert not CODES.search(text), text
        details = main.get_by_test_id("stExpander").filter(has_text=re.compile(r"Details · \d+ tool calls?"))
        expect(details).to_have_count(1)
        assert not details.locator("details[open]").count(), "the drawer starts collapsed"
        approve.click()
        expect(main).to_contain_text(re.compile(r"queued on TradeSphere; it executes at the open"), timeout=60_000)

        # a market order fills now
        page.get_by_test_id("stChatInputTextArea").fill("Buy 10 shares of Apple through TradeSphere")
        page.keyboard.press("Enter")
        expect(approve).to_be_visible(timeout=60_000)
        expect(main).to_contain_text("Now, at the market")
        approve.click()
        expect(main).to_contain_text(re.compile(r"Bought 10 AAPL at \$\d+\.\d{2} on TradeSphere"), timeout=60_000)
        chat = main.get_by_test_id("stChatMessage")
        for n in range(chat.count()):  # at most one drawer a message, every one collapsed
            assert chat.nth(n).get_by_test_id("stExpander").count() <= 1
        shot("04-trade-after-approvals")

        # Portfolio: the position, the queued order, no equity chart from a single moment
        page.get_by_role("link", name="Portfolio").first.click()
        expect(main).to_contain_text("Queued and open orders (1)", timeout=60_000)
        expect(main).to_contain_text(re.compile(r"Equity over time: no history yet"))
        expect(main.locator(".js-plotly-plot").first).to_be_visible(timeout=30_000)
        expect(main.get_by_test_id("stDataFrame").first).to_contain_text("AAPL", timeout=30_000)
        assert "$-" not in main.inner_text()
        equity = main.get_by_test_id("stMetric").filter(has_text="Equity").first
        assert FULL_TOTAL.search(equity.inner_text()), equity.inner_text()
        shot("05-portfolio")

        # Orders: grouped, in words
        page.get_by_role("link", name="Orders").first.click()
        expect(main).to_contain_text("Queued · 1", timeout=60_000)
        expect(main).to_contain_text("Filled · 1")
        expect(main.get_by_test_id("stDataFrame")).to_have_count(2, timeout=30_000)
        expect(main).to_contain_text("Change a queued or open order")
        shot("06-orders")

        # Jump to next open: the queued order fills there
        sidebar.get_by_role("button", name="Jump to next open").click()
        expect(main).to_contain_text("Filled · 2", timeout=60_000)
        expect(main).not_to_contain_text("Queued ·")
        shot("07-orders-after-the-jump")
        page.get_by_role("link", name="Portfolio").first.click()
        expect(main.get_by_test_id("stDataFrame").first).to_contain_text("110", timeout=60_000)
        expect(main).not_to_contain_text("Queued and open orders")
        # the equity chart now has a day of history: two opens apart, not two dots a millisecond apart
        chart = main.locator(".js-plotly-plot").filter(has_text="Equity over time").first
        expect(chart).to_be_visible(timeout=30_000)
        span = chart.evaluate("e => { const r = e._fullLayout.xaxis.range.map(v => new Date(v)); return (r[1] - r[0]) / 1000; }")
        assert span > 3600, span
        chart.scroll_into_view_if_needed()
        chart.screenshot(path=str(shots / "08b-equity-chart.png"))
        shot("08-portfolio-after-the-jump")

        for name in ("Brokers", "Settings"):
            page.get_by_role("link", name=name).first.click()
            expect(main.get_by_role("heading", name=name, exact=True)).to_be_visible(timeout=60_000)
            shot(f"09-{name.lower()}")
        browser.close()
    print(f"screenshots: {shots}")
