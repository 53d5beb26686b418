"""Refuter cores whose source is copied verbatim into the exported ``analysis.py``.

Same rules as ``tools.portable`` (read its docstring): imports only numpy, pandas, networkx,
joblib, dowhy, statsmodels and scipy; every function is self-contained; ``PORTABLE_FUNCTIONS``
lists them in dependency order. Functions of ``tools.portable`` are called by bare name,
because the exporter puts both modules into one script; the import below makes that work
when this file is used as a module too.

Every random draw comes from ``np.random.default_rng(seed)`` before any work is handed to
workers, so a seeded run gives the same numbers with one worker or many.
"""

import copy

import joblib
import networkx as nx
import numpy as np
from scipy import special, stats
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import NearestNeighbors

from causal_assistant.tools.model.independence import (
    ci_inputs,
    contradicted,
    holm,
    independence_test,
)
from causal_assistant.tools.portable import fit_effect


def fit_value(frame, graph, treatment, outcome, estimand, method, target, params, seed=0):
    """The value of one estimate without an interval (refuters re-fit many times), with
    the global generator seeded for estimators that draw from it."""
    np.random.seed(seed)
    return float(
        fit_effect(frame, graph, treatment, outcome, estimand, method, target, params).value
    )


def simulation_seeds(kind, seed, n_simulations):
    """One seed per simulation, from a stream of its own for each refuter, so the draws
    depend neither on the number of workers nor on how many the other refuters run."""
    stream = ["placebo_treatment", "random_common_cause", "data_subset", "bootstrap"].index(kind)
    drawn = np.random.default_rng([seed, stream]).integers(0, 2**32 - 1, n_simulations)
    return [int(s) for s in drawn]


def simulation_draw(kind, n_rows, sim_seed):
    """The randomness of one simulation of refuter ``kind``, from its own seed.

    placebo_treatment: a permutation of the rows (the treatment is shuffled by it);
    random_common_cause: a standard normal column; data_subset: the sorted indices of a
    random 80% of rows; bootstrap: row indices drawn with replacement. Every path (the
    batched regression, the direct propensity estimators, DoWhy re-fits) uses these draws.
    """
    rng = np.random.default_rng(sim_seed)
    if kind == "placebo_treatment":
        return rng.permutation(n_rows)
    if kind == "random_common_cause":
        return rng.standard_normal(n_rows)
    if kind == "data_subset":
        return np.sort(rng.choice(n_rows, size=int(round(0.8 * n_rows)), replace=False))
    if kind == "bootstrap":
        return rng.integers(0, n_rows, n_rows)
    raise ValueError(f"unknown simulation refuter {kind!r}")


def simulated_data(kind, frame, graph, treatment, outcome, estimand, drawn, instruments=()):
    """The frame, graph and estimand that one simulation of refuter ``kind`` re-fits.

    placebo_treatment: the treatment (and any instruments, with the same shuffle, as DoWhy
    does) permuted, so it can no longer cause the outcome; random_common_cause: the drawn
    column added as a common cause and to the adjustment set; data_subset and bootstrap:
    the drawn rows.
    """
    if kind == "placebo_treatment":
        placebo = frame.copy()
        for column in [treatment, *instruments]:
            placebo[column] = frame[column].to_numpy()[drawn]
        return placebo, graph, estimand
    if kind == "random_common_cause":
        name = "w_random"
        while name in frame.columns:
            name = "_" + name
        noisy = frame.assign(**{name: drawn})
        wider = graph.copy()
        wider.add_edges_from([(name, treatment), (name, outcome)])
        extended = copy.deepcopy(estimand)
        if extended.estimands.get("backdoor") is not None:
            chosen = [*extended.get_backdoor_variables(), name]
            for key in {"backdoor", extended.default_backdoor_id}:
                extended.set_backdoor_variables(chosen, key=key)
        return noisy, wider, extended
    return frame.iloc[drawn].reset_index(drop=True), graph, estimand


