"""Digit Studio: draw a digit and watch a NumPy network read it, or train your own.

    streamlit run app.py
"""

import streamlit as st

st.set_page_config(page_title="Digit Studio", page_icon=":material/draw:", layout="wide")

navigation = st.navigation(
    [
        st.Page("pages/draw.py", title="Draw", icon=":material/draw:", default=True),
        st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    ]
)
navigation.run()
