"""Byte storage: a driver (filesystem; S3 later) under a content-addressed store. Knows nothing of HTTP."""
