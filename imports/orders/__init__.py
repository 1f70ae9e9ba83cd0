"""The order import: a vendor's Letzshop shipments turned into its Order rows."""
