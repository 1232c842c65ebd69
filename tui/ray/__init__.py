"""Workers as Ray actors on an existing (or a private one-node) Ray cluster.

Only :mod:`tui.ray.settings` is free of Ray; every other module here imports ``ray``
and is imported only when a run asks for Ray (``--ray`` or an inventory's ``[ray]`` table).
"""

__all__: list[str] = []
