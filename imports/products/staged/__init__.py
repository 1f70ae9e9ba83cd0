"""Let PostgreSQL read the feed: COPY the raw CSV into a staging table, convert plain rows in SQL."""
# Python reading and checking every row costs more than PostgreSQL's whole COPY, so on PostgreSQL
# the file goes to the server as it is. The rows whose every value is plain are converted and
# upserted by one statement per batch; every other row comes back to Python and goes through the
# same parser as the Python path. A file PostgreSQL would not read exactly as Python's csv module
# does raises ``NotStageable`` and is read in Python instead. The stages, in the order they run:
#
# - ``scan``: whether the file may be staged (``staging_reason``), then its bytes (``FeedScan``);
# - ``copying``: the file into the raw table, in segments;
# - ``checking``: the repeated skus, and every record SQL does not write itself noted;
# - ``batches``: one prepared statement per batch, the rest handed back to Python;
# - ``lines``: the line numbers of the rows handed back, for the error report.
#
# ``statements`` builds their SQL, ``tables`` names and drops the tables, ``second`` shares the
# work with a second connection, and ``feed.StagedFeed`` takes one job's file through the stages.
# docs/import-internals.md tells the whole story.
from .batches import StagedBatch
from .feed import StagedFeed
from .scan import FeedScan, NotStageable, staging_reason
from .tables import TABLE_PREFIX

__all__ = ["TABLE_PREFIX", "FeedScan", "NotStageable", "StagedBatch", "StagedFeed", "staging_reason"]
