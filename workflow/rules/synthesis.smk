# Synthesis: taxonomy expansion -> QA generation -> dedup, each in a keyed folder (trouter.layout).
# Every rule runs in the one project environment (environment.yml, or the .venv of `make`).
# Synthesis is the long path to the synthetic labels: its jobs go before the benchmarks' labels.


rule expand_taxonomy:
    output:
        taxonomy=f"{keyed('expand_taxonomy')}/{L.TAXONOMY}",
        nodes=f"{keyed('expand_taxonomy')}/{L.NODES}",
        rounds=f"{keyed('expand_taxonomy')}/{L.ROUNDS}",
        summary=f"{keyed('expand_taxonomy')}/{L.SUMMARY}",
    log:
        f"{keyed('expand_taxonomy')}/{L.LOG}",
    params:
        overrides=stage_args("expand_taxonomy"),
    resources:
        llm_server=server_threads("expand_taxonomy"),
    priority: 10
    threads: 2
    conda:
        "../../environment.yml"
    shell:
        "python -m trouter.cli.expand_taxonomy {params.overrides} > {log} 2>&1"


rule generate_qa:
    input:
        nodes=lambda wc: owner("generate_qa", wc)[0].layout.taxonomy() / L.NODES,
    output:
        generated=f"{keyed('generate_qa')}/{L.GENERATED}",
        report=f"{keyed('generate_qa')}/{L.QA_REPORT}",
        summary=f"{keyed('generate_qa')}/{L.SUMMARY}",
    log:
        f"{keyed('generate_qa')}/{L.LOG}",
    params:
        overrides=stage_args("generate_qa"),
    resources:
        llm_server=server_threads("generate_qa"),
    priority: 10
    threads: 2
    conda:
        "../../environment.yml"
    shell:
        "python -m trouter.cli.generate_qa {params.overrides} > {log} 2>&1"


rule dedup_qa:
    input:
        generated=lambda wc: owner("dedup_qa", wc)[0].layout.qa() / L.GENERATED,
        nodes=lambda wc: owner("dedup_qa", wc)[0].layout.taxonomy() / L.NODES,
    output:
        qa=f"{keyed('dedup_qa')}/{L.QA}",
        dropped=f"{keyed('dedup_qa')}/{L.DROPPED}",
        summary=f"{keyed('dedup_qa')}/{L.SUMMARY}",
    log:
        f"{keyed('dedup_qa')}/{L.LOG}",
    params:
        overrides=stage_args("dedup_qa"),
    priority: 10
    threads: 2
    conda:
        "../../environment.yml"
    shell:
        "python -m trouter.cli.dedup_qa {params.overrides} > {log} 2>&1"
