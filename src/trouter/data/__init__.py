"""Real benchmark data: files from a local mirror or upstream, loaders, seeded splits."""

# The dataset of synthetic QA (every other dataset is a real benchmark or recorded task).
SYNTHETIC = "synthetic"
