"""Digit Studio: draw a digit and watch a NumPy network read it, or train your own.

    streamlit run app.py

The navigation and the page settings are in pages/_navigation.py; each page is a script in pages/
(``draw_page.py``, ``train_page.py``).
"""

from pages import _navigation

_navigation.run()
