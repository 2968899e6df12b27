"""Timescales: streamed autocorrelations, exponential fits, learned and network time constants, ablations, datasets, figures and the store-level analysis."""
