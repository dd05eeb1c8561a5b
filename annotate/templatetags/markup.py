"""Rendering model and user text: Markdown, then an allow-list sanitiser (nh3).

Annotators must see exactly what a model wrote, so raw HTML in the text is never
interpreted: ``<b>x</b>`` is shown as the characters ``<b>x</b>``, an HTML block or
comment as its lines, and an entity such as ``&amp;`` as those five characters (the
page source then holds ``&amp;amp;``). Markdown itself is rendered: emphasis, lists,
tables, links (``http``, ``https`` and ``mailto`` only) and code, every character of
which is escaped exactly once. Fenced code in a language Pygments knows is highlighted
on the server with CSS classes (``static/css/codehilite.css``); an unknown or missing
language is plain text. nh3 then cleans the output against an allow-list, a second
layer in case Markdown ever emits something it should not.
"""

from __future__ import annotations

import html
import re
import threading
from collections import OrderedDict
from typing import NamedTuple

import markdown
import nh3
from django import template
from django.conf import settings
from django.utils.safestring import mark_safe
from markdown import util as markdown_util
from markdown.extensions import Extension
from markdown.inlinepatterns import ENTITY_RE, InlineProcessor
from markdown.preprocessors import Preprocessor
from pygments.token import STANDARD_TYPES

from annotate.judgements import PREFERENCE_LABELS

register = template.Library()

_ALLOWED_TAGS = {
    "p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "h1", "h2", "h3",
    "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td", "hr", "a", "del", "sup", "sub",
    "div", "span",
}
# Only the classes highlighting emits survive, so text can never borrow the app's own
# classes (a "primary" button look, say) even if Markdown let a class through.
_ALLOWED_CLASSES = {
    "div": {"codehilite"},
    "span": {css_class for css_class in STANDARD_TYPES.values() if css_class},
}


class _LiteralEntityProcessor(InlineProcessor):
    """An entity in the text (``&amp;``) stays the characters the author wrote.

    Returning ``&amp;amp;`` would not do: the serialiser leaves anything shaped like an
    entity alone. Markdown's AMP_SUBSTITUTE marker becomes a bare ``&`` only after
    serialisation, so the page gets ``&amp;amp;``, which displays as ``&amp;``.
    """

    def handleMatch(self, m, data):  # noqa: N802 — Python-Markdown's name
        literal = markdown_util.AMP_SUBSTITUTE + "amp;" + m.group(1)[1:]
        return literal, m.start(0), m.end(0)


class ShowRawHtmlAsText(Extension):
    """Raw HTML blocks, inline tags and entities are text, serialised escaped."""

    def extendMarkdown(self, md):  # noqa: N802 — Python-Markdown's name
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")
        md.inlinePatterns.deregister("entity")
        # 80 is the priority of the pattern it replaces: after code spans and links.
        md.inlinePatterns.register(_LiteralEntityProcessor(ENTITY_RE, md), "entity", 80)


_LIST_ITEM = re.compile(r"^( {0,3})([-*+]|\d{1,9}[.)])[ \t]+\S")
_NESTED_ITEM = re.compile(r"^( {1,3})([-*+]|\d{1,9}[.)])[ \t]+\S")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")


class _ListsAsModelsWriteThem(Preprocessor):
    """Lists as LLMs write them: Python-Markdown wants a blank line before a list and four
    spaces to nest one, CommonMark (and every chat UI) neither. Without this, "Steps:\n- a\n- b"
    shows as one run-on paragraph. Fenced code is left exactly as it is."""

    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        in_fence = False
        previous_was_item = False
        previous_kind = ""
        for line in lines:
            if _FENCE.match(line):
                in_fence = not in_fence
                out.append(line)
                previous_was_item = False
                continue
            if in_fence:
                out.append(line)
                continue
            item = _LIST_ITEM.match(line)
            kind = ("ordered" if item.group(2)[0].isdigit() else "bullet") if item else ""
            if item and previous_was_item and _NESTED_ITEM.match(line):
                line = "    " + line.lstrip(" ")  # a 1–3 space indent under an item nests it
            elif item and out and out[-1].strip() and (not previous_was_item or kind != previous_kind):
                out.append("")  # a list may follow a paragraph line, or another kind of list
            out.append(line)
            if item:
                previous_was_item = True
                if not _NESTED_ITEM.match(line) and not line.startswith("    "):
                    previous_kind = kind
            elif not line.strip() or not line.startswith((" ", "\t")):
                previous_was_item = False
        return out


class ListsAsModelsWriteThem(Extension):
    def extendMarkdown(self, md):  # noqa: N802 — Python-Markdown's name
        # After fenced code is stashed (25) would be ideal, but fences are parsed later as
        # blocks; the preprocessor tracks fences itself. 27 runs before html_block's slot.
        md.preprocessors.register(_ListsAsModelsWriteThem(md), "lists_as_models_write_them", 27)


def _new_markdown() -> markdown.Markdown:
    return markdown.Markdown(
        extensions=[
            ShowRawHtmlAsText(), ListsAsModelsWriteThem(), "fenced_code", "codehilite", "tables", "sane_lists",
        ],
        extension_configs={
            # Guessing would colour prose in unlabelled blocks as some random language.
            "codehilite": {"guess_lang": False, "css_class": "codehilite"},
        },
    )


def sanitise_rendered_html(html: str) -> str:
    """Clean HTML that Markdown produced against the allow-list (tags, classes, URL schemes)."""
    return nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes={"a": {"href", "title"}},
        allowed_classes=_ALLOWED_CLASSES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


