"""Model cards: markdown rendered to HTML, then sanitised (an allow-list of tags, attributes and URL schemes).

markdown-it renders (raw HTML allowed, as model cards often carry tables); nh3 (ammonia) then removes scripts,
event handlers, styles and every URL whose scheme is not http, https or mailto. The page's Content-Security-Policy
is the second wall: no inline script would run even if one got through.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_markdown = MarkdownIt("commonmark", {"html": True, "linkify": False}).enable("table").enable("strikethrough")

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl", "dt", "em", "h1", "h2", "h3",
    "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s", "span", "strong", "sub", "summary", "sup",
    "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"}, "img": {"src", "alt", "title", "width", "height"}, "td": {"align"}, "th": {"align"},
    "ol": {"start"}, "code": {"class"},
}
URL_SCHEMES = {"http", "https", "mailto"}
MAX_MARKDOWN_CHARS = 1 << 20


def render_markdown(text: str | None) -> Markup:
    """Safe HTML for a model card; empty for no text."""
    if not text:
        return Markup("")
    html = _markdown.render(text[:MAX_MARKDOWN_CHARS])
    clean = nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes=URL_SCHEMES,
                      link_rel="noopener noreferrer nofollow", strip_comments=True)
    return Markup(clean)
