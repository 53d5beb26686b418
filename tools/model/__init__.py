"""The modeling stage: causal graphs, discovery, roles, critique of a graph against the
data, instrument screens."""
