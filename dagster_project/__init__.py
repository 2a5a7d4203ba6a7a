"""aml-finops: FinOps cost attribution and cleanup findings for Azure Machine Learning."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("aml-finops")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"
