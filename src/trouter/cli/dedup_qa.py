"""Entry point of the Snakemake rule dedup_qa."""

from trouter.cli.common import entry
from trouter.stages.dedup_qa import run

main = entry(run, "dedup_qa")

if __name__ == "__main__":
    main()
