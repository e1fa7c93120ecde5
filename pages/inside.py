"""The address /inside on a freshly started server: see pages/_navigation.py."""

from pages import _navigation

_navigation.run()
