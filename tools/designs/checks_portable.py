"""The verdict rule the designs' own checks share, copied verbatim into the exported code
(same rules as the other portable modules: self-contained functions, ``PORTABLE_FUNCTIONS``
in dependency order), so ``analysis.py --refute`` judges each check as the report did.
"""


def p_status(p_value, material=True):
    """pass at p >= 0.10; warn at 0.05 <= p < 0.10, or below 0.05 when the departure is
    too small to matter (``material`` false); fail below 0.05 when it matters."""
    if p_value is None or p_value >= 0.10:
        return "pass"
    return "fail" if p_value < 0.05 and material else "warn"


def check_numbers(checks):
    """What the script compares with the report: each check's status and numbers by name
    (``new_effect`` stays empty: a design check measures no effect under a refuter)."""
    return {
        c["name"]: {
            "status": c["status"],
            "new_effect": None,
            "statistic": c.get("statistic"),
            "p_value": c.get("p_value"),
        }
        for c in checks
    }


PORTABLE_FUNCTIONS = (p_status, check_numbers)
