"""Screens pushed over the main dashboard: details, questions, help, start."""

__all__: list[str] = []
