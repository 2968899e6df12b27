"""Solution degeneracy: behaviour, dynamics (DSA), weights, representations and feature learning, between pairs of networks, and the store-level analysis."""
