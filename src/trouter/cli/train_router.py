"""Entry point of the Snakemake rule train_router."""

from trouter.cli.common import entry
from trouter.stages.train_router import run

main = entry(run, "train_router")

if __name__ == "__main__":
    main()
