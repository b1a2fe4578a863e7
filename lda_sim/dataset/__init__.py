"""Result datasets: NetCDF writing and reading (:mod:`lda_sim.dataset.output`), CF metadata, the
inputs a dataset carries, and household trajectories.

Above the engine (whose recorder builds the datasets), below the studies and the presentation.
"""
