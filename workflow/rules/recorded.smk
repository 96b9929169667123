# Recorded routing outcomes: one import instead of synthesis and labeling.


# Jobs that read a few files and write a table run where Snakemake runs, not on a cluster node.
localrules:
    import_routing,


rule import_routing:
    output:
        labels=f"{keyed('import_routing')}/{L.LABELS}",
        queries=f"{keyed('import_routing')}/{L.QUERIES_JSONL}",
        pool=f"{keyed('import_routing')}/{L.POOL}",
        norms=f"{keyed('import_routing')}/{L.COST_NORM}",
        summary=f"{keyed('import_routing')}/{L.LABEL_SUMMARY}",
        table=f"{keyed('import_routing')}/{L.LABEL_TABLE}",
        details=f"{keyed('import_routing')}/{L.IMPORT}",
    log:
        f"{keyed('import_routing')}/{L.LOG}",
    params:
        overrides=stage_args("import_routing"),
    threads: 1
    conda:
        "../../environment.yml"
    shell:
        "python -m trouter.cli.import_routing {params.overrides} > {log} 2>&1"
