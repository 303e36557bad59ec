"""The built course website, opened in a real browser (headless Chromium through chromedriver).

    nox -s docs                                   # builds build/site, then runs this file
    pytest website/tests --site build/site        # against a site built by hand

Every page must render (a title and a non-empty article), every internal link and every
image must resolve (images must also decode: naturalWidth > 0), and no page may log a
console error. Screenshots of the home page and of module 06 go into the test output
directory ($TINYTORCH_TEST_OUTPUT, default build/test-output/site).

The site is served over HTTP on 127.0.0.1 (file:// URLs would make the search index
fetch fail). Chromium runs with a fresh profile and without background networking, so the
test needs no network and leaves nothing behind. Without Chromium the tests skip, unless
TINYTORCH_REQUIRE_BROWSER=1 (set by `nox -s docs`), which turns a skip into a failure.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROME_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run",
                "--window-size=1280,1600")
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
DRIVER_NAMES = ("chromedriver",)


def _site_dir(config) -> Path:
    return Path(config.getoption("--site") or ROOT / "build" / "site").resolve()


def _output_dir() -> Path:
    out = Path(os.environ.get("TINYTORCH_TEST_OUTPUT") or ROOT / "build" / "test-output")
    out = out / "site"
    out.mkdir(parents=True, exist_ok=True)
    return out


def _find(names) -> str | None:
    return next((path for path in map(shutil.which, names) if path), None)


@pytest.fixture(scope="module")
def site(pytestconfig) -> Path:
    directory = _site_dir(pytestconfig)
    if not (directory / "index.html").is_file():
        pytest.fail(f"no built site in {directory}: run `nox -s docs` (or mkdocs build) first")
    return directory


@pytest.fixture(scope="module")
def server(site):
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # a browser that closes a connection early is not a site error


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser():
    chromium, driver_path = _find(CHROMIUM_NAMES), _find(DRIVER_NAMES)
    if chromium is None or driver_path is None:
        message = ("headless Chromium and chromedriver are needed (Debian: apt-get install "
                   "chromium chromium-driver)")
        if os.environ.get("TINYTORCH_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="tinytorch-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (*CHROME_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def _pages(site: Path) -> list[str]:
    """Every HTML page of the site, as a URL path ("" for the home page)."""
    pages = []
    for path in sorted(site.rglob("*.html")):
        relative = path.relative_to(site).as_posix()
        pages.append("" if relative == "index.html" else
                     relative.removesuffix("index.html") if relative.endswith("/index.html")
                     else relative)
    return pages


def _load(browser, url: str) -> dict:
    """Open `url`, wait for it, return what the checks need from the rendered page."""
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(url)
    WebDriverWait(browser, 30).until(
        lambda b: b.execute_script("return document.readyState") == "complete")
    return browser.execute_script("""
        const article = document.querySelector('article');
        return {
          ready: document.readyState,
          title: document.title,
          heading: (article && article.querySelector('h1')) ?
                   article.querySelector('h1').innerText : '',
          text: article ? article.innerText.length : 0,
          links: Array.from(document.querySelectorAll('a[href], link[href]')).map(a => a.href)
                 .concat(Array.from(document.querySelectorAll('script[src]')).map(s => s.src)),
          images: Array.from(document.images).map(i => ({
                    src: i.src, ok: i.complete && i.naturalWidth > 0, width: i.naturalWidth})),
          nav: Array.from(document.querySelectorAll('nav.md-nav--primary a.md-nav__link[href]'))
                 .map(a => a.href),
        };""")


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture(scope="module")
def crawl(site, server, browser) -> dict:
    """Every page loaded once in the browser: url -> rendered facts and its console log."""
    results = {}
    for page in _pages(site):
        url = server + page
        facts = _load(browser, url)
        facts["console"] = browser.get_log("browser")
        results[url] = facts
    return results


def test_every_page_renders(crawl, server):
    assert server + "modules/06_autograd/" in crawl and len(crawl) >= 25
    for url, facts in crawl.items():
        assert facts["ready"] == "complete", url
        assert "TinyTorch" in facts["title"], (url, facts["title"])
        if not url.endswith("404.html"):
            assert facts["heading"] and facts["text"] > 200, (url, facts["heading"])


def test_no_console_errors(crawl):
    errors = {url: [entry["message"] for entry in facts["console"]
                    if entry["level"] in ("SEVERE", "ERROR")]
              for url, facts in crawl.items()}
    assert not {url: messages for url, messages in errors.items() if messages}


def test_every_internal_link_and_image_resolves(crawl, server):
    checked: dict[str, int] = {}
    for url, facts in crawl.items():
        for link in facts["links"] + [image["src"] for image in facts["images"]]:
            target = urllib.parse.urldefrag(link).url
            if target.startswith(server) and target not in checked:
                checked[target] = _status(target)
        broken = [image["src"] for image in facts["images"] if not image["ok"]]
        assert not broken, f"{url}: images that do not load or decode: {broken}"
    assert len(checked) >= 30  # 25 pages, the pictures, the theme's scripts and styles
    assert not {link: code for link, code in checked.items() if code != 200}


def test_navigation_is_in_teaching_order(crawl, server):
    home = crawl[server]
    modules = [link.split("/modules/")[1][:2] for link in home["nav"] if "/modules/" in link]
    assert modules == [f"{n:02d}" for n in range(1, 19)]
    order = [link.removeprefix(server) for link in home["nav"]]
    for milestone, last_module in (("01_xor", "05"), ("03_cifar10", "10"),
                                   ("04_tinygpt", "15"), ("05_optimized_inference", "18")):
        position = order.index(f"milestones/{milestone}/")
        assert order[position - 1].startswith(f"modules/{last_module}_"), order


def test_module_06_shows_the_autograd_graph(crawl, server):
    images = crawl[server + "modules/06_autograd/"]["images"]
    graph = [image for image in images if image["src"].endswith("06_autograd_graph.svg")]
    assert graph and graph[0]["ok"] and graph[0]["width"] > 100


def test_screenshots_of_home_and_module_06(browser, server, site):
    from tinytorch.core.plot import read_png

    out = _output_dir()
    for name, page in (("home", ""), ("module_06", "modules/06_autograd/")):
        _load(browser, server + page)
        height = browser.execute_script("return document.documentElement.scrollHeight")
        browser.set_window_size(1280, min(int(height) + 200, 8000))  # the whole page
        path = out / f"{name}.png"
        assert browser.save_screenshot(str(path)), path
        browser.set_window_size(1280, 1600)
        pixels = read_png(path)
        assert pixels.shape[1] == 1280 and pixels.shape[0] >= 800, pixels.shape
        assert pixels[..., :3].std() > 0.05, f"{path} looks blank"


def test_generated_pictures_are_real(site):
    from tinytorch.core.plot import read_png

    for name, min_width in (("figures/10_training_history.png", 1000),
                            ("figures/17_layer_times.png", 700),
                            ("milestones/01_xor-report.png", 900)):
        pixels = read_png(site / name)
        assert pixels.shape[1] >= min_width and pixels[..., :3].std() > 0.05, name
    svg = (site / "figures" / "06_autograd_graph.svg").read_text()
    assert "<svg" in svg and "0.weight" in svg and "LinearBackward" in svg


def test_the_build_shows_collected_milestone_reports(tmp_path, monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location("site_hooks", ROOT / "website" / "hooks.py")
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    from tinytorch.course.syllabus import PHASES

    monkeypatch.delenv(hooks.REPORTS_ENV, raising=False)
    assert hooks.milestone_report("03", tmp_path) is None
    assert "This build had none" in hooks.milestone_page(PHASES[1], False)
    collected = tmp_path / "reports" / "03_cifar10"
    collected.mkdir(parents=True)
    (collected / "report.png").write_bytes(b"\x89PNG\r\n\x1a\n picture")
    monkeypatch.setenv(hooks.REPORTS_ENV, str(tmp_path / "reports"))
    assert hooks.milestone_report("03", tmp_path) == b"\x89PNG\r\n\x1a\n picture"
    assert "![Milestone 03 report](03_cifar10-report.png)" in hooks.milestone_page(PHASES[1],
                                                                                    True)


def test_module_pages_leave_the_instructor_answers_out(site):
    """The site is what students read: like the released notebooks, it shows each module
    page without its "Instructor answer" sections (the validation question stays)."""
    pages = sorted((site / "modules").glob("*/index.html"))
    assert len(pages) == 18
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert "Instructor answer" not in html, page
    assert "Validation question" in (site / "modules" / "06_autograd" / "index.html").read_text()
