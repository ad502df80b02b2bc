"""report.html (placeholder until the plots land)."""

from __future__ import annotations

import html
import json


def render_report(data: dict) -> str:
    return ("<!doctype html><html><head><meta charset='utf-8'><title>archgen report</title>"
            "</head><body><pre>" + html.escape(json.dumps(data, indent=1)) + "</pre></body></html>\n")
