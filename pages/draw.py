"""The address /draw on a freshly started server, before app.py has run: see pages/_routing.py."""

from pages._routing import through_app

through_app("draw")
