"""The columns of the evaluation's tables (evaluate writes them, report reads them)."""

from trouter.route.utility import SETTINGS

SUMS = [*SETTINGS, "utility_sum"]
UTILITY_COLUMNS = ["protocol", "method", *[f"{c}{x}" for c in SUMS for x in ("", "_lo", "_hi")]]
COMPARISON_COLUMNS = ["protocol", "method", "against", "utility_sum_diff", "p_value"]
GAP_COLUMNS = ["protocol", "method", "best_single", *SUMS]
POINT_COLUMNS = ["protocol", "method", "mu_r", "mu_c", "mean_score", "mean_cost",
                 "mean_cost_norm", "utility"]
AIQ_COLUMNS = ["protocol", "method", "aiq", "max_cost"]
SHARE_COLUMNS = ["protocol", "method", "utility_setting", "model", "share"]
