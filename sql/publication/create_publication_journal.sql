-- Folder swaps a committed publication still owes: written in the publishing transaction, applied
-- right after the commit, and re-applied by the next writer when the process died in between.
CREATE TABLE IF NOT EXISTS staging.publication_journal (
    staged VARCHAR NOT NULL,
    final VARCHAR NOT NULL
)
