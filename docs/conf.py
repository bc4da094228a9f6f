"""Sphinx configuration: numpydoc, autosummary, sphinx-gallery and offline intersphinx.

Build with ``python -m sphinx -W --keep-going -b html docs docs/_build/html``.
"""

import os
import re
import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from _inventories import SKLEARN_UNLINKED, write_inventories  # noqa: E402

import skae  # noqa: E402

project = "skae"
author = "the skae developers"
copyright = "2026, the skae developers"
version = release = skae.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # MathJax served from _static: formulas render with no network
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py", "auto_examples/*.zip"]
default_role = "literal"

autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": True}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

intersphinx_mapping = write_inventories(HERE / "_build" / "inventories")
intersphinx_timeout = 1

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("skae",),
    "backreferences_dir": "generated/backreferences",
    "reference_url": {"skae": None},
    "matplotlib_animations": False,
    "show_memory": False,
    "image_scrapers": ("matplotlib",),
    # its timing pages load jQuery and DataTables from CDNs; the README quotes the times
    "write_computation_times": False,
}

html_theme = "pydata_sphinx_theme"
html_title = "skae"
html_theme_options = {
    # the plain configuration: no logo, no links to other hosts, nothing fetched at view time
    "navbar_align": "left",
    "header_links_before_dropdown": 4,
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "use_edit_page_button": False,
    "icon_links": [],
    "footer_start": ["copyright"],
    "footer_end": ["theme-version"],
}
html_sidebars = {page: [] for page in ("index", "design", "comparison", "faq", "changelog")}
html_static_path = ["_static"]
html_css_files = ["skae.css"]


def _unlinked_sklearn_label(app, env, node, contnode):
    """A scikit-learn label named in an inherited docstring, with no page to link: plain text."""
    if node.get("reftype") == "ref" and node.get("reftarget") in SKLEARN_UNLINKED:
        return contnode
    return None


REMOTE = re.compile(r"<(?:script|link)\b[^>]*\b(?:src|href)=[\"'](?:https?:)?//", re.IGNORECASE)


def _no_remote_assets(app, exception):
    """The built pages load no script or stylesheet from another host: they
    are read offline, from a built or packaged copy."""
    if exception is not None or app.builder.format != "html":
        return
    offending = []
    for page in Path(app.outdir).rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        for match in REMOTE.finditer(html):
            tag = html[match.start() : html.index(">", match.start()) + 1]
            if tag.lower().startswith("<script") or "stylesheet" in tag:
                offending.append(f"{page.relative_to(app.outdir)}: {tag}")
    if offending:
        raise RuntimeError("Pages load assets from another host:\n" + "\n".join(offending[:20]))


def setup(app):
    app.connect("missing-reference", _unlinked_sklearn_label)
    app.connect("build-finished", _no_remote_assets)
