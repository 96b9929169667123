"""Entry point of the Snakemake rule prepare_data."""

from trouter.cli.common import entry
from trouter.stages.prepare_data import run

main = entry(run, "prepare_data")

if __name__ == "__main__":
    main()
