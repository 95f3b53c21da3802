"""HTML -> PDF with WeasyPrint, from the same HTML the browser shows (its print stylesheet: @page
A4, the footer with page numbers and the run id, charts kept whole). Nothing is fetched over the
network: only file: and data: URLs are opened (the pages embed their CSS and SVG charts anyway)."""

from __future__ import annotations

import logging

LOCAL_PROTOCOLS = ("file", "data")


def html_to_pdfs(pages: dict[str, str]) -> dict[str, bytes]:
    """{name: html} -> {name: pdf bytes}; the pages share one font configuration (loading the fonts
    is a good part of the time of a small page)."""
    from weasyprint import HTML
    from weasyprint.text.fonts import FontConfiguration
    from weasyprint.urls import URLFetcher

    # WeasyPrint logs every CSS property it does not support (screen-only rules) as a warning.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    fonts = FontConfiguration()
    out = {}
    for name, html in pages.items():
        fetcher = URLFetcher(allowed_protocols=LOCAL_PROTOCOLS, allow_redirects=False)
        out[name] = HTML(string=html, url_fetcher=fetcher).write_pdf(font_config=fonts)
    return out
