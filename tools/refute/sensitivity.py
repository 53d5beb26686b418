"""Sensitivity to a hidden confounder, read the right way round.

Two families, both with published worked examples the tests reproduce:
- Cinelli & Hazlett (2020): for a linear regression (a linear probability model for a
  yes/no outcome), the partial R² of the treatment with the outcome, the robustness values
  RV (a confounder explaining that share of the leftover variation of both treatment and
  outcome brings the estimate to zero) and RV_alpha (to make its interval include zero),
  and bounds from measured covariates: "a confounder as strong as age".
- VanderWeele & Ding (2017): the E-value, the risk ratio a confounder would need with both
  treatment and outcome, for the estimate and for the interval limit nearest the null.

The verdict respects what was found: a null result (interval spanning zero) has nothing to
explain away and is never failed for it; the question becomes how strong a confounder
would have to be to *mask* an effect as large as the interval allows. The rules state their
thresholds (``RULES``). Functions in ``PORTABLE_FUNCTIONS`` are copied verbatim into the
exported script (same rules as ``tools.portable``); the readings are not.
"""

import numpy as np
import statsmodels.api as sm
from scipy import stats


def partial_r2(t_value, dof):
    """Partial R² of the treatment with the outcome, given the other regressors."""
    return float(t_value**2 / (t_value**2 + dof))


def robustness_value(t_value, dof, q=1.0, alpha=None):
    """Cinelli & Hazlett's RV_q: the partial R² a confounder needs with both treatment and
    outcome to reduce the estimate by ``q`` x 100% (q = 1: to zero); with ``alpha``, to
    make the 1 - alpha interval reach that value (RV_q,alpha)."""
    f = q * abs(t_value) / np.sqrt(dof)
    if alpha is not None:
        f_crit = abs(stats.t.ppf(alpha / 2, dof - 1)) / np.sqrt(dof - 1)
        if f <= f_crit:
            return 0.0
        if f > 1 / f_crit:
            return float((f**2 - f_crit**2) / (1 + f**2))
        f = f - f_crit
    return float(0.5 * (np.sqrt(f**4 + 4 * f**2) - f**2))


def e_value_of(ratio):
    """VanderWeele & Ding's E-value of a risk ratio (its inverse if below one): RR +
    sqrt(RR (RR - 1)); 1 means no confounding at all is needed."""
    ratio = max(ratio, 1 / ratio)
    return float(ratio + np.sqrt(ratio * (ratio - 1)))


def risk_ratio_of(frame, treatment, outcome):
    """A function from an effect (per unit of treatment) to a risk ratio, and its scale.

    A 0/1 outcome: the ratio the risk difference implies at the untreated risk (the
    average risk for a non-binary treatment). Any other outcome: VanderWeele & Ding's
    approximation from the standardized difference d = effect / SD(outcome),
    RR = exp(0.91 d).
    """
    y = frame[outcome].astype(float)
    if set(np.unique(y)) <= {0.0, 1.0}:
        treated = frame[treatment]
        base = float(y[~treated].mean() if treated.dtype == bool else y.mean())
        base = min(max(base, 1e-6), 1 - 1e-6)

        def risk_ratio(effect):
            return min(max(base + effect, 1e-6), 1 - 1e-6) / base

        return risk_ratio, "risk ratio at the untreated risk", None
    spread = float(y.std())

    def ratio(effect):
        return float(np.exp(0.91 * effect / spread))

    return ratio, "standardized difference, RR = exp(0.91 d)", spread


