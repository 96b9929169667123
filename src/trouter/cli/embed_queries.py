"""Entry point of the Snakemake rule embed_queries."""

from trouter.cli.common import entry
from trouter.stages.embed_queries import run

main = entry(run, "embed_queries")

if __name__ == "__main__":
    main()