def simulate_once(
    kind,
    frame,
    graph,
    treatment,
    outcome,
    estimand,
    method,
    target,
    params,
    sim_seed,
    instruments=(),
):
    """One simulated re-fit through DoWhy; NaN when the estimator cannot fit that draw (e.g.
    a resample in which the treatment no longer varies), so one bad draw does not sink the
    refuter."""
    drawn = simulation_draw(kind, len(frame), sim_seed)
    case_frame, case_graph, case_estimand = simulated_data(
        kind, frame, graph, treatment, outcome, estimand, drawn, instruments
    )
    try:
        return fit_value(
            case_frame,
            case_graph,
            treatment,
            outcome,
            case_estimand,
            method,
            target,
            params,
            seed=sim_seed,
        )
    except Exception:
        return float("nan")


def draw_weights(kind, n_rows, sim_seeds):
    """The rows of each subset or resample as an (n_rows, draws) matrix of counts (0/1 for
    a subset, multinomial for a bootstrap): a weighted fit on all rows with these weights is
    the fit on the drawn rows. Held as bytes, an eighth of the memory of floats, so one
    matrix holds many draws; widened in the (astronomically unlikely) case of a row drawn
    more than 255 times, so the counts are always exact."""
    counts = np.zeros((n_rows, len(sim_seeds)), dtype=np.uint8)
    for j, sim_seed in enumerate(sim_seeds):
        drawn = np.bincount(simulation_draw(kind, n_rows, sim_seed), minlength=n_rows)
        if drawn.max(initial=0) > np.iinfo(counts.dtype).max:
            counts = counts.astype(np.int64)
        counts[:, j] = drawn
    return counts


def pair_products(q, upper):
    """Every product q[:, i] * q[:, j] for i <= j (the pairs ``upper`` lists, row-major),
    one row per row of ``q``: written slice by slice into one array, as gathering the two
    factors by fancy indexing would build two more arrays of the same size first."""
    products = np.empty((len(q), len(upper[0])))
    start, width = 0, q.shape[1]
    for i in range(width):
        np.multiply(q[:, i:], q[:, i : i + 1], out=products[:, start : start + width - i])
        start += width - i
    return products


def linear_basis(kind, treated, covariates, cholesky_rows=200_000):
    """The QR factors ``linear_effects`` works with: of the covariates and a constant for
    the placebo and the random common cause, of the whole design for subsets and
    resamples. Computed once per refuter, as every batch of draws shares them.

    From ``cholesky_rows`` rows on, by Cholesky QR twice on columns scaled to unit length
    (CholeskyQR2: two passes of a cross-product, orthogonal to machine precision when the
    scaled design is not nearly collinear), several times faster than Householder there;
    a design whose cross-product is not positive definite falls back to Householder."""
    base = np.column_stack([np.ones(len(treated)), covariates])
    if kind not in ("placebo_treatment", "random_common_cause"):
        base = np.column_stack([base, treated])
    if len(base) >= cholesky_rows:
        norms = np.sqrt(np.einsum("ij,ij->j", base, base))
        try:
            q, r = base / np.where(norms > 0, norms, 1.0), np.eye(base.shape[1])
            for _ in range(2):
                step = np.linalg.cholesky(q.T @ q).T
                q, r = q @ np.linalg.inv(step), step @ r
            return q, r * norms[None, :]
        except np.linalg.LinAlgError:
            pass
    return np.linalg.qr(base)


