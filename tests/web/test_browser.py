"""End to end in a real browser: Debian's headless Chromium (Selenium, chromedriver) against ``xlperf serve``.

The office logs in and creates a round from the project list; a unit uploads a return with errors, sees the sheet, cell and message,
downloads the annotated copy, uploads the fixed return; the dashboard shows it passed; the office downloads
the summary and the report. The screenshots of the unit's page and the dashboard go to a temporary folder,
or to ``XLPERF_SCREENSHOTS`` when set (``XLPERF_SCREENSHOTS=docs`` renews the README's)."""
from __future__ import annotations

import base64
import io
import os
import tempfile
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest
from selenium import webdriver
from selenium.common.exceptions import (JavascriptException, NoSuchElementException,
                                        StaleElementReferenceException)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait
from web.served import PASSWORD
from web.webcommon import RETURNS, SAMPLES, WITH_ERRORS

CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--disable-background-networking", "--disable-component-update", "--no-first-run",
                  "--disable-sync", "--window-size=1280,1000", "--lang=zh-CN"]


@pytest.fixture(scope="module")
def portal(served_portal):
    return served_portal


@pytest.fixture(scope="module")
def downloads(tmp_path_factory):
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(downloads):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="xlperf-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False,
                                              "safebrowsing.enabled": False})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def wait_for(browser, condition, timeout: float = 60):
    # the unit's page reloads itself while checking: an element may go stale between two looks, and a
    # script may run while the old document unloads
    return WebDriverWait(browser, timeout, poll_frequency=0.1,
                         ignored_exceptions=(StaleElementReferenceException, NoSuchElementException,
                                             JavascriptException)).until(condition)


def downloaded(folder: Path, suffix: str, before: set[str], timeout: float = 60) -> Path:
    """The file the browser finished downloading since ``before``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        new = [p for p in folder.iterdir() if p.name not in before and p.suffix == suffix]
        if new and not any(p.suffix == ".crdownload" for p in folder.iterdir()):
            return new[0]
        time.sleep(0.1)
    raise AssertionError(f"no {suffix} downloaded into {folder}: {sorted(p.name for p in folder.iterdir())}")


def screenshot(browser, name: str, tmp_path: Path) -> Path:
    folder = Path(os.environ.get("XLPERF_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    browser.save_screenshot(str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 20_000
    return path


def result_text(browser) -> str:
    return wait_for(browser, ready.presence_of_element_located((By.ID, "result"))).text


STATE_SCRIPT = """
const state = document.getElementById("state");
return state ? [state.dataset.version, state.dataset.state] : null;
"""


def shown(browser, version: str) -> None:
    """Wait until the page shows that version's result: it says checking… and reloads itself till then."""
    # read both attributes in one script run: between two WebDriver calls the page may reload and the
    # element's node leave the document ("Node with given id does not belong to the document")
    def settled(b):
        seen = b.execute_script(STATE_SCRIPT)
        return seen is not None and seen[0] == version and seen[1] != "checking"
    wait_for(browser, settled)


def upload(browser, path: Path) -> None:
    """Upload as a unit does; wait until the page shows the new version's result."""
    expected = str(len(browser.find_elements(By.CSS_SELECTOR, "#history tr")) or 1)  # header + versions
    browser.find_element(By.ID, "file").send_keys(str(path))
    browser.find_element(By.ID, "upload").click()
    shown(browser, expected)


DROP_SCRIPT = """
const [name, data, target] = arguments;
const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));
const transfer = new DataTransfer();
transfer.items.add(new File([bytes], name));
for (const kind of ["dragenter", "dragover", "drop"]) {
  target.dispatchEvent(new DragEvent(kind, {dataTransfer: transfer, bubbles: true, cancelable: true}));
}
"""


def drop(browser, path: Path) -> None:
    """Drag the file onto the drop zone (the browser's own drag events, with the file's bytes)."""
    expected = str(len(browser.find_elements(By.CSS_SELECTOR, "#history tr")) or 1)
    browser.execute_script(DROP_SCRIPT, path.name, base64.b64encode(path.read_bytes()).decode(),
                           browser.find_element(By.ID, "drop"))
    shown(browser, expected)


