"""lda_sim: an agent-based planning simulator for France's Logement d'abord (Housing First) policy."""

__version__ = "0.1.0"
