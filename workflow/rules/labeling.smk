# Labeling: each candidate answers each dataset (synthetic QA and the real benchmarks), scored
# and costed; then one long table, the cost constants and a per-dataset summary.


# Jobs that read a few files and write a table run where Snakemake runs, not on a cluster node.
localrules:
    prepare_data,
    collect_labels,


rule prepare_data:
    input:
        prepare_inputs,
    output:
        queries=f"{keyed('data', '{dataset}')}/{L.QUERIES_JSONL}",
        summary=f"{keyed('data', '{dataset}')}/{L.SUMMARY}",
    log:
        f"{keyed('data', '{dataset}')}/{L.LOG}",
    params:
        overrides=stage_args("data", "dataset"),
    threads: 1
    conda:
        "../../environment.yml"
    shell:
        "python -m trouter.cli.prepare_data {params.overrides} data.dataset={wildcards.dataset}"
        " > {log} 2>&1"


rule label_candidates:
    input:
        queries=label_inputs,
    output:
        labels=f"{keyed('labels', '{dataset}', '{model}')}/{L.LABELS}",
        summary=f"{keyed('labels', '{dataset}', '{model}')}/{L.SUMMARY}",
    log:
        f"{keyed('labels', '{dataset}', '{model}')}/{L.LOG}",
    params:
        overrides=stage_args("labels", "dataset", "model"),
    resources:
        llm_server=label_servers,
    threads: label_threads
    conda:
        "../../environment.yml"
    shell:
        "python -m trouter.cli.label_candidates {params.overrides}"
        " data.dataset={wildcards.dataset} +model@candidate={wildcards.model} > {log} 2>&1"


rule collect_labels:
    input:
        labels=collected_inputs,
    output:
        labels=f"{keyed('collect_labels')}/{L.LABELS}",
        norms=f"{keyed('collect_labels')}/{L.COST_NORM}",
        pool=f"{keyed('collect_labels')}/{L.POOL}",
        summary=f"{keyed('collect_labels')}/{L.LABEL_SUMMARY}",
        table=f"{keyed('collect_labels')}/{L.LABEL_TABLE}",
    log:
        f"{keyed('collect_labels')}/{L.LOG}",
    params:
        overrides=stage_args("collect_labels"),
    threads: 1
    conda:
        "../../environment.yml"
    shell:
        "python -m trouter.cli.collect_labels {params.overrides} > {log} 2>&1"
