# trouter: cold-start LLM routing, end to end. See README.md.
from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "workflow/config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"


if RECORDED:

    include: "workflow/rules/recorded.smk"

else:

    include: "workflow/rules/synthesis.smk"
    include: "workflow/rules/labeling.smk"


include: "workflow/rules/routing.smk"


onstart:
    check_budget_before_start()


rule all:
    input:
        synthesis_outputs(),
        labeling_outputs(),
        report_outputs(),
    default_target: True
