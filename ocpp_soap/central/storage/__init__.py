"""Central System storage: ORM models, engine factory, migrations and the transaction helper."""

from .engine import make_engine
from .migrations import MIGRATIONS, Migration, migrate
from .store import Store, upsert

__all__ = ["MIGRATIONS", "Migration", "Store", "make_engine", "migrate", "upsert"]
