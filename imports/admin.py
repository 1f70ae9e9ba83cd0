"""Admin of the imports app: each task type registers its own pages."""
from .orders import admin as orders_admin  # noqa: F401
from .products import admin as products_admin  # noqa: F401
