"""Study designs, one module each, behind one protocol (``tools.designs.base.Design``).

A new design is one module in this package implementing the protocol and calling
``register`` at import; ``load_designs`` imports every module here, so the agent finds it
with no change of its own.
"""

import importlib
import pkgutil

from causal_assistant.tools.designs.base import (
    Assumption,
    Design,
    DesignCheck,
    DesignColumns,
    DesignEstimate,
    DesignEvidence,
    DesignIdentification,
    DesignKind,
    DesignSpec,
)

REGISTRY: dict[DesignKind, Design] = {}


def register(design: Design) -> Design:
    """Add a design to the registry (called once by each design module)."""
    REGISTRY[design.kind] = design
    return design


def load_designs() -> dict[DesignKind, Design]:
    """Import every module of this package (each design registers itself), once."""
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")
    return REGISTRY


__all__ = [
    "REGISTRY",
    "Assumption",
    "Design",
    "DesignCheck",
    "DesignColumns",
    "DesignEstimate",
    "DesignEvidence",
    "DesignIdentification",
    "DesignKind",
    "DesignSpec",
    "load_designs",
    "register",
]
