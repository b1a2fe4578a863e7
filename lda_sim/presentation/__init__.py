"""Presentation: charts (:mod:`lda_sim.presentation.plotting`), the HTML report, slides and the
dashboard, with their templates and translations.

The top layer below the command line: it reads datasets and the studies' tables. The charts,
report and slides never reach the engine; the dashboard runs scenarios through the studies.
"""
