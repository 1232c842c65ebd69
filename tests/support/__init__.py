"""Helpers shared by the tests and the benchmarks (real workers, books, fault proxies, probes).

Imported as ``tests.support.<module>`` with the repository root on ``sys.path`` (pytest's
``pythonpath`` setting; a bench adds the root itself).
"""
