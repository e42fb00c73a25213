"""The README's portal screenshots (its block between the portal-screenshots markers): every image it
shows exists in docs/portal as a small PNG, and docs/portal holds nothing it does not show."""
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
README = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
SHOTS = os.path.join(ROOT, "docs", "portal")


def block():
    match = re.search(r"<!-- portal-screenshots: begin.*?-->(.*?)<!-- portal-screenshots: end -->", README, re.S)
    assert match, "README.md has no portal-screenshots block"
    return match.group(1)


def test_every_screenshot_the_readme_shows_exists_and_is_small():
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", block())
    assert len(images) == 18 and len(set(images)) == 18
    for image in images:
        path = os.path.join(ROOT, image)
        assert image.startswith("docs/portal/") and os.path.isfile(path), f"{image} is missing: run the portal tests with PORTAL_SCREENSHOTS=docs/portal"
        with open(path, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n", image
        assert os.path.getsize(path) < 250_000, f"{image} is {os.path.getsize(path)} bytes"
    for language in ("en", "ja"):
        assert sum(f"/{language}-" in image for image in images) == 9


def test_docs_portal_holds_only_what_the_readme_shows():
    shown = {os.path.basename(i) for i in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", block())}
    assert set(os.listdir(SHOTS)) <= shown if os.path.isdir(SHOTS) else True
