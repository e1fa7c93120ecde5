"""Digit Studio: draw a digit and watch a NumPy network read it, or train your own.

    streamlit run app.py
"""

import streamlit as st

st.set_page_config(page_title="Digit Studio", page_icon=":material/draw:", layout="wide")

PAGES = {
    "draw": st.Page("pages/draw.py", title="Draw", icon=":material/draw:", default=True),
    "train": st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
}
st.session_state["through_app"] = True
navigation = st.navigation(list(PAGES.values()))

# A page opened by its address on a server where this script has not run yet comes back here
# with ?page=NAME (see pages/_shared.py); go on to the page that was asked for.
wanted = st.query_params.get("page")
if wanted in PAGES:
    del st.query_params["page"]
    if navigation.url_path != PAGES[wanted].url_path:
        st.switch_page(PAGES[wanted])
navigation.run()
