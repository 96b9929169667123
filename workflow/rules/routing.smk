# Routing: embeddings once, every router per protocol, every method evaluated, the report; in a
# sweep, the comparison of its points.


# Jobs that read a few files and write a table run where Snakemake runs, not on a cluster node.
localrules:
    plan,
    evaluate,
    report,
    compare,


rule embed_queries:
    input:
        embed_inputs,
    output:
        queries=f"{keyed('embed_queries')}/{L.QUERIES_NPZ}",
        tasks=f"{keyed('embed_queries')}/{L.TASKS_NPZ}",
    log:
        f"{keyed('embed_queries')}/{L.LOG}",
    params:
        overrides=stage_args("embed_queries"),
    threads: 2
    conda:
        "../../environment.yml"
    shell:
        "python -m trouter.cli.embed_queries {params.overrides} > {log} 2>&1"


rule assign_tasks:
    input:
        assign_inputs,
    output:
        assignments=f"{keyed('assign_tasks')}/{L.ASSIGNMENTS}",
        summary=f"{keyed('assign_tasks')}/{L.SUMMARY}",
    log:
        f"{keyed('assign_tasks')}/{L.LOG}",
    params:
        overrides=stage_args("assign_tasks"),
    resources:
        llm_server=server_threads("assign_tasks"),
    threads: 2
    conda:
        "../../environment.yml"
    shell:
        "python -m trouter.cli.assign_tasks {params.overrides} > {log} 2>&1"


rule train_router:
    input:
        router_inputs,
    output:
        predictions=f"{keyed('train_router', '{router}', '{protocol}')}/{L.PREDICTIONS}",
        summary=f"{keyed('train_router', '{router}', '{protocol}')}/{L.SUMMARY}",
    log:
        f"{keyed('train_router', '{router}', '{protocol}')}/{L.LOG}",
    params:
        overrides=stage_args("train_router", "router", "protocol"),
    threads: lambda wc: owner("train_router", wc, wc.router, wc.protocol)[1].threads
    resources:
        llm_server=lambda wc: (owner("train_router", wc, wc.router, wc.protocol)[1].threads
                               if wc.router == "prompt_llm" else 0),
    conda:
        "../../environment.yml"
    shell:
        "python -m trouter.cli.train_router {params.overrides} > {log} 2>&1"


rule plan:
    output:
        config=f"{{run}}/{L.CONFIG}",
        manifest=f"{{run}}/{L.MANIFEST}",
    params:
        overrides=lambda wc: quoted(plan_of(wc).overrides),
        # A point whose plan changed (settings, folders) is planned and evaluated again.
        digest=lambda wc: L.digest(plan_of(wc).manifest()),
    log:
        "{run}/plan.log",
    threads: 1
    conda:
        "../../environment.yml"
    shell:
        "python -m trouter.cli.plan {params.overrides} > {log} 2>&1"


rule evaluate:
    input:
        evaluate_inputs,
    output:
        [f"{{run}}/{L.EVALUATE}/{f}" for f in L.EVALUATE_FILES],
    log:
        f"{{run}}/{L.EVALUATE}/{L.LOG}",
    params:
        overrides=lambda wc: quoted(plan_of(wc).overrides),
    threads: 1
    conda:
        "../../environment.yml"
    shell:
        "python -m trouter.cli.evaluate {params.overrides} > {log} 2>&1"


rule report:
    input:
        lambda wc: [f"{wc.run}/{L.EVALUATE}/{f}" for f in L.EVALUATE_FILES]
        + [j.folder / L.SUMMARY for j in plan_of(wc).routers],
    output:
        [f"{{run}}/{L.REPORT}/{f}" for f in L.REPORT_FILES],
        provenance=f"{{run}}/{L.PROVENANCE}",
    log:
        f"{{run}}/{L.REPORT}/{L.LOG}",
    params:
        overrides=lambda wc: quoted(plan_of(wc).overrides),
    threads: 1
    conda:
        "../../environment.yml"
    shell:
        "python -m trouter.cli.report {params.overrides} > {log} 2>&1"


rule compare:
    input:
        utility=[f"{run}/{L.REPORT}/{L.UTILITY}" for run in RUNS],
        provenance=[f"{run}/{L.PROVENANCE}" for run in RUNS],
    output:
        [f"{L.compare_dir(STORE)}/{f}" for f in L.COMPARE_FILES],
    log:
        f"{L.compare_dir(STORE)}/{L.LOG}",
    params:
        store=lambda wildcards, output: Path(output[0]).parent.parent,
        runs=lambda wildcards, input: quoted([str(Path(f).parent) for f in input.provenance]),
        logger="wandb" if PLANS[0].cfg.routing.logger == "wandb" else "none",
    threads: 1
    conda:
        "../../environment.yml"
    shell:
        "python -m trouter.cli.compare --logger {params.logger} {params.store} {params.runs}"
        " > {log} 2>&1"
