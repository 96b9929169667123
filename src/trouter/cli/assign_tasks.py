"""Entry point of the Snakemake rule assign_tasks."""

from trouter.cli.common import entry
from trouter.stages.assign_tasks import run

main = entry(run, "assign_tasks")

if __name__ == "__main__":
    main()
