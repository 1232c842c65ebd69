"""Front ends over the core's events (the headless renderer lives here)."""
