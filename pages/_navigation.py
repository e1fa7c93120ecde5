"""The app's navigation, in one place: app.py runs it, and so do pages/train.py, drawings.py and inside.py.

Those files are not the pages (the pages are ``*_page.py``). They exist because, until
``st.navigation`` has been called once in a server process, Streamlit (1.67) still runs a folder
named pages/ by its older multipage convention (``PagesManager.uses_pages_directory``), and has
no setting to turn that off while the folder exists: a first visitor who opens /train on a freshly
started server gets pages/train.py run on its own (/drawings, /inside: likewise), and an address that no file there claims gets a
"page does not seem to exist" notice. Run from there, this navigation takes over and opens the
page that was asked for, exactly as app.py does. (The Draw page is the default, at /.)
"""

import streamlit as st

from pages import _server
from pages._people import store_visitor

PAGES = [
    ("pages/draw_page.py", "Draw", ":material/draw:", "draw"),
    ("pages/train_page.py", "Train", ":material/model_training:", "train"),
    ("pages/drawings_page.py", "My drawings", ":material/photo_library:", "drawings"),
    ("pages/inside_page.py", "Inside the network", ":material/neurology:", "inside"),
]


def run():
    """Set up the page and run the page the visitor asked for (Draw by default)."""
    _server.start()  # once per process: NumPy single-threaded here, garbage collected off the page runs
    st.set_page_config(page_title="Digit Studio", page_icon=":material/draw:", layout="wide")
    store_visitor()
    pages = [
        st.Page(path, title=title, icon=icon, url_path=url, default=i == 0) for i, (path, title, icon, url) in enumerate(PAGES)
    ]
    st.navigation(pages).run()
