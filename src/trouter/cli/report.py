"""Entry point of the Snakemake rule report."""

from trouter.cli.common import entry
from trouter.stages.report import run

main = entry(run, "report")

if __name__ == "__main__":
    main()
