"""Randomised experiments: the treatment was assigned by chance, so groups are comparable.

Randomisation identifies the average effect without a graph. The estimate is the
difference in means, made more precise by Lin's (2013) fully interacted regression on
pre-treatment covariates (robust HC2 errors; consistent even when the regression is wrong).
Adjusting is only safe for what was measured before assignment: a column the treatment is
defined by (the incentive amount whose being above zero *is* the treatment) or one the
treatment moved would remove or bias the very contrast the experiment created, so such
columns are named and left out.
"""

from typing import ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from causal_assistant.tools.data.intake import DatasetProfile
from causal_assistant.tools.designs import register
from causal_assistant.tools.designs.base import (
    Assumption,
    DesignCheck,
    DesignEstimate,
    DesignEvidence,
    DesignIdentification,
    DesignKind,
    DesignSpec,
)
from causal_assistant.tools.designs.checks_portable import check_numbers
from causal_assistant.tools.designs.common import (
    context_says,
    covariate_candidates,
    outcome_scale,
)
from causal_assistant.tools.designs.defining import treatment_defining_columns
from causal_assistant.tools.designs.fitting import (
    balance_check,
    balance_table,
    covariate_matrix,
    rct_fit,
    robust_joint_test,
    snippet,
    standardised_differences,
    treated_indicator,
)
from causal_assistant.tools.errors import InputError
from causal_assistant.tools.results import WarningCode

RANDOMISED = (
    r"\brandom(?:ly|ised|ized)?\s+(?:assign|allocat)\w*|\brandomi[sz](?:ed|ation)\b"
    r"|\blotter(?:y|ies)\b|\bexperiment(?:al)?\b|\bRCT\b|\bA/B test"
)
DETECT_BALANCE_P = 0.10  # balance alone suggests randomisation only above this joint p
DETECT_MAX_DIFFERENCE = 0.1  # ... and every standardised difference below this, or below
CHANCE_DIFFERENCES = 3.0  # this many of its sampling standard errors in a small sample
CHECK_MAX_DIFFERENCE = 0.1  # the usual threshold for a meaningful imbalance
MIN_ROWS = 40
# A covariate this far apart between randomised arms, this surely, was moved by the treatment.
AFTER_TREATMENT_DIFFERENCE = 0.25
AFTER_TREATMENT_P = 0.001
ESTIMANDS = {"ate": "ATE", "att": "ATT", "atc": "ATC"}


def _two_groups(frame: pd.DataFrame, treatment: str) -> bool:
    return frame[treatment].dropna().nunique() == 2


