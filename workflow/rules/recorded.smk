# Recorded routing outcomes: one import instead of synthesis and labeling.


rule import_routing:
    output:
        labels=run_path("labels", "labels.csv"),
        queries=run_path("labels", "queries.jsonl"),
        pool=run_path("labels", "pool.json"),
        norms=run_path("labels", "cost_norm.json"),
        summary=run_path("labels", "summary.csv"),
        table=run_path("labels", "summary.md"),
        details=run_path("labels", "import.json"),
    log:
        run_path("labels", "import_routing.log"),
    params:
        overrides=hydra_overrides(),
    threads: 1
    conda:
        "../../environment.yml"
    shell:
        "python -m trouter.cli.import_routing {params.overrides} > {log} 2>&1"
