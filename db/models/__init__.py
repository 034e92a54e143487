"""All models, imported so `Base.metadata` knows every table (Alembic reads it)."""

from db.models import core, coupons, fees, group, hotels
from db.models.base import Base

__all__ = ["Base", "core", "coupons", "fees", "group", "hotels"]
