"""Serve the page without the internet: put Solara's front-end bundles in its asset cache.

Solara's server fetches its JavaScript and CSS (the Vuetify app, require.js, Font Awesome)
from a CDN on first use and caches them under ``settings.assets.proxy_cache_dir``. A
training room, or CI, without that CDN gets a blank page. These bundles are npm packages,
so ``ensure_offline_assets()`` fills the cache with ``npm pack`` from the npm registry
(``run.py dashboard --fetch-assets``, once per installation). Packages a page only loads on
demand (e.g. the draggable grid's ``vue-grid-layout``) are found in Solara's Vue widgets.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

CDN_SPEC = re.compile(r"(?:\{\{cdn\}\}|\$\{this\.getCdn\(\)\})/((?:@[\w.-]+/)?[\w.-]+@\d+\.\d+\.\d+(?:-[\w.]+)?)/")
"""A pinned package in the page template (``{{cdn}}/pkg@1.2.3/``) or a Vue widget
(``${this.getCdn()}/@scope/pkg@1.2.3-alpha.2/``)."""


def cache_dir() -> Path:
    from solara.server import settings

    return Path(settings.assets.proxy_cache_dir)


def cdn_packages() -> list[str]:
    """The npm ``name@version`` specs Solara's page template loads through its CDN proxy."""
    import solara.server
    from solara.server import settings

    package = Path(solara.server.__file__).parents[1]
    sources = [
        package / "server" / "templates" / "solara.html.j2",
        *sorted((package / "widgets" / "vue").glob("*.vue")),
        package / "components" / "markdown.py",  # mermaid, loaded by every solara.Markdown
    ]
    specs = [spec for source in sources for spec in CDN_SPEC.findall(source.read_text(encoding="utf-8"))]
    fontawesome = settings.assets.fontawesome_path.strip("/").split("/")[0]
    return list(dict.fromkeys([*specs, fontawesome]))


def missing_packages(root: Path | None = None) -> list[str]:
    root = root or cache_dir()
    return [spec for spec in cdn_packages() if not (root / spec).is_dir()]


def ensure_offline_assets(root: Path | None = None) -> list[str]:
    """Download (``npm pack``) and unpack every bundle not yet cached; returns those added.

    Raises ``RuntimeError`` when npm is not installed or a package cannot be fetched.
    """
    root = root or cache_dir()
    todo = missing_packages(root)
    if not todo:
        return []
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed: cannot fetch Solara's front-end bundles " + ", ".join(todo))
    added = []
    with tempfile.TemporaryDirectory() as tmp:
        for spec in todo:
            done = subprocess.run(
                [npm, "pack", spec, "--silent", "--pack-destination", tmp],
                capture_output=True,
                text=True,
                timeout=600,
            )
            if done.returncode != 0:
                raise RuntimeError(f"npm pack {spec} failed: {done.stderr.strip()[-500:]}")
            tarball = Path(tmp) / done.stdout.strip().splitlines()[-1]
            target = root / spec
            staging = Path(tmp) / "unpacked"
            with tarfile.open(tarball) as tar:
                tar.extractall(staging, filter="data")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(staging / "package"), target)
            shutil.rmtree(staging, ignore_errors=True)
            added.append(spec)
    return added
