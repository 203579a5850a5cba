"""Shared helpers for the benchmarks in bench/: scale datasets (``datasets``) and progress lines.

Bench scripts run as ``python bench/x.py``, so ``bench/`` is on ``sys.path`` and they import
``from benchlib import datasets``. This package holds no benchmark itself: ``make bench`` runs
only the ``bench/*.py`` files.
"""
