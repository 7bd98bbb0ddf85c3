"""Data model: SQLAlchemy tables, pandera schemas, enums and the rules model."""