def e_values(frame, treatment, outcome, estimate, ci_low=None, ci_high=None):
    """E-values of the estimate, of the interval limit nearest the null (1 when the
    interval spans zero: nothing to explain away), and of masking: the E-value a confounder
    needs to hide an effect as large as the interval's far limit behind the estimate."""
    ratio, scale, spread = risk_ratio_of(frame, treatment, outcome)
    result = {
        "e_value": e_value_of(ratio(estimate)),
        "e_value_ci": None,
        "e_value_mask": None,
        "mask_size": None,
        "risk_ratio": ratio(estimate),
        "scale": scale,
        "d": None if spread is None else float(estimate / spread),
    }
    if ci_low is None or ci_high is None or not np.isfinite([ci_low, ci_high]).all():
        return result
    if ci_low <= 0 <= ci_high:
        far = ci_high if abs(ci_high) >= abs(ci_low) else ci_low
        result.update(
            e_value_ci=1.0,
            mask_size=float(far),
            e_value_mask=e_value_of(ratio(far) / ratio(estimate)),
        )
    else:
        result["e_value_ci"] = e_value_of(ratio(ci_low if estimate > 0 else ci_high))
    return result


def confounder_bias(r2_treatment, r2_outcome, se, dof):
    """Cinelli & Hazlett's size of the bias in an OLS coefficient from omitting a
    confounder with these partial R² with the treatment and with the outcome."""
    return float(se * np.sqrt(dof) * np.sqrt(r2_outcome * r2_treatment / (1 - r2_treatment)))


def benchmark_strength(k, r2_treatment, r2_outcome, in_model):
    """Partial R² (with treatment, with outcome) of a confounder ``k`` times as strong as a
    measured covariate: Cinelli & Hazlett's bounds for a covariate in the regression (their
    k_D = k_Y = k), the covariate's own partial R² times ``k`` for one left out of it."""
    if in_model:
        r2_dz = k * r2_treatment / (1 - r2_treatment)
        r2_zx = k * r2_treatment**2 / ((1 - k * r2_treatment) * (1 - r2_treatment))
        r2_yz = ((np.sqrt(k) + np.sqrt(r2_zx)) / np.sqrt(1 - r2_zx)) ** 2 * (
            r2_outcome / (1 - r2_outcome)
        )
    else:
        r2_dz, r2_yz = k * r2_treatment, k * r2_outcome
    return float(min(r2_dz, 1 - 1e-12)), float(min(r2_yz, 1.0))


def adjusted_effect(estimate, se, dof, r2_dz, r2_yz, alpha=0.05):
    """The estimate and 1 - alpha interval had a confounder with these partial R² been
    adjusted for (Cinelli & Hazlett), the bias taken towards zero."""
    bias = confounder_bias(r2_dz, r2_yz, se, dof)
    adjusted = float(np.sign(estimate) * (abs(estimate) - bias))
    adjusted_se = se * np.sqrt((1 - r2_yz) / (1 - r2_dz) * dof / (dof - 1))
    t_crit = abs(stats.t.ppf(alpha / 2, dof - 1))
    return adjusted, float(adjusted - t_crit * adjusted_se), float(adjusted + t_crit * adjusted_se)


def strength_multiple(estimate, se, dof, r2_d, r2_y, in_model, goal, alpha=0.05, most=100.0):
    """The smallest multiple k of a measured covariate's strength at which a confounder
    that strong reaches ``goal``: "zero" (the estimate is erased), "significance" (its
    interval includes zero), or a number (the bias reaches it: masking an effect). ``inf``
    when not even ``most`` times would."""
    if r2_d <= 0 or r2_y <= 0:
        return float("inf")
    limit = (1 - r2_d) / r2_d if in_model else 1 / r2_d
    upper = min(limit * (1 - 1e-9), most)

    def reached(k):
        r2_dz, r2_yz = benchmark_strength(k, r2_d, r2_y, in_model)
        if r2_dz >= 1 - 1e-9:
            return True
        if goal == "significance":
            adjusted, low, high = adjusted_effect(estimate, se, dof, r2_dz, r2_yz, alpha)
            return low <= 0 <= high or np.sign(adjusted) != np.sign(estimate)
        needed = abs(estimate) if goal == "zero" else abs(goal)
        return confounder_bias(r2_dz, r2_yz, se, dof) >= needed

    if not reached(upper):
        return float("inf")
    low, high = 0.0, upper
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (low, middle) if reached(middle) else (middle, high)
    return float(high)


