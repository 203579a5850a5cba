"""Take screenshots of the main pages at phone and desktop sizes, for looking at the UI.

    .venv/bin/python scripts/screenshots.py --base-url http://127.0.0.1:5077 --login admin:secret

Images go to screenshots/ (git-ignored; never commit them). Drives Debian's
/usr/bin/chromium through Playwright (``pip install playwright``; do not run
``playwright install``). Without Playwright it falls back to ``chromium --screenshot``,
which can only capture the anonymous pages, and only the first screenful.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urljoin, urlsplit

VIEWPORTS = {"phone": (390, 844), "desktop": (1280, 800)}
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# name -> path of the pages anyone can see.
PUBLIC_PAGES = {"home": "/", "login": "/login", "not-found": "/this-page-does-not-exist"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:5000")
    parser.add_argument("--login", metavar="USER:PASSWORD",
                        help="also sign in and capture the signed-in pages")
    parser.add_argument("--out", type=Path, default=Path("screenshots"))
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = parser.parse_args(argv)
    if args.login and ":" not in args.login:
        parser.error("--login takes USER:PASSWORD")
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        print("playwright is not installed: anonymous pages only, first screen only",
              file=sys.stderr)
        if args.login:
            print("--login needs playwright; skipping the signed-in pages", file=sys.stderr)
        written = with_cli(args.base_url, args.out, args.chromium)
    else:
        written = with_playwright(args.base_url, args.out, args.chromium, args.login)
    for path in written:
        print(path)
    return 0


def with_playwright(base_url: str, out: Path, chromium: str, login: str | None) -> list[Path]:
    """Capture every page at every size, full length; signed in as well when asked."""
    from playwright.sync_api import sync_playwright

    written: list[Path] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            for size, (width, height) in VIEWPORTS.items():
                context = browser.new_context(
                    viewport={"width": width, "height": height}, locale="zh-CN",
                    is_mobile=size == "phone", has_touch=size == "phone",
                )
                page = context.new_page()

                def shoot(name: str, size: str = size, page=page) -> None:
                    path = out / f"{name}-{size}.png"
                    page.screenshot(path=str(path), full_page=True)
                    written.append(path)

                for name, path in PUBLIC_PAGES.items():
                    page.goto(urljoin(base_url, path))
                    shoot(name)
                page.goto(urljoin(base_url, "/login"))
                _sign_in(page, "nobody", "wrong-password")
                shoot("login-error")
                if login:
                    username, password = login.split(":", 1)
                    page.goto(urljoin(base_url, "/login"))
                    _sign_in(page, username, password)
                    if urlsplit(page.url).path == "/login":
                        raise SystemExit(f"could not sign in as {username!r}: check --login")
                    shoot("dashboard")
                    page.goto(urljoin(base_url, "/"))
                    shoot("home-signed-in")
                context.close()
        finally:
            browser.close()
    return written


def _sign_in(page, username: str, password: str) -> None:
    page.fill("#username", username)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("form[action^='/login'] button[type=submit]")


def with_cli(base_url: str, out: Path, chromium: str) -> list[Path]:
    """Capture the anonymous pages with chromium's own --screenshot switch."""
    written = []
    for size, (width, height) in VIEWPORTS.items():
        for name, path in PUBLIC_PAGES.items():
            target = out / f"{name}-{size}.png"
            subprocess.run(
                [chromium, *CHROMIUM_ARGS, "--hide-scrollbars", f"--window-size={width},{height}",
                 f"--screenshot={target.resolve()}", urljoin(base_url, path)],
                check=True, capture_output=True, timeout=60,
            )
            written.append(target)
    return written


if __name__ == "__main__":
    sys.exit(main())
