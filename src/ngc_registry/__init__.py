"""NGC Registry: a self-hosted registry that speaks NGC."""

__version__ = "0.1.0"
