"""Business logic over a SQLAlchemy session. Nothing here imports the web framework."""
