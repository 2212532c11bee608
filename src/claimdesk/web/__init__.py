"""The web UI's shared pieces: sessions and sign-in, CSRF, rendering, security headers, error pages.

Each area's pages live in its own ``views.py`` (``console/views.py``, ``portal/views.py``); see README.md here.
"""
