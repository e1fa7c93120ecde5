"""Visitors' words (model names, run names, file names) shown as typed wherever Streamlit renders
Markdown: ``pages._widgets.plain`` against every directive Streamlit documents, first as text,
then rendered by Streamlit itself in Chromium."""

import re

import pytest

from conftest import ROOT, streamlit_server
from pages._widgets import plain

# Everything Streamlit's Markdown acts on (st.markdown's documentation): GitHub-flavoured Markdown,
# emoji and Streamlit shortcodes, Material icons, coloured text, backgrounds and badges, small
# text, LaTeX, and the typographic arrows and comparisons it draws.
DIRECTIVES = [
    ":smile: x",
    "x :+1:",
    ":streamlit: x",
    ":material/home: x",
    ":material/thumb_up:",
    ":red[R] x",
    ":blue[b]",
    ":green[g]",
    ":orange[o]",
    ":violet[v]",
    ":gray[g]",
    ":grey[g]",
    ":rainbow[r]",
    ":primary[p]",
    ":blue-background[b]",
    ":red-badge[b]",
    ":small[s]",
    ":material/home::red[R]",
    "$x^2$",
    "$$x$$",
    "x.__bold__.y",
    "**b**",
    "*i*",
    "_i_",
    "~~s~~",
    "~s~",
    "`code`",
    "[l](http://127.0.0.1:1/)",
    "![x](http://127.0.0.1:1/x.png)",
    "<b>b</b>",
    "# h",
    "> q",
    "- item",
    "1. item",
    "a | b",
    "x -> y",
    "x <- y",
    "x <-> y",
    "x >= y",
    "x <= y",
    "x ~= y",
    "a\n\n# heading",
    "\\*x\\*",
    "https://127.0.0.1:1/x",
]

# The patterns the browser acts on (Streamlit's frontend): a shortcode or icon between colons, a
# directive with brackets, LaTeX between unescaped dollars, and Markdown's own emphasis.
_SHORTCODE = re.compile(r":[\w+-]+(/[\w-]+)?:")
_DIRECTIVE = re.compile(r":[\w-]+\[")


@pytest.mark.parametrize("text", DIRECTIVES)
def test_plain_leaves_no_directive_for_the_browser_to_act_on(text):
    shown = plain(text)
    assert not _SHORTCODE.search(shown) and not _DIRECTIVE.search(shown), shown
    assert not re.search(r"(?<!\\)[*_`$~<>\[\]#|]", shown), shown  # every such character escaped
    assert "\n" not in shown


def test_plain_changes_nothing_a_reader_sees():
    for text in DIRECTIVES:
        displayed = re.sub(r"\\(.)", r"\1", plain(text)).replace("\u2060", "")
        assert displayed == " ".join(text.split()), (text, displayed)
    assert plain("Not saved: the disk is full") == "Not saved: the disk is full"


SCRIPT = """
import streamlit as st
from pages._widgets import plain
for i, text in enumerate(%r):
    st.markdown("name %%d=%%s" %% (i, plain(text)))
    st.caption("caption %%d=%%s" %% (i, plain(text)))
st.success("Saved as %%s. Pick it on the Draw page." %% plain(":smile: x.__bold__.y"))
st.subheader("Results of %%s" %% plain(":material/home: :red[R] x"))
"""


@pytest.mark.browser
def test_streamlit_renders_every_directive_as_typed(browser, tmp_path):
    script = tmp_path / "names.py"
    script.write_text(SCRIPT % (DIRECTIVES,))
    with streamlit_server(tmp_path, script, env={"PYTHONPATH": str(ROOT)}) as url:
        context = browser.new_context()
        page = context.new_page()
        asked = []
        page.on("request", lambda request: asked.append(request.url))
        page.goto(url)
        page.get_by_text("Results of", exact=False).wait_for(timeout=30_000)
        body = page.locator("[data-testid='stMain']")
        for i, text in enumerate(DIRECTIVES):
            typed = " ".join(text.split())
            for kind in ("name", "caption"):
                element = body.get_by_text(re.compile("^%s %d=" % (kind, i))).first
                shown = element.inner_text().replace("\u2060", "").strip()
                assert shown == "%s %d=%s" % (kind, i, typed), (text, shown)
        for typed in ("Saved as :smile: x.__bold__.y. Pick it on the Draw page.", "Results of :material/home: :red[R] x"):
            element = body.get_by_text(re.compile("^" + typed.split(":")[0])).first
            assert element.inner_text().replace("\u2060", "").strip() == typed
        # nothing drawn instead of the words: no icon, no formula, no picture, no link, no colour
        for selector in ("[data-testid='stIconMaterial']", ".katex", "img", "a[href*='127.0.0.1:1']", "strong", "em",
                         "h1", "blockquote", "li", "table", "span[style*='color']", "span[class*='Badge']"):  # fmt: skip
            assert body.locator(selector).count() == 0, selector
        assert not [u for u in asked if "127.0.0.1:1/" in u]
        context.close()


def test_a_model_name_is_shown_as_typed_in_the_inside_caption_and_its_delete_note(shipped_weights):
    """Model names are seen by everyone: ``x.__bold__.y`` is no bold "bold" in the Inside page."""
    from headless import inside, texts
    from nn_core.network import init_params
    from nn_core.storage import save_model

    ld = {"Dim": [784, 8, 10], "Activs": ["tanh", "softmax"]}
    save_model("x.__bold__.y", init_params(ld, seed=0), ld, {"test_accuracy": 0.5, "owner": "a" * 32})
    at = inside()
    at.session_state["visitor"] = "a" * 32
    at.selectbox(key="inside_model").set_value("x.__bold__.y").run()
    assert not at.exception
    caption = [str(c.value) for c in at.caption if "bold" in str(c.value)]
    assert caption and all("\\_\\_bold\\_\\_" in c for c in caption), caption
    assert "x.__bold__.y:" in texts(at.caption)  # and, displayed, reads as typed
