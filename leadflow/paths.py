"""Where the project's data folders (rules, templates, migrations) live."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
RULES_DIR = PROJECT_ROOT / "rules"
DEFAULT_RULES_PATH = RULES_DIR / "default.yaml"
TEMPLATES_DIR = PROJECT_ROOT / "templates"
MIGRATIONS_DIR = PROJECT_ROOT / "migrations"
