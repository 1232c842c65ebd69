"""The orchestrator's core: scheduler, journal, cluster client, run driver. No textual here."""
