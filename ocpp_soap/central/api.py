"""Operators' JSON API (placeholder until the API lands in this module)."""


class ApiApp:
    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        start_response("501 Not Implemented", [("Content-Type", "text/plain")])
        return [b"API not yet available\n"]
