"""Import recorded routing outcomes (each query answered by every candidate, with a score and
a cost) from the `long`, `llmrouter` or `routerbench` format as a label table.

See docs/recorded.md."""

from trouter.recorded.importer import import_recorded
from trouter.recorded.settings import Imported, RecordedSettings

__all__ = ["Imported", "RecordedSettings", "import_recorded"]
