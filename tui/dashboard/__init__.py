"""The Textual dashboard: renders a run's state model and sends typed commands.

Only :mod:`tui.cli` imports this package, and only when a terminal is used, so
the core keeps running where textual is not installed.
"""

__all__ = ["DashboardApp", "BootstrapApp", "StartApp"]


def __getattr__(name: str):  # lazy: importing the package must not pull every screen
    if name == "DashboardApp":
        from .app import DashboardApp

        return DashboardApp
    if name == "BootstrapApp":
        from .bootstrap_app import BootstrapApp

        return BootstrapApp
    if name == "StartApp":
        from .start_app import StartApp

        return StartApp
    raise AttributeError(name)
