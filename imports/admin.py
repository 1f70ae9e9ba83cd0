"""Admin of the imports app: each task type registers its own pages."""
from .products import admin as products_admin  # noqa: F401
