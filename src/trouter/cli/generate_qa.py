"""Entry point of the Snakemake rule generate_qa."""

from trouter.cli.common import entry
from trouter.stages.generate_qa import run

main = entry(run, "generate_qa")

if __name__ == "__main__":
    main()
