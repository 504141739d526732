"""The studio in a real browser (Debian's chromium and chromium-driver, driven by Selenium), on the bundled clip:
open the page, upload and compose, see the timeline, change one bar's chord and re-compose its section, check
that only that section's notes changed, play the audio, download score.mid and read it back.

A screenshot is kept (``$FRAMESCORE_ARTIFACTS/studio.png``, else in the test's temporary folder); the seconds
from the upload to the first sound and for the re-compose are printed.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER),
                                reason="chromium and chromium-driver are not installed (make setup installs them)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def server(tmp_path):
    import uvicorn

    from framescore.studio.app import create_app

    port = _free_port()
    app = create_app(tmp_path / "jobs")
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(200):
        if srv.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", tmp_path / "jobs"
    srv.should_exit = True
    thread.join(10)


@pytest.fixture()
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--autoplay-policy=no-user-gesture-required", "--window-size=1400,1600", "--mute-audio"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    yield driver
    driver.quit()


def _until(driver, script: str, timeout: float = 180.0):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        value = driver.execute_script(script)
        if value:
            return value
        err = driver.execute_script("return document.getElementById('open-error').textContent + "
                                    "document.getElementById('edit-error').textContent")
        assert not err, err
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for: {script}")


def test_the_studio_in_a_real_browser(server, browser, tmp_path):
    from framescore.symbolic.midi_io import read_midi

    url, root = server
    t_start = time.monotonic()
    browser.get(url + "/")                                                          # 1. open the page
    assert browser.title == "framescore studio"
    browser.find_element("id", "file").send_keys(str(REPO / "examples" / "bikes.mp4"))  # 2. upload, compose
    t0 = time.monotonic()
    browser.find_element("id", "compose").click()
    _until(browser, "return window.studio.job && window.studio.lastLoad === window.studio.job.id")
    first = browser.execute_script("return window.studio.job")
    t_composed = time.monotonic() - t0
    # 3. the timeline: its sections, chords and frames, drawn
    assert first["timeline"]["sections"] and first["frames"] and first["video_file"]
    drawn = browser.execute_script(
        "const c = document.getElementById('timeline'); const d = c.getContext('2d').getImageData(0, 0, c.width,"
        " c.height).data; let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n;")
    assert drawn > 1000
    browser.find_element("id", "play").click()                                      # first sound
    _until(browser, "return window.studio.firstSound !== null", 30)
    t_first_sound = time.monotonic() - t0
    browser.find_element("id", "play").click()
    # 4. change one bar's chord (the last section's first bar) and re-compose that section
    sections = first["plan"]["sections"]
    k = len(sections) - 1
    bar = sections[k]["start_bar"]
    box = browser.find_element("css selector", f"#bars tr[data-bar='{bar}'] input.chord")
    box.clear()
    box.send_keys("F#dim")
    browser.execute_script("document.getElementById('section').value = arguments[0]", str(k))
    t1 = time.monotonic()
    browser.find_element("id", "recompose-section").click()
    _until(browser, f"return window.studio.job && window.studio.job.parent === '{first['id']}' && "
                    "window.studio.lastLoad === window.studio.job.id")
    t_recompose = time.monotonic() - t1
    second = browser.execute_script("return window.studio.job")
    # 5. only that section's notes changed
    start = first["timeline"]["bars"][bar]["start"]
    for a, b in zip(first["tracks"], second["tracks"]):
        before = sorted((n[0], n[2]) for n in a["notes"] if n[0] < start - 1e-3)
        after = sorted((n[0], n[2]) for n in b["notes"] if n[0] < start - 1e-3)
        assert before == after, a["name"]
    assert second["plan"]["bars"][bar]["chords"][0]["chord"] == "F#:dim"
    assert browser.find_element("id", "undo").is_enabled()
    # 6. the audio has a duration and plays
    browser.find_element("id", "play").click()
    _until(browser, "const a = document.querySelector('#stems audio'); return a && a.duration > 0 && "
                    "!a.paused && a.currentTime > 0.3", 30)
    shot = Path(os.environ.get("FRAMESCORE_ARTIFACTS", tmp_path)) / "studio.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(shot))
    browser.find_element("id", "play").click()
    # 7. download score.mid and read it back
    href = browser.find_element("css selector", "#files a[href$='score.mid']").get_attribute("href")
    mid = tmp_path / "downloaded.mid"
    mid.write_bytes(urllib.request.urlopen(href, timeout=30).read())
    piece = read_midi(mid)
    assert piece.notes() and len(piece.bar_starts()) - 1 >= len(first["plan"]["bars"])
    print(f"\nstudio: composed {t_composed:.1f} s, first sound {t_first_sound:.1f} s after the click, "
          f"section re-composed {t_recompose:.1f} s, whole test {time.monotonic() - t_start:.1f} s; "
          f"screenshot {shot}")
