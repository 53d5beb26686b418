"""The refutation stage: refuters, sensitivity and graph falsification."""
