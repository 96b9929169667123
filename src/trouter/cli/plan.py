"""Entry point of the Snakemake rule plan: `python -m trouter.cli.plan key=value ...` writes the
point's resolved config.yaml and its manifest point.json (every folder its numbers come from)."""

import logging
import sys

from trouter.errors import TrouterError
from trouter.plan import write_point

log = logging.getLogger("trouter")


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        plan = write_point(list(sys.argv[1:] if argv is None else argv))
    except TrouterError as exc:
        log.error("plan failed: %s", exc)
        sys.exit(2)
    log.info("planned %s: %d keyed folders", plan.layout.run, len(plan.folders()))


if __name__ == "__main__":
    main()
