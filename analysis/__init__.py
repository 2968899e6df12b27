"""Analyses of trained networks and of whole sweeps: fixed points, timescales, degeneracy."""
