"""The table of checks that ``analysis.py --refute`` prints, copied into the exported helper
module (same rules as ``causal_assistant.tools.portable``: standard library only, each
function self-contained, ``PORTABLE_FUNCTIONS`` in dependency order).

The report shows each check's status, effect under the check, p-value and reading; the
script recomputes the first three and prints them in the same columns, formatted as the
report formats them. The readings are the report's words: they are written by the
assistant, not by the script, so a row whose recomputed status or numbers differ from the
report's is marked rather than given a reading that no longer fits.
"""

import textwrap


def checks_table(refutations, reported, width=88):
    """A plain-text table: one row per check (recomputed status, effect under the check and
    p-value), the report's reading wrapped beneath it; checks the report lists but this
    run did not recompute are shown as reported."""

    def shown(value):
        if value is None:
            return ""
        return f"{value:.4g}" if isinstance(value, float) else str(value)

    header = ("check", "status", "effect under check", "p-value")
    rows, readings = [], []
    for check in reported:
        again = refutations.get(check["name"])
        if again is None:
            cells = (check["name"], check["status"], "", "")
            reading = "Not re-run by this script; the report says: " + check["reading"]
        else:
            cells = (
                check["name"],
                again["status"],
                shown(again.get("new_effect")),
                shown(again.get("p_value")),
            )
            same = cells[1:] == (
                check["status"],
                shown(check.get("new_effect")),
                shown(check.get("p_value")),
            )
            reading = (
                check["reading"]
                if same
                else (
                    f"Differs from the report (status {check['status']}, effect "
                    f"{shown(check.get('new_effect'))}, p-value {shown(check.get('p_value'))}); "
                    "its reading no longer applies."
                )
            )
        rows.append(cells)
        readings.append(reading)
    sizes = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells):
        return "  ".join(cell.ljust(size) for cell, size in zip(cells, sizes, strict=True)).rstrip()

    out = [line(header), line(["-" * size for size in sizes])]
    for cells, reading in zip(rows, readings, strict=True):
        out.append(line(cells))
        out += textwrap.wrap(reading, width, initial_indent="    ", subsequent_indent="    ")
    return "\n".join(out)


PORTABLE_FUNCTIONS = (checks_table,)
