"""The implementation guide's readable documentation, served under ``/ig/`` and buildable as
static HTML (``python -m fhir_service.http.igdocs OUTDIR``).

The pages are Markdown generated from the definitions by ``profiles/scripts/make_docs.py``
(``docs/ig/``); here they are only rendered. Nothing external is loaded by the pages.
"""

from __future__ import annotations

import html
import re
import sys
from functools import lru_cache
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, RedirectResponse
from markdown_it import MarkdownIt

from fhir_service.conformance.package import project_root

DOCS = project_root() / "docs" / "ig"
PAGE_RE = re.compile(r"^[A-Za-z0-9\-.]{1,120}$")
STYLE = """
body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;
line-height:1.5;color:#1b1b1b}table{border-collapse:collapse;font-size:.9rem}
td,th{border:1px solid #ccc;padding:.25rem .5rem;vertical-align:top}th{background:#f3f3f3}
code{background:#f5f5f5;padding:0 .2rem}pre{background:#f5f5f5;padding:.75rem;overflow:auto}
nav{margin-bottom:1rem}a{color:#0b5cad}
"""


def _link(match: re.Match[str]) -> str:
    return f'href="{match.group(1)}.html"'


@lru_cache(maxsize=256)
def render(name: str, docs: Path = DOCS) -> str | None:
    path = docs / f"{name}.md"
    if not PAGE_RE.match(name) or not path.is_file():
        return None
    body = MarkdownIt("commonmark").enable("table").render(path.read_text(encoding="utf-8"))
    body = re.sub(r'href="([A-Za-z0-9\-.]+)\.md"', _link, body)
    title = html.escape(name)
    return (f"<!doctype html><html lang=fr><head><meta charset=utf-8><title>{title}</title>"
            f"<style>{STYLE}</style></head><body><nav><a href=\"index.html\">Guide</a></nav>"
            f"{body}</body></html>")


def install(app: FastAPI, prefix: str = "/ig") -> None:
    @app.get(prefix, include_in_schema=False)
    @app.get(prefix + "/", include_in_schema=False)
    def ig_index() -> RedirectResponse:
        return RedirectResponse(url=f"{prefix}/index.html")

    @app.get(prefix + "/{page}", include_in_schema=False)
    def ig_page(page: str) -> HTMLResponse:
        name = page[:-5] if page.endswith(".html") else page
        text = render(name)
        if text is None:
            return HTMLResponse("<!doctype html><title>Not found</title><p>No such page.</p>",
                                status_code=404)
        return HTMLResponse(text)


def build(out: Path, docs: Path = DOCS) -> int:
    out.mkdir(parents=True, exist_ok=True)
    count = 0
    for md in sorted(docs.glob("*.md")):
        text = render(md.stem, docs)
        if text is not None:
            (out / f"{md.stem}.html").write_text(text, encoding="utf-8")
            count += 1
    return count


if __name__ == "__main__":  # pragma: no cover
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("build/ig-html")
    print(f"{build(target)} pages written to {target}")
