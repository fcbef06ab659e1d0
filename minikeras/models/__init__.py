"""Models: Sequential, the functional Model, and loading."""
