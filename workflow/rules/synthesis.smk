# Synthesis: taxonomy expansion -> QA generation -> dedup.
# Every rule runs in the one project environment (environment.yml, or the .venv of `make`).


rule expand_taxonomy:
    output:
        taxonomy=run_path("expand_taxonomy", "taxonomy.json"),
        nodes=run_path("expand_taxonomy", "nodes.csv"),
        rounds=run_path("expand_taxonomy", "rounds.jsonl"),
        summary=run_path("expand_taxonomy", "summary.json"),
    log:
        run_path("expand_taxonomy", "log.txt"),
    params:
        overrides=hydra_overrides(),
    resources:
        llm_server=1,
    threads: 2
    conda:
        "../../environment.yml"
    shell:
        "python -m trouter.cli.expand_taxonomy {params.overrides} > {log} 2>&1"


rule generate_qa:
    input:
        nodes=rules.expand_taxonomy.output.nodes,
    output:
        generated=run_path("generate_qa", "generated.jsonl"),
        report=run_path("generate_qa", "report.csv"),
        summary=run_path("generate_qa", "summary.json"),
    log:
        run_path("generate_qa", "log.txt"),
    params:
        overrides=hydra_overrides(),
    resources:
        llm_server=1,
    threads: 2
    conda:
        "../../environment.yml"
    shell:
        "python -m trouter.cli.generate_qa {params.overrides} > {log} 2>&1"


rule dedup_qa:
    input:
        generated=rules.generate_qa.output.generated,
        nodes=rules.expand_taxonomy.output.nodes,
    output:
        qa=run_path("dedup_qa", "qa.csv"),
        dropped=run_path("dedup_qa", "dropped.csv"),
        summary=run_path("dedup_qa", "summary.json"),
    log:
        run_path("dedup_qa", "log.txt"),
    params:
        overrides=hydra_overrides(),
    threads: 1
    conda:
        "../../environment.yml"
    shell:
        "python -m trouter.cli.dedup_qa {params.overrides} > {log} 2>&1"
