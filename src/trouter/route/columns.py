"""The columns of the evaluation's tables (evaluate writes them, report reads them)."""

from trouter.route.utility import SETTINGS

SUMS = [*SETTINGS, "utility_sum"]
# Means over the pooled test queries, each with its interval.
MEANS = [f"{c}{x}" for c in SUMS for x in ("", "_lo", "_hi")]
# Macro averages: the mean over benchmarks of each benchmark's mean, every benchmark weighing the
# same whatever its number of test queries.
MACRO = [f"{c}_macro{x}" for c in SUMS for x in ("", "_lo", "_hi")]
UTILITY_COLUMNS = ["protocol", "method", *MEANS, *MACRO]
PER_BENCHMARK_COLUMNS = ["protocol", "method", "dataset", *MEANS]
# seeds: how many training seeds the router's numbers average; holds_in: in how many of them the
# router alone beats the reference (positive difference, p below 1 - evaluation.confidence)
COMPARISON_COLUMNS = ["protocol", "method", "against", "utility_sum_diff", "p_value", "seeds",
                      "holds_in"]
SEED_COLUMNS = ["protocol", "method", "seeds", "utility_sum", "sd", "min", "max", "lo", "hi"]
GAP_COLUMNS = ["protocol", "method", "best_single", *SUMS]
POINT_COLUMNS = ["protocol", "method", "mu_r", "mu_c", "mean_score", "mean_cost",
                 "mean_cost_norm", "utility"]
# AIQ per benchmark (dataset) and their mean (dataset "mean"); max_cost: the benchmark's largest
# mean cost of any method (empty on the mean); points: the sweep settings the hull was built from.
AIQ_COLUMNS = ["protocol", "method", "dataset", "aiq", "max_cost", "points"]
SHARE_COLUMNS = ["protocol", "method", "utility_setting", "model", "share"]
