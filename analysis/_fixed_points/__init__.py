"""Fixed points of trained networks: search, linearisation, saddle connections, datasets, figures and the store-level analysis."""
