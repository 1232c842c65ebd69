"""SSH inventory, bootstrap and forwards: remote workers reached only through SSH.

Modules: ``inventory`` (the TOML file), ``connection`` and ``hostkeys`` (verified
SSH), ``remote_agent``/``agent`` (what runs on a host), ``wheel`` (what gets
installed there), ``bootstrap``, ``forwards``, ``cluster`` (the WorkerSource),
``commands``/``report``/``cli`` (bootstrap, stop, status, logs).
"""

__all__: list[str] = []
