"""Entry point of the Snakemake rule label_candidates."""

from trouter.cli.common import entry
from trouter.stages.label_candidates import run

main = entry(run, "label_candidates")

if __name__ == "__main__":
    main()
