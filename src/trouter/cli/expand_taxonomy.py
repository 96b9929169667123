"""Entry point of the Snakemake rule expand_taxonomy."""

from trouter.cli.common import entry
from trouter.stages.expand_taxonomy import run

main = entry(run, "expand_taxonomy")

if __name__ == "__main__":
    main()
