"""Entry point of the Snakemake rule evaluate."""

from trouter.cli.common import entry
from trouter.stages.evaluate import run

main = entry(run, "evaluate")

if __name__ == "__main__":
    main()
