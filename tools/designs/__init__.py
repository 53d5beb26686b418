"""Study designs, one module each, behind one protocol (``tools.designs.base.Design``).

A new design is one module implementing the protocol and one entry in ``REGISTRY``.
"""

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
    "register",
]

from causal_assistant.tools.designs import did, rdd  # noqa: E402,F401  (registers the designs)
