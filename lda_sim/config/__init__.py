"""Configuration, pure data: scenario, pathway and territory files read, checked and held as
plain objects (:mod:`lda_sim.config.scenario`), with the schemas, laws, policy settings and priority
rule names they use, the provenance of each value, the time base, and atomic file writes.

The bottom layer: it imports nothing from the engine, the datasets, the studies or the
presentation (the contracts in ``setup.cfg``).
"""
