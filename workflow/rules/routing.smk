# Routing: embeddings once, every router per protocol, every method evaluated, the report.


rule embed_queries:
    input:
        labels=labels_table(),
        data=query_files(),
        nodes=taxonomy_nodes(),
    output:
        queries=run_path("embed_queries", "queries.npz"),
        tasks=run_path("embed_queries", "task_types.npz"),
    log:
        run_path("embed_queries", "log.txt"),
    params:
        overrides=hydra_overrides(),
        # The files' layout: a run folder written by an older layout is embedded again.
        layout="queries: ids, vectors, texts; task types: every level",
    threads: 2
    conda:
        "../../environment.yml"
    shell:
        "python -m trouter.cli.embed_queries {params.overrides} > {log} 2>&1"


rule assign_tasks:
    input:
        labels=labels_table(),
        queries=rules.embed_queries.output.queries,
        tasks=rules.embed_queries.output.tasks,
    output:
        assignments=run_path("assign_tasks", "assignments.csv"),
        summary=run_path("assign_tasks", "summary.json"),
    log:
        run_path("assign_tasks", "log.txt"),
    params:
        overrides=hydra_overrides(),
    resources:
        llm_server=1,
    threads: 2
    conda:
        "../../environment.yml"
    shell:
        "python -m trouter.cli.assign_tasks {params.overrides} > {log} 2>&1"


rule train_router:
    input:
        labels=labels_table(),
        queries=rules.embed_queries.output.queries,
        tasks=rules.embed_queries.output.tasks,
        assignments=rules.assign_tasks.output.assignments,
    output:
        predictions=run_path("train_router", "{router}", "{protocol}", "predictions.csv"),
        summary=run_path("train_router", "{router}", "{protocol}", "summary.json"),
    log:
        run_path("train_router", "{router}", "{protocol}", "log.txt"),
    params:
        overrides=hydra_overrides(),
        router=router_args,
    threads: 2
    resources:
        llm_server=lambda wildcards: int(wildcards.router == "prompt_llm"),
    conda:
        "../../environment.yml"
    shell:
        "python -m trouter.cli.train_router {params.overrides}"
        " {params.router} routing.protocol={wildcards.protocol} > {log} 2>&1"


rule evaluate:
    input:
        labels=labels_table(),
        predictions=router_predictions(),
    output:
        choices=run_path("evaluate", "choices.csv"),
        utility=run_path("evaluate", "utility.csv"),
        per_benchmark=run_path("evaluate", "utility_per_benchmark.csv"),
        points=run_path("evaluate", "points.csv"),
        comparisons=run_path("evaluate", "comparisons.csv"),
        gap=run_path("evaluate", "gap.csv"),
        aiq=run_path("evaluate", "aiq.csv"),
        shares=run_path("evaluate", "shares.csv"),
    log:
        run_path("evaluate", "log.txt"),
    params:
        overrides=hydra_overrides(),
    threads: 1
    conda:
        "../../environment.yml"
    shell:
        "python -m trouter.cli.evaluate {params.overrides} > {log} 2>&1"


rule report:
    input:
        utility=rules.evaluate.output.utility,
        per_benchmark=rules.evaluate.output.per_benchmark,
        points=rules.evaluate.output.points,
        comparisons=rules.evaluate.output.comparisons,
        gap=rules.evaluate.output.gap,
        aiq=rules.evaluate.output.aiq,
        shares=rules.evaluate.output.shares,
        router_summaries=router_summaries(),
    output:
        utility=run_path("report", "utility.csv"),
        per_benchmark=run_path("report", "utility_per_benchmark.csv"),
        table=run_path("report", "table.md"),
        aiq=run_path("report", "aiq.csv"),
        recognition=run_path("report", "task_recognition.csv"),
        plot=run_path("report", "cost_quality.png"),
    log:
        run_path("report", "log.txt"),
    params:
        overrides=hydra_overrides(),
    threads: 1
    conda:
        "../../environment.yml"
    shell:
        "python -m trouter.cli.report {params.overrides} > {log} 2>&1"
