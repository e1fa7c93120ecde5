"""Digit Studio: draw a digit and watch a NumPy network read it, or train your own.

    streamlit run app.py

This script builds the navigation; each page is a script in pages/ (``*_page.py``).
"""

import streamlit as st

from pages._routing import open_requested

st.set_page_config(page_title="Digit Studio", page_icon=":material/draw:", layout="wide")
PAGES = [
    st.Page("pages/draw_page.py", title="Draw", icon=":material/draw:", url_path="draw", default=True),
    st.Page("pages/train_page.py", title="Train", icon=":material/model_training:", url_path="train"),
]
navigation = st.navigation(PAGES)
open_requested(navigation, PAGES)
navigation.run()
