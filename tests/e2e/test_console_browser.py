"""The whole console in headless Debian Chromium: chat, approve, see the fill, see the portfolio."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from market_times import OPEN

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("E2E_ARTIFACTS", ROOT / "tests" / "e2e" / "artifacts"))
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
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
    env = {**os.environ, "TRADING_DATA_DIR": str(tmp_path / "data"), "TRADING_NOW": OPEN}
    env.pop("OPENAI_API_KEY", None)
    process = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                                "--server.address", "127.0.0.1", "--server.port", str(port)], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):  # bounded readiness poll on the server's health endpoint
        try:
            urllib.request.urlopen(url + "/_stcore/health", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(15)


def test_trade_approve_and_see_the_portfolio(console):
    """Type an order, approve it, see it filled, then AAPL and a chart on the Portfolio page."""
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.goto(console)
        expect(page.get_by_text("TradeSphere").first).to_be_visible(timeout=60_000)
        page.get_by_test_id("stChatInputTextArea").fill("Buy 10 shares of Apple through TradeSphere")
        page.keyboard.press("Enter")
        approve = page.get_by_role("button", name="Approve")
        expect(approve).to_be_visible(timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "trade-approval.png"), full_page=True)
        approve.click()
        expect(page.locator("p", has_text=re.compile(r"Bought 10 AAPL")).first).to_be_visible(timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "trade-filled.png"), full_page=True)
        for name in ("Portfolio", "Orders", "Brokers", "Settings"):
            page.get_by_role("link", name=name).first.click()
            page.wait_for_load_state("networkidle")
            if name == "Portfolio":
                expect(page.get_by_text("Allocation").first).to_be_visible(timeout=60_000)
                expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=60_000)
            page.screenshot(path=str(ARTIFACTS / f"{name.lower()}.png"), full_page=True)
        browser.close()
