"""Studies of the results: indicators (:mod:`lda_sim.analysis.indicators`), scenario comparison,
runs and ensembles, calibration, validation, observed targets, planning, sensitivity, the mean-field
approximation and scaling.

They run the engine and read its datasets; they import nothing from the presentation.
"""
