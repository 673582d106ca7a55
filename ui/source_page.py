"""The page a citation opens: its document, whole, at the cited section (no outside assets).

Drivers follow public sources at `/v1/sources/{id}`; agents follow any source at
`/v1/agent/sources/{id}`, behind their sign-in.
"""

from __future__ import annotations

from html import escape

from assistant.sources import SourceDocument

PAGE_STYLE = """
:root { color-scheme: light dark; --accent: #0b5cad; }
body { font: 16px/1.55 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0;
  background: Canvas; color: CanvasText; }
main { max-width: 46rem; margin: 0 auto; padding: 1.5rem 1.25rem 4rem; }
header p { margin: .25rem 0; opacity: .8; }
.badge { display: inline-block; font-size: .8rem; padding: .05rem .5rem; border-radius: 1rem;
  border: 1px solid currentColor; margin-right: .4rem; }
section { padding: .25rem 1rem; margin: 1rem -1rem; border-left: 4px solid transparent;
  scroll-margin-top: 1rem; }
section:target { border-left-color: var(--accent); background: color-mix(in srgb,
  var(--accent) 10%, transparent); }
section:target h2::after { content: " · cited"; font-size: .8rem; color: var(--accent); }
h2 { font-size: 1.1rem; margin: .75rem 0 .25rem; }
.text { white-space: pre-wrap; margin: 0; }
"""


def source_page_html(document: SourceDocument) -> str:
    facts = [document.kind, document.vehicle or "", document.effective_date or ""]
    badge = "Internal" if document.audience != "public" else "Public"
    sections = "".join(
        f'<section id="{escape(section.anchor)}">'
        f"<h2>{escape(section.heading or document.title)}"
        f"{f' (page {section.page})' if section.page is not None else ''}</h2>"
        f'<p class="text">{escape(section.text)}</p></section>'
        for section in document.sections
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(document.title)}</title><style>{PAGE_STYLE}</style></head>"
        f"<body><main><header><h1>{escape(document.title)}</h1>"
        f'<p><span class="badge">{badge}</span>'
        f"{escape(' · '.join(fact for fact in facts if fact))}</p></header>"
        f"{sections}</main></body></html>"
    )
