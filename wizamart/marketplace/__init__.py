"""Marketplace domain: vendors, products, orders, subscriptions, and subscription maintenance."""
