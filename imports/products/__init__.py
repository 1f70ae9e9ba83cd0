"""product_import: a vendor's product feed (CSV file or URL) upserted into the catalogue."""