def linear_effects(kind, treated, y, covariates, sim_seeds, row_block=65536, basis=None):
    """The treatment coefficient of ``y ~ 1 + treatment + covariates`` (DoWhy's linear
    regression) for a batch of simulations at once, by least squares on matrices instead of
    one model per draw.

    Placebo and random common cause keep every row, so Frisch-Waugh-Lovell applies: the
    treatment and outcome are residualised on the covariates once, and each draw needs only
    inner products (a shuffled treatment is residualised in one matrix product; a random
    column is partialled out in closed form). Subsets and resamples change the rows, so they
    solve the weighted normal equations of every draw, with the design orthonormalised once
    (QR) so those small systems are well conditioned; a subset's are the whole data's less
    the rows it leaves out; a resample's rows are summed in blocks of a fixed size so
    results do not depend on how draws are split among workers. ``basis``: the
    factors from ``linear_basis``, when the caller has them.
    """
    n_rows = len(y)
    q, r = basis if basis is not None else linear_basis(kind, treated, covariates)
    if kind in ("placebo_treatment", "random_common_cause"):
        y_res = y - q @ (q.T @ y)
        t_res = treated - q @ (q.T @ treated)
        draws = np.column_stack([simulation_draw(kind, n_rows, s) for s in sim_seeds])
        if kind == "placebo_treatment":
            shuffled = treated[draws]
            projected = q.T @ shuffled
            across = np.einsum("ij,ij->j", shuffled, shuffled) - np.einsum(
                "ij,ij->j", projected, projected
            )
            effects = (shuffled.T @ y_res) / across
            fitted = across > 1e-12 * n_rows  # a shuffle that no longer varies fits nothing
            return [float(e) if ok else float("nan") for e, ok in zip(effects, fitted, strict=True)]
        noise = draws - q @ (q.T @ draws)
        uu = np.einsum("ij,ij->j", noise, noise)
        tu, uy = noise.T @ t_res, noise.T @ y_res
        across = float(t_res @ t_res) - tu**2 / uu
        effects = (float(t_res @ y_res) - tu * uy / uu) / across
        return [float(e) for e in effects]
    width = q.shape[1]
    if kind == "data_subset":
        # a subset keeps 80% of the rows: its normal equations are those of all rows less
        # those of the fifth left out, a quarter of the work of summing the kept rows
        whole, whole_y = q.T @ q, q.T @ y
        systems = np.empty((len(sim_seeds), width, width))
        moments = np.empty((len(sim_seeds), width))
        for j, sim_seed in enumerate(sim_seeds):
            out = np.ones(n_rows, dtype=bool)
            out[simulation_draw(kind, n_rows, sim_seed)] = False
            q_out = q[out]
            systems[j] = whole - q_out.T @ q_out
            moments[j] = whole_y - q_out.T @ y[out]
    else:
        upper = np.triu_indices(width)
        counts = draw_weights(kind, n_rows, sim_seeds)
        gram = np.zeros((len(sim_seeds), len(upper[0])))
        moments = np.zeros((len(sim_seeds), width))
        for start in range(0, n_rows, row_block):
            block = slice(start, start + row_block)
            qb, cb = q[block], counts[block].astype(float)
            gram += cb.T @ pair_products(qb, upper)
            moments += cb.T @ (qb * y[block, None])
        systems = np.zeros((len(sim_seeds), width, width))
        systems[:, upper[0], upper[1]] = gram
        systems[:, upper[1], upper[0]] = gram
    inverse = np.linalg.pinv(systems, rcond=1e-10, hermitian=True)
    return [float(e) for e in np.einsum("sj,sj->s", inverse[:, -1, :], moments) / r[-1, -1]]