def ols_sensitivity(frame, treatment, outcome, adjustment, others=None, alpha=0.05):
    """Cinelli & Hazlett's sensitivity of the OLS estimate of ``outcome`` on ``treatment``
    and the ``adjustment`` columns: the treatment's partial R² with the outcome, robustness
    values, and for each benchmark variable (``{name: [columns]}``: those adjusted for, and
    ``others`` measured but left out) its partial R² with treatment and outcome, the
    multiples of its strength that erase the estimate, make it insignificant or mask an
    effect the size of the interval's far limit, and the estimate and interval adjusted for
    a confounder exactly as strong.

    The benchmarks' partial R² come from residual sums of squares of many regressions on
    subsets of the same columns, so those are read off one matrix of centred cross-products
    (scaled to correlations, a pseudo-inverse for collinear sets) instead of one fit over
    all rows each: at a million rows that is one pass over the data instead of dozens."""
    in_model = [c for columns in adjustment.values() for c in columns]
    extra = [c for columns in (others or {}).values() for c in columns]
    names = list(dict.fromkeys([treatment, outcome, *in_model, *extra]))
    values = frame[names].to_numpy(dtype=float)
    values -= values.mean(axis=0)
    cross = values.T @ values
    del values
    scale = np.sqrt(np.diag(cross))
    scale[scale == 0] = 1.0
    corr = cross / np.outer(scale, scale)
    where = {name: i for i, name in enumerate(names)}

    def ssr(target, columns):
        """Residual sum of squares of ``target`` on a constant and ``columns``."""
        t, rows = where[target], [where[c] for c in dict.fromkeys(columns)]
        explained = 0.0
        if rows:
            b = corr[rows, t]
            explained = (
                b @ np.linalg.pinv(corr[np.ix_(rows, rows)], rcond=1e-12, hermitian=True) @ b
            )
        return float(max(corr[t, t] - explained, 0.0) * scale[t] ** 2)

    def share(full_ssr, reduced_ssr):
        return float(max(reduced_ssr - full_ssr, 0.0) / reduced_ssr) if reduced_ssr > 0 else 0.0

    design = sm.add_constant(frame[[treatment, *in_model]].astype(float), has_constant="add")
    full = sm.OLS(frame[outcome].astype(float), design).fit()
    del design
    estimate, se, dof = float(full.params[treatment]), float(full.bse[treatment]), full.df_resid
    t_value = estimate / se
    t_crit = abs(stats.t.ppf(alpha / 2, dof))
    ci = (estimate - t_crit * se, estimate + t_crit * se)
    null = ci[0] <= 0 <= ci[1]
    far = ci[1] if abs(ci[1]) >= abs(ci[0]) else ci[0]
    treatment_ssr, full_ssr = ssr(treatment, in_model), ssr(outcome, [treatment, *in_model])
    strengths = []
    for name, columns in adjustment.items():
        rest = [c for c in in_model if c not in columns]
        strengths.append(
            (
                name,
                True,
                share(treatment_ssr, ssr(treatment, rest)),
                share(full_ssr, ssr(outcome, [treatment, *rest])),
            )
        )
    for name, columns in (others or {}).items():
        strengths.append(
            (
                name,
                False,
                share(ssr(treatment, [*in_model, *columns]), treatment_ssr),
                share(ssr(outcome, [treatment, *in_model, *columns]), full_ssr),
            )
        )
    benchmarks = []
    for name, inside, r2_d, r2_y in strengths:
        args = (estimate, se, dof, r2_d, r2_y, inside)
        row = {
            "name": name,
            "in_model": inside,
            "r2_treatment": r2_d,
            "r2_outcome": r2_y,
            "strength_to_erase": strength_multiple(*args, "zero", alpha),
            "strength_to_insignificance": None
            if null
            else strength_multiple(*args, "significance", alpha),
            "strength_to_mask": strength_multiple(*args, far - estimate, alpha) if null else None,
            "adjusted_estimate": None,
            "adjusted_ci": None,
        }
        if r2_d < (0.5 if inside else 1.0):  # else its k = 1 bound explains all of treatment
            r2_dz, r2_yz = benchmark_strength(1.0, r2_d, r2_y, inside)
            adjusted, low, high = adjusted_effect(estimate, se, dof, r2_dz, r2_yz, alpha)
            row["adjusted_estimate"], row["adjusted_ci"] = adjusted, [low, high]
        benchmarks.append(row)
    return {
        "estimate": estimate,
        "se": se,
        "dof": float(dof),
        "t_value": float(t_value),
        "null": bool(null),
        "partial_r2": partial_r2(t_value, dof),
        "robustness_value": robustness_value(t_value, dof),
        "robustness_value_ci": robustness_value(t_value, dof, alpha=alpha),
        "robustness_value_mask": robustness_value((far - estimate) / se, dof) if null else None,
        "mask_size": float(far) if null else None,
        "benchmarks": benchmarks,
    }


