"""Where the project's SQL and migration files live.

In a checkout (editable install) they sit at the repository's top level; a built wheel
carries them inside the package (see `force-include` in pyproject.toml).
"""

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    packaged = _PACKAGE / name
    if packaged.is_dir():
        return packaged
    return _PACKAGE.parents[1] / name


SQL_DIR = resource_dir("sql")
MIGRATIONS_DIR = resource_dir("migrations")
