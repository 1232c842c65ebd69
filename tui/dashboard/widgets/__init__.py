"""Widgets of the dashboard; each renders one part of the state model."""

__all__: list[str] = []