_per_thread = threading.local()


def _markdown() -> markdown.Markdown:
    """This thread's Markdown instance, reset: building one (its extensions, Pygments'
    lexers lookup) cost more than converting a response, and a page converts several.
    ``reset()`` clears the per-document state (references, footnotes, stashed HTML)."""
    md = getattr(_per_thread, "markdown", None)
    if md is None:
        md = _per_thread.markdown = _new_markdown()
    return md.reset()


# An item's prompt and responses are shown to each of its (overlap) annotators, and again
# on the next-item call after submit-and-next: rendered once per process per text. Texts
# longer than this are rendered each time; the cache as a whole is bounded by characters
# (settings.MARKDOWN_CACHE_MAX_CHARS, text plus HTML), not by a count of entries.
_CACHED_TEXT_CHARS = 32_000


class CacheInfo(NamedTuple):
    hits: int
    misses: int
    currsize: int
    chars: int
    max_chars: int


class CharBoundedLRU:
    """Rendered HTML by source text, least recently used evicted first, so that the
    characters of every key plus its value never exceed ``max_chars`` (an entry larger
    than the whole budget is not stored). Thread-safe: gunicorn threads share it."""

    def __init__(self, render, max_chars: int):
        self._render = render
        self.max_chars = max_chars
        self._entries: OrderedDict[str, str] = OrderedDict()
        self._chars = 0
        self._hits = self._misses = 0
        self._lock = threading.Lock()

    def __call__(self, text: str) -> str:
        with self._lock:
            html = self._entries.get(text)
            if html is not None:
                self._entries.move_to_end(text)
                self._hits += 1
                return html
            self._misses += 1
        html = self._render(text)  # outside the lock: rendering is the slow part
        size = len(text) + len(html)
        with self._lock:
            if size <= self.max_chars and text not in self._entries:
                self._entries[text] = html
                self._chars += size
                while self._chars > self.max_chars:
                    old_text, old_html = self._entries.popitem(last=False)
                    self._chars -= len(old_text) + len(old_html)
        return html

    def cache_info(self) -> CacheInfo:
        with self._lock:
            return CacheInfo(self._hits, self._misses, len(self._entries), self._chars, self.max_chars)

    def cache_clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._chars = self._hits = self._misses = 0


def render_markdown_safely(text: str) -> str:
    """HTML for ``text`` as Markdown, raw HTML shown as text, safe to mark safe. A pure
    function of ``text`` (the Markdown instance is reset per call), so its result is cached."""
    text = text or ""
    if len(text) <= _CACHED_TEXT_CHARS:
        return _render_markdown_cached(text)
    return _render_markdown(text)


def _render_markdown(text: str) -> str:
    return sanitise_rendered_html(_markdown().convert(text))


_render_markdown_cached = CharBoundedLRU(_render_markdown, settings.MARKDOWN_CACHE_MAX_CHARS)


@register.filter(name="markdown")
def markdown_filter(text: str) -> str:
    return mark_safe(render_markdown_safely(text))  # noqa: S308 — sanitised by nh3 above


def _escaped(value) -> str:
    """``conditional_escape(value)`` as a plain string, without the lazy-string check its
    ``keep_lazy`` wrapper makes on every call: the task page escapes about 250 short values
    (each option's attributes, key and labels), and that wrapper was most of their cost. The
    same result: HTML-safe values as they are, anything else through ``html.escape``."""
    if hasattr(value, "__html__"):
        return str(value.__html__())
    return html.escape(str(value))


@register.filter
def input_tag(option) -> str:
    """The ``<input>`` of one radio or checkbox option (a ``BoundWidget``), exactly as
    ``option.tag()`` renders it through Django's input.html and attrs.html, without two
    template renders per option: the task page has two dozen options. Joined from escaped
    parts (``format_html`` per attribute cost more than the rest of the option's markup)."""
    widget = option.data
    parts = ['<input type="', _escaped(widget["type"]), '" name="', _escaped(widget["name"]), '"']
    if widget["value"] is not None:
        parts += [' value="', _escaped(widget["value"]), '"']
    for name, value in widget["attrs"].items():
        if value is True:
            parts += [" ", _escaped(name)]
        elif value is not False:
            parts += [" ", _escaped(name), '="', _escaped(value), '"']
    parts.append(">")
    return mark_safe("".join(parts))  # noqa: S308 — every part escaped above


@register.filter
def option_labels(unit) -> str:
    """The ``<label>`` of each option of ``unit`` (an ``AnswerUnit``): its key, input, label
    and anchor text, built in one pass instead of a template loop (the loop's per-node work
    over two dozen options was most of the task page's rendering, issue 18)."""
    labels = []
    for choice in unit.choices:
        option = choice.option
        description = _escaped(option.description)
        anchor = (
            f'<small class="anchor">{description}</small>'
            if option.description and option.description != option.label
            else ""
        )
        labels.append(
            f'<label class="scale-option" title="{description}"><kbd>{_escaped(choice.key)}</kbd>'
            f" {input_tag(choice.widget)} <span>{_escaped(option.label)}</span>{anchor}</label>"
        )
    return mark_safe("\n".join(labels))  # noqa: S308 — every part escaped above


@register.filter
def preference_label(value: int | None) -> str:
    return PREFERENCE_LABELS.get(value, "—") if value is not None else "—"
