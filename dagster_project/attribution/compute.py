"""How a workspace-level cost row names the Azure ML compute that ran: its type tag and VM size.

Azure bills compute instances, clusters and managed online endpoints on the *workspace*. What
tells them apart on a cost row is undocumented and varies: the `ComputeType` tag (`Compute
Instance`, `AmlCompute`, `Managed Online Endpoint`, …), AdditionalInfo's `AMLResourceType`, and a
VM size that hides in one of several columns. This module holds the two tables that turn those
spellings into facts — the **compute type synonyms** and the **VM size grammar** — and the
**Azure region names** that must never be mistaken for a size. It imports nothing from the rest
of the project (the configuration validates its overrides against `COMPUTE_TYPES`).

The synonym table (documented in docs/tables.md, *Compute identification*) is compared
case-insensitively with spaces, `_`, `-` and `.` ignored, so `Compute Instance`,
`computeinstance` and ` COMPUTE_INSTANCE ` are one spelling.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# Canonical compute types → the inventory `compute_type` values they cover. An online endpoint is
# matched among the workspace's *deployments* (by instance type); serverless compute has no
# inventory resource, so its rows stay on the workspace, saying so.
COMPUTE_INSTANCE = "ComputeInstance"
CLUSTER = "AmlCompute"
ONLINE_ENDPOINT = "OnlineEndpoint"
KUBERNETES = "Kubernetes"
SERVERLESS = "Serverless"
COMPUTE_TYPES: dict[str, tuple[str, ...]] = {
    COMPUTE_INSTANCE: ("ComputeInstance",),
    CLUSTER: ("AmlCompute",),
    ONLINE_ENDPOINT: (),
    KUBERNETES: ("Kubernetes", "AKS"),
    SERVERLESS: (),
}

# Every spelling of a type tag seen in real exports or in Azure's own vocabulary, by canonical
# type. `attribution.compute_type_synonyms` in finops.yaml adds more (or overrides these).
COMPUTE_TYPE_SPELLINGS: dict[str, tuple[str, ...]] = {
    COMPUTE_INSTANCE: ("Compute Instance", "ComputeInstance", "Compute_Instance", "CI", "Notebook VM",
                       "NotebookVM", "DSI"),
    CLUSTER: ("AmlCompute", "AML Compute", "Compute Cluster", "ComputeCluster", "Training Cluster", "Cluster",
              "BatchAI", "Batch AI"),
    ONLINE_ENDPOINT: ("Managed Online Endpoint", "ManagedOnlineEndpoint", "Online Endpoint", "OnlineEndpoint",
                      "Managed Online", "Kubernetes Online Endpoint", "KubernetesOnlineEndpoint"),
    KUBERNETES: ("Kubernetes", "AKS", "Azure Kubernetes Service", "Arc Kubernetes", "Kubernetes Compute",
                 "Attached Kubernetes"),
    SERVERLESS: ("Serverless", "Serverless Compute", "Serverless Spark", "ServerlessSpark"),
}


def spelling_key(value: str) -> str:
    """The comparison form of a spelling: lowercase, without spaces, `_`, `-` or `.`."""
    return re.sub(r"[\s_\-.]+", "", value).lower()


COMPUTE_TYPE_SYNONYMS: dict[str, str] = {
    spelling_key(spelling): canonical
    for canonical, spellings in COMPUTE_TYPE_SPELLINGS.items() for spelling in spellings
}


def canonical_compute_type(value: str | None, extra: Mapping[str, str] | None = None) -> str | None:
    """The canonical compute type a tag value names, or None for a spelling nobody knows.

    `extra` (spelling → canonical type, from finops.yaml) is consulted first.
    """
    if not value or not value.strip():
        return None
    key = spelling_key(value)
    for spelling, canonical in (extra or {}).items():
        if spelling_key(spelling) == key:
            return canonical
    return COMPUTE_TYPE_SYNONYMS.get(key)


# -- VM sizes ------------------------------------------------------------------------------------

# Azure VM size names: `Standard_` (or `Basic_`), a family of 1-4 letters, the vCPU count (with an
# optional constrained count, `E96-48`), feature letters, optional accelerator / feature parts
# (`_A100`, `_T4`, `_H100`), and a version (`_v5`). A region never fits: it has no digits right
# after its first word.
_VM_SIZE = re.compile(
    r"^(?:standard|basic)_[a-z]{1,4}\d{1,3}(?:-\d{1,3})?[a-z]{0,6}(?:_[a-z]{0,2}\d{1,4}[a-z]?)*(?:_v\d{1,2})?"
    r"(?:_promo)?$",
    re.IGNORECASE,
)


def is_vm_size(value: str | None) -> bool:
    """`Standard_DS11_v2` is a VM size; `SQLThreatDetection`, `US East 2`, `P10 LRS` are not."""
    return bool(value) and bool(_VM_SIZE.match(value.strip()))


# Region names as they appear in meter and product names (`… - US East 2`), in the portal
# (`East US 2`) and as ids (`eastus2`), plus the zone and geography words of bandwidth meters.
_REGION_WORDS = (
    # meter style
    "US East", "US East 2", "US East 3", "US West", "US West 2", "US West 3", "US Central", "US North Central",
    "US South Central", "US West Central", "US Gov Virginia", "US Gov Arizona", "US Gov Texas", "EU West",
    "EU North", "UK South", "UK West", "AP East", "AP Southeast", "JA East", "JA West", "AU East", "AU Southeast",
    "AU Central", "AU Central 2", "BR South", "BR Southeast", "CA Central", "CA East", "FR Central", "FR South",
    "DE West Central", "DE North", "CH North", "CH West", "NO East", "NO West", "SE Central", "SE South",
    "IN Central", "IN South", "IN West", "KR Central", "KR South", "ZA North", "ZA West", "AE North",
    "AE Central", "QA Central", "PL Central", "IT North", "IL Central", "MX Central", "ES Central", "NZ North",
    "ID Central", "MY West", "AT East", "BE Central", "DK East", "GR Central", "CL Central",
    # display names
    "East US", "East US 2", "East US 3", "West US", "West US 2", "West US 3", "Central US", "North Central US",
    "South Central US", "West Central US", "West Europe", "North Europe", "UK South", "UK West", "East Asia",
    "Southeast Asia", "Japan East", "Japan West", "Australia East", "Australia Southeast", "Australia Central",
    "Australia Central 2", "Brazil South", "Brazil Southeast", "Canada Central", "Canada East", "France Central",
    "France South", "Germany West Central", "Germany North", "Switzerland North", "Switzerland West",
    "Norway East", "Norway West", "Sweden Central", "Sweden South", "Central India", "South India", "West India",
    "Korea Central", "Korea South", "South Africa North", "South Africa West", "UAE North", "UAE Central",
    "Qatar Central", "Poland Central", "Italy North", "Israel Central", "Mexico Central", "Spain Central",
    "New Zealand North", "Indonesia Central", "Malaysia West", "Austria East", "Belgium Central",
    "Denmark East", "Chile Central",
    # geographies and zones of bandwidth meters
    "North America", "South America", "Europe", "Asia", "Asia Pacific", "Africa", "Middle East", "Australia",
    "Intercontinental", "Global", "Zone 1", "Zone 2", "Zone 3", "Zone 4", "Zone 5", "DE Zone 1", "US Gov Zone 1",
)
AZURE_REGION_NAMES: frozenset[str] = frozenset(spelling_key(word) for word in _REGION_WORDS)


def is_region(text: str | None) -> bool:
    """`US East 2`, `East US 2`, `eastus2`, `North America` are regions (or geographies)."""
    return bool(text) and spelling_key(text) in AZURE_REGION_NAMES


_DISK = re.compile(r"\bdisks?\b", re.IGNORECASE)
_PRIORITY_SUFFIX = re.compile(r"\s+(?:low priority|spot)\s*$", re.IGNORECASE)


def vm_sizes_from_meter_part(part: str | None) -> set[str]:
    """Sizes one meter name stands for: `D11 v2/DS11 v2` → {standard_d11_v2, standard_ds11_v2}.

    Only names that fit the VM size grammar count, so `P10 LRS Disk`, `Dev/Test` or a region
    give nothing.
    """
    if not part or is_region(part):
        return set()
    sizes = set()
    for piece in _PRIORITY_SUFFIX.sub("", part.strip()).split("/"):
        words = piece.split()
        if not words or is_region(piece):
            continue
        candidate = "standard_" + "_".join(words).lower()
        if is_vm_size(candidate):
            sizes.add(candidate)
    return sizes


def vm_sizes_from_meter(description: str | None) -> set[str]:
    """Sizes a charge description names, never a region.

    Product names are `<meter subcategory> - <meter name> - <region>` (`Virtual Machines Dv2/DSv2
    Series - D11 v2/DS11 v2 - US East 2`), the region and even the meter name optional. Each part
    between ` - ` is read as a meter name, regions are skipped, and the first part that names
    sizes wins.
    """
    if not description or _DISK.search(description):
        return set()  # a disk's meter (`E2 - LRS - Disks`) is no VM size
    for part in description.split(" - ")[1:] or [description]:
        sizes = vm_sizes_from_meter_part(part)
        if sizes:
            return sizes
    return set()