class RCTDesign:
    kind: ClassVar[DesignKind] = DesignKind.RCT

    def detect(
        self,
        frame: pd.DataFrame,
        profile: DatasetProfile,
        treatment: str,
        outcome: str,
        context: str | None = None,
    ) -> DesignEvidence | None:
        """Randomised per the context (strong), or treatment unrelated to every covariate
        by the balance tests (moderate: balance is necessary, not proof)."""
        if not _two_groups(frame, treatment):
            return None
        said = context_says(context, RANDOMISED)
        if said:
            return DesignEvidence(
                kind=self.kind,
                strength="strong",
                source="context",
                reading=f"The description says the treatment was assigned at random: “{said}”",
                facts={"sentence": said},
            )
        spec = DesignSpec(kind=self.kind, treatment=treatment, outcome=outcome)
        covariates, _ = covariate_candidates(frame, spec)
        data = frame[[treatment, *covariates]].dropna()
        if not covariates or len(data) < MIN_ROWS:
            return None
        treated, _ = treated_indicator(data[treatment])
        x = covariate_matrix(data, covariates)
        differences = standardised_differences(x, treated)
        largest = float(differences.abs().max())
        # chance alone moves a standardised difference by about sqrt(1/n1 + 1/n0)
        noise = np.sqrt(1 / treated.sum() + 1 / (len(treated) - treated.sum()))
        allowed = max(DETECT_MAX_DIFFERENCE, CHANCE_DIFFERENCES * noise)
        if largest >= allowed:  # already unbalanced: the joint test could not change that
            return None
        _, p_value = robust_joint_test(treated, x.to_numpy()) if x.shape[1] else (0.0, 1.0)
        if p_value <= DETECT_BALANCE_P:
            return None
        return DesignEvidence(
            kind=self.kind,
            strength="moderate",
            source="data",
            reading=(
                f"{treatment} is unrelated to all {len(covariates)} covariates (joint test "
                f"p = {p_value:.2f} > {DETECT_BALANCE_P}; largest standardised difference "
                f"{largest:.2f} < {allowed:.2f}), as randomisation would make it"
            ),
            facts={"joint_p": p_value, "max_std_difference": largest},
        )

    def assumptions(self, spec: DesignSpec) -> list[Assumption]:
        return [
            Assumption(
                name="random assignment",
                testable="partly",
                reading=f"{spec.treatment} was assigned by chance, so treated and untreated "
                "groups differ only by luck before treatment (the balance check tests "
                "the measured covariates, not the unmeasured ones).",
            ),
            Assumption(
                name="no interference",
                testable="no",
                reading="One unit's treatment does not change another unit's outcome.",
            ),
            Assumption(
                name="covariates measured before assignment",
                testable="partly",
                reading="Adjusted covariates were fixed before the treatment; columns that "
                "define the treatment or differ sharply between arms are left out.",
            ),
        ]

    def identify(self, frame: pd.DataFrame, spec: DesignSpec) -> DesignIdentification:
        if not _two_groups(frame, spec.treatment):
            raise InputError(
                f"A randomised-experiment analysis compares two groups, but {spec.treatment!r} "
                f"has {frame[spec.treatment].nunique()} values; recode it as treated vs not."
            )
        result = DesignIdentification(
            identified=True,
            estimand=ESTIMANDS[spec.target],
            assumptions=self.assumptions(spec),
        )
        given = list(spec.columns.covariates)
        if given:
            defining = treatment_defining_columns(frame, spec.treatment, given)
            covariates = [c for c in given if c not in defining]
        else:
            covariates, defining = covariate_candidates(frame, spec)
            covariates, moved = _split_moved(frame, spec.treatment, covariates)
            for name, difference in moved.items():
                result.warn(
                    WarningCode.POST_TREATMENT_ADJUSTMENT,
                    f"{name} differs between the arms by {difference:.2f} standard "
                    "deviations, more than chance allows after randomisation; it was "
                    "probably measured after the treatment, so it is not adjusted for.",
                )
        for name in defining:
            result.warn(
                WarningCode.TREATMENT_DEFINING_COLUMN,
                f"{spec.treatment} is a function of {name} (it defines who is treated), so "
                f"{name} is not adjusted for: holding it fixed would hold the treatment fixed.",
            )
        result.columns = spec.columns.model_copy(update={"covariates": covariates})
        adjusted = f", adjusting for {', '.join(covariates)}" if covariates else ""
        result.reading = (
            f"Random assignment of {spec.treatment} identifies the {result.estimand} by "
            f"comparing the arms{adjusted}; no graph is needed."
        )
        result.code = f"# randomised experiment: compare the arms of {spec.treatment!r}\n"
        return result

    def estimate(self, frame: pd.DataFrame, spec: DesignSpec) -> DesignEstimate:
        covariates = spec.columns.covariates
        numbers = rct_fit(frame, spec.treatment, spec.outcome, covariates, spec.target)
        estimand = ESTIMANDS[spec.target]
        scale = outcome_scale(frame[spec.outcome], spec.outcome)
        result = DesignEstimate(
            method=f"rct.{numbers['method']}",
            estimand=estimand,
            value=numbers["value"],
            ci_low=numbers["ci_low"],
            ci_high=numbers["ci_high"],
            se=numbers["se"],
            se_type="HC2",
            scale=scale,
            n_rows=numbers["n_rows"],
            details={
                "alternatives": [
                    {**alt, "method": f"rct.{alt['method']}"} for alt in numbers["alternatives"]
                ],
                "treated_level": numbers["treated_level"],
                "covariates": covariates,
            },
            code=self.code(spec),
        )
        how = (
            "Lin's regression adjustment"
            if covariates and numbers["alternatives"]
            else "the difference in means"
        )
        result.reading = (
            f"By {how}, being assigned {spec.treatment} = {numbers['treated_level']!r} changes "
            f"{spec.outcome} by {result.value:.4g} ({estimand}; 95% interval "
            f"{result.ci_low:.4g} to {result.ci_high:.4g}, HC2 robust errors)."
        )
        if numbers["alternatives"]:
            plain = numbers["alternatives"][0]
            result.reading += f" The plain difference in means is {plain['value']:.4g}."
        dropped = len(frame) - numbers["n_rows"]
        if dropped:
            result.warn(
                WarningCode.MISSING_VALUES_DROPPED,
                f"{dropped} rows with missing values in the analysed columns were left out.",
            )
        return result

    def checks(
        self, frame: pd.DataFrame, spec: DesignSpec, estimate: DesignEstimate
    ) -> list[DesignCheck]:
        check = balance_check(
            frame, spec.treatment, list(spec.columns.covariates), CHECK_MAX_DIFFERENCE
        )
        if check["p_value"] is None:
            return [
                DesignCheck(
                    name="covariate_balance",
                    status="warn",
                    reading="No pre-treatment covariates, so balance cannot be checked.",
                )
            ]
        differences, status = check["differences"], check["status"]
        named = ", ".join(f"{k} {differences[k]:+.2f}" for k in check["imbalanced"][:5])
        reading = (
            f"Covariates jointly predict the treatment with p = {check['p_value']:.3g}; "
            + (
                f"standardised differences of {CHECK_MAX_DIFFERENCE} or more: {named}."
                if named
                else f"every standardised difference is below {CHECK_MAX_DIFFERENCE}."
            )
            + {
                "pass": " The arms look as randomisation makes them.",
                "warn": " Some imbalance: the adjusted estimate accounts for it.",
                "fail": " The arms differ more than chance allows; check how assignment was done.",
            }[status]
        )
        return [
            DesignCheck(
                name="covariate_balance",
                status=status,
                reading=reading,
                statistic=check["statistic"],
                p_value=check["p_value"],
                details={"standardised_differences": differences.round(4).to_dict()},
            )
        ]

    def check_code(self, spec: DesignSpec) -> str:
        """The balance check in the exported script."""
        call = (
            f"check_numbers([balance_check(df, {spec.treatment!r}, "
            f"{list(spec.columns.covariates)!r}, {CHECK_MAX_DIFFERENCE!r})])"
        )
        functions = (
            treated_indicator,
            covariate_matrix,
            robust_joint_test,
            standardised_differences,
            balance_table,
            balance_check,
            check_numbers,
        )
        return snippet(functions, call, "refutations")

    def code(self, spec: DesignSpec) -> str:
        return snippet(
            (treated_indicator, covariate_matrix, rct_fit),
            f"rct_fit(df, {spec.treatment!r}, {spec.outcome!r}, "
            f"{list(spec.columns.covariates)!r}, {spec.target!r})",
        )


def _split_moved(
    frame: pd.DataFrame, treatment: str, covariates: list[str]
) -> tuple[list[str], dict[str, float]]:
    """Covariates kept, and those (with their difference) the treatment apparently moved."""
    moved: dict[str, float] = {}
    for name in covariates:
        data = frame[[treatment, name]].dropna()
        treated, _ = treated_indicator(data[treatment])
        x = covariate_matrix(data, [name])
        for column in x.columns:
            on, off = x.loc[treated == 1, column], x.loc[treated == 0, column]
            pooled = np.sqrt((on.var() + off.var()) / 2)
            difference = float((on.mean() - off.mean()) / pooled) if pooled > 0 else 0.0
            p_value = stats.ttest_ind(on, off, equal_var=False).pvalue
            if abs(difference) > AFTER_TREATMENT_DIFFERENCE and p_value < AFTER_TREATMENT_P:
                moved[name] = difference
                break
    return [c for c in covariates if c not in moved], moved


RCT = register(RCTDesign())