def sensitivity_check(
    frame,
    treatment,
    outcome,
    estimate,
    ci_low=None,
    ci_high=None,
    adjustment=None,
    others=None,
    fail_below=1.0,
    warn_below=2.0,
    e_value_pass=2.0,
):
    """The verdict on a hidden confounder (``RULES`` says it in words).

    A null result (interval spanning zero) is never failed, as there is nothing to explain
    away: warn if a confounder weaker than ``fail_below`` times a measured covariate could
    mask an effect the size of the interval's far limit (the reading gives that size, so a
    tight interval's small masked effect reads as what it is), pass otherwise.
    An effect, with benchmarks (a linear-regression estimate with covariates): fail if a
    confounder weaker than ``fail_below`` times the most threatening covariate would make
    its interval include zero, warn below ``warn_below`` times, pass otherwise.
    An effect without benchmarks: pass only if the E-value of the interval limit nearest
    the null is at least ``e_value_pass``, else warn; never fail, as nothing measured says
    such a confounder is plausible.
    """
    details = {"e_value": e_values(frame, treatment, outcome, estimate, ci_low, ci_high)}
    null = details["e_value"]["e_value_ci"] == 1.0
    benchmarks = []
    if adjustment is not None:
        details["linear"] = ols_sensitivity(frame, treatment, outcome, adjustment, others)
        benchmarks = details["linear"]["benchmarks"]
        null = details["linear"]["null"]
    details["null"] = bool(null)
    if not benchmarks:
        e_ci = details["e_value"]["e_value_ci"]
        status = "pass" if null or (e_ci is not None and e_ci >= e_value_pass) else "warn"
        details["rule"] = "null" if null else "e_value"
        return {"status": status, "new_effect": None, "p_value": None, "details": details}
    key = "strength_to_mask" if null else "strength_to_insignificance"
    worst = min(benchmarks, key=lambda row: row[key])
    details["worst"] = worst
    strength = worst[key]
    if null:  # nothing to explain away; warn if a weak confounder could mask an effect
        status = "warn" if strength < fail_below else "pass"
    else:
        status = "fail" if strength < fail_below else "warn" if strength < warn_below else "pass"
    details["rule"] = "null" if null else "benchmarks"
    return {
        "status": status,
        "new_effect": worst["adjusted_estimate"],
        "p_value": None,
        "details": details,
    }


PORTABLE_FUNCTIONS = (
    partial_r2,
    robustness_value,
    e_value_of,
    risk_ratio_of,
    e_values,
    confounder_bias,
    benchmark_strength,
    adjusted_effect,
    strength_multiple,
    ols_sensitivity,
    sensitivity_check,
)


RULES = {
    "benchmarks": (
        "fail if a hidden confounder weaker than the most threatening measured covariate "
        "(k < 1, Cinelli & Hazlett bounds from the OLS regression) would make the 95% "
        "interval include zero; warn if one up to twice as strong (k < 2) would; pass "
        "otherwise"
    ),
    "e_value": (
        "pass if the E-value of the 95% interval limit nearest the null is at least 2 "
        "(a confounder would need to double the risk of both treatment and outcome); warn "
        "below that; never fail, as no measured covariate is at hand to say such a "
        "confounder is plausible"
    ),
    "null": (
        "the interval includes zero, so there is nothing to explain away and this check "
        "never fails; warn if a hidden confounder weaker than a measured covariate (k < 1) "
        "could mask an effect as large as the interval's far limit; pass otherwise"
    ),
}


