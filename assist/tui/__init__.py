"""The Textual UI (the only part of assist that imports Textual).

``app.run_app(source, settings)`` opens the live screen on a call.
"""
