"""Entry point of the Snakemake rule collect_labels."""

from trouter.cli.common import entry
from trouter.stages.collect_labels import run

main = entry(run, "collect_labels")

if __name__ == "__main__":
    main()
