"""Screenshots of the built documentation, as a reader of a built copy sees it.

    python docs/screenshots.py [BUILD_DIR] [OUT_DIR]

Opens four pages with a headless Chromium (no network needed: the pages load
nothing from another host) and writes a PNG of each to OUT_DIR
(``docs/_build/screenshots`` by default): the index, a user-guide page with
formulas, an API page and a gallery page. Look at them before a release.
Exits with a message, and status 0, when no browser is installed: CI does not
need one.
"""

import shutil
import subprocess
import sys
from pathlib import Path

PAGES = {
    "index": "index.html",
    "formulas": "user_guide/contractive.html",
    "api": "generated/skae.DenseAutoencoder.html",
    "gallery": "auto_examples/plot_ae_vs_pca.html",
}
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def main(build=Path(__file__).parent / "_build" / "html", out=None):
    build = Path(build).resolve()
    out = Path(out or build.parent / "screenshots").resolve()
    browser = next((shutil.which(name) for name in BROWSERS if shutil.which(name)), None)
    if browser is None:
        print(f"No browser found ({', '.join(BROWSERS)}): no screenshots taken.")
        return 0
    missing = [page for page in PAGES.values() if not (build / page).exists()]
    if missing:
        print(f"Build the documentation first: {build} lacks {missing}.", file=sys.stderr)
        return 1
    out.mkdir(parents=True, exist_ok=True)
    for name, page in PAGES.items():
        target = out / f"{name}.png"
        subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1300,1800",
             "--virtual-time-budget=5000", f"--screenshot={target}", (build / page).as_uri()],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
