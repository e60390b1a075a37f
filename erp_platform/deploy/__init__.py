"""Deployment beyond one machine: values for Dagster's official Helm chart, rendered from the tenant registry."""

from erp_platform.deploy._helm import (
    DEFAULT_TIER_RESOURCES,
    HelmOptions,
    JobResources,
    ResourceAmounts,
    TenantDeployment,
    helm_options,
    helm_values_text,
    registry_tenants,
    render_helm_values,
    run_k8s_config,
)

__all__ = [
    "DEFAULT_TIER_RESOURCES",
    "HelmOptions",
    "JobResources",
    "ResourceAmounts",
    "TenantDeployment",
    "helm_options",
    "helm_values_text",
    "registry_tenants",
    "render_helm_values",
    "run_k8s_config",
]
