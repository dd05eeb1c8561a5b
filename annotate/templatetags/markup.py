"""Rendering model and user text: Markdown, then an allow-list sanitiser (nh3)."""

from __future__ import annotations

import markdown
import nh3
from django import template
from django.utils.safestring import mark_safe

from annotate.judgements import PREFERENCE_LABELS

register = template.Library()

_ALLOWED_TAGS = {
    "p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "h1", "h2", "h3",
    "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td", "hr", "a", "del", "sup", "sub",
}


def render_markdown_safely(text: str) -> str:
    html = markdown.markdown(text or "", extensions=["fenced_code", "tables", "sane_lists"])
    return nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes={"a": {"href", "title"}, "code": {"class"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


@register.filter(name="markdown")
def markdown_filter(text: str) -> str:
    return mark_safe(render_markdown_safely(text))  # noqa: S308 — sanitised by nh3 above


@register.filter
def preference_label(value: int | None) -> str:
    return PREFERENCE_LABELS.get(value, "—") if value is not None else "—"
