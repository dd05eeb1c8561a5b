"""Model text is shown exactly as the model wrote it: Markdown rendered, raw HTML as text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from annotate.templatetags.markup import render_markdown_safely, sanitise_rendered_html
from tests.conftest import REPO_DIR

HIGHLIGHT_CSS = REPO_DIR / "static" / "css" / "codehilite.css"


# --- Raw HTML is text --------------------------------------------------------------------------


def test_inline_html_tags_are_shown_as_escaped_text_not_stripped():
    assert render_markdown_safely("Show me <b>bold</b>") == "<p>Show me &lt;b&gt;bold&lt;/b&gt;</p>"


def test_script_and_img_onerror_are_visible_text_never_tags():
    html = render_markdown_safely("<script>alert('x')</script> <img src=x onerror=alert(1)>")

    assert "&lt;script&gt;alert('x')&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<script" not in html and "<img" not in html


def test_a_multi_line_html_block_is_shown_line_for_line_as_text():
    html = render_markdown_safely("<div class=\"note\">\n  <p>hello</p>\n</div>\n\nafter")

    assert html == (
        '<p>&lt;div class="note"&gt;\n  &lt;p&gt;hello&lt;/p&gt;\n&lt;/div&gt;</p>\n<p>after</p>'
    )


def test_an_html_comment_is_shown_not_hidden():
    assert render_markdown_safely("<!-- keep me -->\ntext") == "<p>&lt;!-- keep me --&gt;\ntext</p>"


def test_an_html_table_is_shown_as_text():
    html = render_markdown_safely("<table>\n<tr><td>x</td></tr>\n</table>")

    assert "<table" not in html and "<td" not in html
    assert "&lt;table&gt;" in html and "&lt;td&gt;x&lt;/td&gt;" in html


def test_entities_are_shown_as_the_model_wrote_them_not_decoded():
    # The model wrote the six characters "&amp;": the annotator must see those six characters.
    html = render_markdown_safely("&amp; &lt;b&gt; &copy; &#169; &#x41; AT&T; x & y")

    assert html == (
        "<p>&amp;amp; &amp;lt;b&amp;gt; &amp;copy; &amp;#169; &amp;#x41; AT&amp;T; x &amp; y</p>"
    )


def test_entities_in_headings_emphasis_link_text_and_table_cells_are_shown_as_written():
    html = render_markdown_safely(
        "# &lt;h&gt;\n\n**&amp;** [a &amp; b](https://example.com)\n\n| &amp; |\n|---|\n| 1 |"
    )

    assert "<h1>&amp;lt;h&amp;gt;</h1>" in html
    assert "<strong>&amp;amp;</strong>" in html
    assert ">a &amp;amp; b</a>" in html
    assert "<th>&amp;amp;</th>" in html


# --- Markdown still renders --------------------------------------------------------------------


def test_emphasis_lists_and_tables_are_rendered():
    html = render_markdown_safely(
        "*em* and **strong**\n\n- one\n- two\n\n1. first\n\n| a | b |\n|---|---|\n| 1 | 2 |"
    )

    assert "<em>em</em>" in html and "<strong>strong</strong>" in html
    assert "<ul>\n<li>one</li>\n<li>two</li>\n</ul>" in html
    assert "<ol>\n<li>first</li>\n</ol>" in html
    assert "<th>a</th>" in html and "<td>2</td>" in html


@pytest.mark.parametrize(
    "url", ["http://example.com/a", "https://example.com/?q=1", "mailto:someone@example.com"]
)
def test_http_https_and_mailto_links_are_links(url):
    html = render_markdown_safely(f"[go]({url})")

    assert re.fullmatch(r'<p><a href="[^"]+" rel="noopener noreferrer nofollow">go</a></p>', html)
    assert html.count("href=") == 1


@pytest.mark.parametrize(
    "text",
    [
        "[go](javascript:alert(1))",
        "[go](JaVaScRiPt:alert(1))",
        "[go](data:text/html;base64,PHNjcmlwdD4=)",
        "[go][ref]\n\n[ref]: javascript:alert(1)",
        "<javascript:alert(1)>",
    ],
)
def test_javascript_and_data_urls_never_become_links(text):
    html = render_markdown_safely(text)

    assert "href" not in html
    assert "javascript:" not in html.lower() or "&lt;javascript:" in html


# --- Code --------------------------------------------------------------------------------------


def test_text_in_a_code_span_is_escaped_exactly_once():
    assert render_markdown_safely("`a < b && c`") == "<p><code>a &lt; b &amp;&amp; c</code></p>"


def test_text_in_a_fenced_block_is_escaped_exactly_once():
    html = render_markdown_safely("```\na < b && c\n```")

    assert "a &lt; b &amp;&amp; c" in html
    assert "&amp;lt;" not in html and "&amp;amp;" not in html


def test_an_entity_inside_code_is_shown_as_written():
    assert render_markdown_safely("`&amp;`") == "<p><code>&amp;amp;</code></p>"


def test_html_inside_a_fenced_block_is_shown_as_text():
    html = render_markdown_safely("```html\n<b onclick=\"x()\">hi</b>\n```")

    assert "<b" not in html
    assert "onclick" in html and "&lt;" in html


def test_fenced_code_in_a_known_language_is_highlighted_server_side_with_css_classes():
    html = render_markdown_safely("```python\ndef f(a, b):\n    return a < b\n```")

    assert html.startswith('<div class="codehilite"><pre>')
    assert '<span class="k">def</span>' in html
    assert '<span class="nf">f</span>' in html
    assert '<span class="o">&lt;</span>' in html
    assert "<script" not in html and "style=" not in html


@pytest.mark.parametrize("fence", ["```", "```no-such-language"])
def test_fenced_code_without_a_known_language_is_plain_escaped_text(fence):
    html = render_markdown_safely(f"{fence}\nif a < b: print('x')\n```")

    assert "if a &lt; b: print('x')" in html
    assert not re.search(r'<span class="[^"]+">', html)


def test_an_indented_code_block_is_escaped_once_and_not_guessed_at():
    html = render_markdown_safely("    x = 1 & 2 < 3\n")

    assert "x = 1 &amp; 2 &lt; 3" in html
    assert not re.search(r'<span class="[^"]+">', html)


# --- The allow-list stays as a second layer ----------------------------------------------------


def test_the_sanitiser_keeps_only_highlight_classes_and_safe_tags():
    html = sanitise_rendered_html(
        '<div class="codehilite topbar"><pre><span class="k button">if</span></pre></div>'
        '<span class="primary" style="color:red">x</span><img src=x onerror=alert(1)>'
        '<a href="javascript:alert(1)">y</a><iframe src="https://example.com"></iframe>'
    )

    assert html == (
        '<div class="codehilite"><pre><span class="k">if</span></pre></div>'
        '<span class="">x</span><a rel="noopener noreferrer nofollow">y</a>'
    )


# --- The highlight stylesheet -----------------------------------------------------------------


def _relative_luminance(hex_colour: str) -> float:
    digits = hex_colour.lstrip("#")
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    channels = [int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    light, dark = sorted((_relative_luminance(a), _relative_luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_every_token_colour_meets_wcag_aa_contrast_on_the_code_background():
    css = HIGHLIGHT_CSS.read_text()
    (background,) = re.findall(r"\.codehilite pre \{ background: (#[0-9A-Fa-f]{3,6}); \}", css)
    colours = dict(re.findall(r"\.codehilite \.(\w+) \{ color: (#[0-9A-Fa-f]{3,6})", css))

    assert {"k", "s", "c", "nf", "o"} <= set(colours)
    # Whitespace tokens (.w) only colour visible-whitespace markers, which are not turned on.
    too_faint = {
        token: round(_contrast(colour, background), 2)
        for token, colour in colours.items()
        if token != "w" and _contrast(colour, background) < 4.5
    }
    assert too_faint == {}


APP_CSS = Path(__file__).resolve().parents[2] / "static" / "css" / "app.css"


def test_the_workspace_colours_meet_wcag_aa_contrast():
    variables = dict(re.findall(r"--(\w+): (#[0-9A-Fa-f]{6})", APP_CSS.read_text()))
    white, page, error_bg, kbd_bg = "#ffffff", variables["bg"], "#fef3f2", "#f9fafb"
    pairs = {
        "text on cards": (variables["fg"], white),
        "text on the page": (variables["fg"], page),
        "muted on cards": (variables["muted"], white),
        "muted on the page": (variables["muted"], page),
        "links": (variables["accent"], white),
        "primary buttons": (white, variables["accent"]),
        "errors": (variables["bad"], white),
        "errors on their banner": (variables["bad"], error_bg),
        "notices": (variables["good"], white),
        "notices on the page": (variables["good"], page),
        "keys": (variables["fg"], kbd_bg),
    }
    too_faint = {name: round(_contrast(a, b), 2) for name, (a, b) in pairs.items() if _contrast(a, b) < 4.5}
    assert not too_faint


def test_a_list_right_after_a_paragraph_line_is_a_list_as_models_mean_it():
    html = render_markdown_safely("Here's the recipe:\n- flour\n- eggs\n\n**Shelter**\n- [ ] Tent\n1. one\n2. two")
    assert "<p>Here's the recipe:</p>\n<ul>\n<li>flour</li>\n<li>eggs</li>\n</ul>" in html
    assert "<li>[ ] Tent</li>" in html and "<ol>" in html


def test_a_list_nested_with_two_or_three_spaces_nests():
    html = render_markdown_safely("- fruit\n  - apple\n   - pear\n- veg")
    assert html.count("<ul>") == 2 and "<li>apple</li>" in html and "<li>pear</li>" in html


def test_list_like_lines_inside_fenced_code_stay_as_written():
    html = render_markdown_safely("Run:\n```\nls\n- not a list\n```")
    assert "- not a list" in html and "<li>" not in html


def test_a_reference_defined_in_one_text_does_not_resolve_in_the_next():
    # One Markdown instance is reused per thread: its per-document state must not leak.
    assert 'href="https://example.org/a"' in render_markdown_safely("[x][r]\n\n[r]: https://example.org/a")
    assert "href" not in render_markdown_safely("[x][r]")


def test_an_option_input_is_rendered_exactly_as_djangos_widget_template_renders_it():
    from django import forms

    from annotate.templatetags.markup import input_tag

    class Choice(forms.Form):
        overall = forms.ChoiceField(
            choices=[("A", "A"), ('"B"<&>', "B")], widget=forms.RadioSelect(attrs={"data-key": "1"})
        )
        reasons = forms.MultipleChoiceField(choices=[("x", "X"), ("y", "Y")], widget=forms.CheckboxSelectMultiple)

    form = Choice(initial={"overall": "A", "reasons": ["y"]}, auto_id="a7_%s")
    options = [*form["overall"], *form["reasons"]]
    assert [input_tag(option) for option in options] == [option.tag() for option in options]
    assert " checked" in input_tag(options[0]) and "&quot;B&quot;&lt;&amp;&gt;" in input_tag(options[1])


def test_the_option_markups_escaping_equals_djangos_conditional_escape():
    from django.utils.html import conditional_escape
    from django.utils.safestring import mark_safe
    from django.utils.translation import gettext_lazy

    from annotate.templatetags.markup import _escaped

    values = [
        'plain', '"quoted" & \'single\' <b>tags</b>', "", 7, 0.5, None, True,
        mark_safe("<i>already safe</i>"), gettext_lazy("Tie <or> not"), "é — ünïcode & ✓",
    ]  # fmt: skip
    assert [_escaped(v) for v in values] == [str(conditional_escape(v)) for v in values]


# The option labels of the task page, as its template loop rendered them before they were
# built in one filter (issue 18): the filter must produce the same markup.
OPTION_LABELS_AS_A_TEMPLATE_LOOP = (
    "{% load markup %}{% for choice in unit.choices %}"
    '<label class="scale-option" title="{{ choice.option.description }}"><kbd>{{ choice.key }}</kbd> '
    "{{ choice.widget|input_tag }} <span>{{ choice.option.label }}</span>"
    "{% if choice.option.description and choice.option.description != choice.option.label %}"
    '<small class="anchor">{{ choice.option.description }}</small>{% endif %}</label>'
    "{% if not forloop.last %}\n{% endif %}{% endfor %}"
)


def test_option_labels_are_rendered_as_the_task_pages_template_loop_rendered_them(pm):
    from django.template import engines

    from annotate.forms import TaskAnswerForm
    from annotate.services.task_schemas import campaign_schema
    from annotate.task_templates import TEMPLATES
    from annotate.templatetags.markup import option_labels
    from tests.conftest import build_campaign

    loop = engines["django"].from_string(OPTION_LABELS_AS_A_TEMPLATE_LOOP)
    options = []
    for name in TEMPLATES:
        campaign = build_campaign(pm=pm, n_instances=0, name=f"options {name}", template=name)
        form = TaskAnswerForm(schema=campaign_schema(campaign), n_responses=2, auto_id="a1_%s")
        for unit in form.units():
            assert option_labels(unit) == loop.render({"unit": unit})
            options += [choice.option for choice in unit.choices]
    # The templates have options whose anchor text differs from their label, and ones without.
    assert any(o.description and o.description != o.label for o in options)
    assert any(not o.description or o.description == o.label for o in options)


def test_markdown_cache_never_holds_more_characters_than_its_budget_and_hits_are_identical():
    import tracemalloc

    from annotate.templatetags.markup import CharBoundedLRU, _render_markdown

    budget = 100_000
    texts = [f"# Text {n}\n\n" + ("**word** " * 750) for n in range(40)]  # ~7k chars each
    # Rendered once before tracing (Markdown under tracemalloc is slow); the cache's function
    # hands back a fresh copy, so what the cache keeps (text and HTML) is allocated while traced.
    rendered = {text: _render_markdown(text) for text in texts}
    cache = CharBoundedLRU(lambda text: rendered[text].encode().decode(), budget)
    tracemalloc.start()
    for text in texts:
        cache(text.encode().decode())  # a fresh copy too: the kept key is traced as well
        assert cache.cache_info().chars <= budget
    full_cache_bytes, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    info = cache.cache_info()
    assert info.misses == 40 and 0 < info.currsize < 40  # it evicted, and kept some
    assert info.chars > budget // 2
    # A full cache of budget characters costs a few bytes per character (str is 1 byte per
    # ASCII char plus per-entry overhead); printed so the figure per 8M default can be read off.
    print(f"full cache: {info.chars} chars, {full_cache_bytes} bytes traced")
    assert full_cache_bytes < 4 * budget
    newest = texts[-1]
    assert cache(newest) == _render_markdown(newest) and cache.cache_info().hits == 1
    assert cache(texts[0]) == _render_markdown(texts[0])  # evicted: rendered again, same HTML
    assert cache.cache_info().misses == 41


def test_markdown_cache_evicts_least_recently_used_first():
    from annotate.templatetags.markup import CharBoundedLRU

    cache = CharBoundedLRU(lambda text: text.upper(), max_chars=12)  # three 2-char texts
    for text in ("aa", "bb", "cc"):
        cache(text)
    cache("aa")  # now bb is the least recently used
    cache("dd")
    assert cache.cache_info().currsize == 3
    hits_before = cache.cache_info().hits
    assert cache("aa") == "AA" and cache("cc") == "CC" and cache("dd") == "DD"
    assert cache.cache_info().hits == hits_before + 3
    cache("bb")
    assert cache.cache_info().misses == 5  # bb was the one evicted
    assert cache("x" * 7) == "X" * 7 and cache.cache_info().chars <= 12  # too large: not kept
