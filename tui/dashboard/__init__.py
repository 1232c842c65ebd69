"""The Textual dashboard: renders a run's state model and sends typed commands.

Only :mod:`tui.dashboard.launch` is imported from outside (by :mod:`tui.cli`, and only
when a terminal is used), so a headless run never loads textual.
"""
