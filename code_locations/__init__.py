"""Dagster code locations: one per tenant, built from the tenant's ACTIVE artifacts (see ``tenants``)."""
