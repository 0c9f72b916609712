"""Look at a report as a reader would: headless Chromium screenshots at given widths, and a check that nothing
makes the page wider than the window (tables must scroll inside their box).

Command line: ``python -m analysis.report.screenshot REPORT.html OUT_DIR [WIDTH ...]`` (default 1280 and 800)
writes ``OUT_DIR/report_<width>.png`` and prints the page width at each window width.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

WIDTHS = (1280, 800)
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]


def browser() -> str | None:
    """Path of a headless-capable Chromium, or None."""
    return next((p for p in map(shutil.which, BROWSERS) if p), None)


def _need_browser() -> str:
    exe = browser()
    if exe is None:
        raise RuntimeError(f"no Chromium found (looked for {', '.join(BROWSERS)}); install Debian's 'chromium'")
    return exe


def screenshot(html_path: str | Path, png_path: str | Path, width: int, height: int = 8000, timeout_s: float = 120) -> Path:
    """PNG of the page at window ``width`` × ``height`` px (a long page is cut at ``height``)."""
    png_path = Path(png_path)
    png_path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([_need_browser(), *_FLAGS, f"--window-size={width},{height}", f"--screenshot={png_path}",
                    Path(html_path).resolve().as_uri()], capture_output=True, timeout=timeout_s, check=True)
    return png_path


def page_width(html_path: str | Path, width: int, timeout_s: float = 120) -> tuple[int, int]:
    """(scrollWidth of the document, window width) in px once the page has loaded at window ``width``; the first
    exceeding the second means something runs off the right edge."""
    text = Path(html_path).read_text(encoding="utf-8")
    probe = '<script>document.title="W"+document.documentElement.scrollWidth+"x"+window.innerWidth;</script></body>'
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "probe.html"
        copy.write_text(text.replace("</body>", probe), encoding="utf-8")
        out = subprocess.run([_need_browser(), *_FLAGS, f"--window-size={width},900", "--dump-dom", copy.as_uri()],
                             capture_output=True, text=True, timeout=timeout_s, check=True).stdout
    found = re.search(r"<title>W(\d+)x(\d+)</title>", out)
    if not found:
        raise RuntimeError(f"could not measure the page width of {html_path} at {width} px")
    return int(found.group(1)), int(found.group(2))


def main(argv=None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2:
        print(__doc__)
        return 2
    html_path, out_dir = Path(args[0]), Path(args[1])
    widths = [int(w) for w in args[2:]] or list(WIDTHS)
    for w in widths:
        png = screenshot(html_path, out_dir / f"report_{w}.png", w)
        page, window = page_width(html_path, w)
        print(f"{png}: page {page} px in a {window} px window{'' if page <= window else '  <-- runs off the edge'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
