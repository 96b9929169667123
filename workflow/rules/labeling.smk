# Labeling: each candidate answers each dataset (synthetic QA and the real benchmarks), scored
# and costed; then one long table, the cost constants and a per-dataset summary.


rule prepare_data:
    input:
        prepare_inputs,
    output:
        queries=run_path("data", "{dataset}.jsonl"),
        summary=run_path("data", "{dataset}.summary.json"),
    log:
        run_path("data", "{dataset}.log"),
    params:
        overrides=hydra_overrides(),
    threads: 1
    conda:
        "../../environment.yml"
    shell:
        "python -m trouter.cli.prepare_data {params.overrides} data.dataset={wildcards.dataset}"
        " > {log} 2>&1"


rule label_candidates:
    input:
        queries=rules.prepare_data.output.queries,
    output:
        labels=run_path("labels", "{dataset}", "{model}", "labels.csv"),
        summary=run_path("labels", "{dataset}", "{model}", "summary.json"),
    log:
        run_path("labels", "{dataset}", "{model}", "log.txt"),
    params:
        overrides=hydra_overrides(),
    resources:
        llm_server=1,
    threads: 2
    conda:
        "../../environment.yml"
    shell:
        "python -m trouter.cli.label_candidates {params.overrides}"
        " data.dataset={wildcards.dataset} +model@candidate={wildcards.model} > {log} 2>&1"


rule collect_labels:
    input:
        labels=label_outputs(),
    output:
        labels=run_path("labels", "labels.csv"),
        norms=run_path("labels", "cost_norm.json"),
        pool=run_path("labels", "pool.json"),
        summary=run_path("labels", "summary.csv"),
        table=run_path("labels", "summary.md"),
    log:
        run_path("labels", "collect_labels.log"),
    params:
        overrides=hydra_overrides(),
    threads: 1
    conda:
        "../../environment.yml"
    shell:
        "python -m trouter.cli.collect_labels {params.overrides} > {log} 2>&1"