def _num(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def _who(row: dict) -> str:
    return f"'{row['name']}'" + ("" if row["in_model"] else " (measured, but not adjusted for)")


def _times(k: float) -> str:
    return "no confounder up to 100×" if not np.isfinite(k) else f"{k:.2g}×"


def _e_value_text(e: dict, treatment: str, outcome: str) -> str:
    approx = (
        f" (approximated from the standardized difference d = {e['d']:.2f} as RR ≈ exp(0.91·d))"
        if e["d"] is not None
        else ""
    )
    text = (
        f"E-value {e['e_value']:.2f}: a hidden confounder would need a risk ratio of "
        f"{e['e_value']:.2f} with both {treatment} and {outcome} to explain the estimate "
        f"away{approx}"
    )
    if e["e_value_ci"] is not None and e["e_value_ci"] > 1:
        text += f", and {e['e_value_ci']:.2f} to make its interval include no effect"
    return text


def sensitivity_reading(status: str, details: dict, treatment: str, outcome: str) -> str:
    """Plain words for the verdict, in the user's names."""
    e = details["e_value"]
    linear = details.get("linear")
    if details["null"]:
        size = (linear or e)["mask_size"]
        text = (
            "The interval includes zero, so there is nothing to explain away. A hidden "
            "confounder could instead be masking a real effect"
        )
        if size is None:
            return text + "."
        text += f": to hide an effect as large as {_num(size)} (the interval's far limit)"
        yardsticks = []
        if "worst" in details:
            k = details["worst"]["strength_to_mask"]
            yardsticks.append(f"{_times(k)} as strong as {_who(details['worst'])}")
        if e["e_value_mask"] is not None:
            yardsticks.append(f"a risk ratio of {e['e_value_mask']:.2f} with both")
        if linear is not None:
            text += (
                f" it would need to explain {linear['robustness_value_mask']:.1%} of the "
                f"leftover variation of both {treatment} and {outcome}"
            )
            return text + (f" ({'; '.join(yardsticks)})." if yardsticks else ".")
        return text + f" it would need {' and '.join(yardsticks)}."
    e_text = _e_value_text(e, treatment, outcome)
    if "worst" not in details:
        verdict = (
            "that is a strong confounder"
            if status == "pass"
            else "a modest confounder could do that, so an E-value this size is no "
            "reassurance by itself"
        )
        return (
            f"{e_text}; {verdict}. With no measured covariate to benchmark against here, "
            "judge from what you know whether a confounder that strong is plausible."
        )
    worst, linear = details["worst"], details["linear"]  # benchmarks come from the regression
    k = worst["strength_to_insignificance"]
    if not np.isfinite(k):
        first = (
            "No hidden confounder up to 100× as strong as any measured covariate would make "
            "the interval include zero."
        )
    elif status == "fail":
        first = (
            f"A hidden confounder only {k:.2g}× as strong as {_who(worst)}, weaker than a "
            "variable already measured, would make the interval include zero, so the "
            "estimate is fragile."
        )
    else:
        first = (
            f"A hidden confounder {k:.2g}× as strong as {_who(worst)} would make the "
            "interval include zero (the most fragile comparison among the measured "
            "covariates)."
        )
    if worst["adjusted_estimate"] is not None:
        low, high = worst["adjusted_ci"]
        first += (
            f" One exactly as strong as {_who(worst)} would move the estimate to "
            f"{_num(worst['adjusted_estimate'])} (95% interval {_num(low)} to {_num(high)})."
        )
    return (
        f"{first} Robustness values: {linear['robustness_value']:.1%} of the leftover "
        f"variation of both {treatment} and {outcome} would erase the estimate, "
        f"{linear['robustness_value_ci']:.1%} would make its interval include zero "
        f"(the treatment explains {linear['partial_r2']:.1%} of the outcome's). {e_text}."
    )