def logistic_batch(designs, labels, counts, max_steps=100, tol=1e-10):
    """Fitted probabilities of a batch of logistic regressions at once, by Newton's method.

    The objective is that of scikit-learn's default ``LogisticRegression`` (which DoWhy's
    propensity estimators fit): the log-loss summed over rows, each counted ``counts`` times,
    plus half the squared coefficients (C = 1), the intercept (the first column of
    ``designs``) unpenalised. It is strictly convex, so Newton's method from zero reaches
    its optimum in a few steps for every draw together; lbfgs stops near it, at its
    tolerance, so DoWhy's fits agree with these to about 1e-4. ``designs`` is
    (draws or 1, rows, columns); ``labels`` and ``counts`` are (draws, rows).
    """
    draws, width = labels.shape[0], designs.shape[2]
    ridge = np.eye(width)
    ridge[0, 0] = 0.0
    coef = np.zeros((draws, width))
    for _ in range(max_steps):
        prob = special.expit(np.einsum("snq,sq->sn", designs, coef))
        grad = np.einsum("snq,sn->sq", designs, counts * (prob - labels)) + coef @ ridge
        weighted = designs * (counts * prob * (1 - prob))[:, :, None]
        hess = np.swapaxes(weighted, 1, 2) @ designs + ridge
        step = np.linalg.solve(hess, grad[:, :, None])[:, :, 0]
        coef -= step
        if np.max(np.abs(step)) < tol:
            break
    return special.expit(np.einsum("snq,sq->sn", designs, coef))


def propensity_effects(kind, treated, y, covariates, method, target, params, sim_seeds):
    """DoWhy's propensity score weighting or matching estimate on each simulation's draw,
    with the propensity model re-fitted on every draw (for weighting by ``logistic_batch``,
    all draws of the batch at once) and the rows of a subset or resample as counts.

    Weighting: DoWhy's schemes differ by factors that are constant within the treated or
    the control group (normalized, stabilized), and each group's weighted mean divides them
    out, so the family alone matters: 1/ps and 1/(1-ps) for the ATE, 1 and the odds
    ps/(1-ps) for the ATT, the inverse odds and 1 for the ATC, scores clipped to
    [0.05, 0.95] as DoWhy does. Matching: each unit's nearest propensity score among the
    drawn units of the other group (DoWhy's ball tree), the ATE as the size-weighted mean
    of ATT and ATC. NaN where a draw leaves one group empty.
    """
    n_rows = len(y)
    base = np.column_stack([np.ones(n_rows), covariates])
    draws = [simulation_draw(kind, n_rows, s) for s in sim_seeds]
    labels = np.tile(treated, (len(draws), 1))
    counts = np.ones((len(draws), n_rows))
    designs = base[None]
    if kind == "placebo_treatment":
        labels = treated[np.stack(draws)]
    elif kind == "random_common_cause":
        designs = np.concatenate(
            [np.broadcast_to(base, (len(draws), *base.shape)), np.stack(draws)[:, :, None]], axis=2
        )
    else:
        counts = np.stack([np.bincount(d, minlength=n_rows) for d in draws]).astype(float)
    if method == "backdoor.propensity_score_weighting":
        scores = logistic_batch(designs, labels, counts)
    else:
        # a nearest neighbour jumps with the last digits of a score, so matching fits
        # scikit-learn's model itself on each drawn dataset, exactly as DoWhy does
        scores = []
        for j, drawn in enumerate(draws):
            design = designs[min(j, len(designs) - 1)][:, 1:]
            rows = drawn if kind in ("data_subset", "bootstrap") else slice(None)
            model = LogisticRegression().fit(design[rows], labels[j][rows])
            scores.append(model.predict_proba(design)[:, 1])

    def matched(score, pool, queries):
        """The outcome of each query unit's nearest pool unit by propensity score."""
        tree = NearestNeighbors(n_neighbors=1, algorithm="ball_tree")
        tree.fit(score[pool].reshape(-1, 1))
        return y[pool][tree.kneighbors(score[queries].reshape(-1, 1))[1][:, 0]]

    effects = []
    for label, count, score in zip(labels, counts, scores, strict=True):
        on, off = (label == 1) & (count > 0), (label == 0) & (count > 0)
        if not on.any() or not off.any():
            effects.append(float("nan"))
            continue
        if method == "backdoor.propensity_score_weighting":
            ps = np.clip(score, params.get("min_ps_score", 0.05), params.get("max_ps_score", 0.95))
            odds = ps / (1 - ps)
            weight = {
                "ate": np.where(label == 1, 1 / ps, 1 / (1 - ps)),
                "att": np.where(label == 1, 1.0, odds),
                "atc": np.where(label == 1, 1 / odds, 1.0),
            }[target] * count
            treated_mean = weight[on] @ y[on] / weight[on].sum()
            effects.append(float(treated_mean - weight[off] @ y[off] / weight[off].sum()))
            continue

        att = np.average(y[on] - matched(score, off, on), weights=count[on])
        atc = np.average(matched(score, on, off) - y[off], weights=count[off])
        n_on, n_off = count[on].sum(), count[off].sum()
        effects.append(
            float(
                {"att": att, "atc": atc, "ate": (att * n_on + atc * n_off) / (n_on + n_off)}[target]
            )
        )
    return effects


