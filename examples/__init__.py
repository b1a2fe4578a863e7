"""Examples of extensions of lda_sim (see :mod:`examples.extensions` and the YAML files here)."""
