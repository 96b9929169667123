# Helpers shared by the rules: run folder and the Hydra overrides of every stage.
import shlex
from pathlib import Path


def experiment_conf_exists(name):
    return Path("conf", "experiment", f"{name}.yaml").is_file()


if not experiment_conf_exists(config["experiment"]):
    raise ValueError(
        f"workflow/config.yaml: experiment={config['experiment']!r} has no "
        f"conf/experiment/{config['experiment']}.yaml"
    )

RUN_NAME = config.get("name") or config["experiment"]
RUN_DIR = f"{config['results_dir']}/{RUN_NAME}"


def run_path(*parts):
    return str(Path(RUN_DIR, *parts))


def hydra_overrides():
    """Overrides for every entry point, quoted for the shell."""
    args = [
        f"experiment={config['experiment']}",
        f"name={RUN_NAME}",
        f"paths.results_dir={config['results_dir']}",
        *config["overrides"],
    ]
    return " ".join(shlex.quote(a) for a in args)


def synthesis_outputs():
    return [
        run_path("expand_taxonomy", "nodes.csv"),
        run_path("dedup_qa", "qa.csv"),
    ]
