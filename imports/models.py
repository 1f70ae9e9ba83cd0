"""The job models of the imports app, one package per task type."""
from .products.models import MarketplaceImportJob

__all__ = ["MarketplaceImportJob"]
