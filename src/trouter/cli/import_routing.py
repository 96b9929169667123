"""Entry point of the Snakemake rule import_routing."""

from trouter.cli.common import entry
from trouter.stages.import_routing import run

main = entry(run, "import_routing")

if __name__ == "__main__":
    main()
