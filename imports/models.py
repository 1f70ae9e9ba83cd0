"""The job models of the imports app, one package per task type."""
from .orders.models import LetzshopHistoricalImportJob
from .products.models import MarketplaceImportJob, VendorColumnMapping

__all__ = ["LetzshopHistoricalImportJob", "MarketplaceImportJob", "VendorColumnMapping"]