def test_a_whole_round_in_the_browser(portal, browser, downloads, tmp_path):
    # the office logs in and creates a round from the project list
    browser.get(portal.url + "/office/")
    browser.find_element(By.ID, "username").send_keys("finance")
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.ID, "sign-in").click()
    wait_for(browser, ready.presence_of_element_located((By.ID, "new-round"))).click()
    browser.find_element(By.ID, "projects").send_keys(str(SAMPLES / "projects.csv"))
    year = browser.find_element(By.ID, "year")
    year.clear()
    year.send_keys("2022")
    browser.find_element(By.ID, "create").click()
    links = {row.get_attribute("data-unit"): row.find_element(By.TAG_NAME, "code").text
             for row in wait_for(browser, ready.presence_of_element_located((By.ID, "links")))
             .find_elements(By.CSS_SELECTOR, "tr[data-unit]")}
    assert sorted(links) == ["471001", "471002", "471003"]
    assert all(link.startswith(portal.url + "/u/") for link in links.values())
    dashboard = browser.find_element(By.ID, "to-dashboard").get_attribute("href")
    browser.get(portal.url + "/office/")
    assert browser.find_element(By.ID, "rounds").text.count("遵化市工业和信息化局2022年度项目支出绩效目标") >= 1

    # a unit uploads a return with errors and sees where they are
    browser.get(links["471002"])
    assert "遵化市中小企业服务中心（471002）" in browser.find_element(By.TAG_NAME, "h1").text
    upload(browser, WITH_ERRORS / "471002_indicator-errors.xlsx")
    assert "个错误须修改后重新上传" in result_text(browser)
    assert browser.find_element(By.ID, "state").text == "有错误"
    rows = [[cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
            for row in browser.find_elements(By.CSS_SELECTOR, "tr.finding")]
    assert ["C12", "错误"] == rows[0][:2] and "不属于一级指标" in rows[0][2]
    assert any("工作表：中小企业公共服务平台运行维护经费" in h.text for h in browser.find_elements(By.TAG_NAME, "h3"))
    screenshot(browser, "portal-unit.png", tmp_path)

    before = {p.name for p in downloads.iterdir()}
    browser.find_element(By.ID, "annotated").click()
    annotated = downloaded(downloads, ".xlsx", before)
    assert annotated.name == "471002_遵化市中小企业服务中心_第1版_标注.xlsx"
    assert "校验结果" in openpyxl.load_workbook(annotated, read_only=True).sheetnames

    # the fixed return passes (dropped on the page this time, as from the desktop)
    drop(browser, RETURNS / "471002_遵化市中小企业服务中心.xlsx")
    assert result_text(browser) == "校验通过，没有问题。"
    assert len(browser.find_elements(By.CSS_SELECTOR, "#history tr")) == 3  # header + two versions

    # another unit's return with errors, for the dashboard to show each state
    browser.get(links["471001"])
    upload(browser, WITH_ERRORS / "471001_budget-and-plan-errors.xlsx")

    # the dashboard shows it passed
    browser.get(dashboard)
    row = browser.find_element(By.CSS_SELECTOR, 'tr[data-unit="471002"]')
    assert "通过" in row.text and "2" in row.find_elements(By.TAG_NAME, "td")[3].text
    assert "有错误" in browser.find_element(By.CSS_SELECTOR, 'tr[data-unit="471001"]').text
    screenshot(browser, "portal-dashboard.png", tmp_path)

    # the office downloads the summary and the report
    before = {p.name for p in downloads.iterdir()}
    browser.find_element(By.ID, "make-summary").click()
    summary = downloaded(downloads, ".xlsx", before)
    assert summary.name.endswith("_汇总表.xlsx")
    book = openpyxl.load_workbook(summary, read_only=True)
    assert "471002" in {str(row[0]) for row in book["项目汇总"].iter_rows(values_only=True)}
    before = {p.name for p in downloads.iterdir()}
    browser.find_element(By.ID, "make-report").click()
    report = downloaded(downloads, ".docx", before, timeout=120)
    assert "遵化市中小企业服务中心" in zipfile.ZipFile(io.BytesIO(report.read_bytes())).read(
        "word/document.xml").decode("utf-8")
