"""Why pages/draw.py and pages/train.py exist: they are not the pages (those are *_page.py).

Until app.py has called ``st.navigation`` once in a server process, Streamlit (1.67) still runs a
folder named pages/ by its older multipage convention (``PagesManager.uses_pages_directory``): a
first visitor who opens /train on a freshly started server gets the file pages/train.py run on its
own, outside app.py's navigation and page settings, and an address that no file claims gets a
"page does not seem to exist" notice. Streamlit has no setting to turn this off while the folder
exists. So pages/draw.py and pages/train.py answer those two addresses by sending the visitor
through app.py, which then opens the page that was asked for; once app.py has run, Streamlit never
runs them again.
"""

import streamlit as st

PARAM = "page"


def through_app(address):
    """Send this visitor to app.py, asking it to open ``address`` (``"train"``)."""
    st.switch_page("app.py", query_params={PARAM: address})


def open_requested(navigation, pages):
    """In app.py: if the visitor was sent here by ``through_app``, switch to the page asked for."""
    wanted = st.query_params.get(PARAM)
    if wanted is None:
        return
    del st.query_params[PARAM]
    page = next((p for p in pages if p.url_path == wanted), None)
    if page is not None and navigation.url_path != page.url_path:
        st.switch_page(page)