def simulate_refuter(
    kind,
    frame,
    graph,
    treatment,
    outcome,
    estimand,
    method,
    target,
    params,
    n_simulations,
    seed=0,
    instruments=(),
    n_jobs=1,
    progress=None,
):
    """The effects of ``n_simulations`` re-fits under refuter ``kind``, in draw order.

    Each simulation's draw comes from its own seed (``simulation_seeds``), so results
    depend neither on the number of workers nor on how draws are batched. Three paths
    compute the same numbers at different cost: linear regression fits batches of draws as
    matrix least squares (``linear_effects``, on threads: matrix products release the GIL);
    propensity weighting and matching re-fit the propensity model on arrays built once
    (``propensity_effects``); any other estimator re-fits through DoWhy. Both of the latter
    run one draw per task on processes, as their fits hold the GIL.
    ``progress(fraction_done)`` is called as results arrive.
    """
    seeds = simulation_seeds(kind, seed, n_simulations)
    frame = frame[[column for column in frame.columns if column in graph]]  # less to ship
    backdoor = estimand.estimands.get("backdoor") is not None and not instruments
    covariates = sorted(estimand.get_backdoor_variables()) if backdoor else []
    arrays = (
        frame[treatment].to_numpy(dtype=float),
        frame[outcome].to_numpy(dtype=float),
        frame[covariates].to_numpy(dtype=float).reshape(len(frame), len(covariates)),
    )
    direct = ["backdoor.propensity_score_weighting", "backdoor.propensity_score_matching"]
    prefer = "processes"
    if backdoor and method == "backdoor.linear_regression":
        # draws per task: as many as keep one (rows x draws) matrix near 160 MB (20 million
        # floats, or 160 million of the resamples' one-byte counts), from the data's size
        # only, so the batches are the same on any machine; fewer tasks for resamples also
        # means their per-row products are formed fewer times
        cells = 1.6e8 if kind == "bootstrap" else 2e7
        size = max(1, int(cells // max(len(frame), 1)))
        basis = linear_basis(kind, arrays[0], arrays[2])
        tasks = [
            joblib.delayed(linear_effects)(kind, *arrays, seeds[i : i + size], basis=basis)
            for i in range(0, n_simulations, size)
        ]
        prefer = "threads"
    elif backdoor and covariates and method in direct:
        # draws per task: as many as keep one (rows x draws) matrix near 2 million cells
        size = max(1, int(2e6 // max(len(frame), 1)))
        tasks = [
            joblib.delayed(propensity_effects)(
                kind, *arrays, method, target, params, seeds[i : i + size]
            )
            for i in range(0, n_simulations, size)
        ]
    else:
        fixed = (kind, frame, graph, treatment, outcome, estimand, method, target, params)
        tasks = [joblib.delayed(simulate_once)(*fixed, s, tuple(instruments)) for s in seeds]
    effects = []
    parallel = joblib.Parallel(n_jobs=n_jobs, prefer=prefer, return_as="generator")
    for part in parallel(tasks):
        effects.extend(part if isinstance(part, list) else [part])
        if progress is not None:
            progress(len(effects) / n_simulations)
    return effects


def summarize_simulations(kind, effects, estimate, alpha=0.05, tolerance=0.1):
    """Verdict, p-value and distribution of one simulation refuter.

    The reference is 0 for the placebo (a shuffled treatment has no effect) and the estimate
    for the others (noise, subsets and resamples should not move it). ``p_band`` is DoWhy's
    two-sided percentile test of the reference within the simulated effects; ``p_mean`` a
    t-test of their average against it. Fail: the reference lies outside the middle
    1 - alpha of the simulated effects. Warn: their average is off the reference beyond
    chance (p_mean < alpha) by ``tolerance`` of |estimate| or more. Pass otherwise.
    The reported ``p_value`` is ``p_mean`` for the placebo and ``p_band`` for the others.
    """
    values = np.asarray(effects, dtype=float)
    ok = values[np.isfinite(values)]
    reference = 0.0 if kind == "placebo_treatment" else float(estimate)
    details = {
        "effects": [float(v) for v in values],
        "failed_fits": int(len(values) - len(ok)),
        "reference": reference,
    }
    if len(ok) < max(2, len(values) // 2):
        return {"status": "warn", "new_effect": None, "p_value": None, "details": details}
    tie = np.isclose(ok, reference, rtol=1e-9, atol=1e-12)
    above = float(np.mean((ok > reference) & ~tie) + 0.5 * np.mean(tie))
    p_band = 2 * min(above, 1 - above)
    mean = float(ok.mean())
    if np.ptp(ok) > 1e-12 * max(1.0, abs(mean)):
        p_mean = float(stats.ttest_1samp(ok, reference).pvalue)
    else:
        p_mean = 1.0 if abs(mean - reference) <= 1e-9 * max(1.0, abs(reference)) else 0.0
    drift = p_mean < alpha and abs(mean - reference) >= tolerance * abs(estimate)
    status = "fail" if p_band < alpha else "warn" if drift else "pass"
    low, high = np.percentile(ok, [50 * alpha, 100 - 50 * alpha])
    details.update(
        mean=mean,
        band=[float(low), float(high)],
        p_band=p_band,
        p_mean=p_mean,
        sign_flips=float(np.mean(np.sign(ok) != np.sign(estimate))),
        as_large_as_estimate=float(np.mean(np.abs(ok) >= abs(estimate))),
    )
    p_value = p_mean if kind == "placebo_treatment" else p_band
    return {"status": status, "new_effect": mean, "p_value": p_value, "details": details}


def variable_graph(graph, column_map):
    """The model graph over the user's variables: a categorical variable's indicator columns
    fold back into one node, so they are never tested against one another."""
    owner = {column: name for name, columns in column_map.items() for column in columns}
    folded = nx.DiGraph()
    for node, attrs in graph.nodes(data=True):
        folded.add_node(owner.get(node, node), **attrs)
    for cause, effect in graph.edges:
        if owner.get(cause, cause) != owner.get(effect, effect):
            folded.add_edge(owner.get(cause, cause), owner.get(effect, effect))
    return folded


def implied_independences(graph):
    """The local Markov condition over observed variables: each is independent of its
    non-descendants given its parents. A statement is kept only if the observed parents
    d-separate the pair, since a hidden parent can leave a path open; each pair once."""
    observed = [n for n, attrs in graph.nodes(data=True) if attrs.get("observed") != "no"]
    seen, tests = set(), []
    for node in observed:
        parents = sorted(p for p in graph.predecessors(node) if p in observed)
        later = nx.descendants(graph, node)
        for other in observed:
            pair = frozenset((node, other))
            if other == node or other in later or other in parents or pair in seen:
                continue
            if nx.is_d_separator(graph, {node}, {other}, set(parents)):
                seen.add(pair)
                tests.append((node, other, tuple(parents)))
    return tests


def graph_inputs(frame, graph, column_map):
    """The shared test inputs (``ci_inputs``) over the graph's observed variables, each
    variable's model columns forming one block."""
    observed = [n for n, attrs in graph.nodes(data=True) if attrs.get("observed") != "no"]
    return ci_inputs(
        {name: frame[column_map.get(name, [name])].to_numpy(dtype=float) for name in observed}
    )


def check_independences(inputs, tests, cache, alpha=0.01, min_r=0.05):
    """Run the tests (through ``cache``, shared across graphs) with Holm's correction and
    the shared verdict (``contradicted``)."""
    rows = []
    for x, y, given in tests:
        key = (min(x, y), max(x, y), tuple(sorted(given)))
        if key not in cache:
            cache[key] = independence_test(inputs, key[0], key[1], list(key[2]))
        found = cache[key]
        rows.append(
            {
                "x": x,
                "y": y,
                "given": list(given),
                "test": found["test"],
                "p_value": found["p_value"],
                "partial_r": abs(found["r"]),
            }
        )
    if rows:
        adjusted = holm([row["p_value"] for row in rows])
        for row, p in zip(rows, adjusted, strict=True):
            row["p_adjusted"] = float(p)
            row["violated"] = contradicted(p, row["partial_r"], alpha, min_r)
    return rows


def falsify_graph(
    frame,
    graph,
    column_map,
    n_permutations=100,
    seed=0,
    alpha=0.01,
    min_r=0.05,
    warn_share=0.1,
    progress=None,
):
    """Test the conditional independences the graph implies on the prepared frame.

    Pass if none is violated, warn if at most ``warn_share`` of them are, fail otherwise;
    Each implied independence gets the critique's test and verdict
    (``tools.model.independence``, whose ``ALPHA`` explains the level).
    The baseline re-tests ``n_permutations`` graphs of the same shape with the observed
    variables' names shuffled: a graph that fits no better than those carries little
    information. The reported p-value is the smallest Holm-adjusted one.
    """
    folded = variable_graph(graph, column_map)
    tests = implied_independences(folded)
    inputs = graph_inputs(frame, folded, column_map)
    cache: dict = {}
    rows = check_independences(inputs, tests, cache, alpha, min_r)
    violated = sum(row["violated"] for row in rows)
    share = violated / len(rows) if rows else 0.0
    observed = [n for n, attrs in folded.nodes(data=True) if attrs.get("observed") != "no"]
    rng = np.random.default_rng([seed, 4])
    shares = []
    for i in range(n_permutations if rows else 0):
        names = dict(zip(observed, rng.permutation(observed).tolist(), strict=True))
        shuffled = implied_independences(nx.relabel_nodes(folded, names))
        checked = check_independences(inputs, shuffled, cache, alpha, min_r)
        shares.append(sum(r["violated"] for r in checked) / len(checked) if checked else 0.0)
        if progress is not None:
            progress((i + 1) / n_permutations)
    status = "pass" if violated == 0 else "warn" if share <= warn_share else "fail"
    details = {
        "tested": len(rows),
        "violated": violated,
        "share_violated": share,
        "tests": rows,
        "baseline_shares": shares,
        "baseline_worse": float(np.mean(np.asarray(shares) > share)) if shares else None,
    }
    p_value = min(row["p_adjusted"] for row in rows) if rows else None
    return {"status": status, "new_effect": None, "p_value": p_value, "details": details}


PORTABLE_FUNCTIONS = (
    fit_value,
    simulation_seeds,
    simulation_draw,
    simulated_data,
    simulate_once,
    draw_weights,
    pair_products,
    linear_basis,
    linear_effects,
    logistic_batch,
    propensity_effects,
    simulate_refuter,
    summarize_simulations,
    variable_graph,
    implied_independences,
    graph_inputs,
    check_independences,
    falsify_graph,
)
