"""`make bench`: this registry's transfers, CLI and metadata against real baselines, measured side by side."""
