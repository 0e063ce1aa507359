#!/usr/bin/env python3
"""Opens report.html in Debian's Chromium (headless, through Playwright for Python) at a desktop
and a phone width, and fails when a reader would stumble: any element wider than the viewport
(outside a box that scrolls on its own, as the tables do), or any chart drawn with zero size.
Keeps a first-screen and a full-page screenshot of each width.

Usage: check_report.py REPORT_HTML [SCREENSHOT_DIR]   (default output/browser)
Exit status: 0 passed, 1 a check failed, 2 bad usage or the browser could not start.
"""

import pathlib
import shutil
import sys
import tempfile

VIEWPORTS = [(1280, 800), (390, 844)]
CHROMIUM = "/usr/bin/chromium"
# Root cannot use Chromium's sandbox; nothing here may reach the network.
ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Elements wider than the viewport, or sticking out of it, that no scrolling box of their own
# contains; and every chart's drawn size. Folded <details> are opened first so their tables count.
CHECK = """
() => {
  document.querySelectorAll('details').forEach(d => d.open = true);
  const vw = document.documentElement.clientWidth;
  const scrolls = el => {
    for (let a = el.parentElement; a; a = a.parentElement) {
      const o = getComputedStyle(a).overflowX;
      if (o === 'auto' || o === 'scroll' || o === 'hidden') return a !== document.documentElement && a !== document.body;
    }
    return false;
  };
  const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ').join('.') : '');
  const wide = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    // A box may fit while its content spills out of it (a long unbroken line): count the content.
    const own = getComputedStyle(el).overflowX;
    const right = (own === 'visible') ? Math.max(r.right, r.left + el.scrollWidth) : r.right;
    if ((right > vw + 1 || r.left < -1) && !scrolls(el)) {
      wide.push(`${name(el)} spans ${Math.round(r.left)}..${Math.round(right)} px: "${(el.textContent || '').trim().slice(0, 60)}"`);
    }
  }
  const charts = [...document.querySelectorAll('figure svg, svg')].map(s => {
    const r = s.getBoundingClientRect();
    return {label: s.getAttribute('aria-label') || name(s), width: r.width, height: r.height};
  });
  return {
    viewport: vw,
    page_width: document.documentElement.scrollWidth,
    wide: wide.slice(0, 20),
    wide_count: wide.length,
    charts,
    details: document.querySelectorAll('details').length,
  };
}
"""


def check(report: pathlib.Path, shots: pathlib.Path) -> list[str]:
    from playwright.sync_api import sync_playwright

    problems = []
    profile = tempfile.mkdtemp(prefix="csmarket-chromium-")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch_persistent_context(
                profile,
                executable_path=CHROMIUM,
                headless=True,
                args=ARGS,
                offline=True,
            )
            try:
                for width, height in VIEWPORTS:
                    page = browser.new_page()
                    page.set_viewport_size({"width": width, "height": height})
                    page.goto(report.resolve().as_uri(), wait_until="load")
                    page.screenshot(path=str(shots / f"report-{width}-first-screen.png"))
                    page.screenshot(path=str(shots / f"report-{width}-full.png"), full_page=True)
                    found = page.evaluate(CHECK)
                    # With every <details> open: what a reader who unfolds everything sees.
                    page.screenshot(path=str(shots / f"report-{width}-unfolded.png"), full_page=True)
                    page.close()
                    at = f"at {width}x{height}"
                    if found["page_width"] > found["viewport"]:
                        problems.append(
                            f"{at}: the page is {found['page_width']} px wide, wider than the viewport ({found['viewport']} px)"
                        )
                    for w in found["wide"]:
                        problems.append(f"{at}: wider than the viewport: {w}")
                    if found["wide_count"] > len(found["wide"]):
                        problems.append(f"{at}: ... and {found['wide_count'] - len(found['wide'])} more")
                    if not found["charts"]:
                        problems.append(f"{at}: no chart in the report")
                    for c in found["charts"]:
                        if c["width"] <= 0 or c["height"] <= 0:
                            problems.append(f"{at}: chart {c['label']} renders {c['width']}x{c['height']}")
                    print(
                        f"{at}: page {found['page_width']} px, {len(found['charts'])} charts, "
                        f"{found['details']} folded sections, {found['wide_count']} elements too wide"
                    )
            finally:
                browser.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return problems


def main() -> int:
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    report = pathlib.Path(sys.argv[1])
    shots = pathlib.Path(sys.argv[2] if len(sys.argv) == 3 else "output/browser")
    if not report.is_file():
        print(f"error: no report at {report}", file=sys.stderr)
        return 2
    if not pathlib.Path(CHROMIUM).exists():
        print(f"error: no Chromium at {CHROMIUM} (apt-get install -y chromium)", file=sys.stderr)
        return 2
    try:
        import playwright  # noqa: F401
    except ImportError:
        print("error: Playwright for Python is missing (pip install playwright)", file=sys.stderr)
        return 2
    shots.mkdir(parents=True, exist_ok=True)
    problems = check(report, shots)
    for p in problems:
        print(f"FAIL {p}", file=sys.stderr)
    print(f"screenshots in {shots}/")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
