"""e2a-tui: the orchestrator that runs on the user's machine.

Everything outside ``tui.dashboard`` (the Textual front end) is the core and
never imports textual: ``tui.core.session.RunSession`` is what every front end
drives, ``tui.core.state.RunState`` is what every front end shows.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
